// Foreign processes: what a personality server (Linux programs) builds on.
// A process made foreign before it starts makes no Mica system call: each
// `syscall` instruction reaches its fault handler as a message, the handler
// reads and writes the stopped thread's registers (FS base and FPU state
// included) and answers with the value RAX gets. The child here is a few
// bytes of machine code in a process of its own, as a Linux program is.
#include "ktest.h"

using namespace mica;
using namespace ktest;

namespace {
constexpr uintptr_t kCode = 0x40'0000, kData = 0x50'0000, kStackTop = 0x60'0000;

// mov eax,39; mov edi,7; syscall; mov rdi,rax; mov rsi,fs:[0]; mov eax,60;
// syscall; ud2 — getpid(7), then exit(getpid's answer, what FS points at).
constexpr uint8_t kProgram[] = {0xb8, 0x27, 0, 0, 0, 0xbf, 7, 0, 0, 0, 0x0f, 0x05, 0x48, 0x89, 0xc7,
                                0x64, 0x48, 0x8b, 0x34, 0x25, 0, 0, 0, 0, 0xb8, 0x3c, 0, 0, 0,
                                0x0f, 0x05, 0x0f, 0x0b};
constexpr uintptr_t kFirstReturn = kCode + 0x0c, kSecondReturn = kCode + 0x1f;

struct Child {
    Handle process = kNoHandle, thread = kNoHandle, ep = kNoHandle;
};

// The program mapped read-execute, a data page and a stack; its first
// thread created, not started; faults (and calls) to `ep` badged 0xf0.
Child make_child(uint32_t fault_flags, const uint8_t* program = kProgram, size_t size = sizeof kProgram) {
    Child c;
    c.process = EXPECT_HANDLE(sys::process_create("foreign", 7, 1 << 20));
    c.ep = EXPECT_HANDLE(sys::endpoint_create());
    Handle badged = EXPECT_HANDLE(sys::handle_mint(c.ep, kRightWrite, 0xf0));
    Handle code = EXPECT_HANDLE(sys::memory_create(kPageSize));
    Handle data = EXPECT_HANDLE(sys::memory_create(2 * kPageSize));
    EXPECT_EQ(sys::memory_write(code, 0, program, size), kOk);
    uint64_t magic = 0x5eed'f00d;
    EXPECT_EQ(sys::memory_write(data, 0, &magic, sizeof magic), kOk);
    EXPECT_EQ(sys::vm_map(c.process, kCode, code, 0, kPageSize, kVmRead | kVmExec), kOk);
    EXPECT_EQ(sys::vm_map(c.process, kData, data, 0, kPageSize, kVmRead | kVmWrite), kOk);
    EXPECT_EQ(sys::vm_map(c.process, kStackTop - kPageSize, data, kPageSize, kPageSize, kVmRead | kVmWrite), kOk);
    EXPECT_EQ(sys::process_set_fault_handler(c.process, badged, fault_flags), kOk);
    c.thread = EXPECT_HANDLE(sys::thread_create(c.process, kCode, kStackTop, 0, 1));
    sys::handle_close(badged);
    sys::handle_close(code);
    sys::handle_close(data);
    return c;
}

void close_child(Child& c) {
    sys::handle_close(c.thread);
    sys::handle_close(c.process);
    sys::handle_close(c.ep);
}
}  // namespace

KTEST(foreign, syscalls_reach_the_handler) {
    Usage before = usage();
    Child c = make_child(kFaultForeign);
    EXPECT_EQ(sys::thread_start(c.thread), kOk);

    // getpid(7) arrives as a message; nothing of Mica's ran.
    Message m;
    uint64_t badge = 0;
    EXPECT_EQ(sys::ipc_recv(c.ep, m, nullptr, &badge), kOk);
    EXPECT_EQ(m.label, kFaultLabel);
    EXPECT_EQ(m.w0, kFaultSyscall);
    EXPECT_EQ(m.w1, 39);
    EXPECT_EQ(m.w2, kFirstReturn);
    EXPECT_EQ(badge, 0xf0);
    ThreadRegs r;
    EXPECT_EQ(sys::thread_regs_read(c.thread, &r), kOk);
    EXPECT_EQ(r.rdi, 7);
    EXPECT_EQ(r.rax, 39);
    EXPECT_EQ(r.rip, kFirstReturn);
    EXPECT_EQ(r.rcx, kFirstReturn);  // what SYSCALL leaves there, as on Linux
    EXPECT_EQ(r.rsp, kStackTop);
    EXPECT_EQ(r.fs_base, 0);
    // Its TLS: FS at the data page, checked through the next call.
    r.fs_base = kData;
    EXPECT_EQ(sys::thread_regs_write(c.thread, &r), kOk);
    EXPECT_EQ(sys::ipc_reply(Message{kFaultReturn, 1234, 0, 0}), kOk);

    // exit(1234, *fs) arrives next: RAX took the answer, FS took the base.
    EXPECT_EQ(sys::ipc_recv(c.ep, m, nullptr, &badge), kOk);
    EXPECT_EQ(m.w0, kFaultSyscall);
    EXPECT_EQ(m.w1, 60);
    EXPECT_EQ(sys::thread_regs_read(c.thread, &r), kOk);
    EXPECT_EQ(r.rdi, 1234);
    EXPECT_EQ(r.rsi, 0x5eed'f00d);
    EXPECT_EQ(r.fs_base, kData);
    // Resume it where we choose, with registers we choose: a signal
    // handler's entry is made this way. Here: at the ud2, with r15 set.
    r.rip = kSecondReturn;
    r.r15 = 0x15;
    EXPECT_EQ(sys::thread_regs_write(c.thread, &r), kOk);
    EXPECT_EQ(sys::ipc_reply(Message{0, 0, 0, 0}), kOk);
    EXPECT_EQ(sys::ipc_recv(c.ep, m, nullptr, &badge), kOk);
    EXPECT_EQ(m.label, kFaultLabel);
    EXPECT_EQ(m.w0 & 0xffffffff, 6);  // #UD
    EXPECT_EQ(m.w2, kSecondReturn);
    EXPECT_EQ(sys::thread_regs_read(c.thread, &r), kOk);
    EXPECT_EQ(r.r15, 0x15);
    EXPECT_EQ(sys::ipc_reply(Message{1, 0, 0, 0}), kOk);  // end it
    EXPECT_EQ(sys::process_wait(c.process, ~0ull, nullptr), kOk);
    close_child(c);
    EXPECT_NO_LEAK(before);
}

// Registers that would take the kernel down on the way back to ring 3 are
// refused; RFLAGS keeps only what ring 3 may set.
KTEST(foreign, bad_registers_refused) {
    Child c = make_child(kFaultForeign);
    ThreadRegs r;
    EXPECT_EQ(sys::thread_regs_read(c.thread, &r), kOk);  // created: stopped
    EXPECT_EQ(r.rip, kCode);
    ThreadRegs bad = r;
    bad.fs_base = 0x0000'8000'0000'0000;
    EXPECT_EQ(sys::thread_regs_write(c.thread, &bad), kErrInvalidArgument);
    bad = r;
    bad.rip = 0xdead'0000'0000'0000;
    EXPECT_EQ(sys::thread_regs_write(c.thread, &bad), kErrInvalidArgument);
    bad = r;
    bad.rsp = 0x0001'0000'0000'0000;
    EXPECT_EQ(sys::thread_regs_write(c.thread, &bad), kErrInvalidArgument);
    bad = r;
    bad.fpu[26] = 0xff;  // MXCSR reserved bits
    EXPECT_EQ(sys::thread_regs_write(c.thread, &bad), kErrInvalidArgument);
    EXPECT_EQ(sys::thread_regs_write(c.thread, reinterpret_cast<ThreadRegs*>(0x10)), kErrBadAddress);
    EXPECT_EQ(sys::thread_regs_read(c.thread, reinterpret_cast<ThreadRegs*>(~0ull - 8)), kErrBadAddress);
    bad = r;
    bad.rflags = ~0ull;  // IOPL 3, NT, VM, VIF...: none of it may reach ring 3
    EXPECT_EQ(sys::thread_regs_write(c.thread, &bad), kOk);
    EXPECT_EQ(sys::thread_regs_read(c.thread, &bad), kOk);
    EXPECT_EQ(bad.rflags & (3 << 12 | 1 << 14 | 1 << 17 | 1 << 19 | 1 << 20), 0);
    EXPECT_EQ(bad.rflags & (1 << 9), 1 << 9);

    // Only before it starts may a process become foreign; a running thread
    // (not waiting for its handler) cannot be read or written.
    EXPECT_EQ(sys::thread_regs_write(c.thread, &r), kOk);
    EXPECT_EQ(sys::thread_start(c.thread), kOk);
    EXPECT_EQ(sys::process_set_fault_handler(c.process, c.ep, kFaultForeign), kErrBadState);
    EXPECT_EQ(sys::process_set_fault_handler(c.process, c.ep, 2), kErrInvalidArgument);
    EXPECT_EQ(sys::thread_regs_read(startup().self_thread, &r), kErrBadState);
    Handle read_only = EXPECT_HANDLE(sys::handle_duplicate(c.thread, kRightRead));
    EXPECT_EQ(sys::thread_regs_write(read_only, &r), kErrAccessDenied);
    EXPECT_EQ(sys::thread_regs_read(c.process, &r), kErrWrongType);
    sys::handle_close(read_only);
    // Its first call: no answer but "end it" ends it.
    Message m;
    EXPECT_EQ(sys::ipc_recv(c.ep, m), kOk);
    EXPECT_EQ(m.w1, 39);
    EXPECT_EQ(sys::ipc_reply(Message{1, 0, 0, 0}), kOk);
    int64_t status = 0;
    EXPECT_EQ(sys::process_wait(c.process, ~0ull, &status), kOk);
    EXPECT_EQ(status, kExitFaultBase - static_cast<int64_t>(kFaultSyscall));
    close_child(c);
}

// A thread's own handler comes before its process's: the badge tells the
// personality which thread is calling.
KTEST(foreign, thread_handler_first) {
    Child c = make_child(kFaultForeign);
    Handle thread_ep = EXPECT_HANDLE(sys::endpoint_create());
    Handle badged = EXPECT_HANDLE(sys::handle_mint(thread_ep, kRightWrite, 0x7d));
    EXPECT_EQ(sys::thread_set_fault_handler(c.thread, badged), kOk);
    EXPECT_EQ(sys::thread_set_fault_handler(c.process, badged), kErrWrongType);
    EXPECT_EQ(sys::thread_start(c.thread), kOk);
    Message m;
    uint64_t badge = 0;
    EXPECT_EQ(sys::ipc_recv(thread_ep, m, nullptr, &badge), kOk);
    EXPECT_EQ(badge, 0x7d);
    EXPECT_EQ(m.w1, 39);
    EXPECT_EQ(sys::process_kill(c.process, 9), kOk);  // killed while it waits for its answer
    EXPECT_EQ(sys::ipc_reply(Message{kFaultReturn, 0, 0, 0}), kErrPeerClosed);
    int64_t status = 0;
    EXPECT_EQ(sys::process_wait(c.process, ~0ull, &status), kOk);
    EXPECT_EQ(status, 9);
    sys::handle_close(badged);
    sys::handle_close(thread_ep);
    close_child(c);
}

// A program busy in its own code (no calls) is stopped for its handler by
// thread_interrupt — how a personality delivers a signal to it — and goes
// on with the registers the handler leaves.
KTEST(foreign, interrupt_stops_a_busy_thread) {
    Usage before = usage();
    // inc r12; jmp back to it; ud2
    static constexpr uint8_t kLoop[] = {0x49, 0xff, 0xc4, 0xeb, 0xfb, 0x0f, 0x0b};
    Child c = make_child(kFaultForeign, kLoop, sizeof kLoop);
    EXPECT_EQ(sys::thread_interrupt(c.thread), kErrBadState);  // not started
    EXPECT_EQ(sys::thread_start(c.thread), kOk);
    sys::thread_sleep(20'000'000);  // it spins meanwhile
    Handle read_only = EXPECT_HANDLE(sys::handle_duplicate(c.thread, kRightRead));
    EXPECT_EQ(sys::thread_interrupt(read_only), kErrAccessDenied);
    EXPECT_EQ(sys::thread_interrupt(c.process), kErrWrongType);
    sys::handle_close(read_only);
    EXPECT_EQ(sys::thread_interrupt(c.thread), kOk);
    Message m;
    uint64_t badge = 0;
    EXPECT_EQ(sys::ipc_recv(c.ep, m, nullptr, &badge), kOk);
    EXPECT_EQ(m.label, kFaultLabel);
    EXPECT_EQ(m.w0, kFaultInterrupt);
    EXPECT_EQ(badge, 0xf0);
    ThreadRegs r;
    EXPECT_EQ(sys::thread_regs_read(c.thread, &r), kOk);
    EXPECT(r.rip >= kCode && r.rip < kCode + 5);
    EXPECT(r.r12 > 0);  // it ran
    EXPECT_EQ(sys::thread_interrupt(c.thread), kErrBadState);  // stopped already
    // On, at the ud2: what the handler wrote is what runs.
    r.rip = kCode + 5;
    EXPECT_EQ(sys::thread_regs_write(c.thread, &r), kOk);
    EXPECT_EQ(sys::ipc_reply(Message{0, 0, 0, 0}), kOk);
    EXPECT_EQ(sys::ipc_recv(c.ep, m, nullptr, &badge), kOk);
    EXPECT_EQ(m.w0 & 0xffffffff, 6);  // #UD
    EXPECT_EQ(m.w2, kCode + 5);
    EXPECT_EQ(sys::ipc_reply(Message{1, 0, 0, 0}), kOk);
    EXPECT_EQ(sys::process_wait(c.process, ~0ull, nullptr), kOk);
    close_child(c);
    EXPECT_NO_LEAK(before);
}

// A Mica process's syscall is still the kernel's: the flag is what makes
// a process foreign, nothing else.
KTEST(foreign, native_unaffected) { EXPECT_EQ(run_child("exit42"), 42); }
