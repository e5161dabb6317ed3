// The log protocol: services append lines; anyone with a handle reads the
// log back (dmesg). Each line is prefixed with the name given to the
// writer's badge, so nobody can sign as another.
#pragma once

#include <stdint.h>

namespace proto::log {

struct Append {
    static constexpr uint64_t kLabel = 0x501;
    struct Request { char text[240]; };
    struct Reply { uint32_t unused; };
};

// Names a writer (by badge): init names services; a service names the
// programs it starts (their delegated badges have it at their root).
struct Name {
    static constexpr uint64_t kLabel = 0x502;
    static constexpr bool kIdempotent = true;
    struct Request { uint64_t client; char name[32]; };
    struct Reply { uint32_t unused; };
};

// The log from byte `offset` of everything ever logged.
struct Read {
    static constexpr uint64_t kLabel = 0x503;
    static constexpr bool kIdempotent = true;
    struct Request { uint64_t offset; };
    struct Reply {
        uint64_t next;  // offset after this chunk; == offset when there is no more
        uint32_t size;
        char text[4000];
    };
};

}  // namespace proto::log
