// User pointers. A system call receives user addresses as UserPtr<T>, which
// cannot be dereferenced: the only way through is these copies, which check
// that the range lies in user space and turn a fault into kErrBadAddress.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "lib/checked.h"
#include "mica/errors.h"

inline bool user_range_ok(uintptr_t address, size_t length) { return range_within(address, length, arch::kUserTop); }

inline int64_t copy_from_user(void* dst, uintptr_t src, size_t length) {
    if (!user_range_ok(src, length)) return mica::kErrBadAddress;
    return arch::copy_user(dst, reinterpret_cast<const void*>(src), length);
}

inline int64_t copy_to_user(uintptr_t dst, const void* src, size_t length) {
    if (!user_range_ok(dst, length)) return mica::kErrBadAddress;
    return arch::copy_user(reinterpret_cast<void*>(dst), src, length);
}

template <typename T>
class UserPtr {
public:
    explicit UserPtr(uint64_t address) : address_(address) {}

    uintptr_t address() const { return address_; }
    bool null() const { return address_ == 0; }

    // One T (for T = void: copy_from_user and copy_to_user with address()).
    template <typename U = T>
    int64_t read(U* out) const {
        return copy_from_user(out, address_, sizeof(U));
    }
    template <typename U = T>
    int64_t write(const U& value) const {
        return copy_to_user(address_, &value, sizeof(U));
    }

private:
    uintptr_t address_;
};
