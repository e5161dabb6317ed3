#pragma once

#include "boot_info.h"

// Loads and starts the boot module `program` as the first process.
// False (with the reason logged) if it cannot.
bool start_init_process(const BootInfo& boot, const char* program);
