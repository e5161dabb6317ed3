// The metadata block cache: a fixed pool of buffers, a hash for lookup and an
// LRU list for eviction. Data blocks of files bypass it (they are moved in
// large runs between the device and the file-data cache, Fs::data_*).
#include "internal.h"

namespace ext2::detail {

Cache::~Cache() {
    delete[] bufs_;
    delete[] hash_;
    delete[] memory_;
}

int64_t Cache::init(BlockDevice* device, uint32_t block_size, uint32_t capacity) {
    device_ = device;
    block_size_ = block_size;
    capacity_ = capacity;
    buckets_ = capacity * 2;
    bufs_ = new (std::nothrow) Buf[capacity];
    hash_ = new (std::nothrow) Buf*[buckets_];
    memory_ = new (std::nothrow) uint8_t[size_t{capacity} * block_size];
    if (!bufs_ || !hash_ || !memory_) return kErrNoMemory;
    for (uint32_t i = 0; i < buckets_; ++i) hash_[i] = nullptr;
    for (uint32_t i = 0; i < capacity; ++i) {
        Buf& b = bufs_[i];
        b = Buf{0, 0, kClean, false, memory_ + size_t{i} * block_size, nullptr, nullptr, nullptr};
        // Link into the LRU list, all equally old.
        b.newer = oldest_;
        if (oldest_) oldest_->older = &b;
        else newest_ = &b;
        oldest_ = &b;
    }
    return kOk;
}

Cache::Buf* Cache::find(uint32_t block) {
    for (Buf* b = hash_[block % buckets_]; b; b = b->next_in_bucket)
        if (b->block == block) return b;
    return nullptr;
}

void Cache::unlink_hash(Buf* b) {
    Buf** link = &hash_[b->block % buckets_];
    while (*link && *link != b) link = &(*link)->next_in_bucket;
    if (*link) *link = b->next_in_bucket;
    b->next_in_bucket = nullptr;
    b->valid = false;
}

void Cache::touch(Buf* b) {
    if (newest_ == b) return;
    // Unlink...
    if (b->newer) b->newer->older = b->older;
    if (b->older) b->older->newer = b->newer;
    if (oldest_ == b) oldest_ = b->newer;
    // ...and put in front.
    b->older = newest_;
    b->newer = nullptr;
    newest_->newer = b;
    newest_ = b;
}

int64_t Cache::write_back(Buf* b) {
    uint32_t spb = block_size_ / kSectorSize;
    int64_t r = device_->write(uint64_t{b->block} * spb, spb, b->data);
    if (r < 0) return r;
    b->dirty = kClean;
    return kOk;
}

int64_t Cache::get(uint32_t block, bool load, Buf** out) {
    ++gets_;
    Buf* b = find(block);
    if (b) {
        if (!load && b->pins == 0) memset(b->data, 0, block_size_);
        b->pins++;
        touch(b);
        *out = b;
        return kOk;
    }
    // The least recently used unpinned clean buffer, else a dirty one, written
    // first (only a very large operation dirties more than the cache holds;
    // with a journal, what is dirty is committed first).
    Buf* victim = oldest_;
    while (victim && (victim->pins || (victim->valid && victim->dirty != kClean))) victim = victim->newer;
    if (!victim) {
        victim = oldest_;
        while (victim && victim->pins) victim = victim->newer;
    }
    if (!victim) return kErrNoMemory;
    if (victim->valid && victim->dirty != kClean) {
        int64_t r = commit_ ? commit_(commit_context_) : write_back(victim);
        if (r < 0) return r;
    }
    if (victim->valid) unlink_hash(victim);
    if (load) {
        uint32_t spb = block_size_ / kSectorSize;
        int64_t r = device_->read(uint64_t{block} * spb, spb, victim->data);
        if (r < 0) return r;
    } else {
        memset(victim->data, 0, block_size_);
    }
    victim->block = block;
    victim->valid = true;
    victim->dirty = kClean;
    victim->pins = 1;
    victim->next_in_bucket = hash_[block % buckets_];
    hash_[block % buckets_] = victim;
    touch(victim);
    *out = victim;
    return kOk;
}

void Cache::put(Buf* b) {
    if (b && b->pins) b->pins--;
}

void Cache::mark(Buf* b, Kind kind) {
    // A block that holds several kinds (never in a sane image) is written
    // with the latest of them.
    if (b->dirty == kClean || kind > b->dirty) b->dirty = kind;
}

void Cache::forget(uint32_t block) {
    Buf* b = find(block);
    if (!b) return;
    b->dirty = kClean;
    if (b->pins == 0) unlink_hash(b);
}

int64_t Cache::flush() {
    int64_t result = kOk;
    for (int8_t kind = 0; kind < kKinds; ++kind) {
        for (uint32_t i = 0; i < capacity_; ++i) {
            Buf& b = bufs_[i];
            if (!b.valid || b.dirty != kind) continue;
            int64_t r = write_back(&b);
            if (r < 0 && result == kOk) result = r;
        }
    }
    return result;
}

}  // namespace ext2::detail
