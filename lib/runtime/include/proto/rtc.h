// The clock protocol: wall-clock time from the real-time clock.
#pragma once

#include <stdint.h>

namespace proto::rtc {

struct Now {
    static constexpr uint64_t kLabel = 0x601;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t unused; };
    struct Reply { uint16_t year; uint8_t month, day, hour, minute, second, unused; };
};

}  // namespace proto::rtc
