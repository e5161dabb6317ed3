// The pieces of the C++ runtime a freestanding kernel has to supply itself:
// global constructors, operator new/delete on the kernel heap, and the ABI
// hook the compiler references. The kernel never exits, and no global has a
// destructor to register (no __cxa_atexit or __dso_handle: a global that
// needed one would fail to link).
#include <new>

#include "fail_alloc.h"
#include "heap_instance.h"
#include "panic.h"

extern "C" {
using Constructor = void (*)();
extern Constructor __init_array_start[];
extern Constructor __init_array_end[];

void __cxa_pure_virtual() { panic("pure virtual function called"); }
}

void run_global_constructors() {
    for (Constructor* c = __init_array_start; c != __init_array_end; ++c) (*c)();
}

namespace std {
const nothrow_t nothrow{};
}

// Kernel code allocates with `new (std::nothrow)` and handles null; there is
// no plain `new` (one would fail to link).
void* operator new(size_t size, const std::nothrow_t&) noexcept {
    return fail_alloc_now(ALLOC_SITE) ? nullptr : kernel_heap_allocate(size);
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
    return fail_alloc_now(ALLOC_SITE) ? nullptr : kernel_heap_allocate(size);
}

void operator delete(void* p) noexcept {
    if (p && !kernel_heap().free(p)) panic("kernel heap: bad free of %p", p);
}
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete(void* p, size_t) noexcept { operator delete(p); }
void operator delete[](void* p, size_t) noexcept { operator delete(p); }
