// A thread's saved kernel context on x86-64. Generic code embeds it in each
// Thread and touches it only through the functions in arch.h.
#pragma once

#include <stdint.h>

namespace arch {

struct Context {
    uint64_t rsp = 0;                 // kernel stack pointer while switched out
    uint64_t fs_base = 0;             // user FS base (TLS of foreign programs)
    alignas(16) uint8_t fpu[512]{};   // FXSAVE image: x87, SSE registers, MXCSR
};

}  // namespace arch
