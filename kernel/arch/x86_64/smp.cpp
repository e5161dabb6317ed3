// Starting the application processors the MADT lists: INIT, then STARTUP
// IPIs into the trampoline (ap_boot.S), one CPU at a time, each with its
// own descriptor tables, IST stacks, kernel stack and per-CPU block.
#include "acpi.h"
#include "arch.h"
#include "cpu.h"
#include "descriptors.h"
#include "klog.h"
#include "lib/string.h"
#include "memory.h"
#include "x86.h"

extern "C" char ap_trampoline[], ap_trampoline_end[], ap_params[];  // ap_boot.S
extern "C" char boot_pml4[];                                          // boot.S

namespace {

constexpr uint64_t kTrampoline = 0x8000;  // ap_boot.S's TRAMPOLINE
constexpr size_t kApStackPages = 4;

struct ApParams {  // ap_boot.S's ap_params
    uint64_t boot_tables, kernel_tables, stack, cpu;
};

uint8_t g_apic_ids[kMaxCpus];  // by CPU index
bool g_started;                // set by the AP being started
unsigned g_count = 1;          // CPUs running

void send_ipi(uint32_t apic_id, uint32_t command) {
    x86::lapic_write(x86::kIcrHigh, apic_id << 24);
    x86::lapic_write(x86::kIcrLow, command);
    while (x86::lapic_read(x86::kIcrLow) & (1 << 12)) asm volatile("pause");  // delivery pending
}

bool started_within(uint64_t ns) {
    uint64_t end = arch::clock_ns() + ns;
    while (!__atomic_load_n(&g_started, __ATOMIC_ACQUIRE))
        if (arch::clock_ns() > end) return false;
    return true;
}

// INIT, then up to two STARTUP IPIs, as the MP specification has it.
bool start_ap(uint8_t apic_id, Cpu& cpu) {
    uint64_t stack = allocate_frames(kApStackPages);
    cpu.arch_tables = x86::cpu_tables_create();
    if (stack == FrameAllocator::kNone || !cpu.arch_tables) return false;
    auto* params = phys_to_virt<ApParams>(kTrampoline + (ap_params - ap_trampoline));
    *params = {reinterpret_cast<uintptr_t>(boot_pml4), arch::kernel_page_tables().root(),
               reinterpret_cast<uintptr_t>(phys_to_virt(stack + kApStackPages * arch::kPageSize)),
               reinterpret_cast<uintptr_t>(&cpu)};
    g_started = false;
    send_ipi(apic_id, 0x4500);  // INIT, assert
    x86::pit_wait(10);
    for (int i = 0; i < 2; ++i) {
        send_ipi(apic_id, 0x4600 | kTrampoline >> 12);  // STARTUP at the trampoline's page
        if (started_within(i == 0 ? 10'000'000 : 1'000'000'000)) return true;
    }
    send_ipi(apic_id, 0x4500);  // back to waiting, so a late start cannot use the next CPU's stack
    return false;
}

}  // namespace

uint32_t x86::boot_apic_id() { return g_apic_ids[0]; }

extern "C" void syscall_entry_smp();  // trap_entry.S

void arch::enter_smp() { x86::wrmsr(0xc0000082, reinterpret_cast<uintptr_t>(syscall_entry_smp)); }  // LSTAR

void arch::send_reschedule(unsigned cpu) { send_ipi(g_apic_ids[cpu], x86::kRescheduleVector); }

void arch::send_tlb_flush(unsigned cpu) { send_ipi(g_apic_ids[cpu], x86::kTlbVector); }

void arch::flush_user_tlb() { asm volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory"); }

void arch::stop_other_cpus() {
    if (g_count > 1) send_ipi(0, 0xc0000 | 0x400);  // NMI, to all but this CPU
}

unsigned arch::start_cpus(Cpu* (*prepare)(unsigned index)) {
    const char* error = nullptr;
    const AcpiInfo& acpi = x86::acpi(&error);
    g_apic_ids[0] = static_cast<uint8_t>(x86::lapic_read(x86::kLapicId) >> 24);
    if (error) {
        log_warn("acpi: tables refused (%s): one CPU, PC interrupt routing", error);
        return 1;
    }
    log_info("acpi: %zu CPU%s, I/O APIC at %#lx", acpi.cpu_count, acpi.cpu_count > 1 ? "s" : "",
             acpi.ioapic_phys);
    if (acpi.cpus_truncated) log_warn("acpi: more than %u CPUs; the rest stay off", kMaxCpus);
    memcpy(phys_to_virt(kTrampoline), ap_trampoline, ap_trampoline_end - ap_trampoline);
    unsigned count = 1;
    for (size_t i = 0; i < acpi.cpu_count; ++i) {
        uint8_t id = acpi.apic_ids[i];
        if (id == g_apic_ids[0]) continue;
        Cpu* cpu = prepare(count);
        if (!cpu || !start_ap(id, *cpu)) {
            log_warn("smp: the CPU with APIC id %u did not start", id);
            continue;
        }
        g_apic_ids[count++] = id;
    }
    log_info("smp: %u CPU%s running", count, count > 1 ? "s" : "");
    g_count = count;
    return count;
}

extern "C" [[noreturn]] void ap_main(Cpu* cpu) {
    x86::descriptors_load(*cpu->arch_tables);
    arch::init_cpu(*cpu);
    x86::enable_protections();
    cpu->active_root = arch::kernel_page_tables().root();
    x86::lapic_timer_start();
    __atomic_store_n(&g_started, true, __ATOMIC_RELEASE);
    cpu_main();
}
