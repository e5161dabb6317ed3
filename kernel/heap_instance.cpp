#include "heap_instance.h"

#include "memory.h"

namespace {
// Enough for boot; afterwards the heap grows in runs of frames. Grown runs
// stay with the heap (a later allocation reuses them).
alignas(16) unsigned char g_arena[256 * 1024];
Heap g_heap;
bool g_can_grow = false;
constexpr size_t kGrowPages = 16;
}  // namespace

Heap& kernel_heap() { return g_heap; }

void kernel_heap_init() { g_heap.add_region(g_arena, sizeof g_arena); }

void kernel_heap_enable_growth() { g_can_grow = true; }

void* kernel_heap_allocate(size_t size) {
    if (void* p = g_heap.allocate(size)) return p;
    if (!g_can_grow || size > (1u << 30)) return nullptr;
    size_t pages = (size + 64 + arch::kPageSize - 1) / arch::kPageSize;
    if (pages < kGrowPages) pages = kGrowPages;
    uint64_t phys = frames().allocate_contiguous(pages);
    if (phys == FrameAllocator::kNone) return nullptr;
    g_heap.add_region(phys_to_virt(phys), pages * arch::kPageSize);
    return g_heap.allocate(size);
}
