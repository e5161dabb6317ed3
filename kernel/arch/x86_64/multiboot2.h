// Reads a Multiboot2 boot information structure into the generic BootInfo.
// The structure comes from the loader, so every size is checked before use.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "boot_info.h"

// `info` points at the structure (mapped); `available` bounds how many bytes
// may be read there. Strings in `out` point into the structure.
// Returns null on success or a description of what is wrong.
const char* parse_multiboot2(const uint8_t* info, size_t available, BootInfo& out);
