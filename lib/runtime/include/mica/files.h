// Files for programs: names resolved against a current directory
// ("scheme:/a/b", "/a/b" on the current scheme, "a/b" below it; '.' and
// '..' folded), each scheme's server found through the namespace
// (startup slot kSlotNamespace) and remembered, and whole-chunk reads and writes
// over the file protocol (proto/fs.h).
#pragma once

#include "mica/runtime.h"
#include "proto/fs.h"

namespace mica::files {

struct Name {
    Handle endpoint;
    char scheme[32];
    char path[proto::fs::kPathMax];       // '/'-rooted, within the scheme
    char text[proto::fs::kPathMax + 32];  // scheme:path, for messages
    // Set by open(): read, write, stat and truncate then go by node, not by
    // path (after a restart of the server, a transparent Reopen renews it).
    // Zero: by path.
    mutable proto::fs::Node node;
};

// kErrInvalidArgument (no scheme), kErrNameTooLong, or the namespace's
// answer (kErrNotFound, kErrAccessDenied) when the scheme has no server.
int64_t resolve(const char* name, const char* cwd, Name* out);

// The text part of resolve, without the namespace (names.cpp): fills
// out->scheme, out->path and out->text, not out->endpoint. kOk,
// kErrInvalidArgument (no scheme, or one too long) or kErrNameTooLong.
int64_t fold_name(const char* name, const char* cwd, Name* out);

// The endpoint of `scheme`'s server (looked up once, then kept), or kNoHandle.
Handle scheme_endpoint(const char* scheme);

// Up to kChunk bytes at `offset` into `buffer` (bytes read, 0 at the end).
int64_t read(const Name& n, uint64_t offset, void* buffer, uint32_t length);
// The same without the copy: *data points at the bytes in the runtime's
// reply buffer, good until the next read (one thread's reads at a time).
int64_t read_view(const Name& n, uint64_t offset, uint32_t length, const void** data);
// Exactly `length` (<= kChunk) bytes at `offset`.
int64_t write(const Name& n, uint64_t offset, const void* buffer, uint32_t length);
int64_t stat(const Name& n, proto::fs::Stat::Reply* out);
// Cuts (or extends) `n` to `size` bytes.
int64_t truncate(const Name& n, uint64_t size);
// Sets the permission bits of `n` (mode & 07777).
int64_t chmod(const Name& n, uint32_t mode);
// Owner and group (proto::fs::Chown::kKeep leaves one).
int64_t chown(const Name& n, uint32_t uid, uint32_t gid);
// Opens `n` (flags: proto::fs::kOpenCreate, kOpenExclusive, kOpenMode with
// `mode`, the permission bits of a file it makes) and says what it is, and
// whether it was made (`created`, if given): from then on `n` names its
// file, not its path, through renames and an unlink of the name, until
// close(). A scheme without open files (kErrUnsupported) leaves `n` by
// path, made and looked at as Create and Stat would.
// With `first`, the file's first bytes come too (kOpenRead): *first points
// at them in the runtime's reply buffer, good until the next open, and
// *first_size says how many (0 from schemes and files that give none).
int64_t open(Name& n, uint32_t flags, proto::fs::Stat::Reply* out, uint32_t mode = 0, bool* created = nullptr,
             const void** first = nullptr, uint32_t* first_size = nullptr);
// Lets go of what open() opened (nothing for a name by path).
int64_t close(Name& n);
// Sets the access and modification times of an open `n`.
int64_t set_times(const Name& n, uint32_t atime, uint32_t mtime);

// Creates `n` if it does not exist (an empty file); kOk if it does, unless
// `exclusive` (kErrAlreadyExists).
int64_t create(const Name& n, bool exclusive = false);
// Creates `n` if needed and cuts it to nothing.
int64_t make_empty(const Name& n);

// CRC-32 (the zlib/PNG polynomial), continued from `crc` (0 to start).
uint32_t crc32(uint32_t crc, const void* data, size_t n);

}  // namespace mica::files
