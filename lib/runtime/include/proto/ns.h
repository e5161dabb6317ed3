// The namespace protocol: scheme names to the endpoints of the servers that
// serve them. Lookup answers with a handle straight to the server, badged
// as the client, so later requests bypass the namespace server and the
// server can tell who asks. Register, Allow, Grant and Launcher come only
// from init (its supervisor badge): registering a scheme, and which
// schemes each client (by its badge) may look up, is what the boot manifest
// grants. Delegate passes a subset of a client's rights to a program it
// starts, under a badge of the program's own.
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

// Which manifest `program` line (1-based `index`) grants what: the schemes
// a program of that name may look up beyond the default, and whether it
// gets init's control protocol. From init only.
struct Grant {
    static constexpr uint64_t kLabel = 0x405;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t index; uint32_t control; char program[32]; char schemes[96]; };
    struct Reply { uint32_t unused; };
};

// A client that may start programs with the grants of `program` lines
// (the services whose manifest line says control=yes). From init only.
struct Launcher {
    static constexpr uint64_t kLabel = 0x406;
    static constexpr bool kIdempotent = true;
    struct Request { uint64_t client; };
    struct Reply { uint32_t unused; };
};

// A handle to ns, with a badge of its own (mica::delegated_badge), for a
// program the client starts: it may look up those of `schemes` the client
// may look up itself, and, if the client is a launcher, what the
// manifest's `program` line for `program` grants. The reply carries the
// handle; `control`: that line grants init's control protocol too. A client
// holds at most kMaxDelegations at once (kErrLimit beyond).
constexpr uint32_t kMaxDelegations = 8;
struct Delegate {
    static constexpr uint64_t kLabel = 0x407;
    struct Request { char program[32]; char schemes[96]; };
    struct Reply { uint64_t badge; uint32_t control; uint32_t unused; };
};

// Forgets a delegation the client made: its handles look up nothing more.
struct Release {
    static constexpr uint64_t kLabel = 0x408;
    static constexpr bool kIdempotent = true;
    struct Request { uint64_t badge; };
    struct Reply { uint32_t unused; };
};

// Whether a delegation is still in force (kOk) or was released
// (kErrNotFound): the program it was made for has ended. Servers that hold
// state per client (net:'s sockets) ask, to free what a program left.
struct Alive {
    static constexpr uint64_t kLabel = 0x40a;
    static constexpr bool kIdempotent = true;
    struct Request { uint64_t badge; };
    struct Reply { uint32_t unused; };
};

// Init has told a new incarnation everything (Register, Allow, Grant,
// Launcher): requests made before this wait for it, so that a lookup
// caught by a restart of ns is answered as the old incarnation would have.
struct Ready {
    static constexpr uint64_t kLabel = 0x409;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t unused; };
    struct Reply { uint32_t unused; };
};

struct Schemes {
    static constexpr uint64_t kLabel = 0x404;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t unused; };
    struct Reply { uint32_t count; char names[kMaxSchemes][32]; };
};

}  // namespace proto::ns
