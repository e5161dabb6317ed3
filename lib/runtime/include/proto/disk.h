// The block-device protocol (disk:): raw 512-byte sectors. Reads and writes
// are idempotent, so a request caught in a driver's crash is simply made
// again to the next incarnation.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace proto::disk {

constexpr uint32_t kSectorSize = 512;
constexpr uint32_t kMaxSectors = 64;  // 32 KiB per request

struct Info {
    static constexpr uint64_t kLabel = 0x901;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t unused; };
    struct Reply { uint64_t sectors; uint32_t sector_size; uint32_t read_only; char model[24]; };
};

struct Read {
    static constexpr uint64_t kLabel = 0x902;
    static constexpr bool kIdempotent = true;
    struct Request { uint64_t sector; uint32_t count; };
    struct Reply { uint32_t count; uint32_t reserved; uint8_t data[kMaxSectors * kSectorSize]; };
    static constexpr uint32_t kMinReply = offsetof(Reply, data);
};

struct Write {
    static constexpr uint64_t kLabel = 0x903;
    static constexpr bool kIdempotent = true;
    struct Request { uint64_t sector; uint32_t count; uint32_t reserved; uint8_t data[kMaxSectors * kSectorSize]; };
    static constexpr uint32_t kMinRequest = offsetof(Request, data);
    struct Reply { uint32_t count; };
};

// Everything written so far is on stable storage.
struct Flush {
    static constexpr uint64_t kLabel = 0x904;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t unused; };
    struct Reply { uint32_t unused; };
};

}  // namespace proto::disk
