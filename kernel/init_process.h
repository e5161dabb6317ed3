#pragma once

#include "boot_info.h"

#include "arch.h"

// Where the first process lives (for the kernel's own SMAP/SMEP tests).
struct UserImage {
    arch::PageTables tables;
    uintptr_t entry;
    uintptr_t stack_top;
};

// Loads and starts the boot module `program` as the first process.
// False (with the reason logged) if it cannot.
bool start_init_process(const BootInfo& boot, const char* program, UserImage* image);
