#include "frame_allocator.h"

void FrameAllocator::init(uint64_t* bitmap, size_t frame_count) {
    bitmap_ = bitmap;
    frames_ = frame_count;
    free_ = 0;
    hint_ = 0;
    for (size_t i = 0; i < bitmap_words(frame_count); ++i) bitmap_[i] = ~0ULL;
}

void FrameAllocator::set(size_t frame, bool in_use) {
    uint64_t bit = 1ULL << (frame % 64);
    if (in_use) {
        if (!(bitmap_[frame / 64] & bit)) --free_;
        bitmap_[frame / 64] |= bit;
    } else {
        if (bitmap_[frame / 64] & bit) ++free_;
        bitmap_[frame / 64] &= ~bit;
    }
}

// Flattened: set() inlined into the loop over every frame of RAM at boot
// (with LTO it was called out of line, 9 instructions more a frame).
[[gnu::flatten]] void FrameAllocator::release_range(uint64_t base, uint64_t length) {
    if (base + length < base) length = ~0ULL - base;
    uint64_t first = (base + kFrameSize - 1) / kFrameSize;
    uint64_t end = (base + length) / kFrameSize;
    for (uint64_t f = first; f < end && f < frames_; ++f) set(f, false);
}

void FrameAllocator::reserve_range(uint64_t base, uint64_t length) {
    if (length == 0) return;
    if (base + length < base) length = ~0ULL - base;
    uint64_t first = base / kFrameSize;
    uint64_t end = (base + length + kFrameSize - 1) / kFrameSize;
    for (uint64_t f = first; f < end && f < frames_; ++f) set(f, true);
}

uint64_t FrameAllocator::allocate() {
    size_t words = bitmap_words(frames_);
    for (size_t n = 0; n < words; ++n) {
        size_t w = (hint_ + n) % words;
        if (bitmap_[w] == ~0ULL) continue;
        size_t frame = w * 64 + static_cast<size_t>(__builtin_ctzll(~bitmap_[w]));
        if (frame >= frames_) continue;
        hint_ = w;
        set(frame, true);
        return frame * kFrameSize;
    }
    return kNone;
}

uint64_t FrameAllocator::allocate_contiguous(size_t count, size_t align, uint64_t limit) {
    if (count == 0 || align == 0) return kNone;
    size_t end = frames_;
    if (limit != kNone && limit / kFrameSize < end) end = limit / kFrameSize;
    for (size_t start = 0; start + count <= end && start + count > start;) {
        if (start % 64 == 0 && bitmap_[start / 64] == ~0ULL) {  // 64 frames in use: passed in one step
            start = (start + 64 + align - 1) / align * align;
            continue;
        }
        size_t run = 0;
        while (run < count && !used(start + run)) ++run;
        if (run == count) {
            for (size_t i = 0; i < count; ++i) set(start + i, true);
            return start * kFrameSize;
        }
        // Skip past the used frame, to the next aligned start.
        start = (start + run + 1 + align - 1) / align * align;
    }
    return kNone;
}

bool FrameAllocator::free(uint64_t phys, size_t count) {
    if (phys % kFrameSize != 0) return false;
    size_t first = phys / kFrameSize;
    if (count == 0 || first >= frames_ || count > frames_ - first) return false;
    for (size_t i = 0; i < count; ++i)
        if (!used(first + i)) return false;
    for (size_t i = 0; i < count; ++i) set(first + i, false);
    return true;
}
