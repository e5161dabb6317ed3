// Arithmetic on sizes, offsets, counts and limits that come from user space,
// checked for overflow in one place (every such sum goes through here).
#pragma once

#include <stdint.h>

// a + b in *sum; false (and *sum unspecified) if it does not fit in 64 bits.
[[nodiscard]] constexpr bool checked_add(uint64_t a, uint64_t b, uint64_t* sum) {
    return !__builtin_add_overflow(a, b, sum);
}

// True if [offset, offset + length) lies inside [0, size), with no overflow.
constexpr bool range_within(uint64_t offset, uint64_t length, uint64_t size) {
    return offset <= size && length <= size - offset;
}
