// The one kernel heap, set up early from a static arena in the image.
#pragma once

#include "lib/heap.h"

Heap& kernel_heap();
void kernel_heap_init();
void run_global_constructors();
