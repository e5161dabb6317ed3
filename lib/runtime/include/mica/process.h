// Starting programs and threads from user space. The kernel only loads the
// first process; every other program is loaded by its parent, here: parse
// the ELF file, make memory objects for its segments, map them into a new
// process, give it a stack and a StartupInfo, start its first thread.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "mica/types.h"

namespace mica {

struct SpawnOptions {
    const char* name;
    const char* cmdline = "";
    uint64_t quota = 4 << 20;   // bytes of kernel-accounted memory for the child
    uint32_t priority = 16;
    size_t stack_size = 64 * 1024;
    // Handles to give the child (copies, with the same rights); it finds
    // them in StartupInfo::handles, in this order.
    const Handle* handles = nullptr;
    uint32_t handle_count = 0;
    // Set as the child's fault handler before its first thread runs.
    Handle fault_handler = kNoHandle;
    // Called with the child's process handle before its first thread runs
    // (what it must have from its first instruction, e.g. I/O ports: with
    // several CPUs it may run at once).
    void (*before_start)(Handle process, void* arg) = nullptr;
    void* before_start_arg = nullptr;
    // A memory object holding the image from its offset 0 (a boot module),
    // mappable to execute: its read-only segments are mapped from it, not
    // copied. Without it, or where that fails, every segment is copied.
    Handle image = kNoHandle;
};

// Loads the ELF image at [elf, elf + size) into a new process and starts it.
// Returns the process handle (>= 0) or an error.
int64_t spawn(const void* elf, size_t size, const SpawnOptions& options);

// What spawning this image costs the caller's own quota (its segments and
// stack are the caller's memory objects, mapped into the child), on top of
// the child's quota.
uint64_t spawn_cost(const void* elf, size_t size, const SpawnOptions& options);

// Finds boot module `name` and maps it read-only into this process; its
// memory object in *memory if asked (for SpawnOptions::image).
bool map_boot_module(const char* name, const void** data, size_t* size, Handle* memory = nullptr);

// Reserves `size` bytes of this process's address space (no memory behind it).
uintptr_t reserve_address_range(size_t size);

// Starts fn(arg) on a new thread of this process with its own stack; when
// fn returns, the thread ends and its stack is freed. Returns the thread
// handle (close it if not needed) or an error.
int64_t start_thread(void (*fn)(void*), void* arg, uint32_t priority, size_t stack_size = 64 * 1024);

}  // namespace mica
