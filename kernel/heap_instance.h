// The one kernel heap, set up early from a static arena in the image.
#pragma once

#include "lib/heap.h"

Heap& kernel_heap();
void kernel_heap_init();
// Once the frame allocator works, the heap may take frames when it runs out.
void kernel_heap_enable_growth();
// What operator new uses: the heap, grown if need be; null when memory is out.
void* kernel_heap_allocate(size_t size);
void run_global_constructors();
