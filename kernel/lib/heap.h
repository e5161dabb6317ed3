// The kernel heap: a first-fit allocator over an address-ordered free list
// that coalesces on free. Small and predictable; kernel objects with their own
// lifetime rules get dedicated allocators later, this serves the rest.
// Alignment is 16 bytes; larger alignments come from the frame allocator.
#pragma once

#include <stddef.h>
#include <stdint.h>

class Heap {
public:
    static constexpr size_t kAlign = 16;

    // Hands [base, base + size) to the heap. Regions must not overlap.
    void add_region(void* base, size_t size);

    // Null when no free block is large enough.
    void* allocate(size_t size);

    // False (and nothing changes) if `p` was not handed out by this heap or
    // was freed already.
    bool free(void* p);

    size_t bytes_free() const { return bytes_free_; }
    size_t bytes_total() const { return bytes_total_; }

private:
    struct Block {
        size_t size;    // whole block, header included
        uintptr_t tag;  // kFreeTag with `next` valid, or kUsedTag
        Block* next;
    };
    static constexpr uintptr_t kFreeTag = 0xf4ee'b10c'f4ee'b10cULL;
    static constexpr uintptr_t kUsedTag = 0x05ed'b10c'05ed'b10cULL;
    static constexpr size_t kHeader = 16;  // size + tag precede the payload
    static constexpr size_t kMinBlock = 48;  // a Block, rounded to kAlign, plus a payload
    static_assert(kMinBlock % kAlign == 0 && kMinBlock >= sizeof(Block) + kAlign);

    void insert_free(Block* block);

    Block* free_list_ = nullptr;
    size_t bytes_free_ = 0;
    size_t bytes_total_ = 0;
};
