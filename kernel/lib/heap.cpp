#include "heap.h"

namespace {
constexpr uintptr_t align_up(uintptr_t v, uintptr_t a) { return (v + a - 1) & ~(a - 1); }
}  // namespace

void Heap::add_region(void* base, size_t size) {
    uintptr_t start = align_up(reinterpret_cast<uintptr_t>(base), kAlign);
    uintptr_t end = (reinterpret_cast<uintptr_t>(base) + size) & ~(kAlign - 1);
    if (end <= start || end - start < kMinBlock) return;
    auto* block = reinterpret_cast<Block*>(start);
    block->size = end - start;
    bytes_total_ += block->size;
    insert_free(block);
}

void* Heap::allocate(size_t size) {
    if (size > (SIZE_MAX >> 1)) return nullptr;
    size_t need = align_up(size + kHeader, kAlign);
    if (need < kMinBlock) need = kMinBlock;
    for (Block** link = &free_list_; *link; link = &(*link)->next) {
        Block* block = *link;
        if (block->size < need) continue;
        if (block->size - need >= kMinBlock) {
            auto* rest = reinterpret_cast<Block*>(reinterpret_cast<uintptr_t>(block) + need);
            rest->size = block->size - need;
            rest->tag = kFreeTag;
            rest->next = block->next;
            *link = rest;
            block->size = need;
        } else {
            *link = block->next;
        }
        block->tag = kUsedTag;
        bytes_free_ -= block->size;
        return reinterpret_cast<uint8_t*>(block) + kHeader;
    }
    return nullptr;
}

bool Heap::free(void* p) {
    if (!p || reinterpret_cast<uintptr_t>(p) % kAlign != 0) return false;
    auto* block = reinterpret_cast<Block*>(static_cast<uint8_t*>(p) - kHeader);
    if (block->tag != kUsedTag) return false;
    insert_free(block);
    return true;
}

void Heap::insert_free(Block* block) {
    block->tag = kFreeTag;
    bytes_free_ += block->size;
    Block* prev = nullptr;
    Block* next = free_list_;
    while (next && next < block) {
        prev = next;
        next = next->next;
    }
    auto end_of = [](Block* b) { return reinterpret_cast<uintptr_t>(b) + b->size; };
    block->next = next;
    if (next && end_of(block) == reinterpret_cast<uintptr_t>(next)) {
        block->size += next->size;
        block->next = next->next;
        next->tag = 0;
    }
    if (prev && end_of(prev) == reinterpret_cast<uintptr_t>(block)) {
        prev->size += block->size;
        prev->next = block->next;
        block->tag = 0;
    } else if (prev) {
        prev->next = block;
    } else {
        free_list_ = block;
    }
}
