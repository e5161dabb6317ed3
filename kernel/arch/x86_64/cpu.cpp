// Per-CPU set-up (GS base for this_cpu(), SYSCALL/SYSRET, the FPU) and the
// thread-context operations of arch.h.
#include <stddef.h>

#include "arch.h"
#include "lib/string.h"
#include "mica/syscall_numbers.h"
#include "mica/types.h"
#include "cpu.h"  // the generic per-CPU struct (kernel/cpu.h)
#include "descriptors.h"
#include "x86.h"

static_assert(offsetof(Cpu, self) == 0);
static_assert(offsetof(Cpu, kernel_stack_top) == 8);  // trap_entry.S GS_KERNEL_STACK
static_assert(offsetof(Cpu, user_rsp) == 16);         // trap_entry.S GS_USER_RSP
static_assert(offsetof(Cpu, foreign) == 57);          // trap_entry.S GS_FOREIGN
static_assert(mica::kSysIpcCall == 28 && mica::kSysIpcReplyRecv == 31);  // trap_entry.S

extern "C" void syscall_entry();
extern "C" void switch_context(uint64_t* save_rsp, uint64_t load_rsp);
extern "C" void user_thread_entry();
extern "C" void ipc_resume_entry();

namespace {
constexpr uint32_t kMsrGsBase = 0xc0000101, kMsrKernelGsBase = 0xc0000102;
constexpr uint32_t kMsrStar = 0xc0000081, kMsrLstar = 0xc0000082, kMsrFmask = 0xc0000084;
constexpr uint64_t kRflagsIf = 1 << 9;

// The FPU state every thread starts with: FXSAVE layout with the x87
// control word and MXCSR at their reset values, everything else zero.
void init_fpu_image(uint8_t* image) {
    memset(image, 0, 512);
    image[0] = 0x7f;  // FCW = 0x037f
    image[1] = 0x03;
    image[24] = 0x80;  // MXCSR = 0x1f80
    image[25] = 0x1f;
}

// The switch frame switch_context pops: r15 r14 r13 r12 rbx rbp, then `ret`.
// r14 carries the thread's FPU image to its entry code.
uint64_t* push_switch_frame(uint64_t* sp, void (*entry)(), uint64_t r14) {
    *--sp = reinterpret_cast<uint64_t>(entry);
    *--sp = 0;  // rbp: ends backtraces
    *--sp = 0;  // rbx
    *--sp = 0;  // r12
    *--sp = 0;  // r13
    *--sp = r14;
    *--sp = 0;  // r15
    return sp;
}
}  // namespace

void arch::init_cpu(Cpu& cpu) {
    cpu.self = &cpu;
    if (!cpu.arch_tables) cpu.arch_tables = &x86::boot_cpu_tables();
    x86::wrmsr(kMsrGsBase, reinterpret_cast<uint64_t>(&cpu));
    x86::wrmsr(kMsrKernelGsBase, 0);

    // SYSCALL loads CS = STAR[47:32], SS = +8; SYSRET loads SS = STAR[63:48] + 8,
    // CS = +16: that is why user data sits before user code in the GDT.
    x86::wrmsr(x86::kMsrEfer, x86::rdmsr(x86::kMsrEfer) | 1);  // SCE
    x86::wrmsr(kMsrStar, (static_cast<uint64_t>(x86::kKernelData) << 48) |
                             (static_cast<uint64_t>(x86::kKernelCode) << 32));
    x86::wrmsr(kMsrLstar, reinterpret_cast<uint64_t>(syscall_entry));
    // Cleared on entry, so that no flag ring 3 can set (popfq) reaches the
    // kernel: IF (the kernel runs with interrupts off), TF (no single step
    // in the kernel), DF (string copies go forward), NT (an iretq with NT set
    // is a #GP, and the switch does not save RFLAGS), AC (SMAP stays on).
    // IOPL and IF cannot be changed from ring 3 at all. Exceptions and
    // interrupts clear TF and NT themselves; trap_entry.S clears DF and AC.
    x86::wrmsr(kMsrFmask, kRflagsIf | (1 << 8) | (1 << 10) | (1 << 14) | (1 << 18));

    uint64_t cr0 = x86::read_cr0();
    cr0 = (cr0 & ~(1ULL << 2)) | (1 << 1);  // EM off, MP on
    asm volatile("mov %0, %%cr0" ::"r"(cr0));
    x86::write_cr4(x86::read_cr4() | (1 << 9) | (1 << 10));  // OSFXSR, OSXMMEXCPT
}

void arch::init_user_context(Context& c, uintptr_t stack_top, uintptr_t entry, uintptr_t user_stack,
                             uintptr_t arg) {
    init_fpu_image(c.fpu);
    x86::TrapFrame* frame = user_frame(stack_top);
    *frame = x86::TrapFrame{};
    frame->rip = entry;
    frame->cs = x86::kUserCode;
    frame->rflags = kRflagsIf;
    frame->rsp = user_stack;
    frame->ss = x86::kUserData;
    frame->rdi = arg;
    c.rsp = reinterpret_cast<uint64_t>(push_switch_frame(reinterpret_cast<uint64_t*>(frame),
                                                         user_thread_entry,
                                                         reinterpret_cast<uint64_t>(c.fpu)));
    // r15: the user state ipc_resume_entry returns with; r14: the FPU image.
    c.resume[0] = reinterpret_cast<uint64_t>(frame);
    c.resume[1] = reinterpret_cast<uint64_t>(c.fpu);
    c.resume[6] = reinterpret_cast<uint64_t>(ipc_resume_entry);
}

void arch::switch_to(Context& from, Context& to) {
    asm volatile("fxsave64 %0" : "=m"(from.fpu));
    if (to.fs_base != from.fs_base) x86::wrmsr(x86::kMsrFsBase, to.fs_base);
    switch_context(&from.rsp, to.rsp);
    asm volatile("fxrstor64 %0" ::"m"(from.fpu));
}

namespace {
bool canonical(uint64_t a) { return static_cast<uint64_t>(static_cast<int64_t>(a << 16) >> 16) == a; }

// The MXCSR bits this CPU accepts (FXRSTOR faults on any other).
uint32_t mxcsr_mask() {
    alignas(16) uint8_t image[512];
    asm volatile("fxsave64 %0" : "=m"(image));
    uint32_t mask;
    memcpy(&mask, image + 28, sizeof mask);
    return mask ? mask : 0xffbf;
}
}  // namespace

void arch::read_user_regs(const Context& c, uintptr_t stack_top, mica::ThreadRegs& r) {
    const x86::TrapFrame& f = *user_frame(stack_top);
    r = {f.rax, f.rbx, f.rcx, f.rdx, f.rsi, f.rdi, f.rbp, f.rsp, f.r8, f.r9, f.r10, f.r11,
         f.r12, f.r13, f.r14, f.r15, f.rip, f.rflags, c.fs_base, 0, {}};
    memcpy(r.fpu, c.fpu, sizeof r.fpu);
}

bool arch::write_user_regs(Context& c, uintptr_t stack_top, const mica::ThreadRegs& r) {
    uint32_t mxcsr;
    memcpy(&mxcsr, r.fpu + 24, sizeof mxcsr);
    if (!canonical(r.rip) || !canonical(r.rsp) || !canonical(r.fs_base) || (mxcsr & ~mxcsr_mask()))
        return false;
    // Arithmetic flags, TF, DF, AC and ID; IF always on, IOPL 0, no NT.
    constexpr uint64_t kUserFlags = 0xcd5 | 1 << 8 | 1 << 10 | 1 << 18 | 1 << 21;
    x86::TrapFrame& f = *user_frame(stack_top);
    f.rax = r.rax, f.rbx = r.rbx, f.rcx = r.rcx, f.rdx = r.rdx, f.rsi = r.rsi, f.rdi = r.rdi;
    f.rbp = r.rbp, f.rsp = r.rsp, f.r8 = r.r8, f.r9 = r.r9, f.r10 = r.r10, f.r11 = r.r11;
    f.r12 = r.r12, f.r13 = r.r13, f.r14 = r.r14, f.r15 = r.r15;
    f.rip = r.rip;
    f.rflags = (r.rflags & kUserFlags) | kRflagsIf | 2;
    c.fs_base = r.fs_base;
    memcpy(c.fpu, r.fpu, sizeof c.fpu);
    return true;
}

void arch::wait_for_interrupt() { asm volatile("sti; hlt; cli" ::: "memory"); }
