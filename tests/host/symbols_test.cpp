#include "symbols.h"

#include <gtest/gtest.h>

#include <string>

namespace {
const char kNames[] = "alpha\0beta\0gamma";
const KernelSymbol kEntries[] = {{0x1000, 0x10, 0}, {0x1010, 0, 6}, {0x2000, 0x20, 11}};
const SymbolTable kTable{kEntries, 3, kNames};

std::string at(uintptr_t address, uintptr_t* offset = nullptr) {
    const char* name = kTable.lookup(address, offset);
    return name ? name : "?";
}
}  // namespace

TEST(Symbols, FindsContainingSymbol) {
    uintptr_t offset = 99;
    EXPECT_EQ(at(0x1000, &offset), "alpha");
    EXPECT_EQ(offset, 0u);
    EXPECT_EQ(at(0x100f, &offset), "alpha");
    EXPECT_EQ(offset, 0xfu);
    EXPECT_EQ(at(0x2003, &offset), "gamma");
    EXPECT_EQ(offset, 3u);
}

TEST(Symbols, SizeLessSymbolCoversUpToTheNext) { EXPECT_EQ(at(0x1fff), "beta"); }

TEST(Symbols, OutsideAnySymbol) {
    EXPECT_EQ(at(0xfff), "?");
    EXPECT_EQ(at(0x2020), "?");
    SymbolTable empty{nullptr, 0, ""};
    EXPECT_EQ(empty.lookup(0x1000, nullptr), nullptr);
}
