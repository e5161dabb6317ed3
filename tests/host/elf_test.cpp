#include "lib/elf.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "mica/types.h"

// Builds a minimal static x86-64 executable image in memory.
namespace {
struct Phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

struct Image {
    std::vector<uint8_t> bytes = std::vector<uint8_t>(0x3000, 0);
    std::vector<Phdr> phdrs;
    uint64_t entry = 0x401000;

    std::vector<uint8_t>& build() {
        uint8_t* h = bytes.data();
        memcpy(h, "\x7f" "ELF", 4);
        h[4] = 2, h[5] = 1, h[6] = 1;
        uint16_t type = 2, machine = 62, phentsize = 56, phnum = static_cast<uint16_t>(phdrs.size());
        uint64_t phoff = 64;
        memcpy(h + 16, &type, 2);
        memcpy(h + 18, &machine, 2);
        memcpy(h + 24, &entry, 8);
        memcpy(h + 32, &phoff, 8);
        memcpy(h + 54, &phentsize, 2);
        memcpy(h + 56, &phnum, 2);
        for (size_t i = 0; i < phdrs.size(); ++i) memcpy(h + 64 + i * 56, &phdrs[i], 56);
        return bytes;
    }
};

Image good() {
    Image img;
    img.phdrs = {{1, 5, 0x1000, 0x401000, 0, 0x100, 0x100, 0x1000},     // R X text
                 {1, 6, 0x2000, 0x402000, 0, 0x80, 0x2000, 0x1000}};    // R W data + bss
    return img;
}

const char* parse(Image img, ElfImage& out) {
    auto& b = img.build();
    return elf_parse(b.data(), b.size(), 0x10000, mica::kUserTop, out);
}
}  // namespace

TEST(Elf, AcceptsAStaticExecutable) {
    ElfImage out;
    ASSERT_EQ(parse(good(), out), nullptr);
    EXPECT_EQ(out.entry, 0x401000u);
    ASSERT_EQ(out.segment_count, 2u);
    EXPECT_EQ(out.segments[0].perms, mica::kVmRead | mica::kVmExec);
    EXPECT_EQ(out.segments[1].perms, mica::kVmRead | mica::kVmWrite);
    EXPECT_EQ(out.segments[1].memsz, 0x2000u);
}

TEST(Elf, RefusesWhatCouldHurt) {
    ElfImage out;
    auto expect_refused = [&](Image img, const char* why) {
        EXPECT_NE(parse(img, out), nullptr) << why;
    };
    Image wx = good();
    wx.phdrs[0].flags = 7;
    expect_refused(wx, "writable and executable");
    Image past = good();
    past.phdrs[1].filesz = 0x100000;
    past.phdrs[1].memsz = 0x100000;
    expect_refused(past, "data past the end of the file");
    Image kernel = good();
    kernel.phdrs[1].vaddr = 0xffff800000000000;
    expect_refused(kernel, "kernel addresses");
    Image wrap = good();
    wrap.phdrs[1].memsz = ~0ULL - 0x1000;
    expect_refused(wrap, "size that wraps");
    Image low = good();
    low.phdrs[0].vaddr = 0x1000;
    low.entry = 0x1000;
    expect_refused(low, "below the lowest address");
    Image overlap = good();
    overlap.phdrs[1].vaddr = 0x401080;
    overlap.phdrs[1].offset = 0x2080;
    expect_refused(overlap, "overlapping segments");
    Image entry = good();
    entry.entry = 0x402000;
    expect_refused(entry, "entry in a data segment");
    Image misaligned = good();
    misaligned.phdrs[1].offset = 0x2001;
    expect_refused(misaligned, "address and offset disagree");
    Image none = good();
    none.phdrs.clear();
    expect_refused(none, "no segments");
}

TEST(Elf, RefusesTruncatedOrForeignFiles) {
    ElfImage out;
    std::vector<uint8_t> tiny(10, 0);
    EXPECT_NE(elf_parse(tiny.data(), tiny.size(), 0, ~0ULL, out), nullptr);
    Image img = good();
    auto bytes = img.build();
    bytes[18] = 3;  // machine: i386
    EXPECT_NE(elf_parse(bytes.data(), bytes.size(), 0, ~0ULL, out), nullptr);
    bytes = good().build();
    uint16_t phnum = 0xffff;
    memcpy(bytes.data() + 56, &phnum, 2);
    EXPECT_NE(elf_parse(bytes.data(), bytes.size(), 0, ~0ULL, out), nullptr);
}
