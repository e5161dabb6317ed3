// Legacy interrupts through the I/O APIC. Where it sits, and which global
// system interrupt (GSI), polarity and trigger each ISA line has, come from
// the ACPI MADT (acpi.h); without one, the PC defaults: IRQ n on GSI n except
// the PIT's IRQ 0 on GSI 2. Every line is delivered to the boot CPU.
#include "acpi.h"
#include "arch.h"
#include "klog.h"
#include "memory.h"
#include "x86.h"

namespace {
constexpr uintptr_t kIoApicWindow = 0xffff'ffff'f000'1000;  // next to the LAPIC's
constexpr uint8_t kFirstVector = 0x30;

volatile uint32_t* g_ioapic = nullptr;
unsigned g_entries = 0;  // redirection entries the I/O APIC has
bool g_level[arch::kIrqLines];

void write_reg(uint32_t reg, uint32_t value) {
    g_ioapic[0] = reg;
    g_ioapic[4] = value;
}

void set_entry(unsigned irq, bool masked) {
    const AcpiInfo& acpi = x86::acpi();
    const AcpiInfo::IsaIrq& line = acpi.isa[irq];
    unsigned entry = line.gsi - acpi.ioapic_gsi_base;
    // Fixed delivery to the boot CPU. A level-triggered line stays masked
    // from its arrival until the driver has quietened the device.
    write_reg(0x10 + 2 * entry, (kFirstVector + irq) | (line.active_low ? 1u << 13 : 0) |
                                    (g_level[irq] ? 1u << 15 : 0) | (masked ? 1u << 16 : 0));
    write_reg(0x11 + 2 * entry, x86::boot_apic_id() << 24);
}
}  // namespace

bool arch::is_kernel_device(uint64_t phys, uint64_t size) {
    auto hits = [&](uint64_t base) { return phys < base + kPageSize && base < phys + size; };
    return hits(x86::acpi().ioapic_phys) || hits(x86::acpi().lapic_phys);
}

bool arch::irq_route(unsigned irq, bool level) {
    if (irq >= kIrqLines) return false;
    const AcpiInfo& acpi = x86::acpi();
    if (!g_ioapic) {
        if (!kernel_page_tables().map(kIoApicWindow, acpi.ioapic_phys, kMapWrite | kMapUncached,
                                      kernel_table_frames()))
            return false;
        g_ioapic = reinterpret_cast<volatile uint32_t*>(kIoApicWindow);
        g_ioapic[0] = 1;  // the version register: the last entry's index in bits 16-23
        g_entries = (g_ioapic[4] >> 16 & 0xff) + 1;
    }
    if (acpi.isa[irq].gsi - acpi.ioapic_gsi_base >= g_entries) return false;
    // The table's trigger mode where it gives one, else the driver's.
    g_level[irq] = acpi.isa[irq].trigger_fixed ? acpi.isa[irq].level : level;
    set_entry(irq, true);
    return true;
}

void arch::irq_set_masked(unsigned irq, bool masked) {
    if (g_ioapic && irq < kIrqLines) set_entry(irq, masked);
}

// Called from the interrupt path for vectors kFirstVector..+15.
bool x86_legacy_irq(unsigned vector) {
    if (vector < kFirstVector || vector >= kFirstVector + arch::kIrqLines) return false;
    unsigned irq = vector - kFirstVector;
    set_entry(irq, true);  // masked until the driver acknowledges
    irq_fired(irq);
    return true;
}
