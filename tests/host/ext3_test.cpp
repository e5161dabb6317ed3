// The ext3 journal of lib/ext2, against e2fsprogs: what the library logs,
// e2fsck replays; what debugfs logs, the library replays; and power cuts at
// every write and flush of a workload, and with the writes after the last
// flush reordered or torn, leave an image that the library's replay and
// e2fsck's each make consistent, with every acknowledged operation in it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "ext2/volume.h"
#include "host_shell.h"
#include "mica/errors.h"

namespace fs = std::filesystem;
using namespace mica;
using host::pattern, host::run, host::Shell;

namespace {

std::vector<uint8_t> load(const std::string& path) {
    std::vector<uint8_t> bytes(fs::file_size(path));
    std::ifstream(path, std::ios::binary).read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return bytes;
}

void store(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// A disk in memory that keeps every write and flush in order.
struct Event {
    bool flush;
    uint64_t sector;
    std::vector<uint8_t> data;
};

class MemoryDisk : public ext2::BlockDevice {
public:
    explicit MemoryDisk(std::vector<uint8_t> bytes) : disk(std::move(bytes)) {}
    int64_t read(uint64_t sector, uint32_t count, void* buffer) override {
        if ((sector + count) * 512 > disk.size()) return kErrOutOfRange;
        memcpy(buffer, disk.data() + sector * 512, size_t{count} * 512);
        return kOk;
    }
    int64_t write(uint64_t sector, uint32_t count, const void* buffer) override {
        if ((sector + count) * 512 > disk.size()) return kErrOutOfRange;
        auto* b = static_cast<const uint8_t*>(buffer);
        memcpy(disk.data() + sector * 512, b, size_t{count} * 512);
        if (recording) events.push_back({false, sector, std::vector<uint8_t>(b, b + size_t{count} * 512)});
        return kOk;
    }
    int64_t flush() override {
        if (recording) events.push_back({true, 0, {}});
        ++flushes;
        return kOk;
    }
    uint64_t sector_count() const override { return disk.size() / 512; }

    std::vector<uint8_t> disk;
    std::vector<Event> events;
    bool recording = false;
    int flushes = 0;
};

// The whole tree as the library sees it: path -> contents ("/" ends a directory).
using Tree = std::map<std::string, std::string>;

void dump(ext2::Volume* v, const std::string& dir, Tree& out) {
    uint64_t cursor = 0, next;
    ext2::DirEntry e;
    while (v->readdir_from(dir.c_str(), cursor, &e, &next) == kOk) {
        cursor = next;
        std::string name = e.name;
        if (name == "." || name == ".." || name == "lost+found") continue;
        std::string path = dir + "/" + name;
        if (e.type == ext2::kDirectory) {
            out[path + "/"] = "";
            dump(v, path, out);
            continue;
        }
        ext2::Stat st;
        if (v->stat(path.c_str(), &st) != kOk) {
            out[path] = "<stat failed>";
            continue;
        }
        std::string data(st.size, '\0');
        for (uint64_t done = 0; done < st.size;) {
            int64_t n = v->read(path.c_str(), done, data.data() + done,
                                static_cast<uint32_t>(std::min<uint64_t>(st.size - done, 1 << 20)));
            if (n <= 0) {
                data = "<read failed>";
                break;
            }
            done += static_cast<uint64_t>(n);
        }
        out[path] = data;
    }
}

class Ext3 : public ::testing::Test {
protected:
    void SetUp() override {
        // In memory where there is a tmpfs: a power-cut walk writes each
        // crash image out three times.
        char tmpl[] = "/dev/shm/ext3testXXXXXX", fallback[] = "/tmp/ext3testXXXXXX";
        char* made = mkdtemp(tmpl);
        if (!made) made = mkdtemp(fallback);
        ASSERT_NE(made, nullptr);
        dir = made;
        img = (dir / "fs.img").string();
    }
    void TearDown() override { fs::remove_all(dir); }

    void make(const std::string& options = "-b 4096", const std::string& size = "8M") {
        Shell r = run("/usr/sbin/mke2fs -q -F -t ext3 " + options + " " + img + " " + size + " 2>&1");
        ASSERT_EQ(r.status, 0) << r.out;
    }
    Shell fsck(const std::string& image, const std::string& mode = "-fn") {
        return run("/usr/sbin/e2fsck " + mode + " " + image + " 2>&1");
    }
    // The journal superblock's byte offset in the image.
    uint64_t journal_super_offset(uint32_t block_size) {
        std::string out = run("/usr/sbin/debugfs -R 'bmap <8> 0' " + img + " 2>/dev/null").out;
        return std::stoull(out) * block_size;
    }

    fs::path dir;
    std::string img;
};

// --- what the library logs, e2fsprogs reads ----------------------------------------------

TEST_F(Ext3, CheckpointedImageIsClean) {
    for (const char* bs : {"-b 1024", "-b 4096"}) {
        make(bs);
        MemoryDisk disk(load(img));
        ext2::Volume* v;
        ASSERT_EQ(ext2::Volume::mount(&disk, &v), kOk) << ext2::Volume::refusal();
        EXPECT_TRUE(v->journaled());
        ASSERT_EQ(v->mkdir("d"), kOk);
        ASSERT_EQ(v->create("d/f", true), kOk);
        std::string data = pattern(300000, 1);
        ASSERT_EQ(v->write("d/f", 0, data.data(), static_cast<uint32_t>(data.size())), 300000);
        ASSERT_EQ(v->rename("d/f", "g"), kOk);
        ASSERT_EQ(v->truncate("g", 5000), kOk);
        ASSERT_EQ(v->checkpoint(), kOk);
        store(img, disk.disk);
        Shell r = fsck(img);
        EXPECT_EQ(r.status, 0) << bs << "\n" << r.out;
        EXPECT_EQ(run("/usr/sbin/dumpe2fs -h " + img + " 2>/dev/null | grep -c needs_recovery").out, "0\n");
        delete v;
    }
}

TEST_F(Ext3, E2fsckReplaysWhatTheLibraryLogged) {
    make();
    MemoryDisk disk(load(img));
    ext2::Volume* v;
    ASSERT_EQ(ext2::Volume::mount(&disk, &v), kOk);
    ASSERT_EQ(v->create("kept", true), kOk);
    std::string data = pattern(20000, 2);
    ASSERT_EQ(v->write("kept", 0, data.data(), 20000), 20000);
    ASSERT_EQ(v->mkdir("dir"), kOk);
    // A power cut now: the log is not empty, and the blocks written in place
    // after the last commit are lost. Drop every in-place write since each
    // commit's final flush, keeping the journal.
    std::vector<uint8_t> cut = load(img);
    // Re-run on a recording disk to know which writes followed the last flush.
    MemoryDisk rec(load(img));
    rec.recording = true;
    ext2::Volume* w;
    ASSERT_EQ(ext2::Volume::mount(&rec, &w), kOk);
    ASSERT_EQ(w->create("kept", true), kOk);
    ASSERT_EQ(w->write("kept", 0, data.data(), 20000), 20000);
    ASSERT_EQ(w->mkdir("dir"), kOk);
    size_t last_flush = 0;
    for (size_t i = 0; i < rec.events.size(); ++i)
        if (rec.events[i].flush) last_flush = i;
    for (size_t i = 0; i < last_flush; ++i)
        if (!rec.events[i].flush)
            memcpy(cut.data() + rec.events[i].sector * 512, rec.events[i].data.data(), rec.events[i].data.size());
    std::string crashed = (dir / "crashed.img").string();
    store(crashed, cut);
    EXPECT_EQ(run("/usr/sbin/dumpe2fs -h " + crashed + " 2>/dev/null | grep -c needs_recovery").out, "1\n");
    Shell r = fsck(crashed, "-fy");
    EXPECT_LE(r.status, 1) << r.out;
    r = fsck(crashed);
    EXPECT_EQ(r.status, 0) << r.out;
    MemoryDisk after(load(crashed));
    ext2::Volume* x;
    ASSERT_EQ(ext2::Volume::mount(&after, &x), kOk);
    Tree t;
    dump(x, "", t);
    EXPECT_EQ(t["/kept"], data);
    EXPECT_EQ(t.count("/dir/"), 1u);
    delete x;
    delete w;
    delete v;
}

// --- what debugfs logs, the library replays ---------------------------------------------

TEST_F(Ext3, ReplaysWhatDebugfsLogged) {
    make();
    std::string blk = (dir / "blk").string(), revoked = (dir / "revoked").string();
    std::string block = pattern(4096, 3), other = pattern(4096, 4);
    std::ofstream(blk, std::ios::binary) << block;
    std::ofstream(revoked, std::ios::binary) << other;
    // Block 1900 is free space; 1901 is logged and then revoked by a later
    // transaction, so a replay must leave it as it is.
    Shell r = run("printf 'jo\\njw -b 1900 " + blk + "\\njc\\njo\\njw -b 1901 " + revoked +
                  "\\njc\\njo\\njw -r 1901\\njc\\n' | /usr/sbin/debugfs -w -f - " + img + " 2>&1");
    ASSERT_EQ(r.status, 0) << r.out;
    std::vector<uint8_t> before = load(img);
    MemoryDisk disk(before);
    ext2::Volume* v;
    ASSERT_EQ(ext2::Volume::mount(&disk, &v), kOk) << ext2::Volume::refusal();
    EXPECT_EQ(std::string(reinterpret_cast<char*>(disk.disk.data()) + 1900 * 4096, 4096), block);
    EXPECT_EQ(memcmp(disk.disk.data() + 1901 * 4096, before.data() + 1901 * 4096, 4096), 0);
    delete v;
    store(img, disk.disk);
    r = fsck(img);
    EXPECT_EQ(r.status, 0) << r.out;  // recovered, and the flag cleared
}

TEST_F(Ext3, RefusesJournalFeaturesByName) {
    make();
    uint64_t jsb = journal_super_offset(4096);
    std::vector<uint8_t> bytes = load(img);
    bytes[jsb + 40 + 3] |= 0x10;  // s_feature_incompat, big-endian: csum v3
    MemoryDisk disk(bytes);
    ext2::Volume* v = nullptr;
    EXPECT_EQ(ext2::Volume::mount(&disk, &v), kErrUnsupported);
    EXPECT_STREQ(ext2::Volume::refusal(), "journal feature 'journal_checksum_v3' is not supported");
    bytes[jsb + 40 + 3] &= ~0x10;
    bytes[jsb + 36 + 3] |= 0x1;  // s_feature_compat: checksum v1
    MemoryDisk disk2(bytes);
    EXPECT_EQ(ext2::Volume::mount(&disk2, &v), kErrUnsupported);
    EXPECT_STREQ(ext2::Volume::refusal(), "journal feature 'journal_checksum' is not supported");
}

// A damaged journal: with nothing to recover the file system is served
// read-only (not written without its journal); with a recovery pending, it
// cannot be made what was acknowledged, so the mount is refused.
TEST_F(Ext3, DamagedJournalMountsReadOnlyOrIsRefused) {
    make();
    uint64_t jsb = journal_super_offset(4096);
    std::vector<uint8_t> bytes = load(img);
    bytes[jsb + 12] = 0x10;  // a block size of 256 MiB
    MemoryDisk disk(bytes);
    ext2::Volume* v = nullptr;
    ASSERT_EQ(ext2::Volume::mount(&disk, &v), kOk);
    EXPECT_TRUE(v->read_only());
    EXPECT_FALSE(v->journaled());
    EXPECT_STREQ(ext2::Volume::refusal(), "writing with a damaged 'journal' is not supported");
    EXPECT_EQ(v->mkdir("x"), kErrReadOnly);
    delete v;
    bytes[1024 + 96] |= 0x4;  // needs_recovery
    MemoryDisk pending(bytes);
    EXPECT_EQ(ext2::Volume::mount(&pending, &v), kErrCorrupt);
}

// --- power cuts ----------------------------------------------------------------------------

struct Op {
    const char* what;
    std::function<int64_t(ext2::Volume*)> run;
    std::function<void(Tree&)> model;
};

int64_t put(ext2::Volume* v, const char* path, uint64_t offset, const std::string& data) {
    int64_t n = v->write(path, offset, data.data(), static_cast<uint32_t>(data.size()));
    return n == static_cast<int64_t>(data.size()) ? kOk : n < 0 ? n : kErrIo;
}

void model_write(Tree& t, const std::string& path, uint64_t offset, const std::string& data) {
    std::string& s = t[path];
    if (s.size() < offset + data.size()) s.resize(offset + data.size(), '\0');
    s.replace(offset, data.size(), data);
}

std::vector<Op> workload() {
    static const std::string a = pattern(3000, 10), big = pattern(200000, 11), f = pattern(70000, 12),
                             patch = pattern(8192, 13), tail = pattern(5000, 14);
    return {
        {"create /a", [](auto* v) { return v->create("a", true); }, [](Tree& t) { t["/a"] = ""; }},
        {"write /a", [](auto* v) { return put(v, "a", 0, a); }, [](Tree& t) { model_write(t, "/a", 0, a); }},
        {"mkdir /d", [](auto* v) { return v->mkdir("d"); }, [](Tree& t) { t["/d/"] = ""; }},
        {"create /d/big", [](auto* v) { return v->create("d/big", true); }, [](Tree& t) { t["/d/big"] = ""; }},
        {"write /d/big", [](auto* v) { return put(v, "d/big", 0, big); },
         [](Tree& t) { model_write(t, "/d/big", 0, big); }},
        {"rename /a /d/a2", [](auto* v) { return v->rename("a", "d/a2"); },
         [](Tree& t) { t["/d/a2"] = t["/a"], t.erase("/a"); }},
        {"truncate /d/big 5000", [](auto* v) { return v->truncate("d/big", 5000); },
         [](Tree& t) { t["/d/big"].resize(5000); }},
        {"unlink /d/a2", [](auto* v) { return v->unlink("d/a2"); }, [](Tree& t) { t.erase("/d/a2"); }},
        {"mkdir /d/sub", [](auto* v) { return v->mkdir("d/sub"); }, [](Tree& t) { t["/d/sub/"] = ""; }},
        {"create /d/sub/f", [](auto* v) { return v->create("d/sub/f", true); }, [](Tree& t) { t["/d/sub/f"] = ""; }},
        {"write /d/sub/f", [](auto* v) { return put(v, "d/sub/f", 0, f); },
         [](Tree& t) { model_write(t, "/d/sub/f", 0, f); }},
        {"sync", [](auto* v) { return v->sync(); }, [](Tree&) {}},
        {"rename /d/sub /sub2", [](auto* v) { return v->rename("d/sub", "sub2"); },
         [](Tree& t) {
             t["/sub2/"] = "", t["/sub2/f"] = t["/d/sub/f"];
             t.erase("/d/sub/"), t.erase("/d/sub/f");
         }},
        {"overwrite /sub2/f", [](auto* v) { return put(v, "sub2/f", 4096, patch); },
         [](Tree& t) { model_write(t, "/sub2/f", 4096, patch); }},
        {"truncate /sub2/f 100000", [](auto* v) { return v->truncate("sub2/f", 100000); },
         [](Tree& t) { t["/sub2/f"].resize(100000, '\0'); }},
        {"unlink /d/big", [](auto* v) { return v->unlink("d/big"); }, [](Tree& t) { t.erase("/d/big"); }},
        {"rmdir /d", [](auto* v) { return v->rmdir("d"); }, [](Tree& t) { t.erase("/d/"); }},
        {"create /tail", [](auto* v) { return v->create("tail", true); }, [](Tree& t) { t["/tail"] = ""; }},
        {"write /tail", [](auto* v) { return put(v, "tail", 0, tail); },
         [](Tree& t) { model_write(t, "/tail", 0, tail); }},
    };
}

std::string difference(const Tree& got, const Tree& want) {
    std::string out;
    for (const auto& [path, data] : got)
        if (!want.count(path)) out += "\n  extra " + path;
        else if (want.at(path) != data)
            out += "\n  differs " + path + " (" + std::to_string(data.size()) + " bytes, not " +
                   std::to_string(want.at(path).size()) + ")";
    for (const auto& [path, data] : want)
        if (!got.count(path)) out += "\n  missing " + path;
    return out;
}

// How much of the walk to do: all of it with MICA_CRASH_FULL set (./mica
// crash), otherwise every flush point and every third write (the suite's slice).
bool full_walk() { return getenv("MICA_CRASH_FULL") != nullptr; }
uint32_t crash_seed() { return getenv("MICA_CRASH_SEED") ? static_cast<uint32_t>(atol(getenv("MICA_CRASH_SEED"))) : 20261126; }
int crash_samples() { return getenv("MICA_CRASH_STATES") ? atoi(getenv("MICA_CRASH_STATES")) : full_walk() ? 1000 : 40; }

// The tree after the operation in flight, or before it, except that file
// data the operation overwrites in place may be any mix of old and new
// sectors: ordered mode journals metadata, not data (as ext3's default).
bool mixes(const Tree& got, const Tree& before, const Tree& after) {
    if (got == after) return true;
    if (got.size() != before.size()) return false;
    for (const auto& [path, data] : got) {
        if (!before.count(path) || !after.count(path)) return false;
        const std::string &b = before.at(path), &a = after.at(path);
        if (data == b) continue;
        if (data.size() != b.size() || b.size() != a.size()) return false;
        for (size_t s = 0; s < data.size(); s += 512)
            if (data.compare(s, 512, b, s, 512) != 0 && data.compare(s, 512, a, s, 512) != 0) return false;
    }
    return true;
}

class PowerCut : public Ext3 {
protected:
    // Runs the workload on a recording disk: the events, the models before
    // and after each operation, and where each operation's last flush was.
    void record(const std::string& options) {
        make(options);
        base = load(img);
        MemoryDisk disk(base);
        ext2::Volume* v;
        ASSERT_EQ(ext2::Volume::mount(&disk, &v), kOk) << ext2::Volume::refusal();
        disk.recording = true;
        Tree t;
        models.push_back(t);
        for (const Op& op : workload()) {
            ASSERT_EQ(op.run(v), kOk) << op.what;
            op.model(t);
            models.push_back(t);
            size_t last = 0;
            for (size_t i = 0; i < disk.events.size(); ++i)
                if (disk.events[i].flush) last = i + 1;
            durable.push_back(last);  // the operation's effects are stable once this many events happened
        }
        events = disk.events;
        delete v;
    }

    // Checks one crash image: the library's replay leaves an image e2fsck
    // finds clean, holding every acknowledged operation and at most the one
    // in flight; e2fsck's own replay of the same image gives the same tree.
    // Each problem is counted; the first few of each kind are reported in full.
    void check(const std::vector<uint8_t>& image, size_t prefix, const std::string& name) {
        ++states;
        export_image(image, name);
        size_t acknowledged = 0;
        while (acknowledged < durable.size() && durable[acknowledged] <= prefix) ++acknowledged;
        MemoryDisk disk(image);
        ext2::Volume* v;
        if (ext2::Volume::mount(&disk, &v) != kOk) {
            if (++unmountable <= 3) ADD_FAILURE() << name << ": no mount: " << ext2::Volume::refusal();
            return;
        }
        Tree mica;
        dump(v, "", mica);
        delete v;
        bool ok = mica == models[acknowledged] ||
                  (acknowledged + 1 < models.size() && mixes(mica, models[acknowledged], models[acknowledged + 1]));
        if (!ok && ++lost <= 3)
            ADD_FAILURE() << name << ": the tree is neither after operation " << acknowledged
                          << " nor after the one in flight:" << difference(mica, models[acknowledged]);
        std::string replayed = (dir / "replayed.img").string(), theirs = (dir / "theirs.img").string();
        store(replayed, disk.disk);
        Shell f = fsck(replayed);
        if (f.status != 0 && ++fsck_errors <= 3)
            ADD_FAILURE() << name << " (e2fsck -fn after the library's replay)\n" << f.out;
        store(theirs, image);
        f = fsck(theirs, "-fy");
        Tree e2;
        MemoryDisk other(load(theirs));
        if (f.status <= 1 && ext2::Volume::mount(&other, &v) == kOk) {
            dump(v, "", e2);
            delete v;
        }
        if ((f.status > 1 || e2 != mica) && ++fsck_errors <= 3)
            ADD_FAILURE() << name << ": e2fsck's own replay (exit " << f.status << ") differs from the library's\n"
                          << f.out;
    }
    // With MICA_CRASH_IMAGES=DIR, about one state in MICA_CRASH_EVERY (10)
    // is also written there, as it was at the power cut, for
    // tests/crash_boot.py to boot Mica on.
    void export_image(const std::vector<uint8_t>& image, const std::string& name) {
        const char* to = getenv("MICA_CRASH_IMAGES");
        if (!to) return;
        static std::mt19937 pick(crash_seed());
        int every = getenv("MICA_CRASH_EVERY") ? atoi(getenv("MICA_CRASH_EVERY")) : 10;
        if (every > 1 && pick() % static_cast<unsigned>(every)) return;
        std::string file = name;
        for (char& c : file)
            if (!isalnum(static_cast<unsigned char>(c))) c = '_';
        store((fs::path(to) / (file + ".img")).string(), image);
    }
    void report(const char* what) {
        printf("crash: %zu states, %zu unmountable, %zu e2fsck errors, %zu acknowledged files lost (%s)\n", states,
               unmountable, fsck_errors, lost, what);
    }

    std::vector<uint8_t> apply(size_t prefix) {
        std::vector<uint8_t> image = base;
        for (size_t i = 0; i < prefix; ++i)
            if (!events[i].flush)
                memcpy(image.data() + events[i].sector * 512, events[i].data.data(), events[i].data.size());
        return image;
    }

    std::vector<uint8_t> base;
    std::vector<Event> events;
    std::vector<Tree> models;
    std::vector<size_t> durable;
    size_t states = 0, unmountable = 0, fsck_errors = 0, lost = 0;
};

// Every prefix of the writes, in order: the disk stopped after each one.
TEST_F(PowerCut, EveryWriteAndFlushPoint) {
    for (const char* bs : {"-b 4096", "-b 1024"}) {
        models.clear(), durable.clear();
        states = unmountable = fsck_errors = lost = 0;
        record(bs);
        if (HasFatalFailure()) return;
        for (size_t p = 0; p <= events.size(); ++p) {
            if (p < events.size() && events[p].flush) continue;  // the same state as p + 1
            bool at_flush = p == 0 || events[p - 1].flush;
            if (!full_walk() && !at_flush && p % 3) continue;
            check(apply(p), p, std::string(bs) + " prefix " + std::to_string(p));
        }
        report((std::string("every ") + (full_walk() ? "write" : "flush point and third write") + " in order, " +
                std::to_string(events.size()) + " events, " + bs).c_str());
    }
}

// The writes after a flush reach the disk in any order, or not at all, and a
// multi-sector write may be torn: a seeded sample of subsets, sector by sector.
TEST_F(PowerCut, ReorderedAndTornWritesAfterAFlush) {
    record("-b 4096");
    if (HasFatalFailure()) return;
    std::mt19937 rng(crash_seed());
    std::vector<size_t> flushes;
    for (size_t i = 0; i < events.size(); ++i)
        if (events[i].flush) flushes.push_back(i);
    for (int sample = 0; sample < crash_samples(); ++sample) {
        // Between two flushes (or after the last one): a random subset.
        size_t k = rng() % flushes.size();
        size_t from = flushes[k] + 1, to = k + 1 < flushes.size() ? flushes[k + 1] : events.size();
        std::vector<uint8_t> image = apply(from);
        bool torn = sample % 3 == 0;
        for (size_t i = from; i < to; ++i) {
            const Event& e = events[i];
            // Whole requests, or sector by sector when torn.
            bool whole = rng() % 2;
            for (size_t s = 0; s < e.data.size() / 512; ++s) {
                bool keep = torn ? rng() % 2 : whole;
                if (keep) memcpy(image.data() + (e.sector + s) * 512, e.data.data() + s * 512, 512);
            }
        }
        check(image, from, "subset " + std::to_string(sample) + (torn ? " (torn)" : "") + " after flush " +
                               std::to_string(flushes[k]));
    }
    report(("writes after a flush reordered, lost or torn, seed " + std::to_string(crash_seed())).c_str());
}

}  // namespace
