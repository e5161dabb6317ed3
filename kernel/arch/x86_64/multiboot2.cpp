#include "multiboot2.h"

#include "lib/string.h"

namespace {

enum TagType : uint32_t {
    kEnd = 0,
    kCmdline = 1,
    kLoaderName = 2,
    kModule = 3,
    kMemoryMap = 6,
    kAcpiOld = 14,  // a copy of the ACPI 1.0 RSDP
    kAcpiNew = 15,  // a copy of the ACPI 2.0+ RSDP (preferred)
};

// A string field of a tag, accepted only if it ends inside the tag.
const char* tag_string(const uint8_t* start, const uint8_t* tag_end) {
    for (const uint8_t* p = start; p < tag_end; ++p)
        if (*p == 0) return reinterpret_cast<const char*>(start);
    return nullptr;
}

MemoryRegion::Kind region_kind(uint32_t type) {
    using K = MemoryRegion::Kind;
    constexpr K kKinds[] = {K::usable, K::reserved, K::acpi_reclaimable, K::acpi_nvs, K::bad};  // types 1 to 5
    return type >= 1 && type <= 5 ? kKinds[type - 1] : K::reserved;
}

const char* read_memory_map(const uint8_t* tag, uint32_t size, BootInfo& out) {
    if (size < 16) return "memory map tag too short";
    uint32_t entry_size = load<uint32_t>(tag + 8);
    if (entry_size < 24 || entry_size % 8 != 0) return "memory map entry size invalid";
    for (uint32_t off = 16; off + entry_size <= size; off += entry_size) {
        if (out.region_count == BootInfo::kMaxRegions) {
            out.regions_truncated = true;
            break;
        }
        const uint8_t* e = tag + off;
        uint64_t base = load<uint64_t>(e), length = load<uint64_t>(e + 8);
        if (length == 0 || base + length < base) continue;
        out.regions[out.region_count++] = {base, length, region_kind(load<uint32_t>(e + 16))};
    }
    return nullptr;
}

}  // namespace

const char* parse_multiboot2(const uint8_t* info, size_t available, BootInfo& out) {
    if (available < 16) return "boot information too short";
    uint32_t total = load<uint32_t>(info);
    if (total < 16 || total > available) return "boot information size invalid";
    out.boot_info_size = total;
    bool ended = false;
    for (uint32_t off = 8; off + 8 <= total;) {
        const uint8_t* tag = info + off;
        uint32_t type = load<uint32_t>(tag), size = load<uint32_t>(tag + 4);
        if (size < 8 || size > total - off) return "boot information tag size invalid";
        const uint8_t* end = tag + size;
        switch (type) {
            case kEnd: ended = true; break;
            case kCmdline:
                if (!(out.cmdline = tag_string(tag + 8, end))) return "command line not terminated";
                break;
            case kLoaderName:
                if (!(out.loader_name = tag_string(tag + 8, end))) return "loader name not terminated";
                break;
            case kModule: {
                if (size < 17) return "module tag too short";
                if (out.module_count == BootInfo::kMaxModules) {
                    out.modules_truncated = true;
                    break;
                }
                uint32_t start = load<uint32_t>(tag + 8), stop = load<uint32_t>(tag + 12);
                const char* name = tag_string(tag + 16, end);
                if (!name || stop < start) return "module tag invalid";
                out.modules[out.module_count++] = {name, start, stop};
                break;
            }
            case kMemoryMap:
                if (const char* error = read_memory_map(tag, size, out)) return error;
                break;
            case kAcpiOld:
            case kAcpiNew:
                if (type == kAcpiNew || !out.acpi_rsdp) {
                    out.acpi_rsdp = tag + 8;
                    out.acpi_rsdp_size = size - 8;
                }
                break;
            default: break;  // tags the kernel does not use
        }
        if (ended) break;
        off += (size + 7) & ~7u;
    }
    if (!ended) return "boot information has no end tag";
    return nullptr;
}
