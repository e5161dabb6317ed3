// What the boot loader told the kernel, in a form that does not depend on the
// loader or the architecture. Filled in by arch code before kernel_main runs.
#pragma once

#include <stddef.h>
#include <stdint.h>

struct MemoryRegion {
    enum class Kind : uint8_t { usable, reserved, acpi_reclaimable, acpi_nvs, bad };
    uint64_t base;
    uint64_t length;
    Kind kind;
};

struct BootModule {
    const char* name;   // the string the loader gave with the module, e.g. "init"
    uint64_t phys_start;
    uint64_t phys_end;  // one past the last byte
};

struct BootInfo {
    static constexpr size_t kMaxRegions = 64;
    static constexpr size_t kMaxModules = 32;

    const char* loader_name = "";
    const char* cmdline = "";
    uint64_t boot_info_phys = 0;  // the loader's own structure, to keep its frames
    uint64_t boot_info_size = 0;
    MemoryRegion regions[kMaxRegions];
    size_t region_count = 0;
    bool regions_truncated = false;
    BootModule modules[kMaxModules];
    size_t module_count = 0;
    bool modules_truncated = false;
    const uint8_t* acpi_rsdp = nullptr;  // the loader's copy of the ACPI RSDP, if it gave one
    size_t acpi_rsdp_size = 0;
};

// The generic kernel's entry point, called once by arch code on the boot CPU.
[[noreturn]] void kernel_main(const BootInfo& info);
