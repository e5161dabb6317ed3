// ext2 (revision 0 and 1) read and write on top of an abstract block device.
// Freestanding: no exceptions, no standard containers; errors are values
// (>= 0 success, negative: a code from abi/mica/errors.h).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace ext2 {

constexpr uint32_t kSectorSize = 512;
// The largest transfer the library asks of the device in one call.
constexpr uint32_t kMaxSectorsPerCall = 128;

// The disk: the file server implements it over IPC to the disk driver, tests
// over an image file.
class BlockDevice {
public:
    virtual ~BlockDevice() = default;
    // kOk or an error; count is 1..kMaxSectorsPerCall.
    virtual int64_t read(uint64_t sector, uint32_t count, void* buffer) = 0;
    virtual int64_t write(uint64_t sector, uint32_t count, const void* buffer) = 0;
    virtual int64_t flush() = 0;
    virtual uint64_t sector_count() const = 0;
    // As read and write, for a buffer with kRoom bytes before it that the
    // device may use meanwhile (they hold what they held when it returns):
    // a device whose transport puts a header before the data moves the data
    // in place, with no copy. The library moves file data through these.
    static constexpr uint32_t kRoom = 16;
    virtual int64_t read_in_place(uint64_t sector, uint32_t count, void* buffer) {
        return read(sector, count, buffer);
    }
    virtual int64_t write_in_place(uint64_t sector, uint32_t count, void* buffer) {
        return write(sector, count, buffer);
    }
};

enum Type : uint32_t { kFile = 1, kDirectory = 2, kSymlink = 3, kOther = 4 };

struct Stat {
    uint32_t inode, type, mode, links, uid, gid;
    uint64_t size, blocks512;
    uint32_t atime, mtime, ctime;
    uint32_t generation;  // with `inode`, the file's Node
};

// A file named by its inode rather than by a path: the number and the
// generation it had when it was looked up. A node finds the same file after
// a rename, and after the unlink of its last name while someone holds it
// (an orphan, below); once the inode is freed, or freed and used again (a
// new generation), the node is stale: kErrNotFound.
struct Node {
    uint32_t inode, generation;
};

struct DirEntry {
    char name[256];  // NUL-terminated
    uint32_t inode, type;
};

struct FsStat {
    uint32_t block_size;
    uint64_t blocks, free_blocks;
    uint32_t inodes, free_inodes;
    char label[17];  // NUL-terminated
};

namespace detail { struct Fs; }

// A mounted file system. Not thread-safe: one caller at a time.
//
// Paths are '/'-separated and relative to the file system's root; a leading
// '/' is optional, "" and "/" name the root, repeated slashes are fine, and
// "." and ".." are looked up like any other name (they follow the on-disk
// entries). Components are at most 255 bytes, paths at most kMaxPath bytes.
//
// Every mutating call writes all blocks it changed before it returns, so a
// process killed between calls leaves a consistent image (see README.md).
class Volume {
public:
    static constexpr uint32_t kMaxPath = 4096;

    // Checks the superblock and group descriptors; refuses what it cannot
    // handle safely: kErrCorrupt for inconsistent values, kErrUnsupported
    // for formats it does not implement (incompat features such as ext4's
    // extents, blocks > 4 KiB, rev > 1), touching nothing. Unknown ro_compat
    // features mount read-only. refusal() then names what was not supported.
    static int64_t mount(BlockDevice* device, Volume** out);
    static const char* refusal();
    ~Volume();
    Volume(const Volume&) = delete;
    Volume& operator=(const Volume&) = delete;

    bool read_only() const;
    void set_clock(uint32_t (*now)());  // seconds since 1970 for timestamps (null: 0)

    int64_t stat(const char* path, Stat* out);
    // Bytes read (0 at/after EOF). Symlinks read as their target.
    int64_t read(const char* path, uint64_t offset, void* buffer, uint32_t length);
    // Bytes written; extends the file, writing past the end leaves a hole.
    int64_t write(const char* path, uint64_t offset, const void* buffer, uint32_t length);
    int64_t truncate(const char* path, uint64_t size);  // shrink frees blocks; grow makes a hole
    int64_t chmod(const char* path, uint32_t mode);     // the permission bits (07777); the type stays
    // The owner and group (32 bits each, the high halves in the inode's
    // osd2 as Linux keeps them); kKeepOwner leaves one as it is. As on Linux,
    // a file that is not a directory loses its set-user-ID bit, and its
    // set-group-ID bit if group-executable.
    static constexpr uint32_t kKeepOwner = ~0u;
    int64_t chown(const char* path, uint32_t uid, uint32_t gid);
    // A regular file. If the name exists: kErrAlreadyExists when exclusive,
    // otherwise kOk for a file and kErrIsDirectory for a directory.
    int64_t create(const char* path, bool exclusive);
    int64_t mkdir(const char* path);
    // A symbolic link to `target` (1 to block size - 1 bytes): fast (in the
    // inode) under 60 bytes, as Linux makes them, else in a block of its own.
    int64_t symlink(const char* path, const char* target);
    // A named pipe (a FIFO inode: no data, no blocks) with the permission
    // bits of `mode`; stat gives it type kOther and the FIFO type in `mode`.
    int64_t make_fifo(const char* path, uint32_t mode);
    // A second name for a file (kErrIsDirectory for a directory; kErrLimit
    // at ext2's 32,000 links).
    int64_t link(const char* existing, const char* path);
    int64_t unlink(const char* path);  // not for directories (kErrIsDirectory)
    int64_t rmdir(const char* path);   // empty directories only; never the root
    // Replaces an existing file, or an empty directory by a directory. Moving a
    // directory fixes its '..' and the link counts; moving a directory into
    // itself is kErrInvalidArgument.
    int64_t rename(const char* from, const char* to);
    // The same by node: what an open file does, with no path walk.
    int64_t node(const char* path, Node* out);
    int64_t stat(Node n, Stat* out);
    int64_t read(Node n, uint64_t offset, void* buffer, uint32_t length);
    // What read(n, ...) would give, read into the data cache (if not there
    // yet) and pointed at there: the bytes read, *data pointing at them,
    // good until the next call, with no copy made. *data null: it does not
    // lie in the cache in one piece (a hole, no cache, no bytes); read()
    // gives it then.
    int64_t view(Node n, uint64_t offset, uint32_t length, const void** data);
    int64_t write(Node n, uint64_t offset, const void* buffer, uint32_t length);
    int64_t truncate(Node n, uint64_t size);
    int64_t set_times(Node n, uint32_t atime, uint32_t mtime);

    // Orphans. When an unlink or a rename drops an inode's last name and
    // `held(inode)` says it is open somewhere, the inode is not freed: it
    // goes on the superblock's orphan list (as ext3 and ext4 keep theirs,
    // so e2fsck and Linux free it after a crash) until release(). Without
    // a holder, the last name frees the inode at once, as before.
    void set_holder(bool (*held)(uint32_t inode));
    // The last holder of `n` let go: an orphan leaves the list and is freed;
    // a file with a name, or a stale node, is left alone.
    int64_t release(Node n);
    // Up to `max` of the orphan list's nodes; how many were written.
    int64_t orphans(Node* out, uint32_t max);

    // The index-th entry ('.' and '..' skipped); kErrNotFound past the end.
    int64_t readdir(const char* path, uint32_t index, DirEntry* out);
    // The first entry at byte `cursor` of the directory or after (0: the
    // first); *next is the cursor of the one after. Linear for a listing.
    int64_t readdir_from(const char* path, uint64_t cursor, DirEntry* out, uint64_t* next);
    // What an entry a listing gave names, without looking its name up again.
    int64_t stat_entry(const DirEntry& entry, Stat* out);
    // Blocks visited since mount, cached or not: the work operations did.
    uint64_t block_visits() const;
    int64_t statfs(FsStat* out);
    // Makes everything stable and the image clean, as an unmount would: with
    // a journal, empties it (every logged block is in place and flushed, no
    // recovery needed); without, flushes the device.
    int64_t sync();
    // With a journal, empties it if it holds anything (what sync does, but
    // nothing at all when the log is empty: for an idle server).
    int64_t checkpoint();
    bool journaled() const;
    // Deferred: mutating calls leave their changes to the next commit()
    // (or checkpoint, sync, unmount) instead of committing each; a caller
    // that answers its clients only after that commit makes several calls
    // durable with one journal transaction (group commit).
    void set_deferred(bool on);
    int64_t commit();
    // How many committed transactions the last mount found in the journal
    // and wrote in place (a crash or power cut before they were).
    static uint32_t replayed();

private:
    explicit Volume(detail::Fs* fs) : fs_(fs) {}
    detail::Fs* fs_;
};

}  // namespace ext2
