// Directories as linear lists of variable-length records. Hashed (dir_index)
// directories read the same way; changing one clears its index flag, which
// leaves a valid linear directory behind.
#include "internal.h"

namespace ext2::detail {

namespace {

constexpr uint32_t kHeader = 8;  // inode, rec_len, name_len, file_type

uint32_t rec_ino(const uint8_t* r) { return get32(r); }
uint32_t rec_len(const uint8_t* r) { return get16(r + 4); }
uint32_t rec_name_len(const uint8_t* r) { return r[6]; }
uint32_t align4(uint32_t n) { return (n + 3) & ~3u; }

bool is_dot_or_dotdot(const uint8_t* r) {
    uint32_t n = rec_name_len(r);
    return (n == 1 && r[8] == '.') || (n == 2 && r[8] == '.' && r[9] == '.');
}

bool same_name(const uint8_t* r, const char* name, uint32_t len) {
    return rec_ino(r) && rec_name_len(r) == len && memcmp(r + kHeader, name, len) == 0;
}

int64_t check_record(const Fs& fs, const uint8_t* r, uint32_t off) {
    if (fs.block_size - off < kHeader) return kErrCorrupt;
    uint32_t len = rec_len(r);
    if (len < kHeader || (len & 3) || len > fs.block_size - off) return kErrCorrupt;
    if (rec_ino(r)) {
        if (rec_ino(r) > fs.inodes_count) return kErrCorrupt;
        if (kHeader + rec_name_len(r) > len) return kErrCorrupt;
        // Without the filetype feature the name length is 16 bits wide.
        if (!fs.filetype && r[7] != 0) return kErrCorrupt;
    }
    return kOk;
}

void fill_record(const Fs& fs, uint8_t* r, uint32_t ino, uint32_t len, const char* name,
                 uint32_t name_len, uint16_t mode) {
    put32(r, ino);
    put16(r + 4, static_cast<uint16_t>(len));
    r[6] = static_cast<uint8_t>(name_len);
    r[7] = fs.filetype ? dirent_type(mode) : 0;
    memcpy(r + kHeader, name, name_len);
}

// Calls visit(buf, offset, previous offset or -1) for every record of every
// block, each checked first. visit returns 0 to go on, anything else to stop
// with that result (the buffer is still pinned during the call).
// Visits the records of `dir` from its logical block `first` on; *current
// (if given) is the block being visited.
template <class Visit>
int64_t walk(Fs& fs, DiskInode& dir, Visit&& visit, uint32_t first = 0, uint32_t* current = nullptr) {
    if (dir.size % fs.block_size) return kErrCorrupt;
    uint32_t blocks = dir.size / fs.block_size;
    for (uint32_t lb = first; lb < blocks; ++lb) {
        if (current) *current = lb;
        uint32_t b;
        int64_t r = fs.map(dir, lb, false, nullptr, &b, nullptr);
        if (r < 0) return r;
        if (b == 0) return kErrCorrupt;  // directories have no holes
        Cache::Buf* buf;
        r = fs.cache.get(b, true, &buf);
        if (r < 0) return r;
        int32_t prev = -1;
        for (uint32_t off = 0; off < fs.block_size;) {
            r = check_record(fs, buf->data + off, off);
            if (r == kOk) r = visit(buf, off, prev);
            if (r != kOk) {
                fs.cache.put(buf);
                return r;
            }
            prev = static_cast<int32_t>(off);
            off += rec_len(buf->data + off);
        }
        fs.cache.put(buf);
    }
    return kOk;
}

int64_t touch_dir(Fs& fs, uint32_t ino, DiskInode& dir) {
    dir.flags &= ~kIndexFlag;
    dir.mtime = dir.ctime = fs.now();
    return fs.write_inode(ino, dir);
}

}  // namespace

int64_t Fs::lookup(uint32_t dir_ino, DiskInode& dir, const char* name, uint32_t len, uint32_t* ino) {
    uint32_t known;
    if (names.find(dir_ino, name, len, &known)) {
        if (!known) return kErrNotFound;
        *ino = known;
        return kOk;
    }
    int64_t r = walk(*this, dir, [&](Cache::Buf* buf, uint32_t off, int32_t) -> int64_t {
        const uint8_t* rec = buf->data + off;
        if (!same_name(rec, name, len)) return 0;
        *ino = rec_ino(rec);
        return 1;
    });
    if (r < 0) return r;
    names.keep(dir_ino, name, len, r == 1 ? *ino : 0);
    return r == 1 ? kOk : kErrNotFound;
}

int64_t Fs::add_entry(uint32_t dir_ino, DiskInode& dir, const char* name, uint32_t len,
                      uint32_t ino, uint16_t mode) {
    names.changed();
    uint32_t need = align4(kHeader + len);
    int64_t r = walk(*this, dir, [&](Cache::Buf* buf, uint32_t off, int32_t) -> int64_t {
        uint8_t* rec = buf->data + off;
        uint32_t used = rec_ino(rec) ? align4(kHeader + rec_name_len(rec)) : 0;
        uint32_t total = rec_len(rec);
        if (total - used < need) return 0;
        if (used) {
            put16(rec + 4, static_cast<uint16_t>(used));
            rec += used;
        }
        fill_record(*this, rec, ino, total - used, name, len, mode);
        cache.mark(buf, Cache::kMeta);
        return 1;
    });
    if (r < 0) return r;
    if (r == 0) {
        // No room: a new block at the end.
        uint32_t lb = dir.size / block_size, goal = first_goal(dir_ino), b;
        if (lb > 0 && map(dir, lb - 1, false, nullptr, &b, nullptr) >= 0 && b) goal = b + 1;
        r = map(dir, lb, true, &goal, &b, nullptr);
        if (r < 0) {
            write_inode(dir_ino, dir);  // it may own a new, empty indirect block
            return r;
        }
        Cache::Buf* buf;
        r = cache.get(b, false, &buf);
        if (r < 0) {
            trim(dir_ino, dir, lb);
            write_inode(dir_ino, dir);
            return r;
        }
        fill_record(*this, buf->data, ino, block_size, name, len, mode);
        cache.mark(buf, Cache::kMeta);
        cache.put(buf);
        dir.size += block_size;
    }
    return touch_dir(*this, dir_ino, dir);
}

int64_t Fs::remove_entry(uint32_t dir_ino, DiskInode& dir, const char* name, uint32_t len) {
    names.changed();
    int64_t r = walk(*this, dir, [&](Cache::Buf* buf, uint32_t off, int32_t prev) -> int64_t {
        uint8_t* rec = buf->data + off;
        if (!same_name(rec, name, len)) return 0;
        if (prev >= 0) {
            uint8_t* before = buf->data + prev;
            put16(before + 4, static_cast<uint16_t>(rec_len(before) + rec_len(rec)));
        } else {
            put32(rec, 0);  // first in its block: keep the record, unused
        }
        cache.mark(buf, Cache::kMeta);
        return 1;
    });
    if (r < 0) return r;
    if (r == 0) return kErrNotFound;
    return touch_dir(*this, dir_ino, dir);
}

int64_t Fs::retarget_entry(uint32_t dir_ino, DiskInode& dir, const char* name, uint32_t len,
                           uint32_t ino, uint16_t mode) {
    names.changed();
    int64_t r = walk(*this, dir, [&](Cache::Buf* buf, uint32_t off, int32_t) -> int64_t {
        uint8_t* rec = buf->data + off;
        if (!same_name(rec, name, len)) return 0;
        put32(rec, ino);
        rec[7] = filetype ? dirent_type(mode) : 0;
        cache.mark(buf, Cache::kMeta);
        return 1;
    });
    if (r < 0) return r;
    if (r == 0) return kErrNotFound;
    return touch_dir(*this, dir_ino, dir);
}

int64_t Fs::dir_empty(DiskInode& dir) {
    int64_t r = walk(*this, dir, [&](Cache::Buf* buf, uint32_t off, int32_t) -> int64_t {
        const uint8_t* rec = buf->data + off;
        return rec_ino(rec) && !is_dot_or_dotdot(rec) ? 1 : 0;
    });
    if (r < 0) return r;
    return r == 1 ? 0 : 1;
}

int64_t Fs::entry_from(DiskInode& dir, uint64_t cursor, DirEntry* out, uint64_t* next) {
    uint32_t lb = 0;
    uint8_t type = 0;
    int64_t r = walk(*this, dir, [&](Cache::Buf* buf, uint32_t off, int32_t) -> int64_t {
        const uint8_t* rec = buf->data + off;
        uint64_t at = uint64_t{lb} * block_size + off;
        if (at < cursor || !rec_ino(rec) || is_dot_or_dotdot(rec)) return 0;
        uint32_t n = rec_name_len(rec);
        memcpy(out->name, rec + kHeader, n);
        out->name[n] = '\0';
        out->inode = rec_ino(rec);
        type = filetype ? rec[7] : 0;
        *next = at + rec_len(rec);
        return 1;
    }, static_cast<uint32_t>(cursor / block_size), &lb);
    if (r < 0) return r;
    if (r == 0) return kErrNotFound;
    switch (type) {
        case 1: out->type = kFile; break;
        case 2: out->type = kDirectory; break;
        case 7: out->type = kSymlink; break;
        case 0: {
            DiskInode in;
            r = read_inode(out->inode, &in);
            if (r < 0) return r;
            out->type = api_type(in.mode);
            break;
        }
        default: out->type = kOther;
    }
    return kOk;
}

int64_t Fs::entry_at(DiskInode& dir, uint32_t index, DirEntry* out) {
    uint64_t cursor = 0, next = 0;
    for (uint32_t i = 0;; ++i, cursor = next) {
        int64_t r = entry_from(dir, cursor, out, &next);
        if (r < 0 || i == index) return r;
    }
}

int64_t Fs::make_dir_block(uint32_t ino, uint32_t parent, DiskInode& in) {
    names.changed();
    uint32_t goal = first_goal(ino), b;
    int64_t r = map(in, 0, true, &goal, &b, nullptr);
    if (r < 0) return r;
    Cache::Buf* buf;
    r = cache.get(b, false, &buf);
    if (r < 0) return r;
    fill_record(*this, buf->data, ino, 12, ".", 1, kModeDir);
    fill_record(*this, buf->data + 12, parent, block_size - 12, "..", 2, kModeDir);
    cache.mark(buf, Cache::kMeta);
    cache.put(buf);
    in.size = block_size;
    return kOk;
}

}  // namespace ext2::detail
