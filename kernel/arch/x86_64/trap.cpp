// Trap dispatch: exceptions, interrupts and system calls arrive here from
// trap_entry.S. A fault in the kernel is a kernel bug (print everything and
// stop) unless it is the user-copy routine meeting a bad user pointer; a fault
// in a user thread goes to the generic kernel, which decides its fate.

#include "x86.h"
#include "klog.h"
#include "lib/string.h"
#include "panic.h"
#include "smp.h"
#include "symbols.h"
#include "arch.h"
#include "cpu.h"
#include "thread.h"

namespace {

constexpr const char* kNames[32] = {
    "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range", "invalid opcode",
    "device not available", "double fault", "coprocessor overrun", "invalid TSS",
    "segment not present", "stack fault", "general protection fault", "page fault", "reserved",
    "x87 floating point", "alignment check", "machine check", "SIMD floating point",
    "virtualization", "control protection", "reserved", "reserved", "reserved", "reserved",
    "reserved", "reserved", "hypervisor injection", "VMM communication", "security", "reserved"};

void dump_registers(const x86::TrapFrame& f) {
    kprint("  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx\n", f.rax, f.rbx, f.rcx, f.rdx);
    kprint("  rsi=%016lx rdi=%016lx rbp=%016lx rsp=%016lx\n", f.rsi, f.rdi, f.rbp, f.rsp);
    kprint("  r8 =%016lx r9 =%016lx r10=%016lx r11=%016lx\n", f.r8, f.r9, f.r10, f.r11);
    kprint("  r12=%016lx r13=%016lx r14=%016lx r15=%016lx\n", f.r12, f.r13, f.r14, f.r15);
    kprint("  rip=%016lx cs=%04lx rflags=%08lx ss=%04lx error=%#lx\n", f.rip, f.cs, f.rflags,
           f.ss, f.error);
    kprint("  cr0=%016lx cr2=%016lx cr3=%016lx cr4=%016lx\n", x86::read_cr0(), x86::read_cr2(),
           x86::read_cr3(), x86::read_cr4());
}

// GCC 12 gives leaf functions no frame even with -mno-omit-leaf-frame-pointer.
// If the faulting function has not pushed RBP (it lacks the prologue, or has
// not run it yet), its return address is on top of its stack, and walking
// from RBP alone would skip its caller.
uintptr_t frameless_caller(const x86::TrapFrame& f) {
    uintptr_t offset = 0;
    if (!kernel_symbols().lookup(f.rip, &offset) || f.rsp < 0xffff800000000000 || f.rsp % 8) return 0;
    const auto* start = reinterpret_cast<const uint8_t*>(f.rip - offset);
    static constexpr uint8_t kPrologue[4] = {0x55, 0x48, 0x89, 0xe5};  // push %rbp; mov %rsp,%rbp
    const auto* stack = reinterpret_cast<const uintptr_t*>(f.rsp);
    if (memcmp(start, kPrologue, 4) != 0 || offset == 0) return stack[0];
    if (offset == 1) return stack[1];
    return 0;
}

}  // namespace

extern "C" char user_copy_insn[], user_copy_tail[], user_copy_fault[];
void x86_interrupt(unsigned vector);  // timer.cpp

// With several CPUs, every way in from user mode or from an idle halt (the
// only time the kernel runs with interrupts on) takes the kernel lock
// (smp.h), except the TLB shootdown's interrupt, which must not wait for it.
extern "C" void trap_dispatch(x86::TrapFrame* frame) {
    bool from_user = frame->cs & 3;
    if (frame->vector >= 32) {
        if (frame->vector == x86::kTlbVector) {
            tlb_flush_if_asked();
            x86::lapic_write(x86::kEoi, 0);
            return;
        }
        kernel_lock();  // handled first, even for a thread killed meanwhile
        x86_interrupt(static_cast<unsigned>(frame->vector));
        if (from_user) before_user_return_from_trap();
        kernel_unlock();
        return;
    }
    if (frame->vector == 2 && panic_in_progress()) arch::halt_forever();  // stop_other_cpus
    if (from_user) {
        kernel_enter_from_user();
        user_exception(static_cast<unsigned>(frame->vector), frame->error,
                       frame->vector == 14 ? x86::read_cr2() : 0, frame->rip);
        before_user_return_from_trap();
        kernel_unlock();
        return;
    }
    // A bad user pointer met inside the copy routine: make the copy fail.
    if (frame->vector == 14 && (frame->rip == reinterpret_cast<uintptr_t>(user_copy_insn) ||
                                frame->rip == reinterpret_cast<uintptr_t>(user_copy_tail))) {
        frame->rip = reinterpret_cast<uintptr_t>(user_copy_fault);
        return;
    }
    const char* name = kNames[frame->vector];
    bool first = frame->vector == 14
                     ? panic_begin("%s in kernel mode at rip %#lx: %s %s address %#lx", name,
                                   frame->rip, frame->error & 1 ? "protection violation" : "not-present page",
                                   frame->error & 16 ? "fetching" : frame->error & 2 ? "writing" : "reading",
                                   x86::read_cr2())
                     : panic_begin("%s (vector %lu) in kernel mode at rip %#lx", name, frame->vector,
                                   frame->rip);
    if (!first) arch::halt_forever();
    dump_registers(*frame);
    panic_finish(frame->rip, frame->rbp, frameless_caller(*frame));
}

// A foreign thread's `syscall` (trap_entry.S sends it here); it returns
// through IRETQ, since its handler may have set any register.
extern "C" void foreign_syscall_handler(x86::TrapFrame* frame) {
    kernel_enter_from_user();
    foreign_syscall(&frame->rax, frame->rip);
    before_user_return_from_trap();
    kernel_unlock();
}

extern "C" [[gnu::optimize("omit-frame-pointer")]] void syscall_handler(x86::TrapFrame* frame) {
    frame->rax = static_cast<uint64_t>(syscall_dispatch(frame->rax, reinterpret_cast<const uint64_t*>(frame)));
    // A return address outside the user half, which SYSRET must not take if
    // it is not canonical (only a syscall in the last bytes of user space
    // could make one, and that page is never mapped): the program faults, as
    // a jump there would (until its handler mends it, or it has ended: then
    // user_exception says false, and it never returns to user mode).
    if (frame->rip >> 47) [[unlikely]]
        while (frame->rip >> 47 && user_exception(13, 0, 0, frame->rip)) {}
    const Cpu& cpu = this_cpu();  // before_user_return's cases, seen without a call
    if (cpu.current->kill_pending || cpu.need_resched) before_user_return();
}

// The entry once several CPUs run (arch::enter_smp points SYSCALL here).
extern "C" void syscall_handler_smp(x86::TrapFrame* frame) {
    kernel_enter_from_user();
    syscall_handler(frame);
    kernel_unlock();
}
