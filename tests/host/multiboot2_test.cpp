#include "arch/x86_64/multiboot2.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

// Builds Multiboot2 boot information the way a loader lays it out.
namespace {
struct Builder {
    std::vector<uint8_t> bytes = std::vector<uint8_t>(8, 0);

    void u32(uint32_t v) { bytes.insert(bytes.end(), (uint8_t*)&v, (uint8_t*)&v + 4); }
    void u64(uint64_t v) { bytes.insert(bytes.end(), (uint8_t*)&v, (uint8_t*)&v + 8); }
    void pad() { while (bytes.size() % 8) bytes.push_back(0); }
    void tag(uint32_t type, const std::vector<uint8_t>& body) {
        u32(type);
        u32(static_cast<uint32_t>(8 + body.size()));
        bytes.insert(bytes.end(), body.begin(), body.end());
        pad();
    }
    void string_tag(uint32_t type, const std::string& s) {
        tag(type, std::vector<uint8_t>(s.c_str(), s.c_str() + s.size() + 1));
    }
    void module(uint32_t start, uint32_t end, const std::string& name) {
        std::vector<uint8_t> body(8);
        memcpy(body.data(), &start, 4);
        memcpy(body.data() + 4, &end, 4);
        body.insert(body.end(), name.c_str(), name.c_str() + name.size() + 1);
        tag(3, body);
    }
    void memory_map(const std::vector<std::tuple<uint64_t, uint64_t, uint32_t>>& entries) {
        size_t start = bytes.size();
        u32(6);
        u32(0);
        u32(24);
        u32(0);
        for (auto [base, len, type] : entries) {
            u64(base);
            u64(len);
            u32(type);
            u32(0);
        }
        uint32_t size = static_cast<uint32_t>(bytes.size() - start);
        memcpy(bytes.data() + start + 4, &size, 4);
        pad();
    }
    std::vector<uint8_t>& finish() {
        tag(0, {});
        uint32_t total = static_cast<uint32_t>(bytes.size());
        memcpy(bytes.data(), &total, 4);
        return bytes;
    }
};
}  // namespace

TEST(Multiboot2, ParsesTagsALoaderGives) {
    Builder b;
    b.string_tag(1, "loglevel=debug");
    b.string_tag(2, "GRUB 2.06");
    b.module(0x300000, 0x301000, "init");
    b.memory_map({{0, 0x9fc00, 1}, {0x100000, 0x7ee0000, 1}, {0xfffc0000, 0x40000, 2}, {0x7fe0000, 0x20000, 3}});
    auto& bytes = b.finish();
    BootInfo info;
    ASSERT_EQ(parse_multiboot2(bytes.data(), bytes.size(), info), nullptr);
    EXPECT_STREQ(info.cmdline, "loglevel=debug");
    EXPECT_STREQ(info.loader_name, "GRUB 2.06");
    ASSERT_EQ(info.module_count, 1u);
    EXPECT_STREQ(info.modules[0].name, "init");
    EXPECT_EQ(info.modules[0].phys_start, 0x300000u);
    EXPECT_EQ(info.modules[0].phys_end, 0x301000u);
    ASSERT_EQ(info.region_count, 4u);
    EXPECT_EQ(info.regions[1].base, 0x100000u);
    EXPECT_EQ(info.regions[1].kind, MemoryRegion::Kind::usable);
    EXPECT_EQ(info.regions[2].kind, MemoryRegion::Kind::reserved);
    EXPECT_EQ(info.regions[3].kind, MemoryRegion::Kind::acpi_reclaimable);
    EXPECT_EQ(info.boot_info_size, bytes.size());
    EXPECT_EQ(info.acpi_rsdp, nullptr);
}

TEST(Multiboot2, PrefersTheNewAcpiRsdpCopy) {
    for (bool new_first : {false, true}) {
        Builder b;
        std::vector<uint8_t> old_rsdp(20, 'o'), new_rsdp(36, 'n');
        if (new_first) b.tag(15, new_rsdp);
        b.tag(14, old_rsdp);
        if (!new_first) b.tag(15, new_rsdp);
        auto& bytes = b.finish();
        BootInfo info;
        ASSERT_EQ(parse_multiboot2(bytes.data(), bytes.size(), info), nullptr);
        ASSERT_NE(info.acpi_rsdp, nullptr);
        EXPECT_EQ(info.acpi_rsdp[0], 'n');
        EXPECT_EQ(info.acpi_rsdp_size, 36u);
    }
}

TEST(Multiboot2, RejectsMalformedStructures) {
    BootInfo info;
    std::vector<uint8_t> tiny(4);
    EXPECT_NE(parse_multiboot2(tiny.data(), tiny.size(), info), nullptr);

    Builder no_end;
    no_end.string_tag(1, "x");
    uint32_t total = static_cast<uint32_t>(no_end.bytes.size());
    memcpy(no_end.bytes.data(), &total, 4);
    EXPECT_NE(parse_multiboot2(no_end.bytes.data(), no_end.bytes.size(), info), nullptr);

    Builder big;
    auto& bytes = big.finish();
    EXPECT_NE(parse_multiboot2(bytes.data(), bytes.size() - 1, info), nullptr);  // total > available

    Builder unterminated;
    unterminated.tag(1, {'a', 'b', 'c'});
    auto& u = unterminated.finish();
    u[16 + 3] = 'd';  // overwrite the padding NUL: the string runs to the tag's end
    u[16 + 4] = 'e';
    EXPECT_NE(parse_multiboot2(u.data(), u.size(), BootInfo{} = info), nullptr);

    Builder bad_size;
    bad_size.tag(1, {'a', 0});
    auto& s = bad_size.finish();
    uint32_t huge = 0x1000;
    memcpy(s.data() + 12, &huge, 4);
    EXPECT_NE(parse_multiboot2(s.data(), s.size(), info), nullptr);
}

TEST(Multiboot2, TooManyModulesAreCountedNotOverrun) {
    Builder b;
    for (uint32_t i = 0; i < BootInfo::kMaxModules + 3; ++i) b.module(i * 0x1000, i * 0x1000 + 10, "m");
    auto& bytes = b.finish();
    BootInfo info;
    ASSERT_EQ(parse_multiboot2(bytes.data(), bytes.size(), info), nullptr);
    EXPECT_EQ(info.module_count, BootInfo::kMaxModules);
    EXPECT_TRUE(info.modules_truncated);
}
