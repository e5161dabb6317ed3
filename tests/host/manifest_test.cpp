// init's manifest parser (servers/init/manifest.cpp), on the real manifest
// and on lines that must be refused.
#include "manifest.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace init;

namespace {

struct Parsed {
    Manifest m;
    std::vector<std::pair<int, std::string>> errors;
    int skipped = 0;
};

Parsed parse(const std::string& text) {
    Parsed p;
    p.skipped = parse_manifest(text.data(), text.size(), &p.m, [](void* c, int line, const char* why) {
        static_cast<Parsed*>(c)->errors.emplace_back(line, why);
    }, &p);
    return p;
}

const ServiceSpec* find(const Manifest& m, const char* name) {
    for (uint32_t i = 0; i < m.service_count; ++i)
        if (std::string(m.services[i].name) == name) return &m.services[i];
    return nullptr;
}

}  // namespace

TEST(Manifest, TheSystemManifestParsesCompletely) {
    std::ifstream f(MICA_SOURCE_DIR "/system/etc/manifest");
    std::stringstream text;
    text << f.rdbuf();
    Parsed p = parse(text.str());
    EXPECT_EQ(p.skipped, 0);
    EXPECT_TRUE(p.errors.empty()) << p.errors.front().second;
    ASSERT_GE(p.m.service_count, 10u);
    const ServiceSpec* disk = find(p.m, "disk");
    ASSERT_NE(disk, nullptr);
    EXPECT_TRUE(disk->pci);
    EXPECT_EQ(disk->pci_vendor, 0x1af4);
    EXPECT_EQ(disk->pci_device, 0x1042);
    ASSERT_EQ(disk->grant_count, 1u);
    EXPECT_EQ(disk->grants[0].kind, mica::kResourceDma);
    const ServiceSpec* file = find(p.m, "file");
    ASSERT_NE(file, nullptr);
    EXPECT_TRUE(file->uses.contains("disk"));
    EXPECT_FALSE(file->uses.contains("dis"));
    const ServiceSpec* keyboard = find(p.m, "keyboard");
    ASSERT_NE(keyboard, nullptr);
    EXPECT_EQ(keyboard->ports[0].base, 0x60u);
    EXPECT_EQ(keyboard->ports[0].count, 1u);
    EXPECT_EQ(keyboard->ports[1].base, 0x64u);
    EXPECT_EQ(keyboard->irq, 1);
}

TEST(Manifest, EveryKey) {
    Parsed p = parse(
        "service a bin/a provides=x uses=y,z module=m ports=3f8:8,60 mmio=b8000:2000 irq=4 control=yes "
        "quota=512 restart=never\n"
        "service b bin/b device=8086:100e:2 dma=264 resource=mmio:80000000:1000 resource=irq:5:7\n"
        "program faults uses=disk,file control=yes\n");
    ASSERT_EQ(p.skipped, 0);
    ASSERT_EQ(p.m.service_count, 2u);
    const ServiceSpec& a = p.m.services[0];
    EXPECT_STREQ(a.name, "a");
    EXPECT_STREQ(a.program, "bin/a");
    EXPECT_STREQ(a.provides, "x");
    EXPECT_STREQ(a.uses.text, "y,z");
    EXPECT_STREQ(a.module, "m");
    EXPECT_EQ(a.ports[0].base, 0x3f8u);
    EXPECT_EQ(a.ports[0].count, 8u);
    EXPECT_EQ(a.ports[1].base, 0x60u);
    EXPECT_EQ(a.ports[1].count, 1u);
    EXPECT_EQ(a.mmio_base, 0xb8000u);
    EXPECT_EQ(a.mmio_size, 0x2000u);
    EXPECT_EQ(a.irq, 4);
    EXPECT_TRUE(a.control);
    EXPECT_EQ(a.quota, 512u * 1024);
    EXPECT_FALSE(a.restart);
    const ServiceSpec& b = p.m.services[1];
    EXPECT_EQ(b.pci_instance, 2u);
    ASSERT_EQ(b.grant_count, 3u);
    EXPECT_EQ(b.grants[0].size, 264u * 1024);
    EXPECT_EQ(b.grants[1].kind, mica::kResourceMmio);
    EXPECT_EQ(b.grants[1].base, 0x80000000u);
    EXPECT_EQ(b.grants[2].kind, mica::kResourceIrq);
    EXPECT_EQ(b.grants[2].size, 7u);
    EXPECT_TRUE(b.restart);
    ASSERT_EQ(p.m.program_count, 1u);
    EXPECT_STREQ(p.m.programs[0].name, "faults");
    EXPECT_TRUE(p.m.programs[0].uses.contains("disk"));
    EXPECT_TRUE(p.m.programs[0].control);
}

TEST(Manifest, MalformedLinesAreSkippedAndReportedWithTheirNumbers) {
    Parsed p = parse(
        "# a comment\n"
        "service ok bin/ok   # trailing comment\n"
        "servise typo bin/x\n"
        "service short\n"
        "service bad bin/bad frobnicate=1\n"
        "service bad2 bin/bad2 novalue\n"
        "service bad3 bin/bad3 resource=disk:0:1\n"
        "service bad4 bin/bad4 device=1:2 mmio=1000:1000\n"
        "service bad5 bin/bad5 dma=1 dma=2 dma=3 dma=4\n"
        "program p frobnicate=yes\n"
        "\n"
        "service last bin/last");  // no newline at the end
    EXPECT_EQ(p.skipped, 8);
    ASSERT_EQ(p.errors.size(), 8u);
    EXPECT_EQ(p.errors[0].first, 3);
    EXPECT_EQ(p.errors[1].first, 4);
    EXPECT_NE(p.errors[2].second.find("frobnicate"), std::string::npos);
    EXPECT_EQ(p.errors[7].first, 10);
    ASSERT_EQ(p.m.service_count, 2u);
    EXPECT_STREQ(p.m.services[0].name, "ok");
    EXPECT_STREQ(p.m.services[1].name, "last");
}

TEST(Manifest, LimitsAreErrorsNotOverflows) {
    std::string text;
    for (int i = 0; i < 20; ++i) text += "service s" + std::to_string(i) + " bin/x\n";
    text += "service long bin/x uses=" + std::string(600, 'a') + "\n";
    text += "service many bin/x " + std::string(40, 'k') + "=1 a=1 b=1 c=1 d=1 e=1 f=1 g=1 h=1 i=1 j=1 k=1 l=1 m=1 n=1\n";
    text += "service names " + std::string(100, 'n') + " quota=1\n";
    Parsed p = parse(text);
    EXPECT_EQ(p.m.service_count, Manifest::kMaxServices);
    EXPECT_EQ(p.skipped, 4 + 1 + 1 + 1);
    EXPECT_LT(std::string(p.m.services[0].name).size(), sizeof p.m.services[0].name);
}
