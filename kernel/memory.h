// Physical memory: the frame allocator set up from the boot memory map, and
// the direct map through which the kernel reaches any frame.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "boot_info.h"
#include "lib/frame_allocator.h"

template <typename T = void>
inline T* phys_to_virt(uint64_t phys) {
    return reinterpret_cast<T*>(arch::kDirectMapBase + phys);
}

FrameAllocator& frames();

// Builds the frame allocator: everything the memory map calls usable, less
// the first MiB, the kernel image, the boot modules, the boot information
// and the allocator's own bitmap.
void memory_init(const BootInfo& info);

// True if any byte of [phys, phys + size) is RAM the memory map lists
// (usable or reclaimable): such memory can never become a device mapping.
bool range_overlaps_ram(uint64_t phys, uint64_t size);

// The highest physical address of usable RAM, rounded up to a page.
uint64_t memory_top();
// Frames of usable RAM (the allocator also spans the holes below the top).
uint64_t usable_frames();

// The kernel's frame allocations (all but the heap's own growth), each one a
// site for fail.alloc: a zeroed frame, or `count` contiguous frames, or
// FrameAllocator::kNone.
uint64_t allocate_zeroed_frame();
uint64_t allocate_frames(size_t count);

// Page-table frames for the kernel's own tables (not charged to anyone).
arch::TableFrames& kernel_table_frames();
