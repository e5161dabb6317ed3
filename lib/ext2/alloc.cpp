// Block and inode allocation from the group bitmaps. The bitmaps are the
// truth; the free counts in the descriptors and superblock are kept in step
// with every bit that changes.
#include "internal.h"

namespace ext2::detail {

namespace {

// First clear bit in [from, to) of a bitmap, or `to`.
uint32_t find_clear(const uint8_t* map, uint32_t from, uint32_t to) {
    uint32_t i = from;
    while (i < to) {
        if ((i & 7) == 0 && map[i >> 3] == 0xFF) {
            i += 8;
            continue;
        }
        if (!(map[i >> 3] & (1u << (i & 7)))) return i;
        ++i;
    }
    return to;
}

void add32(uint8_t* p, int32_t delta) { put32(p, get32(p) + static_cast<uint32_t>(delta)); }
void add16(uint8_t* p, int32_t delta) { put16(p, static_cast<uint16_t>(get16(p) + delta)); }

}  // namespace

int64_t Fs::alloc_block(uint32_t goal, uint32_t* out) {
    if (get32(super + sb::kFreeBlocks) == 0) return kErrNoSpace;
    if (!block_valid(goal)) goal = first_data_block;
    uint32_t g0 = (goal - first_data_block) / blocks_per_group;
    uint32_t start = (goal - first_data_block) % blocks_per_group;
    // Every group once starting at the goal, then the start of the goal's
    // group that was skipped.
    for (uint32_t k = 0; k <= groups; ++k) {
        uint32_t g = (g0 + k) % groups;
        uint8_t* d = group(g);
        if (get16(d + gd::kFreeBlocks) == 0) continue;
        uint32_t first = first_data_block + g * blocks_per_group;
        uint32_t in_group = blocks_count - first < blocks_per_group ? blocks_count - first
                                                                    : blocks_per_group;
        uint32_t from = k == 0 ? start : 0, to = k == groups ? start : in_group;
        Cache::Buf* map;
        int64_t r = cache.get(get32(d + gd::kBlockBitmap), true, &map);
        if (r < 0) return r;
        uint32_t bit = find_clear(map->data, from, to);
        if (bit == to) {
            cache.put(map);
            continue;
        }
        map->data[bit >> 3] |= static_cast<uint8_t>(1u << (bit & 7));
        cache.mark(map, Cache::kBitmap);
        cache.put(map);
        add16(d + gd::kFreeBlocks, -1);
        group_changed(g);
        add32(super + sb::kFreeBlocks, -1);
        super_dirty = true;
        *out = first + bit;
        return kOk;
    }
    return kErrNoSpace;
}

int64_t Fs::free_block(uint32_t block) {
    if (!block_valid(block)) return kErrCorrupt;
    uint32_t g = (block - first_data_block) / blocks_per_group;
    uint32_t bit = (block - first_data_block) % blocks_per_group;
    uint8_t* d = group(g);
    Cache::Buf* map;
    int64_t r = cache.get(get32(d + gd::kBlockBitmap), true, &map);
    if (r < 0) return r;
    uint8_t mask = static_cast<uint8_t>(1u << (bit & 7));
    if (!(map->data[bit >> 3] & mask)) {
        cache.put(map);
        return kErrCorrupt;  // a double free: two owners, or a loop in a block map
    }
    map->data[bit >> 3] &= static_cast<uint8_t>(~mask);
    cache.mark(map, Cache::kBitmap);
    cache.put(map);
    cache.forget(block);
    journal_revoke(block);
    add16(d + gd::kFreeBlocks, 1);
    group_changed(g);
    add32(super + sb::kFreeBlocks, 1);
    super_dirty = true;
    return kOk;
}

int64_t Fs::alloc_inode(uint32_t parent, bool dir, uint32_t* out) {
    if (get32(super + sb::kFreeInodes) == 0) return kErrNoSpace;
    uint32_t g0 = parent >= 1 && parent <= inodes_count ? (parent - 1) / inodes_per_group : 0;
    if (dir) {
        // Spread directories: the group with the most free blocks among those
        // with free inodes, so their files have room to grow nearby.
        uint32_t best_free = 0;
        for (uint32_t g = 0; g < groups; ++g) {
            const uint8_t* d = group(g);
            if (get16(d + gd::kFreeInodes) && get16(d + gd::kFreeBlocks) > best_free) {
                best_free = get16(d + gd::kFreeBlocks);
                g0 = g;
            }
        }
    }
    for (uint32_t k = 0; k < groups; ++k) {
        uint32_t g = (g0 + k) % groups;
        uint8_t* d = group(g);
        if (get16(d + gd::kFreeInodes) == 0) continue;
        // Inodes below s_first_ino are reserved even if their bits are clear.
        uint32_t from = 0;
        uint32_t base = g * inodes_per_group;
        if (base + 1 < first_ino) from = first_ino - 1 - base;
        if (from >= inodes_per_group) continue;
        Cache::Buf* map;
        int64_t r = cache.get(get32(d + gd::kInodeBitmap), true, &map);
        if (r < 0) return r;
        uint32_t bit = find_clear(map->data, from, inodes_per_group);
        if (bit == inodes_per_group) {
            cache.put(map);
            continue;
        }
        map->data[bit >> 3] |= static_cast<uint8_t>(1u << (bit & 7));
        cache.mark(map, Cache::kBitmap);
        cache.put(map);
        add16(d + gd::kFreeInodes, -1);
        if (dir) add16(d + gd::kUsedDirs, 1);
        group_changed(g);
        add32(super + sb::kFreeInodes, -1);
        super_dirty = true;
        *out = base + bit + 1;
        return kOk;
    }
    return kErrNoSpace;
}

int64_t Fs::free_inode(uint32_t ino, bool dir) {
    if (ino < first_ino || ino > inodes_count) return kErrCorrupt;
    uint32_t g = (ino - 1) / inodes_per_group, bit = (ino - 1) % inodes_per_group;
    uint8_t* d = group(g);
    Cache::Buf* map;
    int64_t r = cache.get(get32(d + gd::kInodeBitmap), true, &map);
    if (r < 0) return r;
    uint8_t mask = static_cast<uint8_t>(1u << (bit & 7));
    if (!(map->data[bit >> 3] & mask)) {
        cache.put(map);
        return kErrCorrupt;
    }
    map->data[bit >> 3] &= static_cast<uint8_t>(~mask);
    cache.mark(map, Cache::kBitmap);
    cache.put(map);
    add16(d + gd::kFreeInodes, 1);
    if (dir && get16(d + gd::kUsedDirs)) add16(d + gd::kUsedDirs, -1);
    group_changed(g);
    add32(super + sb::kFreeInodes, 1);
    super_dirty = true;
    return kOk;
}

}  // namespace ext2::detail
