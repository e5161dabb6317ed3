// The user-space heap: malloc/free and operator new/delete, on the same
// first-fit allocator the kernel uses (kernel/lib/heap.cpp, built again with
// user flags). It grows by mapping fresh memory objects into this process.
#include <new>

#include "heap.h"
#include "mica/process.h"
#include "mica/runtime.h"

namespace {
Heap g_heap;
mica::SpinLock g_heap_lock;
constexpr size_t kGrowBytes = 256 * 1024;

bool grow(size_t at_least) {
    size_t size = (at_least + 64 + kGrowBytes - 1) / kGrowBytes * kGrowBytes;
    auto memory = mica::sys::memory_create(size);
    if (!memory.ok()) return false;
    uintptr_t at = mica::reserve_address_range(size);
    int64_t e = mica::sys::vm_map(mica::startup().self_process, at, memory.value(), 0, size,
                                  mica::kVmRead | mica::kVmWrite);
    mica::sys::handle_close(memory.value());  // the mapping keeps it
    if (e != mica::kOk) return false;
    g_heap.add_region(reinterpret_cast<void*>(at), size);
    return true;
}
}  // namespace

extern "C" void* malloc(size_t size) {
    mica::SpinLockGuard guard(g_heap_lock);
    if (void* p = g_heap.allocate(size)) return p;
    return grow(size) ? g_heap.allocate(size) : nullptr;
}

extern "C" void free(void* p) {
    if (!p) return;
    g_heap_lock.lock();
    bool ok = g_heap.free(p);
    g_heap_lock.unlock();
    if (!ok) mica::exit(-2);  // a bad free is a bug: stop here, not later
}

void* operator new(size_t size) {
    void* p = malloc(size);
    if (!p) mica::exit(-3);
    return p;
}
void* operator new[](size_t size) { return operator new(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept { return malloc(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return malloc(size); }
void operator delete(void* p) noexcept { free(p); }
void operator delete[](void* p) noexcept { free(p); }
void operator delete(void* p, size_t) noexcept { free(p); }
void operator delete[](void* p, size_t) noexcept { free(p); }

namespace std {
const nothrow_t nothrow{};
}
