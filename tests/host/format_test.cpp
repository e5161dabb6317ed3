#include "lib/format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace {
std::string fmt(const char* f, auto... args) {
    char buf[128];
    format_to(buf, sizeof buf, f, args...);
    return buf;
}
}  // namespace

TEST(Format, Integers) {
    EXPECT_EQ(fmt("%d %i %u", -42, 7, 3000000000u), "-42 7 3000000000");
    EXPECT_EQ(fmt("%ld", INT64_MIN), "-9223372036854775808");
    EXPECT_EQ(fmt("%lu", UINT64_MAX), "18446744073709551615");
    EXPECT_EQ(fmt("%x %X", 0xbeefu, 0xbeefu), "beef BEEF");
    EXPECT_EQ(fmt("%zu", static_cast<size_t>(12)), "12");
    EXPECT_EQ(fmt("%hhu", 0x1ff), "255");
    EXPECT_EQ(fmt("%o %04o %lo", 8u, 0644u, 01777ul), "10 0644 1777");
}

TEST(Format, WidthAndFlags) {
    EXPECT_EQ(fmt("[%5d]", 42), "[   42]");
    EXPECT_EQ(fmt("[%-5d]", 42), "[42   ]");
    EXPECT_EQ(fmt("[%05d]", -42), "[-0042]");
    EXPECT_EQ(fmt("[%016lx]", 0xabcUL), "[0000000000000abc]");
    EXPECT_EQ(fmt("[%*d]", 4, 1), "[   1]");
    EXPECT_EQ(fmt("[%-*d]", 3, 1), "[1  ]");
    EXPECT_EQ(fmt("%#x %#X %#lx", 255u, 255u, 0UL), "0xff 0XFF 0x0");
    EXPECT_EQ(fmt("[%#06x]", 0xau), "[0x000a]");
}

TEST(Format, StringsAndChars) {
    EXPECT_EQ(fmt("%s|%c|%%", "abc", 'z'), "abc|z|%");
    EXPECT_EQ(fmt("%.2s", "abcdef"), "ab");
    EXPECT_EQ(fmt("%.*s", 3, "abcdef"), "abc");
    EXPECT_EQ(fmt("[%-4s]", "a"), "[a   ]");
    EXPECT_EQ(fmt("%s", static_cast<const char*>(nullptr)), "(null)");
}

TEST(Format, Pointer) { EXPECT_EQ(fmt("%p", reinterpret_cast<void*>(0x1234)), "0x1234"); }

TEST(Format, UnknownConversionIsPrintedAsWritten) {
    EXPECT_EQ(fmt("a%qb"), "a%qb");
    EXPECT_EQ(fmt("end%"), "end%");
}

TEST(Format, TruncatesButReportsFullLength) {
    char buf[5];
    EXPECT_EQ(format_to(buf, sizeof buf, "%s", "abcdefgh"), 8u);
    EXPECT_STREQ(buf, "abcd");
    EXPECT_EQ(format_to(nullptr, 0, "%d", 12345), 5u);
}
