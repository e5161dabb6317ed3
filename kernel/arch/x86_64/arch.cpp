// The x86-64 side of boot, and the arch interface functions that do not
// belong to a device or a table of their own.
#include "arch.h"

#include "acpi.h"
#include "boot_info.h"
#include "x86.h"
#include "descriptors.h"
#include "heap_instance.h"
#include "lib/string.h"
#include "multiboot2.h"

namespace {
constexpr uint64_t kDirectMapBase = 0xffff800000000000;
constexpr uint16_t kQemuDebugExit = 0xf4;  // isa-debug-exit: QEMU exits (v << 1) | 1

BootInfo g_boot_info;
AcpiInfo g_acpi;
const char* g_acpi_error = nullptr;

// Physical memory while the boot page tables are active: the first 4 GiB,
// at the direct-map base as well.
const uint8_t* read_boot_memory(uint64_t phys, size_t length) {
    if (phys >= (4ULL << 30) || length > (4ULL << 30) - phys) return nullptr;
    return reinterpret_cast<const uint8_t*>(kDirectMapBase + phys);
}

// The MADT, read now, while the boot tables map the firmware's tables.
void read_acpi(const BootInfo& info) {
    const uint8_t* rsdp = info.acpi_rsdp;
    size_t size = info.acpi_rsdp_size;
    if (!rsdp && (rsdp = acpi_find_rsdp(read_boot_memory))) size = 36;
    g_acpi_error = rsdp ? acpi_parse(rsdp, size, read_boot_memory, g_acpi) : "no RSDP was found";
    if (g_acpi_error) acpi_defaults(g_acpi);
}

void enable_cpu_features() {
    // Every 64-bit CPU this kernel targets has NX; W^X depends on it.
    if (!(x86::cpuid(0x80000001).edx & (1u << 20))) {
        arch::console_write("Mica: this CPU has no NX bit\n", 29);
        arch::halt_forever();
    }
    x86::wrmsr(x86::kMsrEfer, x86::rdmsr(x86::kMsrEfer) | x86::kEferNxe);
}
}  // namespace

// boot.S has checked the Multiboot2 magic.
extern "C" [[noreturn]] void arch_boot(uint32_t info_phys) {
    run_global_constructors();  // before anything touches a global with one
    x86::serial_init();
    x86::descriptors_init();
    enable_cpu_features();
    const auto* info = reinterpret_cast<const uint8_t*>(kDirectMapBase + info_phys);
    g_boot_info.boot_info_phys = info_phys;
    if (const char* error = parse_multiboot2(info, 1u << 20, g_boot_info)) {
        arch::console_write("Mica: unusable boot information: ", 34);
        arch::console_write(error, strlen(error));
        arch::console_write("\n", 1);
        arch::halt_forever();
    }
    read_acpi(g_boot_info);
    kernel_main(g_boot_info);
}

const AcpiInfo& x86::acpi(const char** error) {
    if (error) *error = g_acpi_error;
    return g_acpi;
}

void arch::halt_forever() {
    for (;;) {
        x86::cli();
        x86::hlt();
    }
}

void arch::poweroff(bool success) {
    x86::outb(kQemuDebugExit, success ? 0x10 : 0x11);  // QEMU exits 33 or 35
    x86::outw(0x604, 0x2000);                          // QEMU's ACPI PM1a: S5
    x86::outw(0xb004, 0x2000);                         // older QEMU/Bochs
    halt_forever();
}

size_t arch::walk_frames(uintptr_t fp, uintptr_t* out, size_t max) {
    size_t n = 0;
    while (n < max && fp >= kDirectMapBase && fp % 8 == 0) {
        auto* frame = reinterpret_cast<const uintptr_t*>(fp);
        uintptr_t ret = frame[1];
        if (ret < kDirectMapBase) break;
        out[n++] = ret;
        uintptr_t next = frame[0];
        if (next <= fp || next - fp > 64 * 1024) break;  // frames only go up, and not far
        fp = next;
    }
    return n;
}
