// The file protocol: what a scheme serving files answers (initfs: now; the
// ext2 server later). Paths are relative to the scheme, '/'-separated.
#pragma once

#include <stdint.h>

namespace proto::fs {

constexpr uint32_t kPathMax = 256;
constexpr uint32_t kChunk = 4096;
enum Type : uint32_t { kFile = 1, kDirectory = 2 };

struct Stat {
    static constexpr uint64_t kLabel = 0x201;
    static constexpr bool kIdempotent = true;
    struct Request { char path[kPathMax]; };
    struct Reply { uint64_t size; uint32_t type; };
};

struct Read {
    static constexpr uint64_t kLabel = 0x202;
    static constexpr bool kIdempotent = true;
    struct Request { char path[kPathMax]; uint64_t offset; uint32_t length; };
    struct Reply { uint32_t size; char data[kChunk]; };
};

// The directory entry at `index` (kErrNotFound past the last).
struct ReadDir {
    static constexpr uint64_t kLabel = 0x203;
    static constexpr bool kIdempotent = true;
    struct Request { char path[kPathMax]; uint32_t index; };
    struct Reply { char name[64]; uint64_t size; uint32_t type; };
};

}  // namespace proto::fs
