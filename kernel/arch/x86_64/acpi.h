// What the kernel takes from ACPI: the CPUs (local APIC ids), the I/O APIC
// and how ISA interrupts reach it, all from the MADT. Pure parsing, no
// hardware access: memory is reached through a reader the caller supplies
// (host-tested in tests/host/acpi_test.cpp). Every length, checksum and
// entry is checked; a table that fails a check is refused as a whole.
#pragma once

#include <stddef.h>
#include <stdint.h>

struct AcpiInfo {
    static constexpr size_t kMaxCpus = 16;
    struct IsaIrq {
        uint32_t gsi;
        bool active_low;
        bool level;
        bool trigger_fixed;  // the table says edge or level (else: bus default)
    };

    uint64_t lapic_phys = 0xfee0'0000;
    uint8_t apic_ids[kMaxCpus] = {};  // usable CPUs, the boot CPU among them
    size_t cpu_count = 0;
    bool cpus_truncated = false;
    uint64_t ioapic_phys = 0xfec0'0000;
    uint32_t ioapic_gsi_base = 0;
    IsaIrq isa[16] = {};  // set by acpi_defaults, then the MADT's overrides
};

// A view of `length` bytes of physical memory at `phys`, or null if that
// range cannot be read.
using AcpiReader = const uint8_t* (*)(uint64_t phys, size_t length);

// The PC defaults: one CPU (no id), the I/O APIC at its usual address, ISA
// IRQ n on GSI n except IRQ 0 on GSI 2, active high, edge.
void acpi_defaults(AcpiInfo& out);

// Looks for the RSDP in the BIOS areas (the EBDA's first KiB, then
// 0xe0000-0xfffff), as loaders that pass no copy leave it. Null if absent.
const uint8_t* acpi_find_rsdp(AcpiReader read);

// Reads the MADT through the RSDP at `rsdp` (`size` bytes available).
// Null on success; otherwise why the tables were refused, and `out` keeps
// the defaults.
const char* acpi_parse(const uint8_t* rsdp, size_t size, AcpiReader read, AcpiInfo& out);
