// The namespace protocol: scheme names to the endpoints of the servers that
// serve them. Lookup answers with a handle straight to the server, so later
// requests bypass the namespace server. Register and Allow come only from
// init (its supervisor badge): registering a scheme, and which schemes each
// client (by its badge) may look up, is what the boot manifest grants.
#pragma once

#include <stdint.h>

namespace proto::ns {

constexpr uint32_t kMaxSchemes = 16;

// The request carries a handle to the server's endpoint.
struct Register {
    static constexpr uint64_t kLabel = 0x401;
    static constexpr bool kIdempotent = true;
    struct Request { char scheme[32]; };
    struct Reply { uint32_t unused; };
};

struct Allow {
    static constexpr uint64_t kLabel = 0x402;
    static constexpr bool kIdempotent = true;
    struct Request { uint64_t client; char scheme[32]; };
    struct Reply { uint32_t unused; };
};

// The reply carries a handle to the scheme's server.
struct Lookup {
    static constexpr uint64_t kLabel = 0x403;
    static constexpr bool kIdempotent = true;
    struct Request { char scheme[32]; };
    struct Reply { uint32_t unused; };
};

struct Schemes {
    static constexpr uint64_t kLabel = 0x404;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t unused; };
    struct Reply { uint32_t count; char names[kMaxSchemes][32]; };
};

}  // namespace proto::ns
