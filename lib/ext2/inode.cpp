// Inodes and their block maps: 12 direct blocks, then single, double and
// triple indirect blocks. File data moves between the caller and the device
// in runs of physically contiguous blocks, one device call per run.
#include "internal.h"

namespace ext2::detail {

namespace {

// Where the inode lives: its table block and byte offset in it.
struct Place {
    uint32_t block, offset;
};

}  // namespace

static int64_t place_of(Fs& fs, uint32_t ino, Place* out) {
    if (ino == 0 || ino > fs.inodes_count) return kErrCorrupt;
    uint32_t g = (ino - 1) / fs.inodes_per_group, index = (ino - 1) % fs.inodes_per_group;
    uint64_t byte = uint64_t{index} * fs.inode_size;
    out->block = get32(fs.group(g) + gd::kInodeTable) + static_cast<uint32_t>(byte / fs.block_size);
    out->offset = static_cast<uint32_t>(byte % fs.block_size);
    return kOk;
}

int64_t Fs::read_inode(uint32_t ino, DiskInode* out) {
    if (ino == last_ino && ino) {
        *out = last_inode;
        return kOk;
    }
    Place p;
    int64_t r = place_of(*this, ino, &p);
    if (r < 0) return r;
    Cache::Buf* b;
    r = cache.get(p.block, true, &b);
    if (r < 0) return r;
    memcpy(out, b->data + p.offset, sizeof(DiskInode));
    cache.put(b);
    last_ino = ino, last_inode = *out;
    return kOk;
}

int64_t Fs::write_inode(uint32_t ino, const DiskInode& in) {
    if (ino == last_ino) last_ino = 0;
    Place p;
    int64_t r = place_of(*this, ino, &p);
    if (r < 0) return r;
    Cache::Buf* b;
    r = cache.get(p.block, true, &b);
    if (r < 0) return r;
    memcpy(b->data + p.offset, &in, sizeof(DiskInode));
    cache.mark(b, Cache::kInodeTable);
    cache.put(b);
    last_ino = ino, last_inode = in;
    return kOk;
}

int64_t Fs::init_inode(uint32_t ino, DiskInode* out, uint16_t mode) {
    if (ino == last_ino) last_ino = 0;
    Place p;
    int64_t r = place_of(*this, ino, &p);
    if (r < 0) return r;
    Cache::Buf* b;
    r = cache.get(p.block, true, &b);
    if (r < 0) return r;
    uint8_t* raw = b->data + p.offset;
    uint32_t generation = get32(raw + offsetof(DiskInode, generation)) + 1;
    memset(raw, 0, inode_size);
    // Large inodes: claim the fixed extra fields as Linux does, so tools see
    // a well-formed (empty) in-inode attribute area.
    if (inode_size >= 160) put16(raw + 128, 32);
    cache.mark(b, Cache::kInodeTable);
    cache.put(b);
    memset(out, 0, sizeof(DiskInode));
    uint32_t t = now();
    out->mode = mode;
    out->generation = generation;
    out->atime = out->ctime = out->mtime = t;
    return write_inode(ino, *out);
}

int64_t Fs::set_size(DiskInode& in, uint64_t size) {
    if (size > 0x7FFFFFFFull) {
        if (!is_file(in)) return kErrOutOfRange;
        int64_t r = need_large_file();
        if (r < 0) return r;
    }
    in.size = static_cast<uint32_t>(size);
    if (is_file(in)) in.size_high = static_cast<uint32_t>(size >> 32);
    return kOk;
}

uint32_t Fs::first_goal(uint32_t ino) {
    uint32_t g = (ino - 1) / inodes_per_group;
    return get32(group(g) + gd::kInodeTable) + itable_blocks;
}

int64_t Fs::map(DiskInode& in, uint64_t lblock, bool create, uint32_t* goal, uint32_t* out,
                bool* fresh) {
    if (fresh) *fresh = false;
    uint64_t p = pointers;
    uint32_t* slot;
    int level;
    if (lblock < 12) {
        slot = &in.block[lblock];
        level = 0;
    } else if ((lblock -= 12) < p) {
        slot = &in.block[12];
        level = 1;
    } else if ((lblock -= p) < p * p) {
        slot = &in.block[13];
        level = 2;
    } else if ((lblock -= p * p) < p * p * p) {
        slot = &in.block[14];
        level = 3;
    } else {
        return kErrOutOfRange;
    }
    // Walk down; `held` is the pinned indirect block that contains `slot`.
    Cache::Buf* held = nullptr;
    for (;; --level) {
        uint32_t b = *slot;
        if (b == 0) {
            if (!create) {
                cache.put(held);
                *out = 0;
                return kOk;
            }
            int64_t r = alloc_block(*goal, &b);
            if (r < 0) {
                cache.put(held);
                return r;
            }
            *goal = b + 1;
            if (level > 0) {
                Cache::Buf* fresh_map;
                r = cache.get(b, false, &fresh_map);
                if (r < 0) {
                    free_block(b);
                    cache.put(held);
                    return r;
                }
                cache.mark(fresh_map, Cache::kMeta);
                cache.put(fresh_map);
            } else if (fresh) {
                *fresh = true;
            }
            *slot = b;
            if (held) cache.mark(held, Cache::kMeta);
            in.blocks512 += sectors_per_block;
        } else if (!block_valid(b)) {
            cache.put(held);
            return kErrCorrupt;
        }
        if (level == 0) {
            cache.put(held);
            *out = b;
            return kOk;
        }
        Cache::Buf* next;
        int64_t r = cache.get(b, true, &next);
        cache.put(held);
        if (r < 0) return r;
        held = next;
        uint64_t span = 1;
        for (int i = 1; i < level; ++i) span *= p;
        slot = reinterpret_cast<uint32_t*>(held->data) + (lblock / span) % p;
    }
}

// Frees what `*slot` maps at and after logical block `from`; the subtree
// covers `level` levels of indirection starting at logical block `base`.
static int64_t trim_tree(Fs& fs, DiskInode& in, uint32_t* slot, int level, uint64_t base,
                         uint64_t from) {
    uint32_t b = *slot;
    if (b == 0) return kOk;
    uint64_t p = fs.pointers, span = 1;
    for (int i = 0; i < level; ++i) span *= p;
    if (base + span <= from) return kOk;
    if (!fs.block_valid(b)) return kErrCorrupt;
    if (level > 0) {
        Cache::Buf* held;
        int64_t r = fs.cache.get(b, true, &held);
        if (r < 0) return r;
        uint32_t* slots = reinterpret_cast<uint32_t*>(held->data);
        bool any = false;
        for (uint32_t i = 0; i < fs.pointers; ++i) {
            uint32_t before = slots[i];
            r = trim_tree(fs, in, &slots[i], level - 1, base + i * (span / p), from);
            if (slots[i] != before) fs.cache.mark(held, Cache::kMeta);
            if (r < 0) {
                fs.cache.put(held);
                return r;
            }
            any |= slots[i] != 0;
        }
        fs.cache.put(held);
        if (any) return kOk;
    }
    int64_t r = fs.free_block(b);
    if (r < 0) return r;
    *slot = 0;
    in.blocks512 = in.blocks512 >= fs.sectors_per_block ? in.blocks512 - fs.sectors_per_block : 0;
    return kOk;
}

int64_t Fs::trim(uint32_t ino, DiskInode& in, uint64_t from) {
    data_forget(ino, from);  // first: whatever happens next, the map may change from there
    for (uint32_t i = 0; i < 12; ++i) {
        int64_t r = trim_tree(*this, in, &in.block[i], 0, i, from);
        if (r < 0) return r;
    }
    uint64_t p = pointers, base = 12;
    for (int level = 1; level <= 3; ++level) {
        int64_t r = trim_tree(*this, in, &in.block[11 + level], level, base, from);
        if (r < 0) return r;
        uint64_t span = 1;
        for (int i = 0; i < level; ++i) span *= p;
        base += span;
    }
    return kOk;
}

int64_t Fs::release(uint32_t ino, DiskInode& in) {
    // A directory entry naming a reserved inode (the resize inode, say) must
    // not free the blocks that inode guards.
    if (ino < first_ino || ino > inodes_count) return kErrCorrupt;
    bool dir = is_dir(in);
    // Fast symlinks keep their target in the block array, not block numbers.
    bool fast_symlink = is_symlink(in) && in.size < 60 &&
                        in.blocks512 == (in.file_acl ? sectors_per_block : 0);
    int64_t r = fast_symlink ? kOk : trim(ino, in, 0);
    if (r >= 0 && in.file_acl) {
        // Shared extended-attribute block: drop our reference.
        uint32_t x = in.file_acl;
        if (!block_valid(x)) return kErrCorrupt;
        Cache::Buf* b;
        r = cache.get(x, true, &b);
        if (r < 0) return r;
        if (get32(b->data) != kXattrMagic || get32(b->data + 4) == 0) {
            cache.put(b);
            return kErrCorrupt;
        }
        uint32_t refs = get32(b->data + 4) - 1;
        put32(b->data + 4, refs);
        cache.mark(b, Cache::kMeta);
        cache.put(b);
        if (refs == 0) r = free_block(x);
        in.file_acl = 0;
    }
    if (r < 0) {
        write_inode(ino, in);
        return r;
    }
    uint32_t generation = in.generation;  // kept: the next file here is of the next one
    memset(&in, 0, sizeof in);
    in.generation = generation;
    // e2fsck reads a dtime below s_inodes_count as an orphan list link, so
    // without a real clock the deletion time stays 0 (mode 0 says "free").
    if (now() > inodes_count) in.dtime = now();
    r = write_inode(ino, in);
    if (r < 0) return r;
    return free_inode(ino, dir);
}

const uint8_t* Fs::data_view(uint32_t ino, uint64_t offset, uint32_t length) const {
    if (!data_slots || length == 0) return nullptr;
    uint64_t lb = offset / block_size, last = (offset + length - 1) / block_size;
    uint32_t first = data_index(ino, lb);
    if (last - lb >= data_room(first)) return nullptr;  // it would wrap around
    for (uint64_t b = lb; b <= last; ++b)
        if (!data_has(static_cast<uint32_t>(first + (b - lb)), ino, b)) return nullptr;
    return data_at(first) + offset % block_size;
}

int64_t Fs::read_data(uint32_t ino, DiskInode& in, uint64_t offset, uint8_t* buffer, uint32_t length) {
    uint64_t size = file_size(in);
    if (is_symlink(in) && size < 60 && in.blocks512 == (in.file_acl ? sectors_per_block : 0)) {
        if (offset >= size) return 0;
        uint32_t n = static_cast<uint32_t>(size - offset < length ? size - offset : length);
        memcpy(buffer, reinterpret_cast<const uint8_t*>(in.block) + offset, n);
        return n;
    }
    if (offset >= size) return 0;
    if (size - offset < length) length = static_cast<uint32_t>(size - offset);
    bool caching = data_ready();
    uint32_t done = 0;
    uint32_t run_blocks = kMaxRunBytes / block_size;
    while (done < length) {
        uint64_t pos = offset + done;
        uint64_t lb = pos / block_size;
        uint64_t end = pos + (length - done);
        uint64_t last_lb = (end - 1) / block_size;
        uint32_t slot = caching ? data_index(ino, lb) : 0;
        uint32_t room = caching ? data_room(slot) : run_blocks;
        uint32_t limit = room < run_blocks ? room : run_blocks;
        if (caching && data_has(slot, ino, lb)) {
            // Seen before: from memory, as many blocks as lie together there.
            uint32_t n = 1;
            while (n < limit && lb + n <= last_lb && data_has(slot + n, ino, lb + n)) ++n;
            uint64_t run_end = (lb + n) * block_size;
            uint32_t take = static_cast<uint32_t>((run_end < end ? run_end : end) - pos);
            if (buffer) memcpy(buffer + done, data_at(slot) + (pos - lb * block_size), take);
            done += take;
            continue;
        }
        // Collect a run of contiguous blocks (or of holes) from here.
        uint32_t first, b;
        int64_t r = map(in, lb, false, nullptr, &first, nullptr);
        if (r < 0) return done ? done : r;
        uint32_t n = 1;
        while (n < limit && lb + n <= last_lb) {
            r = map(in, lb + n, false, nullptr, &b, nullptr);
            if (r < 0) break;
            if (first == 0 ? b != 0 : b != first + n) break;
            ++n;
        }
        uint64_t run_start = lb * block_size;
        uint64_t run_end = run_start + uint64_t{n} * block_size;
        uint32_t take = static_cast<uint32_t>((run_end < end ? run_end : end) - pos);
        if (first == 0) {  // a hole reads as zeros
            if (buffer) memset(buffer + done, 0, take);
            done += take;
            continue;
        }
        // Straight into the blocks' slots (forgotten until the read is done).
        uint8_t* into = run;
        if (caching) {
            data_clear(slot, n);
            into = data_at(slot);
        }
        r = device->read_in_place(sector_of(first), n * sectors_per_block, into);
        if (r < 0) return done ? done : r;
        if (caching)
            for (uint32_t i = 0; i < n; ++i) data_tag(slot + i, ino, lb + i);
        if (buffer) memcpy(buffer + done, into + (pos - run_start), take);
        done += take;
    }
    return done;
}

// Before the file grows past `old_size`, zero the rest of its last block so
// whatever was left there by an earlier shrink does not reappear.
static int64_t zero_tail(Fs& fs, uint32_t ino, DiskInode& in, uint64_t old_size) {
    uint32_t within = static_cast<uint32_t>(old_size % fs.block_size);
    if (within == 0) return kOk;
    uint64_t lb = old_size / fs.block_size;
    uint32_t b;
    int64_t r = fs.map(in, lb, false, nullptr, &b, nullptr);
    if (r < 0 || b == 0) return r;
    bool caching = fs.data_ready();
    uint32_t slot = caching ? fs.data_index(ino, lb) : 0;
    uint8_t* buf = caching ? fs.data_at(slot) : fs.run;
    bool have = caching && fs.data_has(slot, ino, lb);
    if (caching) fs.data_clear(slot, 1);  // until the device holds what it will
    if (!have && (r = fs.device->read_in_place(fs.sector_of(b), fs.sectors_per_block, buf)) < 0) return r;
    memset(buf + within, 0, fs.block_size - within);
    r = fs.device->write_in_place(fs.sector_of(b), fs.sectors_per_block, buf);
    if (r >= 0 && caching) fs.data_tag(slot, ino, lb);
    return r;
}

int64_t Fs::resize(uint32_t ino, DiskInode& in, uint64_t size) {
    uint64_t old = file_size(in);
    if (size > max_file_size()) return kErrOutOfRange;
    if (size < old) {
        int64_t r = trim(ino, in, (size + block_size - 1) / block_size);
        if (r < 0) return r;
    } else if (size > old) {
        int64_t r = zero_tail(*this, ino, in, old);
        if (r < 0) return r;
    }
    return set_size(in, size);
}

int64_t Fs::write_data(uint32_t ino, DiskInode& in, uint64_t offset, const uint8_t* buffer,
                       uint32_t length) {
    if (length == 0) return 0;
    uint64_t size = file_size(in);
    if (offset >= max_file_size() || max_file_size() - offset < length) return kErrOutOfRange;
    if (offset + length > 0x7FFFFFFFull) {
        int64_t r = need_large_file();
        if (r < 0) return r;
    }
    if (offset > size) {
        int64_t r = zero_tail(*this, ino, in, size);
        if (r < 0) return r;
    }
    uint32_t goal = first_goal(ino);
    uint64_t first_lb = offset / block_size;
    if (first_lb > 0) {
        uint32_t prev;
        if (map(in, first_lb - 1, false, nullptr, &prev, nullptr) >= 0 && prev) goal = prev + 1;
    }

    uint32_t run_blocks = kMaxRunBytes / block_size;
    bool caching = data_ready();
    uint32_t done = 0;
    int64_t error = kOk;
    uint32_t deferred_fresh = 0;  // allocated for the next run, still garbage
    while (done < length && error == kOk) {
        // Map (allocating) a run of contiguous blocks, fill it, write it. It
        // is filled in the blocks' own slots of the data cache (what a block
        // there already holds of the file is what the device holds).
        uint64_t pos = offset + done;
        uint64_t lb = pos / block_size;
        uint64_t run_start = lb * block_size;
        uint64_t end = offset + length;
        uint32_t slot = caching ? data_index(ino, lb) : 0;
        uint8_t* stage = caching ? data_at(slot) : run;
        uint32_t limit = caching && data_room(slot) < run_blocks ? data_room(slot) : run_blocks;
        uint32_t first = 0, n = 0;
        while (n < limit && run_start + uint64_t{n} * block_size < end) {
            uint32_t b;
            bool fresh;
            int64_t r = map(in, lb + n, true, &goal, &b, &fresh);
            if (r < 0) {
                error = r;
                break;
            }
            if (b == deferred_fresh) {
                fresh = true;
                deferred_fresh = 0;
            }
            if (n > 0 && b != first + n) {  // the next run starts there
                if (fresh) deferred_fresh = b;
                break;
            }
            if (n == 0) first = b;
            // Partially covered blocks keep the bytes around the new data.
            uint64_t bs = run_start + uint64_t{n} * block_size, be = bs + block_size;
            uint8_t* block = stage + size_t{n} * block_size;
            if ((bs < pos || be > end) && !(caching && data_has(slot + n, ino, lb + n))) {
                if (caching) data_clear(slot + n, 1);
                if (fresh) {
                    memset(block, 0, block_size);
                } else {
                    r = device->read_in_place(sector_of(b), sectors_per_block, block);
                    if (r < 0) {
                        error = r;
                        break;
                    }
                }
            }
            ++n;
        }
        if (n == 0) break;
        uint64_t run_end = run_start + uint64_t{n} * block_size;
        uint32_t take = static_cast<uint32_t>((run_end < end ? run_end : end) - pos);
        if (caching) data_clear(slot, n);  // until the device holds the new bytes
        memcpy(stage + (pos - run_start), buffer + done, take);
        int64_t r = device->write_in_place(sector_of(first), n * sectors_per_block, stage);
        if (r < 0) {
            error = r;
            break;
        }
        if (caching)
            for (uint32_t i = 0; i < n; ++i) data_tag(slot + i, ino, lb + i);
        done += take;
    }
    uint64_t new_size = offset + done > size ? offset + done : size;
    int64_t r = set_size(in, new_size);
    // Blocks mapped but not written (a failed run) past the end would be
    // beyond i_size; give them back.
    if (error != kOk) trim(ino, in, (new_size + block_size - 1) / block_size);
    if (r < 0 && error == kOk) error = r;
    if (done > 0) {
        in.mtime = in.ctime = now();
        return done;
    }
    return error;
}

}  // namespace ext2::detail
