// Physical frame allocator: one bit per 4 KiB frame (1 = in use) over the
// range the memory map covers. A bitmap rather than a free list because
// drivers need physically contiguous, aligned runs for DMA, and the bitmap
// answers that with the same structure that serves single frames.
#pragma once

#include <stddef.h>
#include <stdint.h>

class FrameAllocator {
public:
    static constexpr uint64_t kFrameSize = 4096;
    static constexpr uint64_t kNone = ~0ULL;  // physical 0 is a valid frame elsewhere

    static constexpr size_t bitmap_words(size_t frames) { return (frames + 63) / 64; }

    // `bitmap` holds bitmap_words(frame_count) words; every frame starts in use.
    void init(uint64_t* bitmap, size_t frame_count);

    // Frames wholly inside [base, base + length) become free.
    void release_range(uint64_t base, uint64_t length);
    // Frames touching [base, base + length) become used (never handed out).
    void reserve_range(uint64_t base, uint64_t length);

    // A free frame's physical address, or kNone.
    uint64_t allocate();
    // `count` contiguous frames starting at a multiple of `align` frames,
    // wholly below `limit` (physical address); kNone if there is no such run.
    uint64_t allocate_contiguous(size_t count, size_t align = 1, uint64_t limit = kNone);

    // False (and nothing changes) if any frame was not allocated.
    bool free(uint64_t phys, size_t count = 1);

    size_t free_frames() const { return free_; }

private:
    bool used(size_t frame) const { return bitmap_[frame / 64] >> (frame % 64) & 1; }
    void set(size_t frame, bool in_use);

    uint64_t* bitmap_ = nullptr;
    size_t frames_ = 0;
    size_t free_ = 0;
    size_t hint_ = 0;  // word index where the last search succeeded
};
