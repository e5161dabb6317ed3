// The file protocol: what a scheme serving files answers (initfs:, pci: and
// the ext2 server's file:). Paths are relative to the scheme, '/'-separated.
//
// Requests name a file by path and carry their own offset, so a restarted
// file server answers the next request as the old one would have, and the
// client runtime repeats a request caught in the crash (operations marked
// kIdempotent).
//
// Open files (below, from Open on) name an inode instead: a Node. A node
// reaches its file with no path walk, after a rename, and after an unlink
// of its last name: the server keeps such a file (an orphan) until its
// last Close. A node carries the server's incarnation: one from before a
// restart is answered kErrStale, and the client opens it again by Reopen
// (an orphan waits a grace period for that). Servers without open files
// (initfs:, pci:) answer Open kErrUnsupported; clients then use paths.
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
        uint32_t generation;  // the inode's (0 where the scheme has none)
        uint32_t reserved;
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

// Sets the owner and group of what `path` names (kKeep: leave it); as
// Linux's chown, a file that is not a directory loses its set-user-ID bit
// (and set-group-ID, if group-executable).
struct Chown {
    static constexpr uint64_t kLabel = 0x21b;
    static constexpr bool kIdempotent = true;
    static constexpr uint32_t kKeep = ~0u;
    struct Request { char path[kPathMax]; uint32_t uid, gid; };
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

// A named pipe (FIFO) at `path` with the permission bits of `mode`; Stat
// then says kOther, and its `mode` holds the FIFO type (0010000). The
// server keeps the name only: the pipe itself is its clients' business.
struct MakeFifo {
    static constexpr uint64_t kLabel = 0x219;
    struct Request { char path[kPathMax]; uint32_t mode; uint32_t reserved; };
    struct Reply { uint32_t unused; };
};

// --- open files ---------------------------------------------------------------

// An open file: its inode, the inode's generation (a freed and reused inode
// is another file), and the server incarnation that handed it out.
struct Node {
    uint32_t inode, generation;
    uint32_t incarnation, reserved;
};

// Opens what `path` names (a file, directory or link, not followed): the
// caller holds it until Close. kOpenCreate makes a regular file if the name
// is free (0644, or `mode` with kOpenMode), kOpenExclusive then insists on
// making it; `created` says it did. Made again after a
// crash of the server, an Open holds the file in the new incarnation (the
// old one's holds went with it); an exclusive one may then find it made.
// kOpenRead: a regular file's first bytes (up to kOpenReadBytes) come
// with the reply, `size` of them (a client that will read it at once saves
// a NodeRead). The request carries its path up to the NUL only.
enum OpenFlags : uint32_t { kOpenCreate = 1, kOpenExclusive = 2, kOpenMode = 4, kOpenRead = 8 };
constexpr uint32_t kOpenReadBytes = 4096;
struct Open {
    static constexpr uint64_t kLabel = 0x210;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t flags; uint32_t mode; char path[kPathMax]; };
    static constexpr uint32_t kMinRequest = offsetof(Request, path) + 1;
    struct Reply { Node node; Stat::Reply stat; uint32_t created, size; char data[kOpenReadBytes]; };
    static constexpr uint32_t kMinReply = offsetof(Reply, data);
};

// Holds `node` again after a restart (kErrNotFound: the file is gone).
struct Reopen {
    static constexpr uint64_t kLabel = 0x211;
    static constexpr bool kIdempotent = true;
    struct Request { Node node; };
    using Reply = Open::Reply;  // no data
    static constexpr uint32_t kMinReply = Open::kMinReply;
};

// Lets go of one Open or Reopen of `node`; the last one frees an orphan.
// In registers (the node in the message's words, a reply of no data).
struct Close {
    static constexpr uint64_t kLabel = 0x212;
    static constexpr bool kIdempotent = true;
    static constexpr bool kInRegisters = true;
    struct Request { Node node; };
    struct Reply { uint32_t unused; };
    static constexpr uint32_t kMinReply = 0;
};

// Close for up to kMax nodes at once (a client that lets go of files in
// batches); `closed` counts those it held. Nodes it does not hold, and
// those of an earlier incarnation, are passed over.
struct CloseMany {
    static constexpr uint64_t kLabel = 0x21a;
    static constexpr bool kIdempotent = true;
    static constexpr uint32_t kMax = 64;
    struct Request { uint32_t count, reserved; Node nodes[kMax]; };
    static constexpr uint32_t kMinRequest = offsetof(Request, nodes);
    struct Reply { uint32_t closed; };
};

// Lets go of everything the caller holds (a client starting afresh).
struct CloseAll {
    static constexpr uint64_t kLabel = 0x213;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t unused; };
    struct Reply { uint32_t closed; };
};

struct NodeStat {
    static constexpr uint64_t kLabel = 0x214;
    static constexpr bool kIdempotent = true;
    struct Request { Node node; };
    using Reply = Stat::Reply;
};

// As Read, by node; the reply is the data alone, and its status (>= 0) says
// how many bytes it brings, so that the bytes land where the reader wants
// them with nothing in front (the runtime receives them into the caller's
// buffer: no copy on the way). A success must bring exactly that many bytes,
// and no more than asked (reply_ok): else the reply is not this protocol's.
struct NodeRead {
    static constexpr uint64_t kLabel = 0x215;
    static constexpr bool kIdempotent = true;
    struct Request { Node node; uint64_t offset; uint32_t length; uint32_t reserved; };
    struct Reply { char data[kChunk]; };
    static constexpr uint32_t kMinReply = 0;
    static constexpr bool reply_ok(int64_t status, uint32_t size, uint32_t length) {
        return status < 0 || (static_cast<uint64_t>(status) == size && size <= length);
    }
};

// As Write, by node.
struct NodeWrite {
    static constexpr uint64_t kLabel = 0x216;
    static constexpr bool kIdempotent = true;
    struct Request { Node node; uint64_t offset; uint32_t length; uint32_t reserved; char data[kChunk]; };
    static constexpr uint32_t kMinRequest = offsetof(Request, data);
    using Reply = Write::Reply;
};

struct NodeTruncate {
    static constexpr uint64_t kLabel = 0x217;
    static constexpr bool kIdempotent = true;
    struct Request { Node node; uint64_t size; };
    struct Reply { uint32_t unused; };
};

// Sets the access and modification times (seconds since 1970).
struct SetTimes {
    static constexpr uint64_t kLabel = 0x218;
    static constexpr bool kIdempotent = true;
    struct Request { Node node; uint32_t atime, mtime; };
    struct Reply { uint32_t unused; };
};

}  // namespace proto::fs
