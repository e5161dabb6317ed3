// A thread's saved kernel context on x86-64, and its saved user state. Generic
// code embeds the context in each Thread and touches both only through the
// functions here and in arch.h.
#pragma once

#include <stdint.h>

namespace x86 {
// The register state trap_entry.S saves, in stack order, at the top of a
// thread's kernel stack: its user state whenever it is in the kernel.
struct TrapFrame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;  // pushed by the CPU
};
static_assert(sizeof(TrapFrame) == 22 * 8);
}  // namespace x86

namespace arch {
// Where argument i of a system call (RDI, RSI, RDX, R10, R8, R9) sits in the
// saved user state, in words: syscall_dispatch reads them there (and
// trap_entry.S's syscall_return_message, at these offsets).
constexpr unsigned kSyscallArgs[6] = {9, 10, 11, 5, 7, 6};
static_assert(__builtin_offsetof(x86::TrapFrame, rdi) == 9 * 8 && __builtin_offsetof(x86::TrapFrame, rsi) == 10 * 8 &&
              __builtin_offsetof(x86::TrapFrame, rdx) == 11 * 8 && __builtin_offsetof(x86::TrapFrame, r10) == 5 * 8 &&
              __builtin_offsetof(x86::TrapFrame, r8) == 7 * 8 && __builtin_offsetof(x86::TrapFrame, r9) == 6 * 8);
}  // namespace arch

namespace arch {

struct Context {
    uint64_t rsp = 0;                 // kernel stack pointer while switched out
    uint64_t fs_base = 0;             // user FS base (TLS of foreign programs)
    alignas(16) uint8_t fpu[512]{};   // FXSAVE image: x87, SSE registers, MXCSR
    // A switch frame (as switch_context pops) that returns to user mode with
    // the saved user state: where rsp points while the thread waits after
    // arch::switch_direct, its kernel stack holding nothing else.
    uint64_t resume[7] = {};
};

// Whether the thread waits as arch::switch_direct left it.
inline bool resumes_in_user(const Context& c) { return c.rsp == reinterpret_cast<uint64_t>(c.resume); }

inline x86::TrapFrame* user_frame(uintptr_t kernel_stack_top) {
    return reinterpret_cast<x86::TrapFrame*>(kernel_stack_top - sizeof(x86::TrapFrame));
}

// The registers a user thread finds a received message in when it returns
// from its system call (the register convention of abi/mica/ipc_stubs.h).
inline void set_message_registers(uintptr_t kernel_stack_top, uint64_t label, uint64_t w0, uint64_t w1,
                                  uint64_t w2, uint64_t badge) {
    x86::TrapFrame* f = user_frame(kernel_stack_top);
    f->rsi = label, f->rdx = w0, f->r10 = w1, f->r8 = w2, f->r9 = badge;
}
// And the value its system call returns.
inline void set_syscall_result(uintptr_t kernel_stack_top, int64_t value) {
    user_frame(kernel_stack_top)->rax = static_cast<uint64_t>(value);
}

}  // namespace arch
