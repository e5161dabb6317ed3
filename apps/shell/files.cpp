// The shell's file commands, over the file protocol of whichever scheme a
// name is on (file:, initfs:, pci:, ...), and the current directory.
#include "format.h"
#include "mica/strings.h"
#include "proto/ns.h"
#include "shell.h"

using namespace mica;

namespace shell {

namespace {
char g_cwd[proto::fs::kPathMax + 32] = "file:/";
}  // namespace

const char* cwd() { return g_cwd; }

bool resolve(const char* name, Name* out) {
    int64_t e = files::resolve(name, g_cwd, out);
    if (e == kErrNotFound) error("%s: %s: no such file scheme\n", g_command, out->scheme);
    else if (e < 0) error("%s: %s: %s\n", g_command, name, error_name(e));
    return e == kOk;
}

namespace {

// --- protocol helpers (statics: the requests carry up to 32 KiB) -----------------------

using files::stat;

template <class Op>
int64_t on_path(const Name& n) {
    typename Op::Request q{};
    copy_string(q.path, sizeof q.path, n.path);
    typename Op::Reply r;
    return rpc::call<Op>(n.endpoint, q, &r);
}

char g_data[proto::fs::kChunk];

// Reads the next chunk of `n` at `offset` into g_data.
int64_t read_chunk(const Name& n, uint64_t offset) { return files::read(n, offset, g_data, sizeof g_data); }
using files::make_empty;

const char* basename(const char* path) {
    const char* last = path;
    for (const char* p = path; *p; ++p)
        if (*p == '/') last = p + 1;
    return last;
}

// `dst`, or dst/basename(src) when dst is a directory.
bool target(const Name& src, const char* dst_name, Name* dst) {
    if (!resolve(dst_name, dst)) return false;
    proto::fs::Stat::Reply r;
    if (stat(*dst, &r) == kOk && r.type == proto::fs::kDirectory) {
        char joined[sizeof dst->text + proto::fs::kNameMax];
        format_to(joined, sizeof joined, "%s/%s", dst->text, basename(src.path));
        return resolve(joined, dst);
    }
    return true;
}

// The date of a time stamp (seconds since 1970, UTC).
void civil(uint64_t t, unsigned* y, unsigned* mo, unsigned* d, unsigned* h, unsigned* mi) {
    uint64_t days = t / 86400, rest = t % 86400;
    *h = static_cast<unsigned>(rest / 3600), *mi = static_cast<unsigned>(rest / 60 % 60);
    uint64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    *d = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
    *mo = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
    *y = static_cast<unsigned>(yoe + era * 400 + (*mo <= 2));
}

void mode_string(uint32_t type, uint32_t mode, char out[11]) {
    out[0] = type == proto::fs::kDirectory ? 'd' : type == proto::fs::kSymlink ? 'l' : '-';
    const char* rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; ++i) out[1 + i] = mode & (0400u >> i) ? rwx[i] : '-';
    out[10] = '\0';
}

void long_line(const char* name, const proto::fs::Stat::Reply& s) {
    char mode[11];
    mode_string(s.type, s.mode, mode);
    unsigned y, mo, d, h, mi;
    civil(s.mtime, &y, &mo, &d, &h, &mi);
    print("%s %3u %9lu %04u-%02u-%02u %02u:%02u %s%s\n", mode, s.links, s.size, y, mo, d, h, mi, name,
          s.type == proto::fs::kDirectory ? "/" : "");
}

// --- the commands --------------------------------------------------------------------------

void list(const Name& dir, bool long_form) {
    static proto::fs::ReadDir::Request q;
    copy_string(q.path, sizeof q.path, dir.path);
    static proto::fs::ReadDir::Reply r;
    r.next = 0;
    for (q.index = 0;; ++q.index) {
        q.cursor = r.next;  // on from the last entry (0: the first)
        int64_t e = rpc::call<proto::fs::ReadDir>(dir.endpoint, q, &r);
        if (e == kErrNotFound && q.index > 0) break;
        if (e == kErrNotFound) break;  // empty
        if (e != kOk) {
            error("ls: %s: %s\n", dir.text, error_name(e));
            return;
        }
        if (long_form) {
            char joined[sizeof dir.text + proto::fs::kNameMax];
            format_to(joined, sizeof joined, "%s/%s", dir.text, r.name);
            Name entry;
            proto::fs::Stat::Reply s;
            if (resolve(joined, &entry) && stat(entry, &s) == kOk) {
                long_line(r.name, s);
                continue;
            }
        }
        if (r.type == proto::fs::kDirectory) print("%s/\n", r.name);
        else print("%-32s %lu\n", r.name, r.size);
    }
}

void schemes() {
    proto::ns::Schemes::Request q{};
    static proto::ns::Schemes::Reply r;
    if (int64_t e = rpc::call<proto::ns::Schemes>(g_ns, q, &r); e != kOk) {
        error("ls: %s\n", error_name(e));
        return;
    }
    for (uint32_t i = 0; i < r.count; ++i) print("%s:\n", r.names[i]);
}

void ls(int argc, char** argv) {
    bool long_form = false;
    int names = 0;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "-l")) long_form = true;
        else ++names;
    }
    for (int i = names ? 1 : 0; i < argc; ++i) {
        if (i > 0 && !strcmp(argv[i], "-l")) continue;
        const char* arg = i == 0 ? cwd() : argv[i];
        if (!strcmp(arg, ":")) {
            schemes();
            continue;
        }
        Name n;
        if (!resolve(arg, &n)) continue;
        proto::fs::Stat::Reply s;
        int64_t e = stat(n, &s);
        if (e < 0) {
            error("ls: %s: %s\n", n.text, error_name(e));
            continue;
        }
        if (names > 1) print("%s:\n", n.text);
        if (s.type == proto::fs::kDirectory) list(n, long_form);
        else if (long_form) long_line(arg, s);
        else print("%-32s %lu\n", arg, s.size);
    }
}

void cat(int argc, char** argv) {
    if (argc < 2) error("cat: which file?\n");
    for (int i = 1; i < argc; ++i) {
        Name n;
        if (!resolve(argv[i], &n)) continue;
        for (uint64_t offset = 0;;) {
            int64_t got = read_chunk(n, offset);
            if (got < 0) {
                error("cat: %s: %s\n", n.text, error_name(got));
                break;
            }
            if (got == 0) break;
            out(g_data, static_cast<size_t>(got));
            offset += static_cast<uint64_t>(got);
        }
    }
}

// Copies src to dst; false (after a message) on failure.
bool copy(const char* command, const Name& src, const Name& dst) {
    if (src.endpoint == dst.endpoint && !strcmp(src.path, dst.path)) {
        error("%s: %s and %s are the same file\n", command, src.text, dst.text);
        return false;
    }
    proto::fs::Stat::Reply s;
    int64_t e = stat(src, &s);
    if (e == kOk && s.type == proto::fs::kDirectory) e = kErrIsDirectory;
    if (e < 0) {
        error("%s: %s: %s\n", command, src.text, error_name(e));
        return false;
    }
    // A copy that cannot be finished is removed, never left as if it were one.
    auto give_up = [&](const Name& which, int64_t why) {
        bool removed = on_path<proto::fs::Unlink>(dst) == kOk;
        error("%s: %s: %s%s\n", command, which.text, error_name(why),
              removed ? "; the partial copy was removed" : "; the copy is partial");
        return false;
    };
    if ((e = make_empty(dst)) < 0) return give_up(dst, e);
    for (uint64_t offset = 0;;) {
        int64_t got = read_chunk(src, offset);
        if (got < 0) return give_up(src, got);
        if (got == 0) return true;
        if ((e = files::write(dst, offset, g_data, static_cast<uint32_t>(got))) < 0) return give_up(dst, e);
        offset += static_cast<uint64_t>(got);
    }
}

void cp(int argc, char** argv) {
    if (argc != 3) {
        error("usage: cp FROM TO\n");
        return;
    }
    Name src, dst;
    if (resolve(argv[1], &src) && target(src, argv[2], &dst)) copy("cp", src, dst);
}

void mv(int argc, char** argv) {
    if (argc != 3) {
        error("usage: mv FROM TO\n");
        return;
    }
    Name src, dst;
    if (!resolve(argv[1], &src) || !target(src, argv[2], &dst)) return;
    if (src.endpoint == dst.endpoint) {
        proto::fs::Rename::Request q{};
        copy_string(q.from, sizeof q.from, src.path);
        copy_string(q.to, sizeof q.to, dst.path);
        proto::fs::Rename::Reply r;
        if (int64_t e = rpc::call<proto::fs::Rename>(src.endpoint, q, &r); e < 0)
            error("mv: %s -> %s: %s\n", src.text, dst.text, error_name(e));
        return;
    }
    // Across schemes: copy, then remove the original.
    if (copy("mv", src, dst))
        if (int64_t e = on_path<proto::fs::Unlink>(src); e < 0) error("mv: %s: %s\n", src.text, error_name(e));
}

template <class Op>
void each(int argc, char** argv) {
    if (argc < 2) error("%s: which?\n", argv[0]);
    for (int i = 1; i < argc; ++i) {
        Name n;
        if (!resolve(argv[i], &n)) continue;
        if (int64_t e = on_path<Op>(n); e < 0) error("%s: %s: %s\n", argv[0], n.text, error_name(e));
    }
}

void rm(int argc, char** argv) { each<proto::fs::Unlink>(argc, argv); }
void mkdir(int argc, char** argv) { each<proto::fs::Mkdir>(argc, argv); }
void rmdir(int argc, char** argv) { each<proto::fs::Rmdir>(argc, argv); }
void touch(int argc, char** argv) { each<proto::fs::Create>(argc, argv); }

void stat_command(int argc, char** argv) {
    if (argc < 2) error("stat: which file?\n");
    for (int i = 1; i < argc; ++i) {
        Name n;
        if (!resolve(argv[i], &n)) continue;
        proto::fs::Stat::Reply s;
        if (int64_t e = stat(n, &s); e < 0) {
            error("stat: %s: %s\n", n.text, error_name(e));
            continue;
        }
        char mode[11];
        mode_string(s.type, s.mode, mode);
        const char* type = s.type == proto::fs::kDirectory ? "directory" : s.type == proto::fs::kSymlink ? "symlink" : "file";
        print("  name: %s\n  type: %s\n  size: %lu bytes, %lu blocks of 512\n  mode: %s (%04o), links %u, inode %u, "
              "owner %u:%u\n",
              n.text, type, s.size, s.blocks, mode, s.mode & 07777, s.links, s.inode, s.uid, s.gid);
        const struct {
            const char* what;
            uint32_t t;
        } times[] = {{"modified", s.mtime}, {"changed", s.ctime}, {"accessed", s.atime}};
        for (const auto& time : times) {
            unsigned y, mo, d, h, mi;
            civil(time.t, &y, &mo, &d, &h, &mi);
            print("  %s: %04u-%02u-%02u %02u:%02u:%02u UTC\n", time.what, y, mo, d, h, mi, time.t % 60);
        }
    }
}

void write(int argc, char** argv) {
    if (argc < 2) {
        error("usage: write FILE WORDS...\n");
        return;
    }
    Name n;
    if (!resolve(argv[1], &n)) return;
    static char text[proto::fs::kChunk];
    size_t len = 0;
    for (int i = 2; i < argc; ++i)
        len += format_to(text + len, sizeof text - len, "%s%s", argv[i], i + 1 < argc ? " " : "");
    if (len + 1 < sizeof text) text[len++] = '\n';
    int64_t e = make_empty(n);
    if (e == kOk) e = files::write(n, 0, text, static_cast<uint32_t>(len));
    if (e < 0) error("write: %s: %s\n", n.text, error_name(e));
}

void hexdump(int argc, char** argv) {
    if (argc != 2) {
        error("usage: hexdump FILE\n");
        return;
    }
    Name n;
    if (!resolve(argv[1], &n)) return;
    for (uint64_t offset = 0;;) {
        int64_t got = read_chunk(n, offset);
        if (got < 0) {
            error("hexdump: %s: %s\n", n.text, error_name(got));
            return;
        }
        for (int64_t i = 0; i < got; i += 16) {
            char line[96];
            size_t k = format_to(line, sizeof line, "%08lx ", offset + static_cast<uint64_t>(i));
            for (int j = 0; j < 16; ++j) {
                if (i + j < got) k += format_to(line + k, sizeof line - k, "%s%02x", j == 8 ? "  " : " ", static_cast<uint8_t>(g_data[i + j]));
                else k += format_to(line + k, sizeof line - k, "%s   ", j == 8 ? "  " : "");
            }
            k += format_to(line + k, sizeof line - k, "  |");
            for (int j = 0; j < 16 && i + j < got; ++j) {
                char c = g_data[i + j];
                line[k++] = c >= 0x20 && c < 0x7f ? c : '.';
            }
            line[k++] = '|';
            line[k] = '\0';
            print("%s\n", line);
        }
        offset += static_cast<uint64_t>(got);
        if (got == 0) {
            print("%08lx\n", offset);
            return;
        }
    }
}

// CRC-32 (as zlib and `gzip -l` compute it) and size.
void sum(int argc, char** argv) {
    if (argc < 2) error("sum: which file?\n");
    for (int i = 1; i < argc; ++i) {
        Name n;
        if (!resolve(argv[i], &n)) continue;
        uint32_t crc = 0;
        uint64_t offset = 0;
        int64_t got;
        while ((got = read_chunk(n, offset)) > 0) {
            crc = files::crc32(crc, g_data, static_cast<size_t>(got));
            offset += static_cast<uint64_t>(got);
        }
        if (got < 0) error("sum: %s: %s\n", n.text, error_name(got));
        else print("%08x %lu %s\n", crc, offset, n.text);
    }
}

void df(int argc, char** argv) {
    Name n;
    if (!resolve(argc > 1 ? argv[1] : cwd(), &n)) return;
    proto::fs::StatFs::Request q{};
    proto::fs::StatFs::Reply r;
    if (int64_t e = rpc::call<proto::fs::StatFs>(n.endpoint, q, &r); e < 0) {
        error("df: %s: %s\n", n.scheme, error_name(e));
        return;
    }
    uint64_t kib = r.block_size / 1024;
    uint64_t used = r.blocks - r.free_blocks;
    print("%s: '%s' %lu KiB, %lu KiB used, %lu KiB free (%lu%% used); %u inodes, %u free\n", n.scheme, r.label,
          r.blocks * kib, used * kib, r.free_blocks * kib, r.blocks ? used * 100 / r.blocks : 0, r.inodes,
          r.free_inodes);
}

void sync(int argc, char** argv) {
    Name n;
    if (!resolve(argc > 1 ? argv[1] : "file:/", &n)) return;
    if (int64_t e = on_path<proto::fs::Sync>(n); e < 0) error("sync: %s: %s\n", n.text, error_name(e));
}

void cd(int argc, char** argv) {
    Name n;
    if (!resolve(argc > 1 ? argv[1] : "file:/", &n)) return;
    proto::fs::Stat::Reply s;
    int64_t e = stat(n, &s);
    if (e == kOk && s.type != proto::fs::kDirectory) e = kErrNotDirectory;
    if (e < 0) {
        error("cd: %s: %s\n", n.text, error_name(e));
        return;
    }
    copy_string(g_cwd, sizeof g_cwd, n.text);
}

void pwd(int, char**) { print("%s\n", g_cwd); }

void lspci(int, char**) {
    char name[] = "pci:";
    char* argv[] = {name, name};
    ls(2, argv);
}

}  // namespace

const Command kFileCommands[] = {
    {"ls", ls, "[-l] [NAME...]: list a directory (ls : lists the schemes)"},
    {"cat", cat, "NAME...: print files"},
    {"cp", cp, "FROM TO: copy a file (TO may be a directory)"},
    {"mv", mv, "FROM TO: rename or move a file"},
    {"rm", rm, "NAME...: remove files"},
    {"mkdir", mkdir, "NAME...: make directories"},
    {"rmdir", rmdir, "NAME...: remove empty directories"},
    {"touch", touch, "NAME...: make empty files (if absent)"},
    {"stat", stat_command, "NAME...: size, type, mode, times"},
    {"write", write, "FILE WORDS...: FILE holds the words and a newline"},
    {"hexdump", hexdump, "FILE: bytes in hexadecimal and as text"},
    {"sum", sum, "NAME...: CRC-32 and size"},
    {"df", df, "[SCHEME:]: space used and free"},
    {"sync", sync, "[SCHEME:]: everything written is on the disk"},
    {"cd", cd, "[DIR]: the current directory (default file:/)"},
    {"pwd", pwd, "print the current directory"},
    {"lspci", lspci, "the PCI devices (ls pci:)"},
    {nullptr, nullptr, nullptr},
};

}  // namespace shell
