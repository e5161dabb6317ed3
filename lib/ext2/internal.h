// Shared by the library's sources: the on-disk layout and the mounted state.
// All on-disk integers are little-endian, as is every target we build for,
// so structures are copied with memcpy and used as they are.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <new>

#include "ext2/volume.h"
#include "mica/errors.h"

namespace ext2::detail {

using mica::kErrAlreadyExists, mica::kErrCorrupt, mica::kErrInvalidArgument, mica::kErrIo,
    mica::kErrIsDirectory, mica::kErrNameTooLong, mica::kErrNoMemory, mica::kErrNoSpace,
    mica::kErrNotDirectory, mica::kErrNotEmpty, mica::kErrNotFound, mica::kErrOutOfRange,
    mica::kErrReadOnly, mica::kOk;

inline uint16_t get16(const uint8_t* p) { uint16_t v; memcpy(&v, p, 2); return v; }
inline uint32_t get32(const uint8_t* p) { uint32_t v; memcpy(&v, p, 4); return v; }
inline void put16(uint8_t* p, uint16_t v) { memcpy(p, &v, 2); }
inline void put32(uint8_t* p, uint32_t v) { memcpy(p, &v, 4); }

constexpr uint16_t kMagic = 0xEF53;
constexpr uint32_t kRootIno = 2;
constexpr uint32_t kNameMax = 255;
constexpr uint32_t kLinkMax = 32000;
constexpr uint32_t kMaxRunBytes = kMaxSectorsPerCall * kSectorSize;  // one device call
// What a mount reads first: the superblock, the block that holds it, and the
// first group descriptor block, whatever the block size (1, 2 or 4 KiB).
constexpr uint32_t kHeadBytes = 8192;

// Superblock byte offsets (the superblock is 1024 bytes at byte 1024).
namespace sb {
constexpr uint32_t kInodesCount = 0, kBlocksCount = 4, kFreeBlocks = 12, kFreeInodes = 16,
                   kFirstDataBlock = 20, kLogBlockSize = 24, kBlocksPerGroup = 32,
                   kInodesPerGroup = 40, kWtime = 48, kMagic = 56, kRevLevel = 76,
                   kFirstIno = 84, kInodeSize = 88, kCompat = 92, kIncompat = 96,
                   kRoCompat = 100, kVolumeName = 120, kJournalInum = 224, kJournalDev = 228,
                   kLastOrphan = 232;
}
constexpr uint32_t kCompatHasJournal = 0x4;
constexpr uint32_t kIncompatFiletype = 0x2, kIncompatRecover = 0x4;
constexpr uint32_t kRoCompatSparseSuper = 0x1, kRoCompatLargeFile = 0x2;

// Group descriptor (32 bytes) byte offsets.
namespace gd {
constexpr uint32_t kSize = 32, kBlockBitmap = 0, kInodeBitmap = 4, kInodeTable = 8,
                   kFreeBlocks = 12, kFreeInodes = 14, kUsedDirs = 16;
}

// The first 128 bytes of an inode, the part every revision has.
struct DiskInode {
    uint16_t mode, uid;
    uint32_t size, atime, ctime, mtime, dtime;
    uint16_t gid, links;
    uint32_t blocks512, flags, osd1;
    uint32_t block[15];
    uint32_t generation, file_acl, size_high, faddr;
    uint8_t osd2[12];
};
static_assert(sizeof(DiskInode) == 128);

constexpr uint16_t kModeTypeMask = 0xF000, kModeFile = 0x8000, kModeDir = 0x4000,
                   kModeSymlink = 0xA000, kModeFifo = 0x1000;
constexpr uint32_t kIndexFlag = 0x1000;  // EXT2_INDEX_FL: hashed directory
constexpr uint32_t kXattrMagic = 0xEA020000;

inline bool is_dir(const DiskInode& i) { return (i.mode & kModeTypeMask) == kModeDir; }
inline bool is_file(const DiskInode& i) { return (i.mode & kModeTypeMask) == kModeFile; }
inline bool is_symlink(const DiskInode& i) { return (i.mode & kModeTypeMask) == kModeSymlink; }
inline uint64_t file_size(const DiskInode& i) {
    return is_file(i) ? (uint64_t{i.size_high} << 32) | i.size : i.size;
}

// Directory entry file_type values (the filetype feature).
uint8_t dirent_type(uint16_t mode);
uint32_t api_type(uint16_t mode);

// A bounded LRU cache of metadata blocks. Users pin a block while they hold
// its pointer; changed blocks are marked dirty with a class that orders the
// write-back (bitmaps, then other metadata, then inode tables) so a crash in
// the middle of a commit never leaves an inode pointing at unallocated blocks.
class Cache {
public:
    enum Kind : int8_t { kClean = -1, kBitmap = 0, kMeta = 1, kInodeTable = 2, kKinds = 3 };
    struct Buf {
        uint32_t block;
        uint32_t pins;
        int8_t dirty;
        bool valid;
        uint8_t* data;
        Buf *newer, *older, *next_in_bucket;
    };

    Cache() = default;
    ~Cache();
    Cache(const Cache&) = delete;
    Cache& operator=(const Cache&) = delete;
    int64_t init(BlockDevice* device, uint32_t block_size, uint32_t capacity);

    // Pins `block`; with load false its contents are zeroed instead of read
    // (a block about to be filled from scratch).
    int64_t get(uint32_t block, bool load, Buf** out);
    void put(Buf* buf);
    void mark(Buf* buf, Kind kind);
    // The block was freed: its contents no longer matter.
    void forget(uint32_t block);
    // Writes every dirty block, class by class.
    int64_t flush();
    // Calls f(block, data) for each dirty block.
    template <class F>
    void for_each_dirty(F f) {
        for (uint32_t i = 0; i < capacity_; ++i)
            if (bufs_[i].valid && bufs_[i].dirty != kClean) f(bufs_[i].block, bufs_[i].data);
    }
    uint32_t capacity() const { return capacity_; }
    // With a journal, a dirty block may not go to the device before its
    // transaction commits: evicting one calls `commit` first.
    void set_commit(int64_t (*commit)(void*), void* context) { commit_ = commit, commit_context_ = context; }
    // Blocks asked for since the start (cached or not): the work an operation did.
    uint64_t gets() const { return gets_; }

private:
    Buf* find(uint32_t block);
    void unlink_hash(Buf* b);
    void touch(Buf* b);
    int64_t write_back(Buf* b);

    BlockDevice* device_ = nullptr;
    uint32_t block_size_ = 0, capacity_ = 0, buckets_ = 0;
    Buf* bufs_ = nullptr;
    Buf** hash_ = nullptr;
    uint8_t* memory_ = nullptr;
    Buf *newest_ = nullptr, *oldest_ = nullptr;
    uint64_t gets_ = 0;
    int64_t (*commit_)(void*) = nullptr;
    void* commit_context_ = nullptr;
};

struct Journal;  // journal.cpp
void journal_free(Journal* j);
uint32_t journal_replayed(bool reset);  // transactions the last mount replayed
// Refuses a mount, naming what is not supported (Volume::refusal).
int64_t unsupported_feature(const char* what, const char* name);
constexpr int64_t kReplayed = 1;  // load: the journal was replayed; load again

// Names looked up in directories, found or not: a lookup of a name seen
// before does not scan its directory again (a scan is linear: /bin holds
// hundreds of names). Direct-mapped by a hash of the directory's inode and
// the name. Every change of any directory's entries (add, remove,
// retarget) starts a new generation, in which nothing older counts.
struct NameCache {
    static constexpr uint32_t kSlots = 512, kLongest = 47;  // longer names are not kept
    struct Slot {
        uint64_t generation;  // 0: empty
        uint32_t dir, ino;    // ino 0: the directory has no such name
        uint8_t len;
        char name[kLongest];
    };
    Slot* slots = nullptr;  // allocated at the first keep; without memory, none
    uint64_t generation = 1;
    // The hash of a name in `dir`, a byte at a time (a path walk hashes a
    // component as it finds its end).
    static uint32_t hash_start(uint32_t dir) { return dir * 0x9e3779b1u; }
    static uint32_t hash_step(uint32_t h, char c) { return (h ^ static_cast<uint8_t>(c)) * 0x01000193u; }
    static uint32_t hash(uint32_t dir, const char* name, uint32_t len) {
        uint32_t h = hash_start(dir);
        for (uint32_t i = 0; i < len; ++i) h = hash_step(h, name[i]);
        return h;
    }
    Slot* slot(uint32_t dir, const char* name, uint32_t len) const {
        return slots ? &slots[hash(dir, name, len) % kSlots] : nullptr;
    }
    static bool same(const char* a, const char* b, uint32_t len) {
        uint32_t i = 0;
        for (; i + 8 <= len; i += 8) {  // a word at a time
            uint64_t x, y;
            memcpy(&x, a + i, 8), memcpy(&y, b + i, 8);
            if (x != y) return false;
        }
        for (; i < len; ++i)
            if (a[i] != b[i]) return false;
        return true;
    }
    // True if known: *ino is the entry's inode, or 0 for a name not there.
    // `h` is hash(dir, name, len).
    bool find_hashed(uint32_t dir, const char* name, uint32_t len, uint32_t h, uint32_t* ino) const {
        if (!slots) return false;
        const Slot* s = &slots[h % kSlots];
        if (s->generation != generation || s->dir != dir || s->len != len || !same(s->name, name, len)) return false;
        *ino = s->ino;
        return true;
    }
    bool find(uint32_t dir, const char* name, uint32_t len, uint32_t* ino) const {
        return find_hashed(dir, name, len, hash(dir, name, len), ino);
    }
    void keep(uint32_t dir, const char* name, uint32_t len, uint32_t ino) {
        if (len > kLongest) return;
        if (!slots && !(slots = new (std::nothrow) Slot[kSlots]())) return;
        Slot* s = slot(dir, name, len);
        *s = Slot{generation, dir, ino, static_cast<uint8_t>(len), {}};
        memcpy(s->name, name, len);
    }
    void changed() { ++generation; }
    ~NameCache() { delete[] slots; }
};

// The mounted file system. Functions return kOk or a negative error.
struct Fs {
    BlockDevice* device = nullptr;
    uint8_t super[1024];
    bool super_dirty = false;
    uint32_t block_size = 0, sectors_per_block = 0, pointers = 0;  // pointers per indirect block
    uint32_t blocks_count = 0, first_data_block = 0, blocks_per_group = 0;
    uint32_t inodes_count = 0, inodes_per_group = 0, inode_size = 0, first_ino = 0;
    uint32_t groups = 0, itable_blocks = 0, rev = 0;
    bool filetype = false, read_only = false;
    uint8_t* gdt = nullptr;           // the group descriptor table, in memory
    uint32_t gdt_blocks = 0;
    bool* gdt_dirty = nullptr;        // per table block
    uint8_t* run_memory = nullptr;
    uint8_t* run = nullptr;           // kMaxRunBytes of staging for data transfers (BlockDevice::kRoom before)
    // File data recently read or written: kDataCacheBytes in slots of a
    // block, each tagged with the file's inode and the logical block it holds
    // there (inode 0: empty), direct-mapped by the two so that a file's
    // consecutive blocks take consecutive slots. A file as large as the cache
    // therefore fits in it whole (by physical block number its indirect block
    // would have pushed the file's first and last data blocks into one slot),
    // a read of cached data needs no look at the block map, and runs of
    // blocks move straight between the device and their slots. Write-through:
    // a block's slot is written only with what the device then holds (a
    // failed device write leaves the slot empty), and every change of a
    // file's block map that is not a write through here (a truncate, a
    // file freed) forgets the file's blocks from there on, so reads of data
    // seen before do not go to the device. Allocated at the first use, not at
    // mount (a server restarting after a crash answers sooner without it);
    // without memory for it, none.
    static constexpr uint32_t kDataCacheBytes = 1 << 20;
    struct DataTag {
        uint32_t ino, lblock;
    };
    uint8_t* data_memory = nullptr;   // data, unaligned
    uint8_t* data = nullptr;          // the slots, aligned to a block (whole pages for IPC), kRoom after data_memory or more
    DataTag* data_tags = nullptr;
    uint32_t data_slots = 0;          // a power of two, or 0
    bool data_tried = false;
    bool data_allocate();
    bool data_ready() { return data_slots || data_allocate(); }
    uint32_t data_index(uint32_t ino, uint64_t lblock) const {
        return (ino * 0x9E3779B1u + static_cast<uint32_t>(lblock)) & (data_slots - 1);
    }
    uint8_t* data_at(uint32_t index) const { return data + size_t{index} * block_size; }
    bool data_has(uint32_t index, uint32_t ino, uint64_t lblock) const {
        return data_tags[index].ino == ino && data_tags[index].lblock == lblock;
    }
    const uint8_t* data_find(uint32_t ino, uint64_t lblock) const {
        if (!data_slots) return nullptr;
        uint32_t i = data_index(ino, lblock);
        return data_has(i, ino, lblock) ? data_at(i) : nullptr;
    }
    // Slots from `index` on that do not wrap around: how long a run through
    // the cache may be.
    uint32_t data_room(uint32_t index) const { return data_slots - index; }
    void data_tag(uint32_t index, uint32_t ino, uint64_t lblock) {
        data_tags[index] = DataTag{ino, static_cast<uint32_t>(lblock)};
    }
    void data_clear(uint32_t index, uint32_t count) {
        for (uint32_t i = 0; i < count; ++i) data_tags[index + i] = DataTag{0, 0};
    }
    // File `ino`'s blocks at and after logical block `from` are no longer
    // what the cache holds (its map changed there).
    void data_forget(uint32_t ino, uint64_t from) {
        for (uint32_t i = 0; i < data_slots; ++i)
            if (data_tags[i].ino == ino && data_tags[i].lblock >= from) data_tags[i] = DataTag{0, 0};
    }
    // The inode read or written last, as the inode table holds it (only
    // read_inode, write_inode and init_inode touch inodes there): requests
    // on one open file read the same inode again and again.
    uint32_t last_ino = 0;  // 0: none
    DiskInode last_inode;
    uint8_t* head = nullptr;          // while loading: the device's first kHeadBytes
    Cache cache;
    uint32_t (*clock)() = nullptr;
    Journal* journal = nullptr;  // null: ext2, every commit writes in place
    bool deferred = false;       // calls leave their commit to Volume::commit
    bool (*held)(uint32_t ino) = nullptr;  // Volume::set_holder
    NameCache names;

    ~Fs();
    uint32_t now() const { return clock ? clock() : 0; }
    uint8_t* group(uint32_t g) { return gdt + size_t{g} * gd::kSize; }
    void group_changed(uint32_t g) { gdt_dirty[size_t{g} * gd::kSize / block_size] = true; }
    bool block_valid(uint32_t b) const { return b >= first_data_block && b < blocks_count; }
    uint64_t sector_of(uint32_t block) const { return uint64_t{block} * sectors_per_block; }
    uint64_t max_file_size() const;
    // Writes every change of the current operation to the device: with a
    // journal, as one transaction committed first.
    int64_t commit();
    int64_t write_in_place();

    // journal.cpp
    int64_t journal_open(bool* replayed);  // checks the log; replays it if it is not empty
    int64_t journal_commit();
    void journal_revoke(uint32_t block);   // a freed block
    int64_t checkpoint();                  // empties the log (its blocks are in place)

    // mount.cpp
    int64_t load(BlockDevice* dev);
    int64_t need_large_file();

    // alloc.cpp
    int64_t alloc_block(uint32_t goal, uint32_t* out);
    int64_t free_block(uint32_t block);
    int64_t alloc_inode(uint32_t parent, bool dir, uint32_t* out);
    int64_t free_inode(uint32_t ino, bool dir);

    // inode.cpp
    int64_t read_inode(uint32_t ino, DiskInode* out);
    int64_t write_inode(uint32_t ino, const DiskInode& in);
    // Zeroed and in use, of the next generation (a stale node of the inode's
    // last file does not find the new one).
    int64_t init_inode(uint32_t ino, DiskInode* out, uint16_t mode);
    // Physical block of logical block `lblock` (0: a hole). With create, holes
    // are filled: `goal` is where to look first and advances past what was
    // allocated, `fresh` tells a new data block (its contents are garbage).
    int64_t map(DiskInode& in, uint64_t lblock, bool create, uint32_t* goal, uint32_t* out,
                bool* fresh);
    uint32_t first_goal(uint32_t ino);
    // Frees every block of inode `ino` at or after logical block `from`.
    int64_t trim(uint32_t ino, DiskInode& in, uint64_t from);
    // Frees the inode and everything it owns (links already 0).
    int64_t release(uint32_t ino, DiskInode& in);
    // With `buffer` null (and the data cache there), the bytes are only
    // brought into the cache.
    int64_t read_data(uint32_t ino, DiskInode& in, uint64_t offset, uint8_t* buffer, uint32_t length);
    // Where the cache holds `length` bytes of `ino` at `offset` in one piece
    // (a file's consecutive blocks in consecutive slots), or null.
    const uint8_t* data_view(uint32_t ino, uint64_t offset, uint32_t length) const;
    int64_t write_data(uint32_t ino, DiskInode& in, uint64_t offset, const uint8_t* buffer,
                       uint32_t length);
    int64_t set_size(DiskInode& in, uint64_t size);
    int64_t resize(uint32_t ino, DiskInode& in, uint64_t size);

    // dir.cpp
    // `dir` is inode dir_ino, a directory.
    int64_t lookup(uint32_t dir_ino, DiskInode& dir, const char* name, uint32_t len, uint32_t* ino);
    int64_t add_entry(uint32_t dir_ino, DiskInode& dir, const char* name, uint32_t len,
                      uint32_t ino, uint16_t mode);
    int64_t remove_entry(uint32_t dir_ino, DiskInode& dir, const char* name, uint32_t len);
    int64_t retarget_entry(uint32_t dir_ino, DiskInode& dir, const char* name, uint32_t len,
                           uint32_t ino, uint16_t mode);
    int64_t dir_empty(DiskInode& dir);  // 1 empty, 0 not, or an error
    int64_t entry_at(DiskInode& dir, uint32_t index, DirEntry* out);
    // The first entry at byte `cursor` of `dir` or after; *next is where the
    // one after it starts. A listing by cursors reads each block once.
    int64_t entry_from(DiskInode& dir, uint64_t cursor, DirEntry* out, uint64_t* next);
    int64_t make_dir_block(uint32_t ino, uint32_t parent, DiskInode& in);

    // path.cpp
    int64_t resolve(const char* path, uint32_t* ino);
    // The parent directory and last component of a path that is not the root
    // and does not end in "." or "..".
    int64_t resolve_parent(const char* path, uint32_t* parent, const char** name,
                           uint32_t* len);
};

}  // namespace ext2::detail
