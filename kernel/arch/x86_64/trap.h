// The register state trap_entry.S saves, in stack order.
#pragma once

#include <stdint.h>

namespace x86 {
struct TrapFrame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;  // pushed by the CPU
};
static_assert(sizeof(TrapFrame) == 22 * 8);
}  // namespace x86
