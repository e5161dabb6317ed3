#include "descriptors.h"

#include <stddef.h>

#include "arch.h"
#include <new>

#include "cpu.h"
#include "smp.h"
#include "lib/string.h"
#include "x86.h"

namespace x86 {
namespace {

struct [[gnu::packed]] Tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
    // The I/O permission bitmap (1 = denied) and the byte of ones the CPU
    // wants after it. Used only while iomap_base points at it.
    uint8_t io_bitmap[8192];
    uint8_t io_bitmap_end;
};
constexpr uint16_t kIoBitmapOffset = offsetof(Tss, io_bitmap);
constexpr uint16_t kNoIoBitmap = sizeof(Tss) + 1;  // past the limit: every port denied

struct [[gnu::packed]] TablePointer {
    uint16_t limit;
    uint64_t base;
};

struct IdtGate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};

alignas(16) IdtGate g_idt[256];  // one for all CPUs

void set_gate(int vector, uintptr_t handler, int ist, int dpl) {
    g_idt[vector] = IdtGate{
        static_cast<uint16_t>(handler), kKernelCode, static_cast<uint8_t>(ist),
        static_cast<uint8_t>(0x8e | (dpl << 5)),  // present, 64-bit interrupt gate
        static_cast<uint16_t>(handler >> 16), static_cast<uint32_t>(handler >> 32), 0};
}

}  // namespace

}  // namespace x86

// Each CPU's own GDT (its TSS descriptor differs), TSS and IST stacks.
struct ArchCpu {
    alignas(16) uint64_t gdt[7];
    x86::Tss tss;
    uint64_t io_owner;  // whose I/O bitmap the TSS holds
    alignas(16) uint8_t ist_stacks[3][8192];
};

namespace {
ArchCpu g_boot_tables;
}  // namespace

extern "C" uintptr_t trap_stubs[256];  // trap_entry.S
extern "C" [[noreturn]] void syscall_return(x86::TrapFrame* frame);  // trap_entry.S
extern "C" [[noreturn]] void syscall_return_message(x86::TrapFrame* frame, const x86::TrapFrame* sent, uint64_t badge);
extern "C" void switch_context(uint64_t* save_rsp, uint64_t load_rsp);  // switch.S

namespace {
[[gnu::noinline]] void load_io_bitmap(ArchCpu& t, const uint8_t* bitmap, uint64_t owner) {
    if (owner != t.io_owner) {
        memcpy(t.tss.io_bitmap, bitmap, sizeof t.tss.io_bitmap);
        t.io_owner = owner;
    }
    t.tss.iomap_base = x86::kIoBitmapOffset;
}
}  // namespace

void arch::set_io_permissions(const uint8_t* bitmap, uint64_t owner) {
    ArchCpu& t = *this_cpu().arch_tables;
    if (bitmap) return load_io_bitmap(t, bitmap, owner);
    t.tss.iomap_base = x86::kNoIoBitmap;  // the usual case: no ports
}

void arch::enter_process(Cpu& cpu, const PageTables& tables, uintptr_t kernel_stack_top,
                         const uint8_t* io_bitmap, uint64_t io_owner) {
    if (cpu.active_root != tables.root()) {
        cpu.active_root = tables.root();
        asm volatile("mov %0, %%cr3" ::"r"(tables.root()) : "memory");
    }
    cpu.kernel_stack_top = kernel_stack_top;
    ArchCpu& t = *cpu.arch_tables;
    t.tss.rsp[0] = kernel_stack_top;
    if (io_bitmap) return load_io_bitmap(t, io_bitmap, io_owner);
    t.tss.iomap_base = x86::kNoIoBitmap;
}

// enter_process (inlined: flatten) and the switch in one (arch.h).
[[gnu::flatten]] void arch::switch_direct(Cpu& cpu, const PageTables& tables, uintptr_t kernel_stack_top,
                                          const uint8_t* io_bitmap, uint64_t io_owner, Context& from, Context& to,
                                          bool to_in_user, uint64_t badge, bool smp) {
    const x86::TrapFrame* sent = user_frame(cpu.kernel_stack_top);  // `from`'s, until enter_process
    enter_process(cpu, tables, kernel_stack_top, io_bitmap, io_owner);
    asm volatile("fxsave64 %0" : "=m"(from.fpu));
    from.rsp = reinterpret_cast<uint64_t>(from.resume);
    if (to.fs_base != from.fs_base) x86::wrmsr(x86::kMsrFsBase, to.fs_base);
    if (to_in_user) {
        asm volatile("fxrstor64 %0" ::"m"(to.fpu));
        if (!smp || !g_kernel_locking) syscall_return_message(user_frame(kernel_stack_top), sent, badge);
        set_message_registers(kernel_stack_top, sent->rsi, sent->rdx, sent->r10, sent->r8, badge);
        set_syscall_result(kernel_stack_top, 0);
        syscall_return(user_frame(kernel_stack_top));  // lets go of the kernel lock
    }
    uint64_t unused;  // `from` is never resumed from here
    switch_context(&unused, to.rsp);
    __builtin_unreachable();
}

bool arch::refresh_io_permissions(const uint8_t* bitmap, uint64_t owner) {
    const ArchCpu& t = *this_cpu().arch_tables;
    if (!bitmap || (owner == t.io_owner && t.tss.iomap_base == x86::kIoBitmapOffset)) return false;
    set_io_permissions(bitmap, owner);
    return true;
}

ArchCpu* x86::cpu_tables_create() { return new (std::nothrow) ArchCpu{}; }

void x86::descriptors_init() {
    for (int v = 0; v < 256; ++v) {
        int ist = v == 8 ? kIstDoubleFault : v == 2 ? kIstNmi : v == 18 ? kIstMachineCheck : 0;
        set_gate(v, trap_stubs[v], ist, 0);
    }
    descriptors_load(g_boot_tables);
}

ArchCpu& x86::boot_cpu_tables() { return g_boot_tables; }

void x86::descriptors_load(ArchCpu& t) {
    uint64_t* gdt = t.gdt;
    Tss& tss = t.tss;
    gdt[0] = 0;
    gdt[1] = 0x00af9a000000ffff;  // kernel code: 64-bit, DPL 0
    gdt[2] = 0x00cf92000000ffff;  // kernel data
    gdt[3] = 0x00cff2000000ffff;  // user data, DPL 3
    gdt[4] = 0x00affa000000ffff;  // user code: 64-bit, DPL 3

    for (int i = 0; i < 3; ++i)
        tss.ist[i] = reinterpret_cast<uintptr_t>(t.ist_stacks[i] + sizeof t.ist_stacks[i]);
    tss.iomap_base = kNoIoBitmap;
    tss.io_bitmap_end = 0xff;
    auto base = reinterpret_cast<uint64_t>(&tss);
    uint64_t limit = sizeof(Tss) - 1;
    gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
               ((limit >> 16 & 0xf) << 48) | ((base >> 24 & 0xff) << 56);
    gdt[6] = base >> 32;

    TablePointer gdtr{sizeof t.gdt - 1, reinterpret_cast<uint64_t>(gdt)};
    asm volatile(
        "lgdt %0\n"
        "pushq %1\n"
        "leaq 1f(%%rip), %%rax\n"
        "pushq %%rax\n"
        "lretq\n"
        "1:\n"
        "mov %2, %%ds\n"
        "mov %2, %%es\n"
        "mov %2, %%ss\n"
        "ltr %w3\n"
        // No LDT: after reset the CPU's LDTR still describes linear 0..64K,
        // from which a selector with TI set would load descriptors.
        "lldt %w4\n"
        :
        : "m"(gdtr), "i"(static_cast<uint64_t>(kKernelCode)), "r"(static_cast<uint64_t>(kKernelData)),
          "r"(static_cast<uint64_t>(kTss)), "r"(static_cast<uint64_t>(0))
        : "rax", "memory");

    TablePointer idtr{sizeof g_idt - 1, reinterpret_cast<uint64_t>(g_idt)};
    asm volatile("lidt %0" ::"m"(idtr));
}
