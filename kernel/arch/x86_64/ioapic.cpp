// Legacy interrupts through the I/O APIC. ISA IRQ n arrives on global system
// interrupt n, except the PIT's IRQ 0, which PC firmware routes to GSI 2 (the
// ACPI interrupt source override every PC and QEMU board has). The I/O APIC
// sits at its standard address; reading both from the ACPI MADT is the
// better source and comes with ACPI support.
#include "arch.h"
#include "klog.h"
#include "memory.h"
#include "x86.h"

namespace {
constexpr uint64_t kIoApicPhys = 0xfec0'0000;
constexpr uintptr_t kIoApicWindow = 0xffff'ffff'f000'1000;  // next to the LAPIC's
constexpr uint8_t kFirstVector = 0x30;

constexpr uint64_t kLapicPhys = 0xfee0'0000;
volatile uint32_t* g_ioapic = nullptr;
bool g_level[arch::kIrqLines];

void write_reg(uint32_t reg, uint32_t value) {
    g_ioapic[0] = reg;
    g_ioapic[4] = value;
}

unsigned gsi_of(unsigned irq) { return irq == 0 ? 2 : irq; }

void set_entry(unsigned irq, bool masked) {
    unsigned gsi = gsi_of(irq);
    // Active high, fixed delivery to APIC 0. A level-triggered line stays
    // masked from its arrival until the driver has quietened the device.
    write_reg(0x10 + 2 * gsi, (kFirstVector + irq) | (g_level[irq] ? 1u << 15 : 0) | (masked ? 1u << 16 : 0));
    write_reg(0x11 + 2 * gsi, 0);
}
}  // namespace

bool arch::is_kernel_device(uint64_t phys, uint64_t size) {
    auto hits = [&](uint64_t base) { return phys < base + kPageSize && base < phys + size; };
    return hits(kIoApicPhys) || hits(kLapicPhys);
}

bool arch::irq_route(unsigned irq, bool level) {
    if (irq >= kIrqLines) return false;
    g_level[irq] = level;
    if (!g_ioapic) {
        if (!kernel_page_tables().map(kIoApicWindow, kIoApicPhys, kMapWrite | kMapUncached,
                                      kernel_table_frames()))
            return false;
        g_ioapic = reinterpret_cast<volatile uint32_t*>(kIoApicWindow);
    }
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
