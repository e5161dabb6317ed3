#include "arch/x86_64/acpi.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

// ACPI tables laid out in a pretend physical memory, as firmware leaves them.
namespace {

std::map<uint64_t, std::vector<uint8_t>> g_memory;  // physical address -> bytes there

const uint8_t* read_memory(uint64_t phys, size_t length) {
    for (auto& [base, bytes] : g_memory)
        if (phys >= base && phys - base + length <= bytes.size()) return bytes.data() + (phys - base);
    return nullptr;
}

void put(std::vector<uint8_t>& v, const void* p, size_t n) {
    v.insert(v.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
}
template <typename T>
void put(std::vector<uint8_t>& v, T value) { put(v, &value, sizeof value); }

void fix_checksum(std::vector<uint8_t>& t, size_t at, size_t length) {
    t[at] = 0;
    uint8_t sum = 0;
    for (size_t i = 0; i < length; ++i) sum = static_cast<uint8_t>(sum + t[i]);
    t[at] = static_cast<uint8_t>(-sum);
}

// A table: header with signature and length, then `body`; checksum fixed.
std::vector<uint8_t> table(const char* sig, const std::vector<uint8_t>& body) {
    std::vector<uint8_t> t;
    put(t, sig, 4);
    put<uint32_t>(t, static_cast<uint32_t>(36 + body.size()));
    t.resize(36, 0);
    t[8] = 1;  // revision
    t.insert(t.end(), body.begin(), body.end());
    fix_checksum(t, 9, t.size());
    return t;
}

struct Madt {
    std::vector<uint8_t> body;
    Madt() {
        put<uint32_t>(body, 0xfee00000);
        put<uint32_t>(body, 1);  // PC-AT compatible
    }
    Madt& cpu(uint8_t apic, uint32_t flags) {
        body.insert(body.end(), {0, 8, apic, apic});
        put(body, flags);
        return *this;
    }
    Madt& ioapic(uint32_t address, uint32_t gsi_base) {
        body.insert(body.end(), {1, 12, 0, 0});
        put(body, address);
        put(body, gsi_base);
        return *this;
    }
    Madt& override_irq(uint8_t bus, uint8_t irq, uint32_t gsi, uint16_t flags) {
        body.insert(body.end(), {2, 10, bus, irq});
        put(body, gsi);
        put(body, flags);
        return *this;
    }
    Madt& raw(std::vector<uint8_t> bytes) {
        body.insert(body.end(), bytes.begin(), bytes.end());
        return *this;
    }
};

// QEMU's layout: RSDP in the BIOS area, RSDT listing a FADT and the MADT.
Madt qemu_madt() {
    Madt m;
    m.cpu(0, 1).cpu(1, 1).cpu(2, 0).ioapic(0xfec00000, 0).override_irq(0, 0, 2, 0);
    for (uint8_t irq : {5, 9, 10, 11}) m.override_irq(0, irq, irq, 0xd);  // active high, level
    return m;
}

std::vector<uint8_t> rsdp_v0(uint32_t rsdt) {
    std::vector<uint8_t> r;
    put(r, "RSD PTR ", 8);
    r.resize(20, 0);
    memcpy(&r[16], &rsdt, 4);
    fix_checksum(r, 8, 20);
    return r;
}

std::vector<uint8_t> rsdp_v2(uint64_t xsdt) {
    std::vector<uint8_t> r = rsdp_v0(0);
    r.resize(36, 0);
    r[15] = 2;
    uint32_t length = 36;
    memcpy(&r[20], &length, 4);
    memcpy(&r[24], &xsdt, 8);
    fix_checksum(r, 8, 20);
    fix_checksum(r, 32, 36);
    return r;
}

void install(const Madt& madt, bool xsdt = false) {
    g_memory.clear();
    g_memory[0x7fe1000] = table("FACP", std::vector<uint8_t>(80, 0));
    g_memory[0x7fe2000] = table("APIC", madt.body);
    std::vector<uint8_t> entries;
    for (uint64_t t : {0x7fe1000ull, 0x7fe2000ull}) {
        if (xsdt) put<uint64_t>(entries, t);
        else put<uint32_t>(entries, static_cast<uint32_t>(t));
    }
    g_memory[0x7fe0000] = table(xsdt ? "XSDT" : "RSDT", entries);
    g_memory[0xf5000] = xsdt ? rsdp_v2(0x7fe0000) : rsdp_v0(0x7fe0000);
}

const char* parse(AcpiInfo& info) {
    const uint8_t* rsdp = read_memory(0xf5000, 20);
    return acpi_parse(rsdp, g_memory[0xf5000].size(), read_memory, info);
}

}  // namespace

TEST(Acpi, ReadsCpusIoApicAndOverridesAsQemuLaysThemOut) {
    for (bool xsdt : {false, true}) {
        install(qemu_madt(), xsdt);
        AcpiInfo info;
        ASSERT_EQ(parse(info), nullptr) << (xsdt ? "XSDT" : "RSDT");
        ASSERT_EQ(info.cpu_count, 2u);  // the disabled third CPU is left out
        EXPECT_EQ(info.apic_ids[0], 0);
        EXPECT_EQ(info.apic_ids[1], 1);
        EXPECT_EQ(info.ioapic_phys, 0xfec00000u);
        EXPECT_EQ(info.lapic_phys, 0xfee00000u);
        EXPECT_EQ(info.isa[0].gsi, 2u);
        EXPECT_FALSE(info.isa[0].level);
        EXPECT_TRUE(info.isa[10].level && info.isa[10].trigger_fixed && !info.isa[10].active_low);
        EXPECT_EQ(info.isa[4].gsi, 4u);  // no override: identity, bus default
        EXPECT_FALSE(info.isa[4].trigger_fixed);
    }
}

TEST(Acpi, FindsTheRsdpInTheBiosArea) {
    install(qemu_madt());
    std::vector<uint8_t> bios(0x20000, 0);
    std::vector<uint8_t> r = rsdp_v0(0x7fe0000);
    memcpy(&bios[0x15010], r.data(), r.size());
    memcpy(&bios[0x100], "RSD PTR ", 8);  // a signature without a valid checksum is passed over
    g_memory.erase(0xf5000);
    g_memory[0xe0000] = bios;
    EXPECT_EQ(acpi_find_rsdp(read_memory), read_memory(0xf5010, 20));
    g_memory.erase(0xe0000);
    EXPECT_EQ(acpi_find_rsdp(read_memory), nullptr);
}

TEST(Acpi, RefusesBadChecksumsAndKeepsTheDefaults) {
    install(qemu_madt());
    g_memory[0x7fe2000][40] ^= 1;  // the MADT's flags, checksum now wrong
    AcpiInfo info;
    EXPECT_STREQ(parse(info), "a table's checksum is wrong");
    EXPECT_EQ(info.cpu_count, 0u);
    EXPECT_EQ(info.isa[0].gsi, 2u);
    EXPECT_EQ(info.ioapic_phys, 0xfec00000u);

    install(qemu_madt());
    g_memory[0xf5000][16] ^= 1;
    EXPECT_STREQ(parse(info), "the RSDP's signature or checksum is wrong");
}

TEST(Acpi, RefusesMalformedMadtEntries) {
    struct Case { std::vector<uint8_t> entry; const char* error; };
    const Case cases[] = {
        {{0, 0}, "an MADT entry's length is invalid"},       // length 0: would loop for ever
        {{0, 200, 0, 0}, "an MADT entry's length is invalid"},  // past the table's end
        {{1, 6, 0, 0, 0, 0}, "an MADT entry is too short for its type"},
        {{7}, "an MADT entry is cut off"},
        {{2, 10, 1, 4, 4, 0, 0, 0, 0, 0}, "an MADT interrupt override is invalid"},   // bus 1
        {{2, 10, 0, 16, 4, 0, 0, 0, 0, 0}, "an MADT interrupt override is invalid"},  // IRQ 16
        {{2, 10, 0, 4, 4, 0, 0, 0, 2, 0}, "an MADT interrupt override is invalid"},   // polarity 2
        {{0, 8, 1, 1, 1, 0, 0, 0}, "the MADT lists a CPU twice"},
    };
    for (const Case& c : cases) {
        install(qemu_madt().raw(c.entry));
        AcpiInfo info;
        EXPECT_STREQ(parse(info), c.error);
        EXPECT_EQ(info.cpu_count, 0u);
    }
}

TEST(Acpi, RefusesTablesThatLieOutsideMemoryOrAreMissing) {
    install(qemu_madt());
    g_memory[0x7fe2000].resize(40);  // the MADT runs past readable memory
    AcpiInfo info;
    EXPECT_STREQ(parse(info), "a table lies outside readable memory");

    Madt no_ioapic;
    no_ioapic.cpu(0, 1);
    install(no_ioapic);
    EXPECT_STREQ(parse(info), "the MADT lists no I/O APIC");

    install(qemu_madt());
    g_memory[0x7fe2000][0] = 'X';  // signature no longer APIC: no MADT at all
    fix_checksum(g_memory[0x7fe2000], 9, g_memory[0x7fe2000].size());
    EXPECT_STREQ(parse(info), "there is no MADT");

    Madt odd;
    odd.cpu(0, 1).ioapic(0xfec00800, 0);
    install(odd);
    EXPECT_STREQ(parse(info), "an APIC address is not a page below 4 GiB");
}

TEST(Acpi, KeepsTheFirstSixteenCpus) {
    Madt m;
    for (uint8_t id = 0; id < 20; ++id) m.cpu(id, 1);
    m.cpu(0xff, 1).ioapic(0xfec00000, 0);
    install(m);
    AcpiInfo info;
    ASSERT_EQ(parse(info), nullptr);
    EXPECT_EQ(info.cpu_count, AcpiInfo::kMaxCpus);
    EXPECT_TRUE(info.cpus_truncated);
}
