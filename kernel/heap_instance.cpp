#include "heap_instance.h"

namespace {
// Enough for boot-time structures; the heap grows from the frame allocator
// once physical memory is managed.
alignas(16) unsigned char g_arena[256 * 1024];
Heap g_heap;
}  // namespace

Heap& kernel_heap() { return g_heap; }

void kernel_heap_init() { g_heap.add_region(g_arena, sizeof g_arena); }
