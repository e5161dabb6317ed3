// Allocation-failure injection, for tests (Linux's fail_page_alloc and
// failslab are the model). `fail.alloc=SITE:N` on the command line makes the
// Nth allocation made from call site SITE fail, once; SITE is a return
// address in the kernel image (tools/failwalk.py finds every call of an
// allocator there). Every kernel allocation goes through operator new or
// the frame functions of memory.h, which ask here with their caller's address.
#pragma once

#include <stdint.h>

#define ALLOC_SITE reinterpret_cast<uintptr_t>(__builtin_return_address(0))

void fail_alloc_arm(uintptr_t site, uint64_t nth);
// True if the allocation being made from `site` is to fail.
bool fail_alloc_now(uintptr_t site);
