// The SYSCALL instruction for user space: number in RAX, arguments in RDI,
// RSI, RDX, R10, R8, R9; result in RAX. The kernel preserves every other
// register except RCX and R11, which the instruction itself overwrites.
#pragma once

#include <stdint.h>

namespace mica::detail {

template <typename T>
inline uint64_t word(T value) {
    return static_cast<uint64_t>(value);
}
template <typename T>
inline uint64_t word(T* pointer) {
    return reinterpret_cast<uint64_t>(pointer);
}

inline int64_t raw_syscall(uint64_t n, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0,
                           uint64_t a3 = 0, uint64_t a4 = 0, uint64_t a5 = 0) {
    register uint64_t r10 asm("r10") = a3;
    register uint64_t r8 asm("r8") = a4;
    register uint64_t r9 asm("r9") = a5;
    int64_t result;
    asm volatile("syscall"
                 : "=a"(result)
                 : "a"(n), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
                 : "rcx", "r11", "memory");
    return result;
}

}  // namespace mica::detail
