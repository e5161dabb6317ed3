// A program's command line as words (mica::Words, lib/runtime/words.cpp):
// positional arguments, key=value options, numbers with their suffixes, and
// whether a line is one the program takes.
#include "mica/words.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime_shims.h"

using mica::Words;

namespace {

std::vector<std::string> args(const Words& w) {
    std::vector<std::string> out;
    for (size_t i = 0; i < w.count(); ++i) out.push_back(w[i]);
    return out;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST(Words, SplitsOnSpaces) {
    Words w("cp first third");
    EXPECT_EQ(args(w), (Strings{"cp", "first", "third"}));
}

TEST(Words, ManySpacesAreOneSeparator) {
    Words w("   a    b  c   ");
    EXPECT_EQ(args(w), (Strings{"a", "b", "c"}));
}

TEST(Words, AnEmptyLineHasNoWords) {
    Words empty("");
    EXPECT_EQ(empty.count(), 0u);
    EXPECT_STREQ(empty[0], "");
    EXPECT_STREQ(empty.value("cwd", "none"), "none");
    Words blank("     ");
    EXPECT_EQ(blank.count(), 0u);
}

TEST(Words, PastTheLastArgumentIsEmptyNotGarbage) {
    Words w("one two");
    EXPECT_STREQ(w[1], "two");
    EXPECT_STREQ(w[2], "");
    EXPECT_STREQ(w[1000], "");
    EXPECT_EQ(w.number(5), 0u);
}

TEST(Words, OnlySpacesSeparate) {
    // A tab is part of a word (the shell passes spaces only).
    Words w("a\tb c");
    EXPECT_EQ(args(w), (Strings{"a\tb", "c"}));
}

TEST(Words, KeyValueWordsAreOptionsNotArguments) {
    Words w("cwd=file:/notes fill big seed=7 4M");
    EXPECT_EQ(args(w), (Strings{"fill", "big", "4M"}));
    EXPECT_STREQ(w.value("cwd", nullptr), "file:/notes");
    EXPECT_STREQ(w.value("seed", nullptr), "7");
    EXPECT_STREQ(w.value("size", "fallback"), "fallback");
    EXPECT_EQ(w.value("size", nullptr), nullptr);
}

TEST(Words, AValueMayHoldEqualsSigns) {
    Words w("expr=a=b=c");
    EXPECT_STREQ(w.value("expr", nullptr), "a=b=c");
    EXPECT_STREQ(w.value("a", "none"), "none");
}

TEST(Words, EmptyValuesAndEmptyKeys) {
    Words w("empty= =lonely");
    EXPECT_EQ(w.count(), 0u);
    EXPECT_STREQ(w.value("empty", "fallback"), "");
    EXPECT_STREQ(w.value("", "fallback"), "lonely");
}

TEST(Words, AKeyMatchesWholeNotAsAPrefix) {
    Words w("count=4 counter=9 c=1");
    EXPECT_STREQ(w.value("count", nullptr), "4");
    EXPECT_STREQ(w.value("counter", nullptr), "9");
    EXPECT_STREQ(w.value("c", nullptr), "1");
    EXPECT_STREQ(w.value("co", "none"), "none");
    EXPECT_STREQ(w.value("count=4", "none"), "none");
}

TEST(Words, TheFirstOfARepeatedKeyWins) {
    Words w("how=crash how=kill");
    EXPECT_STREQ(w.value("how", nullptr), "crash");
}

TEST(Words, WordsBeyondTheTablesAreDroppedNotOverrun) {
    // words.h's tables hold 64 arguments and 16 options; more are left
    // out (AddressSanitizer would see a write past them).
    constexpr int kArgs = 64, kOptions = 16;
    std::string line;
    for (int i = 0; i < kArgs + 6; ++i) line += "a" + std::to_string(i) + " ";
    for (int i = 0; i < kOptions + 2; ++i) line += "k" + std::to_string(i) + "=" + std::to_string(i) + " ";
    Words w(line.c_str());
    EXPECT_EQ(w.count(), size_t{kArgs});
    EXPECT_EQ(std::string(w[kArgs - 1]), "a" + std::to_string(kArgs - 1));
    EXPECT_STREQ(w[kArgs], "");
    EXPECT_STREQ(w.value("k15", nullptr), "15");
    EXPECT_EQ(w.value("k16", nullptr), nullptr);
    // ...and a program that takes any number of words still refuses the
    // line, rather than run on part of it.
    std::string keys;
    for (int i = 0; i < kOptions + 2; ++i) keys += "k" + std::to_string(i) + " ";
    EXPECT_FALSE(w.accepts(keys.c_str(), 0, 1000, "many"));
    std::string exact;
    for (int i = 0; i < kArgs; ++i) exact += "a ";
    EXPECT_TRUE(Words(exact.c_str()).accepts("", 0, 1000, "many"));
    EXPECT_FALSE(Words((exact + "a").c_str()).accepts("", 0, 1000, "many"));
    EXPECT_EQ(take_printed(), "usage: many\nusage: many\n");
}

TEST(Words, TheLongestCommandLineIsKeptWhole) {
    // A program's command line is at most kCmdlineBytes with its
    // terminator (the shell's cwd= and a typed line): all of it is words.
    std::string line = std::string(mica::kCmdlineBytes - 1 - 9, 'x') + " abcdefgh";
    ASSERT_EQ(line.size(), mica::kCmdlineBytes - 1);
    Words w(line.c_str());
    ASSERT_EQ(w.count(), 2u);
    EXPECT_EQ(std::string(w[0]).size(), mica::kCmdlineBytes - 1 - 9);
    EXPECT_STREQ(w[1], "abcdefgh");
    // Anything longer cannot come from a command line; it is cut at the end.
    Words longer((line + "ijk").c_str());
    EXPECT_STREQ(longer[1], "abcdefgh");
}

TEST(Words, ParsesDecimal) {
    EXPECT_EQ(Words::parse("0"), 0u);
    EXPECT_EQ(Words::parse("7"), 7u);
    EXPECT_EQ(Words::parse("25000"), 25000u);
    EXPECT_EQ(Words::parse("18446744073709551615"), UINT64_MAX);
}

TEST(Words, ParsesHexadecimalAfter0x) {
    EXPECT_EQ(Words::parse("0x10"), 16u);
    EXPECT_EQ(Words::parse("0xdeadbeef"), 0xdeadbeefu);
    EXPECT_EQ(Words::parse("0xffffffffffffffff"), UINT64_MAX);
    // Lower-case digits and prefix only.
    EXPECT_EQ(Words::parse("0xAB"), 0u);
    EXPECT_EQ(Words::parse("0X10"), 0u);
    EXPECT_EQ(Words::parse("0x"), 0u);
    // Hexadecimal digits mean nothing without the prefix.
    EXPECT_EQ(Words::parse("ff"), 0u);
    EXPECT_EQ(Words::parse("12ab"), 12u);
}

TEST(Words, KAndMSuffixesAreKiBAndMiB) {
    EXPECT_EQ(Words::parse("4K"), 4096u);
    EXPECT_EQ(Words::parse("4k"), 4096u);
    EXPECT_EQ(Words::parse("6M"), 6u << 20);
    EXPECT_EQ(Words::parse("6m"), 6u << 20);
    EXPECT_EQ(Words::parse("0x10K"), 16u << 10);
    EXPECT_EQ(Words::parse("0K"), 0u);
    // No other suffix, and nothing after one counts.
    EXPECT_EQ(Words::parse("1G"), 1u);
    EXPECT_EQ(Words::parse("2K5"), 2048u);
}

TEST(Words, NotANumberIsZero) {
    EXPECT_EQ(Words::parse(""), 0u);
    EXPECT_EQ(Words::parse("abc"), 0u);
    EXPECT_EQ(Words::parse("-5"), 0u);
    EXPECT_EQ(Words::parse(" 5"), 0u);
    EXPECT_EQ(Words::parse("K"), 0u);
}

TEST(Words, NumberParsesAnArgument) {
    Words w("fill big 6M 0x10 seed=9");
    EXPECT_EQ(w.number(2), 6u << 20);
    EXPECT_EQ(w.number(3), 16u);
    EXPECT_EQ(w.number(1), 0u);
    EXPECT_EQ(Words::parse(w.value("seed", "0")), 9u);
}

TEST(WordsAccepts, TakesWhatTheProgramDeclares) {
    Words w("cwd=file:/ fill big 4M seed=7");
    EXPECT_TRUE(w.accepts("seed", 2, 3, "fill NAME SIZE"));
    EXPECT_EQ(take_printed(), "");
    // cwd= is always allowed: the shell passes it to every program.
    EXPECT_TRUE(Words("cwd=file:/notes").accepts("", 0, 0, "hello"));
    EXPECT_TRUE(Words("").accepts("", 0, 0, "hello"));
    // A lone '-' is an argument: only -x and --x look like options.
    EXPECT_TRUE(Words("cat -").accepts("", 2, 2, "cat FILE"));
    EXPECT_EQ(take_printed(), "");
}

TEST(WordsAccepts, RefusesAndPrintsTheUsage) {
    EXPECT_FALSE(Words("hello extra").accepts("", 0, 0, "hello"));
    EXPECT_EQ(take_printed(), "usage: hello\n");
    // Too few, too many.
    EXPECT_FALSE(Words("fill").accepts("", 2, 3, "fill NAME SIZE"));
    EXPECT_FALSE(Words("a b c d").accepts("", 2, 3, "fill NAME SIZE"));
    EXPECT_EQ(take_printed(), "usage: fill NAME SIZE\nusage: fill NAME SIZE\n");
    // Words like options.
    EXPECT_FALSE(Words("ls -l").accepts("", 0, 1, "x"));
    EXPECT_FALSE(Words("--help").accepts("", 0, 1, "x"));
    EXPECT_EQ(take_printed(), "usage: x\nusage: x\n");
}

TEST(WordsAccepts, OnlyDeclaredKeysAndWholeOnes) {
    EXPECT_TRUE(Words("count=1 how=kill").accepts("count target how", 0, 0, "faults"));
    EXPECT_FALSE(Words("counts=1").accepts("count target how", 0, 0, "faults"));
    EXPECT_FALSE(Words("coun=1").accepts("count target how", 0, 0, "faults"));
    EXPECT_FALSE(Words("arget=1").accepts("count target how", 0, 0, "faults"));
    EXPECT_FALSE(Words("=1").accepts("count target how", 0, 0, "faults"));
    EXPECT_FALSE(Words("seed=1").accepts("", 0, 0, "hello"));
    EXPECT_EQ(take_printed(), "usage: faults\nusage: faults\nusage: faults\nusage: faults\nusage: hello\n");
}

TEST(Random, IsTheSameSequenceForTheSameSeed) {
    mica::Random a(42), b(42), c(43);
    uint64_t first = a.next();
    EXPECT_EQ(first, b.next());
    EXPECT_NE(first, c.next());
    EXPECT_EQ(a.below(0), 0u);
    for (int i = 0; i < 100; ++i) EXPECT_LT(a.below(10), 10u);
}

TEST(Random, FillIsTheSequencesBytes) {
    mica::Random a(7), b(7);
    uint8_t buffer[13] = {};
    a.fill(buffer, sizeof buffer);
    uint64_t v0 = b.next(), v1 = b.next();
    EXPECT_EQ(memcmp(buffer, &v0, 8), 0);
    EXPECT_EQ(memcmp(buffer + 8, &v1, 5), 0);
}
