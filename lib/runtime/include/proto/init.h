// The init protocol: control of the services init supervises (for clients
// whose manifest line says control=yes), and the process list.
#pragma once

#include <stdint.h>

namespace proto::init {

constexpr uint32_t kMaxServices = 16;

struct ServiceInfo {
    uint64_t pid;
    char name[32];
    uint32_t state;  // mica::ProcessState of the current incarnation
    uint32_t restarts;
    uint64_t memory;  // bytes of its quota in use
    uint64_t quota;
};

struct Ps {
    static constexpr uint64_t kLabel = 0x103;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t unused; };
    struct Reply {
        uint32_t count;
        ServiceInfo services[kMaxServices];
    };
};

// End a service (init restarts it by its policy); or, for the restart and
// fault-injection tests, make it fault (a bad memory access, a corrupted
// stack pointer), stop answering, send its next reply corrupted, or fault
// right after its `count`th device write or flush from now (in the middle of
// an operation: the file server and the disk driver count theirs).
// `injected`: a deliberate fault, not the service's own; its restart does
// not grow the back-off (which is there to stop a crash loop).
enum KillHow : uint32_t { kKill = 0, kCrash = 1, kHang = 2, kCorruptRegister = 3, kCorruptReply = 4, kCrashAfter = 5 };
struct Kill {
    static constexpr uint64_t kLabel = 0x104;
    struct Request { char name[32]; uint32_t how; uint32_t injected; uint32_t count; };
    struct Reply { uint64_t pid; };
};

struct Poweroff {
    static constexpr uint64_t kLabel = 0x107;
    struct Request { int64_t status; };
    struct Reply { uint32_t unused; };
};

}  // namespace proto::init
