// How the runtime folds a file name into a scheme and a path
// (mica::files::fold_name, lib/runtime/names.cpp): the text part of
// files::resolve, which every program's names go through.
#include "mica/files.h"
#include "mica/strings.h"

#include <gtest/gtest.h>

#include <string>

using mica::kErrInvalidArgument;
using mica::kErrNameTooLong;
using mica::kOk;
using mica::files::fold_name;
using mica::files::Name;

namespace {

// "scheme:path" as folded, or "error N".
std::string fold(const std::string& name, const std::string& cwd = "file:/home/user") {
    Name n{};
    int64_t e = fold_name(name.c_str(), cwd.c_str(), &n);
    if (e != kOk) return "error " + std::to_string(e);
    EXPECT_EQ(std::string(n.text), std::string(n.scheme) + ":" + n.path);
    return n.text;
}

std::string error(int64_t e) { return "error " + std::to_string(e); }

}  // namespace

TEST(FileNames, NamesWithASchemeIgnoreTheCurrentDirectory) {
    EXPECT_EQ(fold("initfs:/etc/motd"), "initfs:/etc/motd");
    EXPECT_EQ(fold("initfs:etc/motd"), "initfs:/etc/motd");
    EXPECT_EQ(fold("pci:"), "pci:/");
    EXPECT_EQ(fold("file:/"), "file:/");
    EXPECT_EQ(fold("log:/a", "nocolon"), "log:/a");
}

TEST(FileNames, RelativeNamesAreBelowTheCurrentDirectory) {
    EXPECT_EQ(fold("notes"), "file:/home/user/notes");
    EXPECT_EQ(fold("a/b/c"), "file:/home/user/a/b/c");
    EXPECT_EQ(fold("x", "initfs:/etc"), "initfs:/etc/x");
    EXPECT_EQ(fold("x", "file:/"), "file:/x");
    EXPECT_EQ(fold("x", "file:"), "file:/x");
    // An empty name is the current directory itself.
    EXPECT_EQ(fold(""), "file:/home/user");
}

TEST(FileNames, RootedNamesStayOnTheCurrentScheme) {
    EXPECT_EQ(fold("/etc/motd"), "file:/etc/motd");
    EXPECT_EQ(fold("/", "initfs:/etc"), "initfs:/");
}

TEST(FileNames, AColonAfterASlashIsPartOfThePath) {
    EXPECT_EQ(fold("dir/a:b"), "file:/home/user/dir/a:b");
    EXPECT_EQ(fold("/x:y"), "file:/x:y");
    EXPECT_EQ(fold("a:b/c:d"), "a:/b/c:d");
}

TEST(FileNames, DotsAndRepeatedSlashesAreFolded) {
    EXPECT_EQ(fold("file://a///b//"), "file:/a/b");
    EXPECT_EQ(fold("file:/a/./b/."), "file:/a/b");
    EXPECT_EQ(fold("file:/a/b/../c"), "file:/a/c");
    EXPECT_EQ(fold("file:/a/b/c/../.."), "file:/a");
    EXPECT_EQ(fold(".."), "file:/home");
    EXPECT_EQ(fold("../../x"), "file:/x");
    EXPECT_EQ(fold("./y/"), "file:/home/user/y");
    // Only "." and ".." are special: other names of dots are names.
    EXPECT_EQ(fold("file:/.../.x/..y/x.."), "file:/.../.x/..y/x..");
}

TEST(FileNames, DotDotNeverClimbsAboveTheSchemesRoot) {
    EXPECT_EQ(fold("file:/.."), "file:/");
    EXPECT_EQ(fold("file:/../../.."), "file:/");
    EXPECT_EQ(fold("file:/../a/../../b"), "file:/b");
    EXPECT_EQ(fold("../../../../etc", "file:/home/user"), "file:/etc");
    EXPECT_EQ(fold("/../..", "initfs:/"), "initfs:/");
    // The scheme is not a directory '..' can reach.
    EXPECT_EQ(fold("../../initfs:/x"), "file:/initfs:/x");
}

TEST(FileNames, NamesWithoutAUsableSchemeAreRefused) {
    EXPECT_EQ(fold("x", "nocolon"), error(kErrInvalidArgument));
    EXPECT_EQ(fold("/x", "nocolon"), error(kErrInvalidArgument));
    EXPECT_EQ(fold(":/x"), error(kErrInvalidArgument));
    EXPECT_EQ(fold("x", ":/"), error(kErrInvalidArgument));
    // A scheme is at most 31 characters (Name::scheme, and the namespace's).
    std::string longest(31, 's');
    EXPECT_EQ(fold(longest + ":/a"), longest + ":/a");
    EXPECT_EQ(fold(longest + "t:/a"), error(kErrInvalidArgument));
}

TEST(FileNames, APathFillsNameButIsNeverCut) {
    // kPathMax - 1 characters and the terminator fill Name::path exactly.
    constexpr size_t kMost = proto::fs::kPathMax - 1;
    std::string most = "/" + std::string(kMost - 1, 'a');
    EXPECT_EQ(fold("file:" + most), "file:" + most);
    EXPECT_EQ(fold("file:" + most + "b"), error(kErrNameTooLong));
    EXPECT_EQ(fold("file:" + most + "/b"), error(kErrNameTooLong));
    // Folding happens as the path is read: what never grows past the limit
    // fits, however long it is written; a path that passes it on the way
    // is refused, even if a '..' later would bring it back.
    EXPECT_EQ(fold("file:/" + std::string(3 * kMost, '/') + "x"), "file:/x");
    EXPECT_EQ(fold("file:/b/.." + most), "file:" + most);
    EXPECT_EQ(fold("file:" + most + "/b/.."), error(kErrNameTooLong));
    // Relative: the current directory's part counts too.
    std::string cwd = "file:/" + std::string(200, 'c');
    size_t room = kMost - (1 + 200 + 1);  // "/ccc.../" then the name
    EXPECT_EQ(fold(std::string(room, 'n'), cwd), cwd + "/" + std::string(room, 'n'));
    EXPECT_EQ(fold(std::string(room + 1, 'n'), cwd), error(kErrNameTooLong));
}

TEST(FileNames, ALongRelativeNameIsFoldedWholeOrRefused) {
    // The current directory and a relative name are joined before folding:
    // a long name that folds to something short must give its true fold or
    // kErrNameTooLong, never the fold of a cut-off part of it.
    std::string cwd = "file:/" + std::string(proto::fs::kPathMax - 6, 'c');
    std::string detour;  // folds to nothing, longer than the current directory and a path together
    while (detour.size() < 3 * proto::fs::kPathMax) detour += "d/../";
    std::string got = fold(detour + "x", cwd);
    EXPECT_TRUE(got == cwd + "/x" || got == error(kErrNameTooLong)) << got;
    got = fold("../" + detour + "y", cwd);
    EXPECT_TRUE(got == "file:/y" || got == error(kErrNameTooLong)) << got;
    // Written with its scheme, the same name is never joined, so never too long.
    EXPECT_EQ(fold(cwd + "/" + detour + "x"), cwd + "/x");
}

TEST(FileNames, TheWholeNameIsAlwaysInText) {
    // The longest scheme, ':' and the longest path: Name::text holds them.
    std::string scheme(31, 's');
    std::string path = "/" + std::string(proto::fs::kPathMax - 2, 'p');
    Name n{};
    ASSERT_EQ(fold_name((scheme + ":" + path).c_str(), "file:/", &n), kOk);
    EXPECT_EQ(std::string(n.text), scheme + ":" + path);
}

// mica::join, which fold_name and the Linux personality join names with:
// the parts in order, cut to the buffer, and the whole length returned.
TEST(Join, PartsInOrderCutToTheBuffer) {
    char out[8];
    EXPECT_EQ(mica::join(out, sizeof out, "ab", "/", "cd"), 5u);
    EXPECT_STREQ(out, "ab/cd");
    EXPECT_EQ(mica::join(out, sizeof out, "file:", "/home"), 10u);  // too long: cut, and said so
    EXPECT_STREQ(out, "file:/h");
    EXPECT_EQ(mica::join(out, sizeof out, "", "", ""), 0u);
    EXPECT_STREQ(out, "");
    EXPECT_EQ(mica::join(out, 1, "x", "y"), 2u);
    EXPECT_STREQ(out, "");
}
