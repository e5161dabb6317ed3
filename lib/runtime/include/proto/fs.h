// The file protocol: what a scheme serving files answers (initfs:, pci: and
// the ext2 server's file:). Paths are relative to the scheme, '/'-separated.
//
// The protocol is stateless, as NFS is: every request names its file by
// path and carries its own offset, so there are no open-file handles for a
// crash to lose. A restarted file server answers the next request as the
// old one would have, and the client runtime repeats a request caught in the
// crash (operations marked kIdempotent). "Opening" a file is Stat (it
// exists) or Create (make it if it does not).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace proto::fs {

constexpr uint32_t kPathMax = 1024;  // a 255-byte name fits several levels deep
constexpr uint32_t kNameMax = 256;
constexpr uint32_t kChunk = 32768;  // data per Read or Write
enum Type : uint32_t { kFile = 1, kDirectory = 2, kSymlink = 3, kOther = 4 };

struct Stat {
    static constexpr uint64_t kLabel = 0x201;
    static constexpr bool kIdempotent = true;
    struct Request { char path[kPathMax]; };
    struct Reply {
        uint64_t size;
        uint32_t type;
        uint32_t mode;    // permission bits (0 where the scheme has none)
        uint32_t links;
        uint32_t inode;
        uint64_t blocks;  // 512-byte units allocated
        uint32_t mtime, ctime, atime;  // seconds since 1970
        uint32_t uid, gid;
    };
};

// Up to `length` bytes (at most kChunk) from `offset`; the reply carries
// `size` bytes of data and is only as long as it needs to be.
struct Read {
    static constexpr uint64_t kLabel = 0x202;
    static constexpr bool kIdempotent = true;
    struct Request { char path[kPathMax]; uint64_t offset; uint32_t length; };
    struct Reply { uint32_t size; uint32_t reserved; char data[kChunk]; };
    static constexpr uint32_t kMinReply = offsetof(Reply, data);
};

// The next directory entry (kErrNotFound past the last). A listing starts
// with `cursor` 0 and passes back each reply's `next`, so that a server can
// go on from where it was (a listing is linear in the directory's size);
// `index` counts the entries read so far, for servers that keep no cursor.
struct ReadDir {
    static constexpr uint64_t kLabel = 0x203;
    static constexpr bool kIdempotent = true;
    struct Request { char path[kPathMax]; uint32_t index; uint32_t reserved; uint64_t cursor; };
    struct Reply { char name[kNameMax]; uint64_t size; uint32_t type; uint32_t reserved; uint64_t next; };
};

// `length` bytes of data at `offset` (the file grows as needed). Writing the
// same bytes to the same place twice leaves the same file, so a retry is safe.
struct Write {
    static constexpr uint64_t kLabel = 0x204;
    static constexpr bool kIdempotent = true;
    struct Request { char path[kPathMax]; uint64_t offset; uint32_t length; uint32_t reserved; char data[kChunk]; };
    static constexpr uint32_t kMinRequest = offsetof(Request, data);
    struct Reply { uint32_t written; };
};

// A regular file (no error if it exists, unless `exclusive`).
struct Create {
    static constexpr uint64_t kLabel = 0x205;
    static constexpr bool kIdempotent = true;
    struct Request { char path[kPathMax]; uint32_t exclusive; };
    struct Reply { uint32_t unused; };
};

struct Truncate {
    static constexpr uint64_t kLabel = 0x206;
    static constexpr bool kIdempotent = true;
    struct Request { char path[kPathMax]; uint64_t size; };
    struct Reply { uint32_t unused; };
};

// Removing a name, and making or removing a directory, are not repeated by
// the runtime: a repeat after success would report a false error.
struct Unlink {
    static constexpr uint64_t kLabel = 0x207;
    struct Request { char path[kPathMax]; };
    struct Reply { uint32_t unused; };
};

struct Mkdir {
    static constexpr uint64_t kLabel = 0x208;
    struct Request { char path[kPathMax]; };
    struct Reply { uint32_t unused; };
};

struct Rmdir {
    static constexpr uint64_t kLabel = 0x209;
    struct Request { char path[kPathMax]; };
    struct Reply { uint32_t unused; };
};

// Replaces `to` if it is a file (or an empty directory, when moving one).
struct Rename {
    static constexpr uint64_t kLabel = 0x20a;
    struct Request { char from[kPathMax]; char to[kPathMax]; };
    struct Reply { uint32_t unused; };
};

// Everything written is on the disk (the device's cache flushed too).
struct Sync {
    static constexpr uint64_t kLabel = 0x20b;
    static constexpr bool kIdempotent = true;
    struct Request { char path[kPathMax]; };  // "" for the whole file system
    struct Reply { uint32_t unused; };
};

struct StatFs {
    static constexpr uint64_t kLabel = 0x20c;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t unused; };
    struct Reply {
        uint32_t block_size;
        uint32_t inodes, free_inodes;
        uint64_t blocks, free_blocks;
        char label[20];
    };
};

// Sets the permission bits (07777) of what `path` names; the type stays.
struct Chmod {
    static constexpr uint64_t kLabel = 0x20d;
    static constexpr bool kIdempotent = true;
    struct Request { char path[kPathMax]; uint32_t mode; uint32_t reserved; };
    struct Reply { uint32_t unused; };
};

// A symbolic link at `path` to `target` (a NUL-terminated name, kept as
// it is: not resolved, not checked).
struct Symlink {
    static constexpr uint64_t kLabel = 0x20e;
    struct Request { char path[kPathMax]; char target[kPathMax]; };
    struct Reply { uint32_t unused; };
};

// `to` becomes a second name of the file `from` (not of a directory).
struct Link {
    static constexpr uint64_t kLabel = 0x20f;
    struct Request { char from[kPathMax]; char to[kPathMax]; };
    struct Reply { uint32_t unused; };
};

}  // namespace proto::fs
