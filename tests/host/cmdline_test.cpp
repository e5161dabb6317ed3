#include "cmdline.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {
std::vector<std::pair<std::string, std::string>> words(const char* text) {
    std::vector<std::pair<std::string, std::string>> out;
    cmdline_for_each(text, [&](const CmdlineWord& w) {
        out.push_back({std::string(w.key, w.key_length),
                       w.value ? std::string(w.value, w.value_length) : std::string("<none>")});
    });
    return out;
}
using Words = std::vector<std::pair<std::string, std::string>>;
}  // namespace

TEST(Cmdline, SplitsKeysAndValues) {
    EXPECT_EQ(words("loglevel=debug quiet a=b=c"),
              (Words{{"loglevel", "debug"}, {"quiet", "<none>"}, {"a", "b=c"}}));
}

TEST(Cmdline, ToleratesOddSpacing) {
    EXPECT_EQ(words(""), Words{});
    EXPECT_EQ(words("   \t "), Words{});
    EXPECT_EQ(words("  x=1\t\ty  "), (Words{{"x", "1"}, {"y", "<none>"}}));
    EXPECT_EQ(words("= k="), (Words{{"", ""}, {"k", ""}}));
}

TEST(Cmdline, StopsAtDoubleDashAndHandsTheRestOn) {
    EXPECT_EQ(words("init=ktest -- test=churn x"), (Words{{"init", "ktest"}}));
    EXPECT_STREQ(cmdline_user_part("init=ktest -- test=churn x"), "test=churn x");
    EXPECT_STREQ(cmdline_user_part("init=ktest"), "");
    EXPECT_STREQ(cmdline_user_part("a--b c"), "");
    EXPECT_STREQ(cmdline_user_part("--"), "");
}
