// The init protocol: the namespace (scheme names to server endpoints), the
// system log, and control of the services init supervises.
#pragma once

#include <stdint.h>

namespace proto::init {

constexpr uint32_t kMaxServices = 16;

// Looks a scheme up; the reply carries a handle to its server's endpoint.
struct Lookup {
    static constexpr uint64_t kLabel = 0x101;
    struct Request { char scheme[32]; };
    struct Reply { uint32_t unused; };
};

// The registered schemes.
struct Schemes {
    static constexpr uint64_t kLabel = 0x102;
    struct Request { uint32_t unused; };
    struct Reply {
        uint32_t count;
        char names[kMaxServices][32];
    };
};

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
    struct Request { uint32_t unused; };
    struct Reply {
        uint32_t count;
        ServiceInfo services[kMaxServices];
    };
};

// End a service (init restarts it by its policy); or, for the restart tests,
// make it fault or stop answering.
enum KillHow : uint32_t { kKill = 0, kCrash = 1, kHang = 2 };
struct Kill {
    static constexpr uint64_t kLabel = 0x104;
    struct Request { char name[32]; uint32_t how; };
    struct Reply { uint64_t pid; };
};

struct Log {
    static constexpr uint64_t kLabel = 0x105;
    struct Request { char text[240]; };
    struct Reply { uint32_t unused; };
};

// The system log from byte `offset` of everything ever logged.
struct Dmesg {
    static constexpr uint64_t kLabel = 0x106;
    struct Request { uint64_t offset; };
    struct Reply {
        uint64_t next;  // offset after this chunk; == offset when there is no more
        uint32_t size;
        char text[4000];
    };
};

struct Poweroff {
    static constexpr uint64_t kLabel = 0x107;
    struct Request { int64_t status; };
    struct Reply { uint32_t unused; };
};

}  // namespace proto::init
