#include "acpi.h"

#include "lib/string.h"

namespace {

constexpr size_t kHeaderSize = 36;  // every system description table starts so
constexpr size_t kMadtEntries = 44;  // header, local APIC address, flags

bool sums_to_zero(const uint8_t* p, size_t n) {
    uint8_t sum = 0;
    for (size_t i = 0; i < n; ++i) sum = static_cast<uint8_t>(sum + p[i]);
    return sum == 0;
}

bool is_rsdp(const uint8_t* p) { return memcmp(p, "RSD PTR ", 8) == 0 && sums_to_zero(p, 20); }

// The whole table at `phys` with signature `sig`, its length and checksum
// checked; null (and *error set) if it fails.
const uint8_t* read_table(AcpiReader read, uint64_t phys, const char* sig, uint32_t* length,
                          const char** error) {
    const uint8_t* header = read(phys, kHeaderSize);
    if (!header) return *error = "a table lies outside readable memory", nullptr;
    if (memcmp(header, sig, 4) != 0) return *error = "a table has the wrong signature", nullptr;
    *length = load<uint32_t>(header + 4);
    if (*length < kHeaderSize || *length > (1u << 20)) return *error = "a table's length is invalid", nullptr;
    const uint8_t* table = read(phys, *length);
    if (!table) return *error = "a table lies outside readable memory", nullptr;
    if (!sums_to_zero(table, *length)) return *error = "a table's checksum is wrong", nullptr;
    return table;
}

const char* add_cpu(AcpiInfo& info, uint32_t apic_id) {
    if (apic_id >= 0xff) return nullptr;  // beyond xAPIC ids: not usable by this kernel
    for (size_t i = 0; i < info.cpu_count; ++i)
        if (info.apic_ids[i] == apic_id) return "the MADT lists a CPU twice";
    if (info.cpu_count == AcpiInfo::kMaxCpus) {
        info.cpus_truncated = true;
        return nullptr;
    }
    info.apic_ids[info.cpu_count++] = static_cast<uint8_t>(apic_id);
    return nullptr;
}

const char* read_madt(const uint8_t* madt, uint32_t length, AcpiInfo& info) {
    if (length < kMadtEntries) return "the MADT is too short";
    info.lapic_phys = load<uint32_t>(madt + 36);
    bool have_ioapic = false;
    for (uint32_t off = kMadtEntries; off < length;) {
        if (length - off < 2) return "an MADT entry is cut off";
        const uint8_t* e = madt + off;
        uint8_t type = e[0], size = e[1];
        if (size < 2 || size > length - off) return "an MADT entry's length is invalid";
        static constexpr uint8_t kMinSize[10] = {8, 12, 10, 0, 0, 12, 0, 0, 0, 16};
        if (type < 10 && size < kMinSize[type]) return "an MADT entry is too short for its type";
        if ((type == 0 || type == 9) && (load<uint32_t>(e + (type == 0 ? 4 : 8)) & 3)) {  // enabled or online-capable
            if (const char* error = add_cpu(info, type == 0 ? e[3] : load<uint32_t>(e + 4))) return error;
        } else if (type == 1 && (!have_ioapic || load<uint32_t>(e + 8) == 0)) {
            // Several I/O APICs: the one that serves GSI 0 (the ISA lines).
            have_ioapic = true;
            info.ioapic_phys = load<uint32_t>(e + 4);
            info.ioapic_gsi_base = load<uint32_t>(e + 8);
        } else if (type == 2) {
            uint16_t flags = load<uint16_t>(e + 8);
            unsigned polarity = flags & 3, trigger = flags >> 2 & 3;
            if (e[2] != 0 || e[3] >= 16 || polarity == 2 || trigger == 2)
                return "an MADT interrupt override is invalid";
            info.isa[e[3]] = {load<uint32_t>(e + 4), polarity == 3, trigger == 3, trigger != 0};
        } else if (type == 5) {
            info.lapic_phys = load<uint64_t>(e + 4);
        }
        off += size;
    }
    if (!have_ioapic) return "the MADT lists no I/O APIC";
    if (info.cpu_count == 0) return "the MADT lists no usable CPU";
    if ((info.ioapic_phys | info.lapic_phys) & 0xfff || info.ioapic_phys >> 32 || info.lapic_phys >> 32)
        return "an APIC address is not a page below 4 GiB";
    for (const AcpiInfo::IsaIrq& irq : info.isa)
        if (irq.gsi < info.ioapic_gsi_base) return "an ISA interrupt goes to no known I/O APIC";
    return nullptr;
}

}  // namespace

void acpi_defaults(AcpiInfo& out) {
    out = AcpiInfo{};
    for (uint32_t i = 0; i < 16; ++i) out.isa[i] = {i == 0 ? 2 : i, false, false, false};
}

const uint8_t* acpi_find_rsdp(AcpiReader read) {
    struct Area { uint64_t start, length; };
    const uint8_t* bda = read(0x40e, 2);
    Area areas[] = {{bda ? uint64_t{load<uint16_t>(bda)} << 4 : 0, bda ? 1024u : 0u}, {0xe0000, 0x20000}};
    for (const Area& a : areas) {
        const uint8_t* base = a.length ? read(a.start, a.length) : nullptr;
        for (uint64_t off = 0; base && off + 20 <= a.length; off += 16)
            if (is_rsdp(base + off)) return base + off;
    }
    return nullptr;
}

const char* acpi_parse(const uint8_t* rsdp, size_t size, AcpiReader read, AcpiInfo& out) {
    acpi_defaults(out);
    if (size < 20 || !is_rsdp(rsdp)) return "the RSDP's signature or checksum is wrong";
    uint64_t root = load<uint32_t>(rsdp + 16);
    size_t entry_size = 4;
    const char* sig = "RSDT";
    if (rsdp[15] >= 2 && size >= 36 && load<uint64_t>(rsdp + 24) != 0) {
        uint32_t length = load<uint32_t>(rsdp + 20);
        if (length < 36 || length > size || !sums_to_zero(rsdp, length))
            return "the RSDP's extended length or checksum is wrong";
        root = load<uint64_t>(rsdp + 24), entry_size = 8, sig = "XSDT";
    }
    const char* error = nullptr;
    uint32_t length = 0;
    const uint8_t* table = read_table(read, root, sig, &length, &error);
    if (!table) return error;
    if ((length - kHeaderSize) % entry_size) return "the root table's length is invalid";
    for (uint32_t off = kHeaderSize; off < length; off += entry_size) {
        uint64_t phys = entry_size == 8 ? load<uint64_t>(table + off) : load<uint32_t>(table + off);
        const uint8_t* header = read(phys, kHeaderSize);
        if (!header) return "a table lies outside readable memory";
        if (memcmp(header, "APIC", 4) != 0) continue;
        uint32_t madt_length = 0;
        const uint8_t* madt = read_table(read, phys, "APIC", &madt_length, &error);
        if (!madt) return error;
        AcpiInfo info;
        acpi_defaults(info);
        if ((error = read_madt(madt, madt_length, info))) return error;
        out = info;
        return nullptr;
    }
    return "there is no MADT";
}
