// What a system call that makes a handle returns (`-> handle` in
// syscalls.def): the new handle, or the error that kept it from being
// made, never one mistaken for the other. There is no implicit conversion
// to a Handle: code asks ok() and takes value(), or passes error() on.
#pragma once

#include <stdint.h>

#include "mica/errors.h"
#include "mica/types.h"

namespace mica {

class [[nodiscard]] HandleResult {
public:
    constexpr explicit HandleResult(int64_t raw) : raw_(raw) {}

    constexpr bool ok() const { return raw_ > 0; }
    // The handle, or kNoHandle if the call failed.
    constexpr Handle value() const { return ok() ? static_cast<Handle>(raw_) : kNoHandle; }
    // kOk, or why it failed.
    constexpr int64_t error() const { return ok() ? kOk : raw_; }
    // The raw result (a handle value or an error), for code that compares
    // results with errors (tests) or hands them on.
    constexpr explicit operator int64_t() const { return raw_; }

private:
    int64_t raw_;
};

}  // namespace mica
