// ext2 library tests against images made by e2fsprogs: what mke2fs wrote
// must read back, and what the library writes must satisfy e2fsck and read
// back identically through debugfs.
#include "ext2/volume.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "host_shell.h"
#include "mica/errors.h"

namespace fs = std::filesystem;
using namespace mica;
using host::pattern, host::run, host::Shell;

namespace {

class FileDevice : public ext2::BlockDevice {
public:
    explicit FileDevice(const std::string& path) {
        fd_ = open(path.c_str(), O_RDWR);
        struct stat st {};
        fstat(fd_, &st);
        sectors_ = static_cast<uint64_t>(st.st_size) / ext2::kSectorSize;
    }
    ~FileDevice() override { close(fd_); }
    int64_t read(uint64_t sector, uint32_t count, void* buffer) override {
        EXPECT_GE(count, 1u);
        EXPECT_LE(count, ext2::kMaxSectorsPerCall);
        ++reads;
        if (sector + count > sectors_) return kErrOutOfRange;
        ssize_t n = pread(fd_, buffer, size_t{count} * 512, static_cast<off_t>(sector * 512));
        return n == static_cast<ssize_t>(count) * 512 ? kOk : kErrIo;
    }
    int64_t write(uint64_t sector, uint32_t count, const void* buffer) override {
        EXPECT_GE(count, 1u);
        EXPECT_LE(count, ext2::kMaxSectorsPerCall);
        ++writes;
        if (fail_writes_after >= 0 && writes > fail_writes_after) return kErrIo;
        if (sector + count > sectors_) return kErrOutOfRange;
        ssize_t n = pwrite(fd_, buffer, size_t{count} * 512, static_cast<off_t>(sector * 512));
        return n == static_cast<ssize_t>(count) * 512 ? kOk : kErrIo;
    }
    int64_t flush() override { return fsync(fd_) == 0 ? kOk : kErrIo; }
    uint64_t sector_count() const override { return sectors_; }
    // As the file server's device does, the room before the buffer is used
    // (here: scribbled over) and given back: under the address sanitizer,
    // room the library did not really have is an error, and so is a
    // library that looks at it meanwhile.
    int64_t read_in_place(uint64_t sector, uint32_t count, void* buffer) override {
        return in_room(buffer, [&] { return read(sector, count, buffer); });
    }
    int64_t write_in_place(uint64_t sector, uint32_t count, void* buffer) override {
        return in_room(buffer, [&] { return write(sector, count, buffer); });
    }

    int64_t reads = 0, writes = 0, fail_writes_after = -1;

private:
    template <class F>
    static int64_t in_room(void* buffer, F f) {
        uint8_t* room = static_cast<uint8_t*>(buffer) - kRoom;
        uint8_t saved[kRoom];
        memcpy(saved, room, kRoom);
        memset(room, 0xA5, kRoom);
        int64_t r = f();
        memcpy(room, saved, kRoom);
        return r;
    }

    int fd_ = -1;
    uint64_t sectors_ = 0;
};

void write_file(const fs::path& p, const std::string& data) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << data;
}

class Ext2 : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/ext2testXXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir = tmpl;
        src = dir / "src";
        img = (dir / "fs.img").string();
        fs::create_directories(src);
    }
    void TearDown() override {
        unmount();
        fs::remove_all(dir);
    }

    // mke2fs from `src`; extra options such as "-b 1024".
    void make(const std::string& options, const std::string& size = "8M") {
        unmount();
        Shell r = run("/usr/sbin/mke2fs -q -F -t ext2 " + options + " -d " + src.string() + " " +
                    img + " " + size + " 2>&1");
        ASSERT_EQ(r.status, 0) << r.out;
    }
    void mount() {
        unmount();
        dev = new FileDevice(img);
        ASSERT_EQ(ext2::Volume::mount(dev, &vol), kOk);
    }
    int64_t try_mount() {
        unmount();
        dev = new FileDevice(img);
        return ext2::Volume::mount(dev, &vol);
    }
    void unmount() {
        delete vol;
        vol = nullptr;
        delete dev;
        dev = nullptr;
    }
    // The volume stays mounted: every call has already written its blocks.
    void expect_fsck_clean() {
        Shell r = run("/usr/sbin/e2fsck -fn " + img + " 2>&1");
        EXPECT_EQ(r.status, 0) << r.out;
    }
    std::string debugfs(const std::string& request) {
        return run("/usr/sbin/debugfs -R '" + request + "' " + img + " 2>/dev/null").out;
    }
    std::string read_all(const char* path) {
        ext2::Stat st;
        EXPECT_EQ(vol->stat(path, &st), kOk) << path;
        std::string s(st.size, '\0');
        size_t done = 0;
        while (done < s.size()) {
            uint32_t chunk = static_cast<uint32_t>(std::min<size_t>(s.size() - done, 200000));
            int64_t n = vol->read(path, done, s.data() + done, chunk);
            EXPECT_GT(n, 0) << path;
            if (n <= 0) break;
            done += static_cast<size_t>(n);
        }
        return s;
    }
    int64_t put(const char* path, const std::string& data, uint64_t offset = 0) {
        return vol->write(path, offset, data.data(), static_cast<uint32_t>(data.size()));
    }
    std::vector<std::string> list(const char* path) {
        std::vector<std::string> names;
        ext2::DirEntry e;
        for (uint32_t i = 0; vol->readdir(path, i, &e) == kOk; ++i) names.push_back(e.name);
        std::sort(names.begin(), names.end());
        return names;
    }
    // The superblock as raw bytes, to poke at.
    void patch(uint64_t offset, const void* bytes, size_t n) {
        unmount();
        int fd = open(img.c_str(), O_RDWR);
        ASSERT_EQ(pwrite(fd, bytes, n, static_cast<off_t>(offset)), static_cast<ssize_t>(n));
        close(fd);
    }
    void patch32(uint64_t offset, uint32_t v) { patch(offset, &v, 4); }
    uint32_t peek32(uint64_t offset) {
        uint32_t v = 0;
        int fd = open(img.c_str(), O_RDONLY);
        EXPECT_EQ(pread(fd, &v, 4, static_cast<off_t>(offset)), 4);
        close(fd);
        return v;
    }

    fs::path dir, src;
    std::string img;
    FileDevice* dev = nullptr;
    ext2::Volume* vol = nullptr;
};

class Ext2Sizes : public Ext2, public ::testing::WithParamInterface<int> {
protected:
    std::string bs() { return "-b " + std::to_string(GetParam()); }
};

// --- 1. Reading what mke2fs wrote ---------------------------------------------

TEST_P(Ext2Sizes, ReadsMkfsFiles) {
    uint32_t b = static_cast<uint32_t>(GetParam());
    std::map<std::string, std::string> files = {
        {"empty", ""},
        {"small", "hello, ext2\n"},
        {"block", pattern(b, 1)},
        {"indirect", pattern(13 * b + 5, 2)},
        {"double", pattern(400 * 1024 + 77, 3)},
        {"a/b/c/deep", pattern(3000, 4)},
        {"a/b/sibling", "x"},
    };
    for (auto& [name, data] : files) write_file(src / name, data);
    fs::create_directories(src / "emptydir");
    symlink("small", (src / "link").c_str());
    make(bs());
    mount();
    EXPECT_FALSE(vol->read_only());
    for (auto& [name, data] : files) {
        ext2::Stat st;
        ASSERT_EQ(vol->stat(name.c_str(), &st), kOk) << name;
        EXPECT_EQ(st.type, ext2::kFile);
        EXPECT_EQ(st.size, data.size());
        EXPECT_EQ(read_all(name.c_str()), data) << name;
        EXPECT_EQ(read_all(("/" + name).c_str()), data) << name;
    }
    ext2::Stat st;
    ASSERT_EQ(vol->stat("link", &st), kOk);
    EXPECT_EQ(st.type, ext2::kSymlink);
    EXPECT_EQ(read_all("link"), "small");
    ASSERT_EQ(vol->stat("//a//b/", &st), kOk);
    EXPECT_EQ(st.type, ext2::kDirectory);
    ASSERT_EQ(vol->stat("a/b/c/../../b/./sibling", &st), kOk);
    EXPECT_EQ(st.size, 1u);
    ASSERT_EQ(vol->stat("", &st), kOk);
    EXPECT_EQ(st.inode, 2u);
    EXPECT_EQ(list("/"), (std::vector<std::string>{"a", "block", "double", "empty", "emptydir",
                                                     "indirect", "link", "lost+found", "small"}));
    EXPECT_EQ(list("a/b"), (std::vector<std::string>{"c", "sibling"}));
    EXPECT_TRUE(list("emptydir").empty());
    char buf[16];
    EXPECT_EQ(vol->read("small", 100, buf, sizeof buf), 0);
    EXPECT_EQ(vol->read("small", 7, buf, sizeof buf), 5);
    EXPECT_EQ(vol->stat("nope", &st), kErrNotFound);
    EXPECT_EQ(vol->stat("small/x", &st), kErrNotDirectory);
    EXPECT_EQ(vol->read("a", 0, buf, 1), kErrIsDirectory);
    ext2::DirEntry e;
    EXPECT_EQ(vol->readdir("small", 0, &e), kErrNotDirectory);
    EXPECT_EQ(vol->readdir("emptydir", 0, &e), kErrNotFound);
    EXPECT_EQ(vol->stat(std::string(300, 'n').c_str(), &st), kErrNameTooLong);
    EXPECT_EQ(vol->stat(std::string(5000, '/').c_str(), &st), kErrNameTooLong);
    // Too long is said first, whatever else is wrong with the path.
    EXPECT_EQ(vol->stat(("nosuch/" + std::string(5000, 'n')).c_str(), &st), kErrNameTooLong);
    EXPECT_EQ(vol->stat(("nosuch/" + std::string(4000, '/')).c_str(), &st), kErrNotFound);
    ext2::FsStat fst;
    ASSERT_EQ(vol->statfs(&fst), kOk);
    EXPECT_EQ(fst.block_size, b);
}

// --- 2. Writing ------------------------------------------------------------------

TEST_P(Ext2Sizes, WritesWhatDebugfsReads) {
    make(bs());
    mount();
    std::map<std::string, std::string> expect;
    // Appending, overwriting, writing at offsets, sparse.
    ASSERT_EQ(vol->create("f", true), kOk);
    EXPECT_EQ(vol->create("f", true), kErrAlreadyExists);
    EXPECT_EQ(vol->create("f", false), kOk);
    std::string f;
    for (int i = 0; i < 20; ++i) {
        std::string piece = pattern(1000 + i * 37, 10 + i);
        ASSERT_EQ(put("f", piece, f.size()), static_cast<int64_t>(piece.size()));
        f += piece;
    }
    std::string over = pattern(5000, 99);
    ASSERT_EQ(put("f", over, 777), 5000);
    f.replace(777, 5000, over);
    expect["f"] = f;
    ASSERT_EQ(vol->create("sparse", false), kOk);
    ASSERT_EQ(put("sparse", "tail", 5 * 1024 * 1024), 4);
    ASSERT_EQ(put("sparse", "mid", 70000), 3);
    std::string sparse(5 * 1024 * 1024 + 4, '\0');
    sparse.replace(70000, 3, "mid");
    sparse.replace(5 * 1024 * 1024, 4, "tail");
    expect["sparse"] = sparse;
    ext2::Stat st;
    ASSERT_EQ(vol->stat("sparse", &st), kOk);
    EXPECT_LT(st.blocks512, 100u);  // holes take no blocks
    expect_fsck_clean();

    // Truncate shrink and grow; the shrunk tail must come back as zeros.
    ASSERT_EQ(vol->create("t", false), kOk);
    std::string t = pattern(300000, 7);
    ASSERT_EQ(put("t", t), 300000);
    ASSERT_EQ(vol->truncate("t", 12345), kOk);
    ASSERT_EQ(vol->truncate("t", 400000), kOk);
    t.resize(12345);
    t.resize(400000, '\0');
    expect["t"] = t;
    ASSERT_EQ(vol->create("gone", false), kOk);
    ASSERT_EQ(put("gone", pattern(100000, 8)), 100000);
    ASSERT_EQ(vol->truncate("gone", 0), kOk);
    ASSERT_EQ(vol->stat("gone", &st), kOk);
    EXPECT_EQ(st.blocks512, 0u);
    expect["gone"] = "";
    expect_fsck_clean();

    // Directories.
    ASSERT_EQ(vol->mkdir("d1"), kOk);
    ASSERT_EQ(vol->mkdir("d1/sub"), kOk);
    ASSERT_EQ(vol->mkdir("d2"), kOk);
    EXPECT_EQ(vol->mkdir("d1"), kErrAlreadyExists);
    EXPECT_EQ(vol->mkdir("nope/x"), kErrNotFound);
    EXPECT_EQ(vol->mkdir("f/x"), kErrNotDirectory);
    EXPECT_EQ(vol->create("d1", false), kErrIsDirectory);
    ASSERT_EQ(vol->create("d1/sub/file", true), kOk);
    ASSERT_EQ(put("d1/sub/file", "inside"), 6);
    expect["d1/sub/file"] = "inside";
    EXPECT_EQ(vol->rmdir("d1"), kErrNotEmpty);
    EXPECT_EQ(vol->rmdir("f"), kErrNotDirectory);
    EXPECT_EQ(vol->rmdir("/"), kErrInvalidArgument);
    EXPECT_EQ(vol->unlink("d1"), kErrIsDirectory);
    ASSERT_EQ(vol->mkdir("d2/empty"), kOk);
    ASSERT_EQ(vol->rmdir("d2/empty"), kOk);
    ASSERT_EQ(vol->stat("d2", &st), kOk);
    EXPECT_EQ(st.links, 2u);
    expect_fsck_clean();

    // Rename: file over file, directory between parents, into itself.
    ASSERT_EQ(vol->create("r1", false), kOk);
    ASSERT_EQ(put("r1", "one"), 3);
    ASSERT_EQ(vol->create("r2", false), kOk);
    ASSERT_EQ(put("r2", pattern(50000, 5)), 50000);
    ASSERT_EQ(vol->rename("r1", "r2"), kOk);
    expect["r2"] = "one";
    EXPECT_EQ(vol->stat("r1", &st), kErrNotFound);
    ASSERT_EQ(vol->rename("d1/sub", "d2/moved"), kOk);
    expect["d2/moved/file"] = "inside";
    expect.erase("d1/sub/file");
    EXPECT_EQ(vol->rename("d2", "d2/moved/x"), kErrInvalidArgument);
    EXPECT_EQ(vol->rename("d2", "f"), kErrNotDirectory);
    EXPECT_EQ(vol->rename("f", "d1"), kErrIsDirectory);
    ASSERT_EQ(vol->mkdir("d3"), kOk);
    ASSERT_EQ(vol->rename("d1", "d3"), kOk);  // over an empty directory
    ASSERT_EQ(vol->stat("d2/moved/..", &st), kOk);
    ext2::Stat d2;
    ASSERT_EQ(vol->stat("d2", &d2), kOk);
    EXPECT_EQ(st.inode, d2.inode);
    EXPECT_EQ(d2.links, 3u);
    ASSERT_EQ(vol->rename("f", "d3/f2"), kOk);
    expect["d3/f2"] = expect["f"];
    expect.erase("f");
    expect_fsck_clean();

    // Many files: the directory grows past one block.
    ASSERT_EQ(vol->mkdir("many"), kOk);
    for (int i = 0; i < 300; ++i) {
        std::string name = "many/file-with-a-longish-name-" + std::to_string(i);
        ASSERT_EQ(vol->create(name.c_str(), true), kOk) << i;
        if (i % 50 == 0) {
            ASSERT_EQ(put(name.c_str(), name), static_cast<int64_t>(name.size()));
            expect[name] = name;
        }
    }
    for (int i = 1; i < 300; i += 3) {
        if (i % 50 == 0) continue;
        std::string name = "many/file-with-a-longish-name-" + std::to_string(i);
        ASSERT_EQ(vol->unlink(name.c_str()), kOk);
    }
    EXPECT_EQ(list("many").size(), 202u);
    ASSERT_EQ(vol->stat("many", &st), kOk);
    EXPECT_GT(st.size, static_cast<uint64_t>(GetParam()));

    // A multi-MiB file in large writes: one device call per 64 KiB run.
    ASSERT_EQ(vol->create("big", false), kOk);
    std::string big = pattern(6 * 1024 * 1024 + 111, 42);
    int64_t writes_before = dev->writes;
    for (size_t off = 0; off < big.size(); off += 1 << 20)
        ASSERT_EQ(put("big", big.substr(off, 1 << 20), off),
                  static_cast<int64_t>(std::min<size_t>(1 << 20, big.size() - off)));
    EXPECT_LT(dev->writes - writes_before, 6 * 32);  // 16 runs and some metadata per MiB
    expect["big"] = big;
    EXPECT_EQ(read_all("big"), big);

    for (auto& [name, data] : expect) EXPECT_EQ(read_all(name.c_str()), data) << name;
    expect_fsck_clean();
    for (auto& [name, data] : expect) {
        EXPECT_TRUE(debugfs("cat /" + name) == data) << name;
    }
    std::string ls = debugfs("ls -l /");
    for (const char* name : {"sparse", "t", "d2", "d3", "many", "big", "r2"})
        EXPECT_NE(ls.find(name), std::string::npos) << name;
    // And through a fresh mount.
    mount();
    for (auto& [name, data] : expect) EXPECT_EQ(read_all(name.c_str()), data) << name;
}

// --- 3. Filling the disk ------------------------------------------------------------

TEST_P(Ext2Sizes, FillsDiskAndRecovers) {
    make(bs(), "4M");
    mount();
    ext2::FsStat before, after;
    ASSERT_EQ(vol->statfs(&before), kOk);
    std::string chunk = pattern(256 * 1024, 3);
    int files = 0;
    bool full = false;
    for (; files < 100 && !full; ++files) {
        std::string name = "fill" + std::to_string(files);
        int64_t r = vol->create(name.c_str(), true);
        if (r == kErrNoSpace) break;
        ASSERT_EQ(r, kOk);
        for (uint64_t off = 0;; off += chunk.size()) {
            r = put(name.c_str(), chunk, off);
            if (r < static_cast<int64_t>(chunk.size())) {
                EXPECT_TRUE(r >= 0 || r == kErrNoSpace) << r;
                full = true;
                break;
            }
        }
    }
    EXPECT_TRUE(full);
    ext2::FsStat mid;
    ASSERT_EQ(vol->statfs(&mid), kOk);
    EXPECT_LT(mid.free_blocks, 8u);
    EXPECT_EQ(vol->mkdir("nospace-dir-maybe") == kOk || true, true);
    expect_fsck_clean();
    vol->rmdir("nospace-dir-maybe");
    for (int i = 0; i < files; ++i) vol->unlink(("fill" + std::to_string(i)).c_str());
    ASSERT_EQ(vol->statfs(&after), kOk);
    EXPECT_EQ(after.free_blocks, before.free_blocks);
    EXPECT_EQ(after.free_inodes, before.free_inodes);
    expect_fsck_clean();
}

INSTANTIATE_TEST_SUITE_P(Ext2, Ext2Sizes, ::testing::Values(1024, 4096));

// --- 4. The default Debian feature set ------------------------------------------

TEST_F(Ext2, DefaultFeatures) {
    write_file(src / "hello", "world");
    make("");  // mke2fs.conf defaults: 4 KiB blocks, 256-byte inodes, dir_index...
    Shell r = run("/usr/sbin/dumpe2fs -h " + img + " 2>/dev/null");
    EXPECT_NE(r.out.find("dir_index"), std::string::npos);
    EXPECT_NE(r.out.find("ext_attr"), std::string::npos);
    mount();
    EXPECT_EQ(read_all("hello"), "world");
    // A hashed directory, written by mke2fs, then modified by us.
    for (int i = 0; i < 400; ++i) write_file(src / "hashed" / ("entry-" + std::to_string(i)), "");
    make("");
    run("/usr/sbin/e2fsck -fyD " + img + " >/dev/null 2>&1");  // builds the hash index
    EXPECT_NE(debugfs("stat /hashed").find("Flags: 0x1000"), std::string::npos);
    mount();
    EXPECT_EQ(list("hashed").size(), 400u);
    ASSERT_EQ(vol->create("hashed/new", true), kOk);
    ASSERT_EQ(vol->unlink("hashed/entry-7"), kOk);
    EXPECT_EQ(list("hashed").size(), 400u);
    expect_fsck_clean();
    EXPECT_NE(debugfs("stat /hashed").find("Flags: 0x0"), std::string::npos);
    // An extended attribute block shared through i_file_acl.
    run("/usr/sbin/debugfs -w -R 'ea_set /hello user.note " + std::string(200, 'v') + "' " + img +
        " 2>&1");
    mount();
    EXPECT_NE(debugfs("stat /hello").find("File ACL: "), std::string::npos);
    ext2::Stat st;
    ASSERT_EQ(vol->stat("hello", &st), kOk);
    ASSERT_EQ(vol->unlink("hello"), kOk);
    ext2::FsStat fst;
    ASSERT_EQ(vol->statfs(&fst), kOk);
    expect_fsck_clean();
}

// chmod sets the permission bits only: the type stays, e2fsck and debugfs
// agree, and a directory keeps working.
TEST_F(Ext2, ChmodSetsPermissionBits) {
    write_file(src / "script", "echo hi\n");
    write_file(src / "d" / "f", "x");
    make("");
    mount();
    ASSERT_EQ(vol->chmod("script", 04755), kOk);
    ASSERT_EQ(vol->chmod("d", 0700), kOk);
    ext2::Stat st;
    ASSERT_EQ(vol->stat("script", &st), kOk);
    EXPECT_EQ(st.mode & 07777, 04755u);
    ASSERT_EQ(vol->stat("d", &st), kOk);
    EXPECT_EQ(st.mode & 07777, 0700u);
    EXPECT_EQ(read_all("d/f"), "x");
    EXPECT_EQ(vol->chmod("no/such", 0644), kErrNotFound);
    expect_fsck_clean();
    EXPECT_NE(debugfs("stat /script").find("Mode:  04755"), std::string::npos);
    EXPECT_NE(debugfs("stat /d").find("Type: directory    Mode:  0700"), std::string::npos);
}

// chown sets the owner and group, 32 bits each (the high halves where Linux
// keeps them: debugfs agrees), leaves one when asked, and takes a file's
// set-user-ID bit (and set-group-ID when group-executable), not a directory's.
TEST_F(Ext2, ChownSetsOwnerAndGroup) {
    write_file(src / "f", "x");
    write_file(src / "d" / "g", "y");
    make("");
    mount();
    ASSERT_EQ(vol->chmod("f", 06755), kOk);
    ASSERT_EQ(vol->chmod("d", 02755), kOk);
    ASSERT_EQ(vol->chown("f", 70000, 80000), kOk);
    ext2::Stat st;
    ASSERT_EQ(vol->stat("f", &st), kOk);
    EXPECT_EQ(st.uid, 70000u);
    EXPECT_EQ(st.gid, 80000u);
    EXPECT_EQ(st.mode & 07777, 0755u);
    ASSERT_EQ(vol->chown("f", ext2::Volume::kKeepOwner, 5), kOk);
    ASSERT_EQ(vol->stat("f", &st), kOk);
    EXPECT_EQ(st.uid, 70000u);
    EXPECT_EQ(st.gid, 5u);
    ASSERT_EQ(vol->chown("d", 1, ext2::Volume::kKeepOwner), kOk);
    ASSERT_EQ(vol->stat("d", &st), kOk);
    EXPECT_EQ(st.uid, 1u);
    EXPECT_EQ(st.mode & 07777, 02755u);
    EXPECT_EQ(vol->chown("no/such", 0, 0), kErrNotFound);
    EXPECT_EQ(read_all("d/g"), "y");
    expect_fsck_clean();
    std::string f = debugfs("stat /f");
    EXPECT_NE(f.find("User: 70000"), std::string::npos) << f;
    EXPECT_NE(f.find("Group:     5"), std::string::npos) << f;
}

// The file-data cache follows every change: overwrites, a shrink and a
// regrow (the tail comes back as zeros), blocks freed by one file and
// reused by another, and a file larger than the cache; what a fresh mount
// (no cache) reads is the same.
TEST_F(Ext2, DataCacheFollowsEveryChange) {
    make("", "16M");
    mount();
    std::string a = pattern(8192, 1);
    ASSERT_EQ(vol->create("f", true), kOk);
    ASSERT_EQ(put("f", a), 8192);
    EXPECT_EQ(read_all("f"), a);
    EXPECT_EQ(read_all("f"), a);  // the second time from the cache
    std::string patch = pattern(3000, 2);
    ASSERT_EQ(put("f", patch, 2000), 3000);
    a.replace(2000, 3000, patch);
    EXPECT_EQ(read_all("f"), a);
    ASSERT_EQ(vol->truncate("f", 100), kOk);
    ASSERT_EQ(put("f", "end", 5000), 3);
    std::string grown = a.substr(0, 100) + std::string(4900, '\0') + "end";
    EXPECT_EQ(read_all("f"), grown);
    ASSERT_EQ(vol->unlink("f"), kOk);
    std::string b = pattern(8192, 3);
    ASSERT_EQ(vol->create("g", true), kOk);
    ASSERT_EQ(put("g", b), 8192);  // likely in the blocks f had
    EXPECT_EQ(read_all("g"), b);
    std::string big = pattern(3 << 20, 4);  // three times the cache
    ASSERT_EQ(vol->create("big", true), kOk);
    ASSERT_EQ(put("big", big), static_cast<int64_t>(big.size()));
    EXPECT_EQ(read_all("big"), big);
    EXPECT_EQ(read_all("g"), b);
    mount();  // afresh: no cache
    EXPECT_EQ(read_all("g"), b);
    EXPECT_EQ(read_all("big"), big);
    expect_fsck_clean();
}

// A file as large as the data cache is read from memory the second time,
// every block of it, though its blocks lie around its indirect blocks (by
// physical block number, its first and last data blocks would share a
// slot); and a file read from the cache needs no block of its map either.
TEST_P(Ext2Sizes, DataCacheHoldsAFileAsLargeAsItself) {
    std::string data = pattern(1 << 20, 5);
    write_file(src / "mib", data);
    write_file(src / "other", pattern(5000, 6));
    make(bs(), "16M");
    mount();
    EXPECT_EQ(read_all("other"), pattern(5000, 6));
    EXPECT_EQ(read_all("mib"), data);
    int64_t reads = dev->reads;
    EXPECT_EQ(read_all("mib"), data);
    EXPECT_EQ(dev->reads, reads);
}

// A freed file's cached blocks go with it: a new file in the same inode
// reads its holes as zeros, not the old file's bytes, and a file cut short
// and grown again reads zeros where its old blocks were.
TEST_F(Ext2, DataCacheForgetsFreedFiles) {
    make("", "16M");
    mount();
    ASSERT_EQ(vol->create("f", true), kOk);
    ASSERT_EQ(put("f", pattern(3 * 4096, 7)), 3 * 4096);
    EXPECT_EQ(read_all("f"), pattern(3 * 4096, 7));
    ext2::Stat before, after;
    ASSERT_EQ(vol->stat("f", &before), kOk);
    ASSERT_EQ(vol->unlink("f"), kOk);
    ASSERT_EQ(vol->create("g", true), kOk);
    ASSERT_EQ(vol->stat("g", &after), kOk);
    ASSERT_EQ(after.inode, before.inode);  // what makes this a test of the cache
    ASSERT_EQ(vol->truncate("g", 3 * 4096), kOk);
    EXPECT_EQ(read_all("g"), std::string(3 * 4096, '\0'));
    ASSERT_EQ(put("g", pattern(3 * 4096, 8)), 3 * 4096);
    ASSERT_EQ(vol->truncate("g", 10), kOk);
    ASSERT_EQ(vol->truncate("g", 3 * 4096), kOk);
    EXPECT_EQ(read_all("g"), pattern(10, 8) + std::string(3 * 4096 - 10, '\0'));
    mount();  // afresh: no cache
    EXPECT_EQ(read_all("g"), pattern(10, 8) + std::string(3 * 4096 - 10, '\0'));
    expect_fsck_clean();
}

// Symbolic links, fast (in the inode) and slow (a block), and hard links:
// read back here, by debugfs, and found consistent by e2fsck.
TEST_F(Ext2, SymbolicAndHardLinks) {
    write_file(src / "d" / "f", "data");
    make("");
    mount();
    std::string long_target = "d/" + std::string(100, 'x');
    ASSERT_EQ(vol->symlink("fast", "d/f"), kOk);
    ASSERT_EQ(vol->symlink("d/slow", long_target.c_str()), kOk);
    EXPECT_EQ(vol->symlink("fast", "elsewhere"), kErrAlreadyExists);
    EXPECT_EQ(vol->symlink("empty", ""), kErrNotFound);
    EXPECT_EQ(vol->symlink("huge", std::string(5000, 'y').c_str()), kErrNameTooLong);
    EXPECT_EQ(vol->symlink("no/such/dir", "x"), kErrNotFound);
    ext2::Stat st;
    ASSERT_EQ(vol->stat("fast", &st), kOk);
    EXPECT_EQ(st.type, ext2::kSymlink);
    EXPECT_EQ(st.size, 3u);
    EXPECT_EQ(st.blocks512, 0u);  // fast: no block
    EXPECT_EQ(read_all("fast"), "d/f");
    ASSERT_EQ(vol->stat("d/slow", &st), kOk);
    EXPECT_EQ(st.size, long_target.size());
    EXPECT_GT(st.blocks512, 0u);
    EXPECT_EQ(read_all("d/slow"), long_target);

    ASSERT_EQ(vol->link("d/f", "hard"), kOk);
    EXPECT_EQ(vol->link("d/f", "hard"), kErrAlreadyExists);
    EXPECT_EQ(vol->link("d", "dir_link"), kErrIsDirectory);
    EXPECT_EQ(vol->link("missing", "x"), kErrNotFound);
    ASSERT_EQ(vol->stat("hard", &st), kOk);
    EXPECT_EQ(st.links, 2u);
    EXPECT_EQ(read_all("hard"), "data");
    ASSERT_EQ(vol->unlink("d/f"), kOk);
    EXPECT_EQ(read_all("hard"), "data");  // the other name keeps the file
    ASSERT_EQ(vol->stat("hard", &st), kOk);
    EXPECT_EQ(st.links, 1u);
    expect_fsck_clean();
    EXPECT_NE(debugfs("stat /fast").find("Fast link dest: \"d/f\""), std::string::npos);
    EXPECT_NE(debugfs("cat /d/slow").find(long_target), std::string::npos);
    ASSERT_EQ(vol->unlink("d/slow"), kOk);
    ASSERT_EQ(vol->unlink("fast"), kOk);
    expect_fsck_clean();
}

// Named pipes: a FIFO inode with its permission bits, listed with its
// type, refused where a name exists, and seen as a FIFO by debugfs and e2fsck.
TEST_F(Ext2, Fifos) {
    make("");
    mount();
    ASSERT_EQ(vol->make_fifo("pipe", 0640), kOk);
    EXPECT_EQ(vol->make_fifo("pipe", 0640), kErrAlreadyExists);
    EXPECT_EQ(vol->make_fifo("no/such/dir", 0640), kErrNotFound);
    ext2::Stat st;
    ASSERT_EQ(vol->stat("pipe", &st), kOk);
    EXPECT_EQ(st.type, ext2::kOther);
    EXPECT_EQ(st.mode, 010640u);
    EXPECT_EQ(st.size, 0u);
    EXPECT_EQ(st.blocks512, 0u);
    char byte;
    EXPECT_EQ(vol->read("pipe", 0, &byte, 1), kErrInvalidArgument);
    ext2::DirEntry e;
    bool listed = false;
    for (uint32_t i = 0; vol->readdir("", i, &e) == kOk; ++i)
        if (!strcmp(e.name, "pipe")) listed = e.type == ext2::kOther;
    EXPECT_TRUE(listed);
    expect_fsck_clean();
    EXPECT_NE(debugfs("stat /pipe").find("Type: FIFO"), std::string::npos);
    ASSERT_EQ(vol->unlink("pipe"), kOk);
    expect_fsck_clean();
}

// Nodes: an open file is found by inode and generation, through renames and
// after its last name goes; a held file then is an orphan (on the
// superblock's list, as ext3 keeps it) until released, and a stale node
// (freed, or its inode used again) finds nothing.
std::set<uint32_t> g_held;
bool held(uint32_t inode) { return g_held.count(inode) != 0; }

TEST_F(Ext2, NodesAndOrphans) {
    for (const char* type : {"ext2", "ext3"}) {
        SCOPED_TRACE(type);
        unmount();
        Shell mk = run(std::string("/usr/sbin/mke2fs -q -F -t ") + type + " " + img + " 8M 2>&1");
        ASSERT_EQ(mk.status, 0) << mk.out;
        mount();
        vol->set_holder(held);
        g_held.clear();
        ext2::FsStat before;
        ASSERT_EQ(vol->statfs(&before), kOk);
        std::string data = pattern(20000, 5);
        ASSERT_EQ(vol->create("a", true), kOk);
        ASSERT_EQ(put("a", data), 20000);
        ext2::Node n;
        ASSERT_EQ(vol->node("a", &n), kOk);
        ext2::Stat st;
        ASSERT_EQ(vol->stat(n, &st), kOk);
        EXPECT_EQ(st.inode, n.inode);
        EXPECT_EQ(st.generation, n.generation);
        EXPECT_EQ(st.size, 20000u);

        // Renamed: the node still reads and writes it.
        ASSERT_EQ(vol->mkdir("d"), kOk);
        ASSERT_EQ(vol->rename("a", "d/b"), kOk);
        char buffer[100];
        ASSERT_EQ(vol->read(n, 100, buffer, 100), 100);
        EXPECT_EQ(std::string(buffer, 100), data.substr(100, 100));
        ASSERT_EQ(vol->write(n, 20000, "tail", 4), 4);
        EXPECT_EQ(read_all("d/b"), data + "tail");

        // Unlinked while held: an orphan, still there by node.
        g_held.insert(n.inode);
        ASSERT_EQ(vol->unlink("d/b"), kOk);
        EXPECT_EQ(vol->stat("d/b", &st), kErrNotFound);
        ASSERT_EQ(vol->stat(n, &st), kOk);
        EXPECT_EQ(st.links, 0u);
        ASSERT_EQ(vol->truncate(n, 10000), kOk);
        ASSERT_EQ(vol->read(n, 9990, buffer, 100), 10);
        ext2::Node listed[4];
        ASSERT_EQ(vol->orphans(listed, 4), 1);
        EXPECT_EQ(listed[0].inode, n.inode);
        EXPECT_EQ(listed[0].generation, n.generation);
        ASSERT_EQ(vol->set_times(n, 1000, 2000), kOk);
        ASSERT_EQ(vol->stat(n, &st), kOk);
        EXPECT_EQ(st.mtime, 2000u);

        // A second orphan, by a rename over a held file; released in the
        // other order, so one leaves the middle of the list.
        ASSERT_EQ(vol->create("c", true), kOk);
        ASSERT_EQ(vol->create("e", true), kOk);
        ext2::Node c;
        ASSERT_EQ(vol->node("c", &c), kOk);
        g_held.insert(c.inode);
        ASSERT_EQ(vol->rename("e", "c"), kOk);
        ASSERT_EQ(vol->orphans(listed, 4), 2);
        // What a crash would leave: the list survives a mount.
        mount();
        vol->set_holder(held);
        ASSERT_EQ(vol->orphans(listed, 4), 2);
        ASSERT_EQ(vol->release(n), kOk);
        ASSERT_EQ(vol->orphans(listed, 4), 1);
        EXPECT_EQ(listed[0].inode, c.inode);
        EXPECT_EQ(vol->stat(n, &st), kErrNotFound);  // freed: stale
        ASSERT_EQ(vol->release(c), kOk);
        ASSERT_EQ(vol->orphans(listed, 4), 0);
        EXPECT_EQ(vol->release(c), kOk);  // twice: nothing to do

        // A file with a name is not freed by a release.
        ext2::Node e;
        ASSERT_EQ(vol->node("c", &e), kOk);
        ASSERT_EQ(vol->release(e), kOk);
        ASSERT_EQ(vol->stat("c", &st), kOk);

        // The freed inode used again is a new generation: the old node is stale.
        g_held.clear();
        ASSERT_EQ(vol->create("again", true), kOk);
        ext2::Node again;
        ASSERT_EQ(vol->node("again", &again), kOk);
        if (again.inode == n.inode) {
            EXPECT_NE(again.generation, n.generation);
        }
        EXPECT_EQ(vol->read(n, 0, buffer, 1), kErrNotFound);
        ext2::Node bogus[] = {{0, 0}, {1, 0}, {1u << 30, 0}, {again.inode, again.generation + 1}};
        for (ext2::Node b : bogus) EXPECT_EQ(vol->stat(b, &st), kErrNotFound) << b.inode;
        ASSERT_EQ(vol->unlink("again"), kOk);
        ASSERT_EQ(vol->unlink("c"), kOk);
        ASSERT_EQ(vol->rmdir("d"), kOk);
        ext2::FsStat after;
        ASSERT_EQ(vol->statfs(&after), kOk);
        EXPECT_EQ(after.free_inodes, before.free_inodes);
        EXPECT_EQ(after.free_blocks, before.free_blocks);
        expect_fsck_clean();
    }
}

// An orphan left by a crash is what e2fsck expects: it frees it (and
// finds nothing else to fix).
TEST_F(Ext2, OrphanLeftForE2fsck) {
    make("-j");
    mount();
    vol->set_holder([](uint32_t) { return true; });
    ASSERT_EQ(vol->create("tmp", true), kOk);
    ASSERT_EQ(put("tmp", pattern(50000, 6)), 50000);
    ASSERT_EQ(vol->unlink("tmp"), kOk);
    ext2::Node listed[2];
    ASSERT_EQ(vol->orphans(listed, 2), 1);
    unmount();
    Shell r = run("/usr/sbin/e2fsck -fy " + img + " 2>&1");
    EXPECT_LE(r.status, 1) << r.out;
    expect_fsck_clean();
    mount();
    EXPECT_EQ(vol->orphans(listed, 2), 0);
}

// Older or slimmer formats: revision 0, no filetype, small inodes, and a
// file that needs triple indirect blocks and the large_file feature.
TEST_F(Ext2, OtherFormats) {
    for (const char* options : {"-r 0 -b 1024", "-O ^filetype -b 2048",
                                "-O ^large_file,^dir_index,^resize_inode -I 128 -b 1024"}) {
        SCOPED_TRACE(options);
        write_file(src / "old", "from mkfs");
        make(options);
        mount();
        EXPECT_EQ(read_all("old"), "from mkfs");
        ASSERT_EQ(vol->mkdir("d"), kOk);
        ASSERT_EQ(vol->create("d/f", true), kOk);
        ASSERT_EQ(put("d/f", pattern(30000, 1)), 30000);
        ASSERT_EQ(vol->rename("old", "d/old"), kOk);
        ext2::DirEntry e;
        std::map<std::string, uint32_t> types;
        for (uint32_t i = 0; vol->readdir("d", i, &e) == kOk; ++i) types[e.name] = e.type;
        EXPECT_EQ(types, (std::map<std::string, uint32_t>{{"f", ext2::kFile}, {"old", ext2::kFile}}));
        ASSERT_EQ(vol->mkdir("d/sub"), kOk);
        ASSERT_EQ(vol->readdir("d", 2, &e), kOk);
        // Past 2 GiB: triple indirect with 1 KiB blocks; revision 0 cannot.
        int64_t r = put("d/f", "far", 3ull << 30);
        if (std::string(options).find("-r 0") != std::string::npos) {
            EXPECT_EQ(r, kErrOutOfRange);
        } else {
            ASSERT_EQ(r, 3);
            char buf[3];
            EXPECT_EQ(vol->read("d/f", 3ull << 30, buf, 3), 3);
            EXPECT_EQ(std::string(buf, 3), "far");
            expect_fsck_clean();
            EXPECT_NE(run("/usr/sbin/dumpe2fs -h " + img + " 2>/dev/null").out.find("large_file"),
                      std::string::npos);
            ASSERT_EQ(vol->truncate("d/f", 100), kOk);
        }
        ASSERT_EQ(vol->unlink("d/old"), kOk);
        expect_fsck_clean();
        EXPECT_TRUE(debugfs("cat /d/f") == pattern(30000, 1).substr(0, r == 3 ? 100 : 30000));
        unmount();
        fs::remove_all(src);
        fs::create_directories(src);
    }
}

// --- 5. Bad input ---------------------------------------------------------------------

TEST_F(Ext2, RefusesBadSuperblocks) {
    make("-b 1024");
    auto copy = [&] { fs::copy_file(img, img + ".orig", fs::copy_options::overwrite_existing); };
    auto restore = [&] { fs::copy_file(img + ".orig", img, fs::copy_options::overwrite_existing); };
    copy();
    struct Case {
        uint32_t offset, value;
        int64_t expect;
    } cases[] = {
        {1024 + 56, 0x1234, kErrCorrupt},        // magic (and the state after it)
        {1024 + 24, 5, kErrUnsupported},          // 32 KiB blocks
        {1024 + 32, 0, kErrCorrupt},              // blocks per group
        {1024 + 32, 1u << 20, kErrCorrupt},
        {1024 + 40, 0, kErrCorrupt},              // inodes per group
        {1024 + 0, 0xFFFFFFFF, kErrCorrupt},      // inodes count
        {1024 + 4, 0xFFFFFFFF, kErrCorrupt},      // blocks count beyond the device
        {1024 + 20, 7, kErrCorrupt},              // first data block
        {1024 + 96, 0x40 | 0x2, kErrUnsupported},  // extents
        {1024 + 76, 9, kErrUnsupported},          // revision
        {1024 + 88, 100, kErrCorrupt},            // inode size
        {2048 + 8, 0xFFFFFF, kErrCorrupt},        // group 0's inode table
    };
    for (const Case& c : cases) {
        restore();
        uint32_t v = c.value;
        uint32_t old = peek32(c.offset);
        if (c.offset == 1024 + 56) v = (old & 0xFFFF0000) | c.value;
        patch32(c.offset, v);
        EXPECT_EQ(try_mount(), c.expect) << c.offset;
        if (c.offset == 1024 + 96) {
            EXPECT_STREQ(ext2::Volume::refusal(), "ext4 feature 'extents' is not supported");
        }
    }
    restore();
    patch32(1024 + 100, peek32(1024 + 100) | 0x100);  // an unknown ro_compat feature
    mount();
    EXPECT_TRUE(vol->read_only());
    EXPECT_EQ(vol->create("x", false), kErrReadOnly);
    ext2::Stat st;
    EXPECT_EQ(vol->stat("lost+found", &st), kOk);
    // A device smaller than its superblock claims.
    restore();
    ASSERT_EQ(truncate(img.c_str(), 4 * 1024 * 1024), 0);
    EXPECT_EQ(try_mount(), kErrCorrupt);
    ASSERT_EQ(truncate(img.c_str(), 1024), 0);
    EXPECT_EQ(try_mount(), kErrCorrupt);
}

// Block number of `path`'s inode field, via debugfs.
uint32_t field_of(const std::string& out, const std::string& key) {
    size_t at = out.find(key);
    if (at == std::string::npos) return 0;
    return static_cast<uint32_t>(strtoul(out.c_str() + at + key.size(), nullptr, 10));
}

TEST_F(Ext2, SurvivesCorruptMetadata) {
    write_file(src / "dir/a", "aaa");
    write_file(src / "dir/b", "bbb");
    write_file(src / "ok", "fine");
    write_file(src / "big", pattern(40 * 1024, 1));
    write_file(src / "far", pattern(20 * 1024, 2));
    make("-b 1024");
    // Garbage in a directory block.
    uint32_t dir_block = field_of(debugfs("stat /dir"), "(0):");
    ASSERT_NE(dir_block, 0u);
    std::string junk(1024, '\xAB');
    patch(uint64_t{dir_block} * 1024, junk.data(), junk.size());
    // An indirect block full of garbage.
    uint32_t ind = field_of(debugfs("stat /big"), "(IND):");
    ASSERT_NE(ind, 0u);
    std::string garbage = pattern(1024, 77);
    patch(uint64_t{ind} * 1024, garbage.data(), garbage.size());
    // A direct block number out of range.
    run("/usr/sbin/debugfs -w -R 'sif /far block[3] 99999999' " + img + " 2>&1");
    mount();
    ext2::Stat st;
    ext2::DirEntry e;
    char buf[64 * 1024];
    EXPECT_EQ(vol->stat("dir/a", &st), kErrCorrupt);
    EXPECT_EQ(vol->readdir("dir", 0, &e), kErrCorrupt);
    EXPECT_EQ(vol->create("dir/c", false), kErrCorrupt);
    EXPECT_EQ(vol->rmdir("dir"), kErrCorrupt);
    EXPECT_LT(vol->read("far", 0, buf, sizeof buf), static_cast<int64_t>(sizeof buf));
    EXPECT_EQ(vol->read("far", 3 * 1024, buf, 10), kErrCorrupt);
    vol->read("big", 0, buf, sizeof buf);
    EXPECT_LT(vol->truncate("big", 0), 0);
    EXPECT_LT(vol->unlink("far"), 0);
    // The rest still works.
    EXPECT_EQ(read_all("ok"), "fine");
    ASSERT_EQ(vol->create("new", true), kOk);
    ASSERT_EQ(put("new", "still writable"), 14);
    EXPECT_EQ(read_all("new"), "still writable");
}

TEST_F(Ext2, BoundsDirectoryLoops) {
    write_file(src / "a/b/file", "x");
    make("-b 1024");
    run("/usr/sbin/debugfs -w -R 'ln /a /a/b/up' " + img + " 2>&1");
    run("/usr/sbin/debugfs -w -R 'ln /a/b /a/b/self' " + img + " 2>&1");
    mount();
    std::string deep = "a/b/";
    while (deep.size() < 4000) deep += "up/b/self/";
    ext2::Stat st;
    EXPECT_EQ(vol->stat((deep + "file").c_str(), &st), kOk);
    deep += std::string(200, 'x');
    EXPECT_EQ(vol->stat(deep.c_str(), &st), kErrNameTooLong);
    EXPECT_EQ(vol->rename("a", "a/b/up/b/z"), kErrInvalidArgument);
    // An entry naming a reserved inode (7: the resize inode) frees nothing.
    unmount();
    run("/usr/sbin/debugfs -w -R 'ln <7> /resize' " + img + " 2>&1");
    mount();
    ext2::FsStat before, after;
    ASSERT_EQ(vol->statfs(&before), kOk);
    EXPECT_EQ(vol->unlink("resize"), kErrCorrupt);
    EXPECT_EQ(vol->rename("a/b/file", "resize"), kErrCorrupt);
    EXPECT_EQ(vol->rename("resize", "elsewhere"), kErrCorrupt);
    ASSERT_EQ(vol->statfs(&after), kOk);
    EXPECT_EQ(after.free_blocks, before.free_blocks);
    EXPECT_EQ(vol->rename("a/b", "a/b/self/z"), kErrInvalidArgument);
}

TEST_F(Ext2, SurvivesRandomInodeTables) {
    for (int i = 0; i < 30; ++i) write_file(src / ("f" + std::to_string(i)), pattern(i * 3000, i));
    for (int i = 0; i < 5; ++i) write_file(src / ("d" + std::to_string(i)) / "x", "x");
    make("-b 1024");
    fs::copy_file(img, img + ".orig");
    uint32_t table = peek32(2048 + 8);
    for (uint32_t seed = 1; seed <= 16; ++seed) {
        fs::copy_file(img + ".orig", img, fs::copy_options::overwrite_existing);
        // Leave the root (inode 2) alone in half the runs.
        std::mt19937 rng(seed);
        uint32_t skip = seed % 2 ? 2 * 128 : 0;
        std::string noise = pattern(40 * 128, seed * 31);
        for (size_t i = 0; i < noise.size(); ++i)
            if (rng() % 3) noise[i] = static_cast<char>(rng());
        patch(uint64_t{table} * 1024 + skip, noise.data(), noise.size() - skip);
        if (try_mount() != kOk) continue;
        std::vector<char> buf(100000);
        ext2::DirEntry e;
        ext2::Stat st;
        std::vector<std::string> names;
        for (uint32_t i = 0; i < 64 && vol->readdir("", i, &e) == kOk; ++i) names.push_back(e.name);
        for (int i = 0; i < 35; ++i) names.push_back(i < 30 ? "f" + std::to_string(i) : "d" + std::to_string(i - 30));
        for (const std::string& n : names) {
            const char* p = n.c_str();
            vol->stat(p, &st);
            vol->read(p, 0, buf.data(), static_cast<uint32_t>(buf.size()));
            vol->read(p, 1ull << 33, buf.data(), 100);
            vol->readdir(p, 0, &e);
            vol->write(p, 5000, "abc", 3);
            vol->truncate(p, 100);
            vol->rename(p, (n + ".r").c_str());
            vol->unlink((n + ".r").c_str());
            vol->rmdir((n + ".r").c_str());
        }
        vol->create("fresh", false);
        vol->write("fresh", 0, buf.data(), 5000);
        vol->mkdir("freshdir");
    }
}

TEST_F(Ext2, ReportsDeviceErrors) {
    make("-b 1024");
    mount();
    ASSERT_EQ(vol->create("f", false), kOk);
    dev->fail_writes_after = dev->writes;
    std::string data = pattern(100000, 1);
    EXPECT_EQ(put("f", data), kErrIo);
    EXPECT_EQ(vol->mkdir("d"), kErrIo);
    ext2::Stat st;
    EXPECT_EQ(vol->stat("lost+found", &st), kOk);
}

// --- 6. Random operations against a model ---------------------------------------

struct Model {
    std::map<std::string, std::string> files;
    std::set<std::string> dirs{""};
    bool exists(const std::string& p) const { return files.count(p) || dirs.count(p); }
    bool has_children(const std::string& d) const {
        std::string prefix = d + "/";
        for (auto& [f, _] : files)
            if (f.rfind(prefix, 0) == 0) return true;
        for (auto& x : dirs)
            if (x.rfind(prefix, 0) == 0) return true;
        return false;
    }
};

std::string join(const std::string& dir, const std::string& name) {
    return dir.empty() ? name : dir + "/" + name;
}

void random_ops(ext2::Volume* vol, Model& m, std::mt19937& rng, int count,
                const std::function<void()>& check) {
    const char* names[] = {"a", "b", "c", "d", "long-name-e", "f"};
    auto pick_dir = [&] {
        auto it = m.dirs.begin();
        std::advance(it, rng() % m.dirs.size());
        return *it;
    };
    auto pick_path = [&] { return join(pick_dir(), names[rng() % 6]); };
    for (int step = 0; step < count; ++step) {
        std::string p = pick_path();
        const char* c = p.c_str();
        int op = static_cast<int>(rng() % 10);
        SCOPED_TRACE("step " + std::to_string(step) + " op " + std::to_string(op) + " " + p);
        if (op <= 1) {
            int64_t want = m.dirs.count(p) ? kErrIsDirectory : kOk;
            ASSERT_EQ(vol->create(c, false), want);
            if (want == kOk && !m.files.count(p)) m.files[p] = "";
        } else if (op <= 4) {
            if (!m.files.count(p)) {
                ASSERT_EQ(vol->write(c, 0, "x", 1), m.dirs.count(p) ? kErrIsDirectory : kErrNotFound);
                continue;
            }
            std::string& f = m.files[p];
            uint64_t off = rng() % (f.size() + 3000);
            size_t len = rng() % 10 == 0 ? 70000 + rng() % 70000 : rng() % 9000;
            std::string data = pattern(len, rng());
            ASSERT_EQ(vol->write(c, off, data.data(), static_cast<uint32_t>(len)),
                      static_cast<int64_t>(len));
            if (f.size() < off + len) f.resize(off + len, '\0');
            f.replace(off, len, data);
        } else if (op == 5) {
            if (!m.files.count(p)) continue;
            size_t size = rng() % 4 == 0 ? rng() % 300000 : rng() % 20000;
            ASSERT_EQ(vol->truncate(c, size), kOk);
            m.files[p].resize(size, '\0');
        } else if (op == 6) {
            int64_t want = m.files.count(p) ? kOk : m.dirs.count(p) ? kErrIsDirectory : kErrNotFound;
            ASSERT_EQ(vol->unlink(c), want);
            m.files.erase(p);
        } else if (op == 7) {
            int64_t want = m.exists(p) ? kErrAlreadyExists : kOk;
            ASSERT_EQ(vol->mkdir(c), want);
            if (want == kOk) m.dirs.insert(p);
        } else if (op == 8) {
            int64_t want = m.dirs.count(p) ? (m.has_children(p) ? kErrNotEmpty : kOk)
                           : m.files.count(p) ? kErrNotDirectory : kErrNotFound;
            ASSERT_EQ(vol->rmdir(c), want);
            if (want == kOk) m.dirs.erase(p);
        } else {
            // Rename an existing entry most of the time.
            std::string from = p;
            if (rng() % 4) {
                std::vector<std::string> all;
                for (auto& [f, _] : m.files) all.push_back(f);
                for (auto& d : m.dirs)
                    if (!d.empty()) all.push_back(d);
                if (all.empty()) continue;
                from = all[rng() % all.size()];
            }
            std::string to = pick_path();
            bool from_dir = m.dirs.count(from);
            int64_t want;
            if (!m.exists(from)) want = kErrNotFound;
            else if (from == to) want = kOk;
            else if (from_dir && (to.rfind(from + "/", 0) == 0)) want = kErrInvalidArgument;
            else if (m.files.count(to)) want = from_dir ? kErrNotDirectory : kOk;
            else if (m.dirs.count(to)) want = !from_dir ? kErrIsDirectory : m.has_children(to) ? kErrNotEmpty : kOk;
            else want = kOk;
            ASSERT_EQ(vol->rename(from.c_str(), to.c_str()), want) << from << " -> " << to;
            if (want != kOk || from == to) continue;
            if (!from_dir) {
                std::string data = m.files[from];
                m.files.erase(from);
                m.files[to] = data;
            } else {
                m.dirs.erase(to);
                Model next;
                next.dirs.clear();
                auto moved = [&](const std::string& x) {
                    if (x == from) return to;
                    if (x.rfind(from + "/", 0) == 0) return to + x.substr(from.size());
                    return x;
                };
                for (auto& [f, d] : m.files) next.files[moved(f)] = d;
                for (auto& d : m.dirs) next.dirs.insert(moved(d));
                m = next;
            }
        }
        if (step % 100 == 99) check();
    }
}

TEST_F(Ext2, RandomOperationsMatchModel) {
    for (uint32_t seed = 1; seed <= 6; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        make(seed % 3 == 2 ? "-b 4096" : seed % 3 == 1 ? "-b 1024" : "-b 2048 -O ^filetype", "16M");
        mount();
        Model m;
        std::mt19937 rng(seed);
        random_ops(vol, m, rng, 300, [&] { expect_fsck_clean(); });
        if (HasFatalFailure()) return;
        EXPECT_GT(m.files.size(), 3u);
        for (auto& [f, data] : m.files) EXPECT_TRUE(read_all(f.c_str()) == data) << f;
        for (auto& d : m.dirs) {
            std::vector<std::string> want;
            std::string prefix = d.empty() ? "" : d + "/";
            for (auto& [f, _] : m.files)
                if (f.rfind(prefix, 0) == 0 && f.find('/', prefix.size()) == std::string::npos)
                    want.push_back(f.substr(prefix.size()));
            for (auto& x : m.dirs)
                if (!x.empty() && x.rfind(prefix, 0) == 0 &&
                    x.find('/', prefix.size()) == std::string::npos)
                    want.push_back(x.substr(prefix.size()));
            if (d.empty()) want.push_back("lost+found");
            std::sort(want.begin(), want.end());
            EXPECT_EQ(list(d.c_str()), want) << d;
        }
        expect_fsck_clean();
        fs::path out = dir / "rdump";
        fs::remove_all(out);
        fs::create_directories(out);
        run("/usr/sbin/debugfs -R 'rdump / " + out.string() + "' " + img + " >/dev/null 2>&1");
        for (auto& [f, data] : m.files) {
            std::ifstream in(out / f, std::ios::binary);
            std::stringstream ss;
            ss << in.rdbuf();
            EXPECT_TRUE(ss.str() == data) << f;
        }
    }
}

}  // namespace

// A listing by cursors reads each directory block once (issue 15, item 8:
// `ls` by index rescanned the directory for every entry, quadratic).
// Names looked up are remembered (a second lookup in a large directory
// scans nothing), and every change of a directory's entries is seen: an
// unlink, a create of a name that was missing, renames over and away,
// a directory removed and made again under the same name.
TEST_F(Ext2, NameCacheFollowsEveryChange) {
    for (int i = 0; i < 400; ++i) write_file(src / "bin" / ("applet-" + std::to_string(i)), "x");
    make("-b 4096", "16M");
    mount();
    ext2::Stat st, again;
    ASSERT_EQ(vol->stat("bin/applet-399", &st), kOk);
    uint64_t before = vol->block_visits();
    ASSERT_EQ(vol->stat("bin/applet-399", &again), kOk);
    EXPECT_EQ(again.inode, st.inode);
    EXPECT_LE(vol->block_visits() - before, 2u);  // the inode's table block; no directory block
    EXPECT_EQ(vol->stat("bin/missing", &st), kErrNotFound);
    EXPECT_EQ(vol->stat("bin/missing", &st), kErrNotFound);  // remembered as missing
    ASSERT_EQ(vol->create("bin/missing", true), kOk);
    EXPECT_EQ(vol->stat("bin/missing", &st), kOk);
    ASSERT_EQ(vol->unlink("bin/applet-399"), kOk);
    EXPECT_EQ(vol->stat("bin/applet-399", &st), kErrNotFound);
    ext2::Stat a, b;
    ASSERT_EQ(vol->stat("bin/applet-1", &a), kOk);
    ASSERT_EQ(vol->stat("bin/applet-2", &b), kOk);
    ASSERT_EQ(vol->rename("bin/applet-1", "bin/applet-2"), kOk);  // over an existing name
    EXPECT_EQ(vol->stat("bin/applet-1", &st), kErrNotFound);
    ASSERT_EQ(vol->stat("bin/applet-2", &st), kOk);
    EXPECT_EQ(st.inode, a.inode);
    ASSERT_EQ(vol->mkdir("d"), kOk);
    ASSERT_EQ(vol->create("d/inside", true), kOk);
    ASSERT_EQ(vol->stat("d/inside", &st), kOk);
    ASSERT_EQ(vol->rename("d", "e"), kOk);
    EXPECT_EQ(vol->stat("d/inside", &st), kErrNotFound);
    EXPECT_EQ(vol->stat("e/inside", &st), kOk);
    ASSERT_EQ(vol->unlink("e/inside"), kOk);
    ASSERT_EQ(vol->rmdir("e"), kOk);
    ASSERT_EQ(vol->mkdir("e"), kOk);  // likely the same inode number
    EXPECT_EQ(vol->stat("e/inside", &st), kErrNotFound);
    mount();  // afresh: what it finds on the disk agrees
    EXPECT_EQ(vol->stat("bin/applet-1", &st), kErrNotFound);
    ASSERT_EQ(vol->stat("bin/applet-2", &st), kOk);
    EXPECT_EQ(st.inode, a.inode);
    EXPECT_EQ(vol->stat("bin/missing", &st), kOk);
    expect_fsck_clean();
}

TEST_F(Ext2, ListingByCursorIsLinear) {
    constexpr int kFiles = 3000;
    for (int i = 0; i < kFiles; ++i) write_file(src / "many" / ("file-number-" + std::to_string(i)), "x");
    make("-b 4096", "32M");
    mount();
    std::set<std::string> seen;
    ext2::DirEntry e;
    ext2::Stat st;
    uint64_t before = vol->block_visits();
    for (uint64_t cursor = 0, next = 0; vol->readdir_from("many", cursor, &e, &next) == kOk; cursor = next) {
        EXPECT_TRUE(seen.insert(e.name).second) << e.name;
        EXPECT_EQ(vol->stat_entry(e, &st), kOk);
        EXPECT_EQ(st.size, 1u);
    }
    uint64_t by_cursor = vol->block_visits() - before;
    EXPECT_EQ(seen.size(), static_cast<size_t>(kFiles));
    EXPECT_LT(by_cursor, 6u * kFiles);  // the path, one block, one inode-table block an entry
    // The old way, by index, for contrast: the same bound fails by far.
    before = vol->block_visits();
    for (uint32_t i = 0; i < kFiles && vol->readdir("many", i, &e) == kOk; ++i) {
    }
    EXPECT_GT(vol->block_visits() - before, 6u * kFiles);
    // A cursor past the end, or in the middle of a record, is no error.
    uint64_t next = 0;
    EXPECT_EQ(vol->readdir_from("many", ~0ULL, &e, &next), kErrNotFound);
    EXPECT_EQ(vol->readdir_from("many", 5, &e, &next), kOk);
}
