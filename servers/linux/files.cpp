// File descriptors of Linux programs, on Mica's file protocol (proto/fs.h):
// "/" is file:/, a few device files are made up here (/dev/null, /dev/zero,
// /dev/urandom, /dev/tty), and the console is descriptors 0, 1 and 2.
// Reads and writes go by path and offset, as the protocol is stateless;
// every buffer a program names is copied through its mappings (EFAULT when
// it is not there).
#include "format.h"
#include "linux_abi.h"
#include "mica/log.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "process.h"
#include "proto/console.h"

using namespace mica;

namespace personality {
namespace {

constexpr uint64_t kSeekSet = 0, kSeekCur = 1, kSeekEnd = 2;
uint8_t g_buffer[proto::fs::kChunk];

int64_t err(int64_t mica_error) { return -lx::errno_of(mica_error); }

// A name argument of a *at call: read from the program, and made absolute
// against the directory `dirfd` holds when it is relative (against the
// current directory when dirfd is AT_FDCWD, as every non-*at call).
// 0, or a Linux error.
int64_t read_path(Process& p, int64_t dirfd, uint64_t address, char* out, size_t size) {
    if (int64_t e = read_string(p, address, out, size)) return err(e);
    if (dirfd == lx::kAtFdCwd || out[0] == '/' || out[0] == '\0') return 0;
    const Fd* dir = dirfd >= 0 ? fd_of(p, static_cast<uint64_t>(dirfd)) : nullptr;
    if (!dir) return -lx::kEBADF;
    if (dir->kind != Fd::kDirectory || !dir->name) return -lx::kENOTDIR;
    static char joined[1024];
    size_t n = format_to(joined, sizeof joined, "%s/%s", dir->name->path, out);
    if (n >= sizeof joined || n >= size) return -lx::kENAMETOOLONG;
    mica::copy_string(out, size, joined);
    return 0;
}

// The device files made up here, by Linux path.
Fd::Kind device(const char* path) {
    struct Dev {
        const char* path;
        Fd::Kind kind;
    };
    static const Dev kDevices[] = {{"/dev/null", Fd::kNull},       {"/dev/zero", Fd::kZero},
                                   {"/dev/urandom", Fd::kRandom},  {"/dev/random", Fd::kRandom},
                                   {"/dev/tty", Fd::kConsole},     {"/dev/console", Fd::kConsole},
                                   {"/dev/stdin", Fd::kConsole},   {"/dev/stdout", Fd::kConsole},
                                   {"/dev/stderr", Fd::kConsole},  {"/etc/passwd", Fd::kPasswd},
                                   {"/etc/group", Fd::kGroup},     {"/proc/self/fd", Fd::kFdFolder},
                                   {"/proc/self/fd/", Fd::kFdFolder}, {"/proc", Fd::kProcFolder},
                                   {"/proc/", Fd::kProcFolder}};
    if (strncmp(path, "/dev/", 5) && strncmp(path, "/etc/", 5) && strncmp(path, "/proc", 5)) return Fd::kFree;
    for (const Dev& d : kDevices)
        if (!strcmp(path, d.path)) return d.kind;
    return Fd::kFree;
}

// The made-up files with text: who the one user is (a Linux program runs as
// root; Mica's capabilities, not uids, say what it may do).
const char* text_of(Fd::Kind kind, const char* text = nullptr) {
    if (kind == Fd::kPasswd) return "root:x:0:0:root:/root:/bin/sh\n";
    if (kind == Fd::kGroup) return "root:x:0:\n";
    return kind == Fd::kText ? text : nullptr;
}

// The program /proc/PID or /proc/self names (the rest of the path after
// it in *rest: "" or "/..."), or null.
Process* proc_process(Process& p, const char* path, const char** rest) {
    if (strncmp(path, "/proc/", 6) != 0) return nullptr;
    const char* at = path + 6;
    Process* q = nullptr;
    if (!strncmp(at, "self", 4)) {
        q = &p, at += 4;
    } else {
        uint64_t pid = 0;
        const char* digits = at;
        while (*at >= '0' && *at <= '9') pid = pid * 10 + static_cast<uint64_t>(*at++ - '0');
        if (at == digits) return nullptr;
        for (Process& o : g_processes)
            if (o.used && !o.zombie && o.pid == pid) q = &o;
    }
    if (*at && *at != '/') return nullptr;
    *rest = at;
    return q;
}

// /proc's files that are the system's: memory, time since boot, the mounts.
char* system_text(const char* name) {
    constexpr size_t kSize = 512;
    SystemInfo info{};
    sys::system_info(&info);
    uint64_t seconds = info.uptime_ns / 1'000'000'000, hundredths = info.uptime_ns / 10'000'000 % 100;
    uint32_t running = 0;
    uint64_t last = 0;
    for (const Process& o : g_processes)
        if (o.used && !o.zombie) ++running, last = o.pid > last ? o.pid : last;
    auto* text = static_cast<char*>(malloc(kSize));
    if (!text) return nullptr;
    if (!strcmp(name, "meminfo")) {
        uint64_t total = info.total_frames * 4, free = info.free_frames * 4;  // KiB
        format_to(text, kSize, "MemTotal:       %8lu kB\nMemFree:        %8lu kB\nMemAvailable:   %8lu kB\n"
                  "Buffers:               0 kB\nCached:                0 kB\nSwapTotal:             0 kB\n"
                  "SwapFree:              0 kB\n", total, free, free);
    } else if (!strcmp(name, "uptime")) {
        format_to(text, kSize, "%lu.%02lu 0.00\n", seconds, hundredths);
    } else if (!strcmp(name, "loadavg")) {
        format_to(text, kSize, "0.00 0.00 0.00 1/%u %lu\n", running, last);
    } else if (!strcmp(name, "mounts")) {
        format_to(text, kSize, "file: / ext3 rw 0 0\nproc /proc proc rw 0 0\n");
    } else {
        free(text);
        return nullptr;
    }
    return text;
}

const char* const kProcFiles[] = {"meminfo", "uptime", "loadavg", "mounts"};

// /proc/self/status, comm, cmdline and stat (and /proc/PID/...) of a program
// the personality runs, and /proc's own files: made when opened (heap; its
// length in *length: cmdline holds NULs), or null if `path` is none.
char* proc_text(Process& p, const char* path, uint32_t* length) {
    const char* rest;
    Process* q = proc_process(p, path, &rest);
    if (!q) {
        char* text = strncmp(path, "/proc/", 6) ? nullptr : system_text(path + 6);
        if (text) *length = static_cast<uint32_t>(strlen(text));
        return text;
    }
    ++rest;  // the '/'
    bool status = !strcmp(rest, "status"), comm = !strcmp(rest, "comm"), stat = !strcmp(rest, "stat"),
         cmdline = !strcmp(rest, "cmdline"), maps = !strcmp(rest, "maps");
    if (!status && !comm && !stat && !cmdline && !maps) return nullptr;
    // maps: a line of at most 64 bytes and the program's name per mapping.
    size_t kSize = maps ? q->vma_count * (64 + sizeof q->exe) + 1 : 4096;
    auto* text = static_cast<char*>(malloc(kSize));
    if (!text) return nullptr;
    if (maps) {  // proc(5): the heap and the stack by name, the program's segments by its path
        size_t at = 0;
        text[0] = '\0';
        for (uint32_t i = 0; i < q->vma_count; ++i) {
            const Vma& v = q->vmas[i];
            const char* name = v.exe ? q->exe : v.start >= q->brk_base && v.end <= q->brk_mapped ? "[heap]"
                               : q->stack_limit && v.start >= q->stack_limit ? "[stack]" : "";
            at += format_to(text + at, kSize - at, "%08lx-%08lx %c%c%cp %08lx 00:%02x %-8lu %s\n", v.start, v.end,
                            v.perms & kVmRead ? 'r' : '-', v.perms & kVmWrite ? 'w' : '-',
                            v.perms & kVmExec ? 'x' : '-', v.offset, v.exe ? 1 : 0, v.exe ? q->exe_inode : 0, name);
            if (at >= kSize) {
                at = kSize - 1;
                break;
            }
        }
        *length = static_cast<uint32_t>(at);
        return text;
    }
    char comm_name[16];
    mica::copy_string(comm_name, sizeof comm_name, q->name);  // Linux keeps 15 bytes of it
    Process* parent = parent_of(*q);
    if (comm) {
        *length = static_cast<uint32_t>(format_to(text, kSize, "%s\n", comm_name));
        return text;
    }
    if (cmdline) {  // the argv strings, each ending in a NUL, read from the program's memory
        uint64_t size = q->arg_end - q->arg_start < kSize ? q->arg_end - q->arg_start : kSize;
        *length = copy_in(*q, q->arg_start, text, size) == kOk ? static_cast<uint32_t>(size) : 0;
        return text;
    }
    // Its size: all it has mapped and reserved; resident: what holds memory
    // (reserved memory not yet touched does not).
    uint64_t size = 0, resident = 0;
    for (uint32_t i = 0; i < q->vma_count; ++i) {
        size += q->vmas[i].end - q->vmas[i].start;
        if (q->vmas[i].memory != kNoHandle) resident += q->vmas[i].end - q->vmas[i].start;
    }
    if (stat) {  // the fields of proc(5), those Mica has no figure for as 0
        uint64_t start = q->started_ns / 10'000'000;  // clock ticks (100 a second) since boot
        // The console is /dev/console (5, 1): the terminal of g_tty_sid.
        bool tty = q->sid == g_tty_sid && g_tty_sid;
        format_to(text, kSize, "%lu (%s) %c %lu %lu %lu %d %ld 4194304 0 0 0 0 0 0 0 0 20 0 %u 0 %lu %lu %lu "
                  "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
                  q->pid, comm_name, q->stopped ? 'T' : 'R', parent ? parent->pid : 1, q->pgid, q->sid,
                  tty ? 5 << 8 | 1 : 0, tty ? static_cast<int64_t>(g_tty_pgrp) : -1, live_threads(*q), start,
                  size, resident / 4096);
        *length = static_cast<uint32_t>(strlen(text));
        return text;
    }
    uint64_t ignored = 0, caught = 0;
    for (int s = 1; s <= 64; ++s) {
        if (q->sigactions[s][0] == 1) ignored |= 1ULL << (s - 1);
        else if (q->sigactions[s][0] != 0) caught |= 1ULL << (s - 1);
    }
    format_to(text, kSize,
              "Name:\t%s\nState:\t%s\nPid:\t%lu\nPPid:\t%lu\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
              "VmSize:\t%8lu kB\nVmRSS:\t%8lu kB\nThreads:\t%u\n"
              "SigPnd:\t%016lx\nSigBlk:\t%016lx\nSigIgn:\t%016lx\nSigCgt:\t%016lx\n",
              comm_name, q->stopped ? "T (stopped)" : "R (running)", q->pid, parent ? parent->pid : 1, size >> 10,
              resident >> 10, live_threads(*q), q->sigpending | q->task().sigpending, q->task().sigmask, ignored, caught);
    *length = static_cast<uint32_t>(strlen(text));
    return text;
}

void fill_stat(const proto::fs::Stat::Reply& r, lx::Stat& st) {
    st = lx::Stat{};
    st.dev = 1;
    st.ino = r.inode;
    st.nlink = r.links || r.inode ? r.links : 1;  // 0: unlinked while open; no inodes: a scheme without links
    uint32_t type = r.type == proto::fs::kDirectory ? lx::kSIfDir : r.type == proto::fs::kSymlink ? lx::kSIfLnk : lx::kSIfReg;
    if (r.type == proto::fs::kOther) type = r.mode & lx::kSIfMt;  // a FIFO (ext2 gives the inode's whole mode)
    st.mode = type | (r.mode & 07777);
    st.uid = r.uid, st.gid = r.gid;
    st.size = static_cast<int64_t>(r.size);
    st.blksize = 4096;
    st.blocks = static_cast<int64_t>(r.blocks);
    st.atime = r.atime, st.mtime = r.mtime, st.ctime = r.ctime;
}

void device_stat(Fd::Kind kind, lx::Stat& st, const char* made_up = nullptr) {
    st = lx::Stat{};
    st.dev = 5;
    st.ino = kind;
    st.nlink = 1;
    st.mode = lx::kSIfChr | 0666;
    st.rdev = kind == Fd::kConsole ? (4 << 8 | 1) : (1 << 8 | kind);
    st.blksize = 4096;
    if (const char* text = text_of(kind, made_up)) st.mode = lx::kSIfReg | 0644, st.rdev = 0, st.size = static_cast<int64_t>(strlen(text));
    if (kind == Fd::kFdFolder) st.mode = lx::kSIfDir | 0500, st.rdev = 0, st.nlink = 2;
    if (kind == Fd::kProcFolder) st.mode = lx::kSIfDir | 0555, st.rdev = 0, st.nlink = 2;
    if (kind == Fd::kText) st.size = 0;  // as Linux's /proc files
}

// The descriptor N that "/proc/self/fd/N" or "/dev/fd/N" names, if open; else -1.
int64_t fd_entry(Process& p, const char* path) {
    static const char* const kFdFolders[] = {"/dev/fd/", "/proc/self/fd/"};
    for (const char* prefix : kFdFolders) {
        size_t n = strlen(prefix);
        if (strncmp(path, prefix, n) != 0 || path[n] < '0' || path[n] > '9') continue;
        uint64_t fd = 0;
        for (const char* c = path + n; *c; ++c) {
            if (*c < '0' || *c > '9' || fd >= kMaxFds) return -1;
            fd = fd * 10 + static_cast<uint64_t>(*c - '0');
        }
        return fd < kMaxFds && p.fds[fd].kind != Fd::kFree ? static_cast<int64_t>(fd) : -1;
    }
    return -1;
}

int64_t stat_fd(Process& p, uint64_t fd, uint64_t out);

int64_t stat_path(Process& p, int64_t dirfd, uint64_t path_address, uint64_t out, bool follow = true) {
    char path[1024];
    if (int64_t e = read_path(p, dirfd, path_address, path, sizeof path)) return e;
    lx::Stat st;
    if (int64_t fd = fd_entry(p, path); fd >= 0) {
        if (follow) return stat_fd(p, static_cast<uint64_t>(fd), out);
        st = lx::Stat{};  // itself a link to what the descriptor holds, as on Linux
        st.dev = 5, st.ino = 1000 + static_cast<uint64_t>(fd), st.nlink = 1, st.mode = lx::kSIfLnk | 0700;
        st.size = 64, st.blksize = 4096;
    } else if (Fd::Kind k = device(path)) {
        device_stat(k, st);
    } else if (const char* rest; proc_process(p, path, &rest) && (!*rest || !strcmp(rest, "/"))) {
        device_stat(Fd::kProcFolder, st);  // /proc/PID, /proc/self
    } else if (uint32_t length; char* text = proc_text(p, path, &length)) {
        free(text);
        device_stat(Fd::kText, st, "");
    } else {
        files::Name n;
        proto::fs::Stat::Reply r;
        if (int64_t e = linux_name(p, path, &n, follow, &r)) return err(e);
        if (!r.type) return -lx::kENOENT;
        fill_stat(r, st);
    }
    return copy_out(p, out, &st, sizeof st) ? -lx::kEFAULT : 0;
}

int64_t stat_fd(Process& p, uint64_t fd, uint64_t out) {
    Fd* f = fd_of(p, fd);
    if (!f) return -lx::kEBADF;
    lx::Stat st;
    if (f->name) {
        proto::fs::Stat::Reply r;
        if (int64_t e = files::stat(*f->name, &r)) return err(e);
        fill_stat(r, st);
    } else {
        device_stat(f->kind, st, f->text);
        if (f->pipe) st.mode = lx::kSIfFifo | 0600, st.rdev = 0;
        if (f->socket) st.mode = lx::kSIfSock | 0777, st.rdev = 0;
    }
    return copy_out(p, out, &st, sizeof st) ? -lx::kEFAULT : 0;
}

// Whether the file exists (root may do anything with it).
int64_t access(Process& p, int64_t dirfd, uint64_t path_address) {
    char path[1024];
    if (int64_t e = read_path(p, dirfd, path_address, path, sizeof path)) return e;
    if (device(path)) return 0;
    files::Name n;
    proto::fs::Stat::Reply r;
    int64_t e = linux_name(p, path, &n);
    if (e == kOk) e = files::stat(n, &r);
    return e < 0 ? err(e) : 0;
}

int64_t dup(Process& p, uint64_t old_fd, int64_t new_fd, bool cloexec, uint64_t lowest);

// Files an earlier incarnation of ours held open (its programs are gone)
// are let go once, before this one opens its first.
void forget_earlier(const files::Name& n) {
    static bool done = false;
    if (done) return;
    done = true;
    proto::fs::CloseAll::Reply r;
    if (rpc::call<proto::fs::CloseAll>(n.endpoint, {}, &r) == kOk && r.closed)
        logf("linux: file: %u files an earlier incarnation held closed", r.closed);
}

// utimensat and futimens (no path): each time is now (UTIME_NOW, or no
// times at all), left as it is (UTIME_OMIT), or the one given; seconds
// are what ext2 keeps.
int64_t utimens(Process& p, int64_t dirfd, uint64_t path_address, uint64_t times_address, uint64_t flags) {
    constexpr int64_t kNow = (1 << 30) - 1, kOmit = (1 << 30) - 2;
    if (flags & ~uint64_t{lx::kAtSymlinkNofollow}) return -lx::kEINVAL;
    lx::Timespec t[2] = {{0, kNow}, {0, kNow}};
    if (times_address && copy_in(p, times_address, t, sizeof t)) return -lx::kEFAULT;
    for (const lx::Timespec& one : t)
        if (one.nsec != kNow && one.nsec != kOmit && (one.nsec < 0 || one.nsec >= 1'000'000'000 || one.sec < 0))
            return -lx::kEINVAL;
    static files::Name own;
    const files::Name* target;
    if (!path_address) {
        Fd* f = fd_of(p, static_cast<uint64_t>(dirfd));
        if (!f) return -lx::kEBADF;
        if (!f->name) return 0;  // the console, a pipe: nothing to keep times on
        target = f->name;
    } else {
        char path[1024];
        if (int64_t e = read_path(p, dirfd, path_address, path, sizeof path)) return e;
        if (device(path)) return 0;
        proto::fs::Stat::Reply r;
        if (int64_t e = linux_name(p, path, &own, !(flags & lx::kAtSymlinkNofollow), &r)) return err(e);
        if (!r.type) return -lx::kENOENT;
        if (int64_t e = files::open(own, 0, &r)) return err(e);
        target = &own;
    }
    proto::fs::Stat::Reply now_;
    int64_t e = files::stat(*target, &now_);
    uint32_t seconds = static_cast<uint32_t>(clock_now(0).sec);
    auto pick = [&](const lx::Timespec& one, uint32_t old) {
        return one.nsec == kNow ? seconds : one.nsec == kOmit ? old : static_cast<uint32_t>(one.sec);
    };
    if (e == kOk) e = files::set_times(*target, pick(t[0], now_.atime), pick(t[1], now_.mtime));
    if (target == &own) files::close(own);
    return e == kErrUnsupported ? 0 : e < 0 ? err(e) : 0;  // initfs: keeps no times
}

// The permission bits a call's mode asks for, less the umask.
uint32_t mode_bits(const Process& p, uint64_t mode) {
    return static_cast<uint32_t>(mode & ~static_cast<uint64_t>(p.umask) & 07777);
}

// A file opened to read comes with its first 4 KiB (kOpenRead): kept here
// for the opening thread's very next call, if that call reads it from 0.
// Any other call drops them (first_check), so no event between the open
// and that read can be seen first (a program learns of one only through a
// call): the read returns what it would have returned had it been made at
// the open, and saves a NodeRead.
struct First {
    const Fd* fd = nullptr;  // null: none kept
    uint32_t slot = 0, task = 0;
    const void* data = nullptr;  // in the runtime's Open reply (no other open comes first)
    uint32_t size = 0;
    bool whole = false;  // the file ends there
} g_first;

int64_t open(Process& p, int64_t dirfd, uint64_t path_address, uint64_t flags, uint64_t mode, CallState& s) {
    char path[1024];
    if (int64_t e = read_path(p, dirfd, path_address, path, sizeof path)) return e;
    // What is made up here is under /dev, /etc and /proc (the rest is file:'s).
    bool made_up = !strncmp(path, "/dev/", 5) || !strncmp(path, "/etc/", 5) || !strncmp(path, "/proc", 5);
    // /dev/fd/N and /proc/self/fd/N: descriptor N again (bash's and ash's <(...) pass these).
    if (int64_t old = made_up ? fd_entry(p, path) : -1; old >= 0)
        return dup(p, static_cast<uint64_t>(old), -1, (flags & lx::kOCloexec) != 0, 0);
    if (made_up && ((!strncmp(path, "/dev/fd/", 8) && path[8]) || (!strncmp(path, "/proc/self/fd/", 14) && path[14])))
        return -lx::kENOENT;
    int64_t fd = free_fd(p);
    if (fd < 0) return fd;
    Fd& f = p.fds[fd];
    if (Fd::Kind k = made_up ? device(path) : Fd::kFree) {
        f = Fd{k, (flags & lx::kOCloexec) != 0, new_description(), flags};
        return fd;
    }
    uint32_t length;
    if (char* text = made_up ? proc_text(p, path, &length) : nullptr) {
        auto* shares = static_cast<Shared*>(malloc(sizeof(Shared)));
        if (!shares) return free(text), -lx::kENOMEM;
        if ((flags & lx::kOAccMode) != lx::kORdOnly) return free(text), free(shares), -lx::kEACCES;
        *shares = Shared{};
        f = Fd{Fd::kText, (flags & lx::kOCloexec) != 0, new_description(), flags};
        f.text = text, f.shares = shares, f.index = length;
        return fd;
    }
    auto* name = static_cast<files::Name*>(malloc(sizeof(files::Name)));
    auto* shares = static_cast<Shared*>(malloc(sizeof(Shared)));
    auto fail = [&](int64_t e) {
        if (name) files::close(*name);
        free(name);
        free(shares);
        return e;
    };
    if (!name || !shares) return fail(-lx::kENOMEM);
    name->node = {};
    // The file is opened by node (inode), so that it stays this file through
    // a rename or an unlink of its name, as on Linux. Most names hold no
    // link: one Open does. A link (the file itself, to follow, or one in
    // the middle of the name: ENOTDIR from the server) takes linux_name's
    // walk first.
    uint32_t how = 0;
    if (flags & lx::kOCreat) how = proto::fs::kOpenCreate | proto::fs::kOpenMode;
    if (flags & lx::kOCreat && flags & lx::kOExcl) how |= proto::fs::kOpenExclusive;
    uint32_t want = mode_bits(p, mode);
    proto::fs::Stat::Reply r;
    const void* first = nullptr;
    uint32_t first_size = 0;
    bool reading = (flags & lx::kOAccMode) == lx::kORdOnly && !(flags & (lx::kODirectory | lx::kOCreat));
    int64_t e = plain_name(p, path, name);
    if (e == kOk) forget_earlier(*name), e = files::open(*name, how, &r, want, nullptr, reading ? &first : nullptr, &first_size);
    if (e == kErrNotDirectory || (e == kOk && r.type == proto::fs::kSymlink)) {
        files::close(*name);
        if ((e = linux_name(p, path, name, true, &r))) return fail(err(e));
        bool existed = r.type != 0;
        if (existed && (flags & lx::kOCreat) && (flags & lx::kOExcl)) return fail(-lx::kEEXIST);
        if (!existed && !(flags & lx::kOCreat)) return fail(-lx::kENOENT);
        first = nullptr;  // (none through a link)
        e = files::open(*name, existed ? 0 : how, &r, want);
    }
    if (e != kOk) return fail(err(e));
    if (r.type == proto::fs::kOther && (r.mode & lx::kSIfMt) == lx::kSIfFifo) {
        fail(0);  // the pipe is ours; the name was only the way to it
        return fifo_open(p, fd, r.inode, r.generation, flags, s);
    }
    bool writing = (flags & lx::kOAccMode) != lx::kORdOnly;
    bool directory = r.type == proto::fs::kDirectory;
    if (directory && writing) return fail(-lx::kEISDIR);
    if (!directory && (flags & lx::kODirectory)) return fail(-lx::kENOTDIR);
    if (!directory && writing && (flags & lx::kOTrunc) && r.size)
        if ((e = files::truncate(*name, 0)) != kOk) return fail(err(e));
    *shares = Shared{};
    f = Fd{directory ? Fd::kDirectory : Fd::kFile, (flags & lx::kOCloexec) != 0, new_description(), flags};
    f.name = name, f.shares = shares;
    if (first && r.type == proto::fs::kFile && (first_size || r.size == 0))
        g_first = First{&f, p.slot, p.current, first, first_size, first_size < proto::fs::kOpenReadBytes || first_size == r.size};
    return fd;
}

// Reads into the program's memory at `to`; `offset` < 0: at the descriptor's position.
int64_t read_fd(Process& p, Fd& f, uint64_t to, uint64_t size, int64_t offset) {
    if ((f.flags & lx::kOAccMode) == lx::kOWrOnly) return -lx::kEBADF;
    switch (f.kind) {
        case Fd::kNull: return 0;
        case Fd::kPasswd:
        case Fd::kGroup:
        case Fd::kText: {
            uint32_t n = size < sizeof g_buffer ? static_cast<uint32_t>(size) : sizeof g_buffer;
            const char* text = text_of(f.kind, f.text);
            uint64_t length = f.kind == Fd::kText ? f.index : strlen(text);
            uint64_t at = offset < 0 ? f.position() : static_cast<uint64_t>(offset);
            int64_t got = at < length ? static_cast<int64_t>(length - at < n ? length - at : n) : 0;
            if (got) memcpy(g_buffer, text + at, static_cast<size_t>(got));
            if (offset < 0) f.position() += static_cast<uint64_t>(got);
            return copy_out(p, to, g_buffer, static_cast<size_t>(got)) ? -lx::kEFAULT : got;
        }
        case Fd::kZero:
        case Fd::kRandom:
        case Fd::kFile: break;
        case Fd::kDirectory: return -lx::kEISDIR;
        default: return -lx::kEBADF;
    }
    // As on Linux, all that was asked for (a file: up to its end), however large.
    uint64_t at = offset < 0 ? f.position() : static_cast<uint64_t>(offset), done = 0;
    bool end = false;
    if (g_first.fd == &f) {  // what came with the open (first_check let this call through)
        g_first.fd = nullptr;
        if (at == 0) {
            done = size < g_first.size ? size : g_first.size;
            if (copy_out(p, to, g_first.data, done)) return -lx::kEFAULT;
            end = g_first.whole;
        }
    }
    while (!end && done < size) {
        uint32_t n = size - done < sizeof g_buffer ? static_cast<uint32_t>(size - done) : sizeof g_buffer;
        int64_t got = n;
        const void* data = g_buffer;  // a file's: the reply, not copied again
        if (f.kind == Fd::kZero) {
            memset(g_buffer, 0, n);
        } else if (f.kind == Fd::kRandom) {
            fill_random(g_buffer, n);
        } else if ((got = files::read_view(*f.name, at + done, n, &data)) < 0) {
            if (!done) return err(got);
            break;
        }
        if (copy_out(p, to + done, data, static_cast<size_t>(got))) {
            if (!done) return -lx::kEFAULT;
            break;
        }
        done += static_cast<uint64_t>(got);
        if (static_cast<uint32_t>(got) < n) break;  // the end of the file
    }
    if (offset < 0 && f.kind == Fd::kFile) f.position() = at + done;
    return static_cast<int64_t>(done);
}

int64_t write_console(Process& p, uint64_t from, uint64_t size) {
    static proto::console::Write::Request q;
    proto::console::Write::Reply r;
    for (uint64_t done = 0; done < size;) {
        uint32_t n = size - done < sizeof q.data ? static_cast<uint32_t>(size - done) : sizeof q.data;
        if (copy_in(p, from + done, q.data, n)) return done ? static_cast<int64_t>(done) : -lx::kEFAULT;
        q.size = n;
        if (rpc::call<proto::console::Write>(g_console, q, &r) < 0) return done ? static_cast<int64_t>(done) : -lx::kEIO;
        done += n;
    }
    return static_cast<int64_t>(size);
}

// The file system of a name (statfs) or of a descriptor's file (fstatfs).
int64_t statfs(Process& p, const files::Name& n, uint64_t to) {
    flush_closes();  // what they free is counted
    proto::fs::StatFs::Request q{};
    proto::fs::StatFs::Reply r;
    if (int64_t e = rpc::call<proto::fs::StatFs>(n.endpoint, q, &r); e < 0) return err(e);
    lx::Statfs st{};
    st.type = 0xef53;  // EXT2_SUPER_MAGIC
    st.bsize = st.frsize = r.block_size;
    st.blocks = r.blocks, st.bfree = st.bavail = r.free_blocks;
    st.files = r.inodes, st.ffree = r.free_inodes;
    st.namelen = 255;
    return copy_out(p, to, &st, sizeof st) ? -lx::kEFAULT : 0;
}

// sendfile from a file to the console, a file or a made-up device, through
// our buffer; to a pipe or a socket (which may have to wait) the caller
// falls back on read and write.
int64_t sendfile(Process& p, Fd* out, Fd* in, uint64_t offset_address, uint64_t count) {
    if (!out || !in) return -lx::kEBADF;
    if (in->kind != Fd::kFile || out->pipe || out->socket || out->kind == Fd::kDirectory) return -lx::kEINVAL;
    uint64_t at = in->position();
    if (offset_address && copy_in(p, offset_address, &at, sizeof at)) return -lx::kEFAULT;
    uint32_t n = count < sizeof g_buffer ? static_cast<uint32_t>(count) : sizeof g_buffer;
    int64_t got = files::read(*in->name, at, g_buffer, n);
    if (got <= 0) return got < 0 ? err(got) : 0;
    int64_t put = got;
    if (out->kind == Fd::kConsole) {
        static proto::console::Write::Request q;
        proto::console::Write::Reply r;
        for (int64_t done = 0; done < got; done += q.size) {
            q.size = static_cast<uint32_t>(got - done < static_cast<int64_t>(sizeof q.data) ? got - done : sizeof q.data);
            memcpy(q.data, g_buffer + done, q.size);
            if (rpc::call<proto::console::Write>(g_console, q, &r) < 0) return done ? done : -lx::kEIO;
        }
    } else if (out->kind == Fd::kFile) {
        if ((out->flags & lx::kOAccMode) == lx::kORdOnly) return -lx::kEBADF;
        if (int64_t e = files::write(*out->name, out->position(), g_buffer, static_cast<uint32_t>(got)); e < 0) return err(e);
        out->position() += static_cast<uint64_t>(got);
    }
    if (offset_address) {
        at += static_cast<uint64_t>(put);
        if (copy_out(p, offset_address, &at, sizeof at)) return -lx::kEFAULT;
    } else {
        in->position() += static_cast<uint64_t>(put);
    }
    return put;
}

int64_t write_fd(Process& p, Fd& f, uint64_t from, uint64_t size, int64_t offset) {
    if ((f.flags & lx::kOAccMode) == lx::kORdOnly && f.kind != Fd::kConsole) return -lx::kEBADF;
    switch (f.kind) {
        case Fd::kConsole: return write_console(p, from, size);
        case Fd::kNull:
        case Fd::kZero:
        case Fd::kRandom: return static_cast<int64_t>(size);
        case Fd::kFile: break;
        default: return -lx::kEBADF;
    }
    uint64_t at = offset >= 0 ? static_cast<uint64_t>(offset) : f.position();
    if (offset < 0 && (f.flags & lx::kOAppend)) {
        proto::fs::Stat::Reply r;
        if (int64_t e = files::stat(*f.name, &r)) return err(e);
        at = r.size;
    }
    uint64_t done = 0;
    while (done < size) {
        uint32_t n = size - done < sizeof g_buffer ? static_cast<uint32_t>(size - done) : sizeof g_buffer;
        if (copy_in(p, from + done, g_buffer, n)) {
            if (!done) return -lx::kEFAULT;
            break;
        }
        if (int64_t e = files::write(*f.name, at + done, g_buffer, n); e < 0) {
            if (!done) return err(e);
            break;
        }
        done += n;
    }
    if (offset < 0) f.position() = at + done;
    return static_cast<int64_t>(done);
}

int64_t vector_io(Process& p, uint64_t fd, uint64_t iov, uint64_t count, bool write) {
    Fd* f = fd_of(p, fd);
    if (!f) return -lx::kEBADF;
    if (count > 1024) return -lx::kEINVAL;
    int64_t total = 0;
    for (uint64_t i = 0; i < count; ++i) {
        lx::Iovec v;
        if (copy_in(p, iov + i * sizeof v, &v, sizeof v)) return total ? total : -lx::kEFAULT;
        if (v.len == 0) continue;
        int64_t n = write ? write_fd(p, *f, v.base, v.len, -1) : read_fd(p, *f, v.base, v.len, -1);
        if (n < 0) return total ? total : n;
        total += n;
        if (static_cast<uint64_t>(n) < v.len) break;
    }
    return total;
}

int64_t seek(Process& p, uint64_t fd, int64_t offset, uint64_t whence) {
    Fd* f = fd_of(p, fd);
    if (!f) return -lx::kEBADF;
    if (f->kind == Fd::kConsole || f->pipe || f->socket) return -lx::kESPIPE;
    if (f->kind != Fd::kFile && !text_of(f->kind, f->text)) return 0;
    int64_t base = 0;
    if (whence == kSeekCur) {
        base = static_cast<int64_t>(f->position());
    } else if (whence == kSeekEnd && text_of(f->kind, f->text)) {
        base = static_cast<int64_t>(strlen(text_of(f->kind, f->text)));
    } else if (whence == kSeekEnd) {
        proto::fs::Stat::Reply r;
        if (int64_t e = files::stat(*f->name, &r)) return err(e);
        base = static_cast<int64_t>(r.size);
    } else if (whence != kSeekSet) {
        return -lx::kEINVAL;
    }
    if (__builtin_add_overflow(base, offset, &base) || base < 0) return -lx::kEINVAL;
    f->position() = static_cast<uint64_t>(base);
    return base;
}

// linux_dirent64 records, as many as fit in `size` bytes.
int64_t getdents(Process& p, uint64_t fd, uint64_t to, uint64_t size) {
    Fd* f = fd_of(p, fd);
    if (!f) return -lx::kEBADF;
    static uint8_t out[8192];
    uint64_t limit = size < sizeof out ? size : sizeof out, used = 0;
    auto entry = [&](uint64_t ino, const char* name, uint8_t type) {
        size_t name_length = strlen(name);
        uint64_t length = (19 + name_length + 1 + 7) & ~7ULL;
        if (used + length > limit) return false;
        int64_t next = f->index + 1;
        uint16_t reclen = static_cast<uint16_t>(length);
        memset(out + used, 0, length);
        memcpy(out + used, &ino, 8);
        memcpy(out + used + 8, &next, 8);
        memcpy(out + used + 16, &reclen, 2);
        out[used + 18] = type;
        memcpy(out + used + 19, name, name_length);
        used += length;
        return true;
    };
    if (f->kind == Fd::kFdFolder) {
        // ".", "..", then each open descriptor (this one too), as links; f->position(): the next to look at.
        while (f->index < 2 || f->position() < kMaxFds) {
            char name[8];
            if (f->index < 2) {
                if (!entry(f->index + 1, f->index ? ".." : ".", 4)) break;
            } else {
                if (p.fds[f->position()].kind == Fd::kFree) {
                    ++f->position();
                    continue;
                }
                format_to(name, sizeof name, "%lu", f->position());
                if (!entry(1000 + f->position(), name, 10)) break;
                ++f->position();
            }
            ++f->index;
        }
        if (!used && (f->index < 2 || f->position() < kMaxFds)) return -lx::kEINVAL;
        return copy_out(p, to, out, used) ? -lx::kEFAULT : static_cast<int64_t>(used);
    }
    if (f->kind == Fd::kProcFolder) {
        // ".", "..", "self", a directory per program (by slot), then /proc's files;
        // f->position(): the next of these to look at.
        constexpr uint64_t kFiles = sizeof kProcFiles / sizeof kProcFiles[0];
        constexpr uint64_t kEnd = 3 + kMaxProcesses + kFiles;
        for (; f->position() < kEnd; ++f->position()) {
            char name[24];
            uint64_t i = f->position();
            uint8_t type = 4;
            if (i < 3) {
                mica::copy_string(name, sizeof name, i == 0 ? "." : i == 1 ? ".." : "self");
                type = i == 2 ? 10 : 4;
            } else if (i < 3 + kMaxProcesses) {
                const Process& o = g_processes[i - 3];
                if (!o.used || o.zombie) continue;
                format_to(name, sizeof name, "%lu", o.pid);
            } else {
                mica::copy_string(name, sizeof name, kProcFiles[i - 3 - kMaxProcesses]);
                type = 8;
            }
            if (!entry(2000 + i, name, type)) break;
            ++f->index;
        }
        if (!used && f->position() < kEnd) return -lx::kEINVAL;
        return copy_out(p, to, out, used) ? -lx::kEFAULT : static_cast<int64_t>(used);
    }
    if (f->kind != Fd::kDirectory) return -lx::kENOTDIR;
    while (!f->dir_done) {
        static proto::fs::ReadDir::Request q;
        proto::fs::ReadDir::Reply r;
        mica::copy_string(q.path, sizeof q.path, f->name->path);
        q.index = f->index, q.cursor = f->position();
        int64_t e = rpc::call<proto::fs::ReadDir>(f->name->endpoint, q, &r);
        if (e == kErrNotFound) {
            f->dir_done = true;
            break;
        }
        if (e < 0) return used ? static_cast<int64_t>(used) : err(e);
        size_t name_length = strnlen(r.name, sizeof r.name - 1);
        uint64_t length = (19 + name_length + 1 + 7) & ~7ULL;
        if (used + length > limit) {
            if (!used) return -lx::kEINVAL;
            break;
        }
        uint64_t ino = f->index + 2;
        int64_t next = f->index + 1;
        uint16_t reclen = static_cast<uint16_t>(length);
        uint8_t type = r.type == proto::fs::kDirectory ? 4 : r.type == proto::fs::kSymlink ? 10 : r.type == proto::fs::kOther ? 0 : 8;
        memset(out + used, 0, length);
        memcpy(out + used, &ino, 8);
        memcpy(out + used + 8, &next, 8);
        memcpy(out + used + 16, &reclen, 2);
        out[used + 18] = type;
        memcpy(out + used + 19, r.name, name_length);
        used += length;
        f->index++, f->position() = r.next;
    }
    return copy_out(p, to, out, used) ? -lx::kEFAULT : static_cast<int64_t>(used);
}

// The file: name of a call's path: the name itself, not what it points at.
int64_t path_name(Process& p, int64_t dirfd, uint64_t path_address, files::Name* n) {
    char path[1024];
    if (int64_t e = read_path(p, dirfd, path_address, path, sizeof path)) return e;
    int64_t e = linux_name(p, path, n, false);
    return e < 0 ? err(e) : 0;
}

// Op on name n (its mode too, if Op has one); 0 or an errno.
template <class Op>
int64_t name_call(const files::Name& n, uint32_t mode = 0) {
    static typename Op::Request q;
    q = {};
    mica::copy_string(q.path, sizeof q.path, n.path);
    if constexpr (requires { q.mode; }) q.mode = mode;
    typename Op::Reply r;
    int64_t e = rpc::call<Op>(n.endpoint, q, &r);
    return e < 0 ? err(e) : 0;
}

template <class Op>
int64_t path_call(Process& p, int64_t dirfd, uint64_t path_address) {
    files::Name n;
    int64_t e = path_name(p, dirfd, path_address, &n);
    return e ? e : name_call<Op>(n);
}

// mkdir, mkdirat: file: makes a directory 0755; other bits (less the
// umask) are set after, as the one who made it may.
int64_t mkdir(Process& p, int64_t dirfd, uint64_t path_address, uint64_t mode) {
    files::Name n;
    int64_t e = path_name(p, dirfd, path_address, &n);
    if (!e) e = name_call<proto::fs::Mkdir>(n);
    if (e || mode_bits(p, mode) == 0755) return e;
    e = files::chmod(n, mode_bits(p, mode));
    return e < 0 ? err(e) : 0;
}

int64_t chmod(Process& p, int64_t dirfd, uint64_t path_address, uint64_t mode) {
    char path[1024];
    if (int64_t e = read_path(p, dirfd, path_address, path, sizeof path)) return e;
    files::Name n;
    if (int64_t e = linux_name(p, path, &n)) return err(e);
    int64_t e = files::chmod(n, static_cast<uint32_t>(mode));
    return e < 0 ? err(e) : 0;
}

// chown, lchown, fchownat: the owner and group (-1: as they are). Every
// program is root here, so any may be given.
int64_t chown(Process& p, int64_t dirfd, uint64_t path_address, uint64_t uid, uint64_t gid, bool follow) {
    char path[1024];
    if (int64_t e = read_path(p, dirfd, path_address, path, sizeof path)) return e;
    files::Name n;
    if (int64_t e = linux_name(p, path, &n, follow)) return err(e);
    int64_t e = files::chown(n, static_cast<uint32_t>(uid), static_cast<uint32_t>(gid));
    return e < 0 ? err(e) : 0;
}

// fchown, and fchownat of "" with AT_EMPTY_PATH: the file open as f. A pipe,
// the console or a made-up file keeps no owner (stat says root): nothing to change.
int64_t fchown(Fd* f, uint64_t uid, uint64_t gid) {
    if (!f) return -lx::kEBADF;
    if (!f->name) return 0;
    int64_t e = files::chown(*f->name, static_cast<uint32_t>(uid), static_cast<uint32_t>(gid));
    return e < 0 ? err(e) : 0;
}

// The two names of rename and link (each relative to its directory
// descriptor), into a and b; 0 or a Linux error. `to` is never followed.
int64_t two_names(Process& p, int64_t from_dir, uint64_t from_address, int64_t to_dir, uint64_t to_address,
                  bool follow_from, files::Name* a, files::Name* b) {
    char from[1024], to[1024];
    if (int64_t e = read_path(p, from_dir, from_address, from, sizeof from)) return e;
    if (int64_t e = read_path(p, to_dir, to_address, to, sizeof to)) return e;
    if (int64_t e = linux_name(p, from, a, follow_from)) return err(e);
    if (int64_t e = linux_name(p, to, b, false)) return err(e);
    return 0;
}

int64_t rename(Process& p, int64_t from_dir, uint64_t from_address, int64_t to_dir, uint64_t to_address) {
    static files::Name a, b;
    if (int64_t e = two_names(p, from_dir, from_address, to_dir, to_address, false, &a, &b)) return e;
    static proto::fs::Rename::Request q;
    mica::copy_string(q.from, sizeof q.from, a.path);
    mica::copy_string(q.to, sizeof q.to, b.path);
    proto::fs::Rename::Reply r;
    int64_t e = rpc::call<proto::fs::Rename>(a.endpoint, q, &r);
    return e < 0 ? err(e) : 0;
}

// symlink, symlinkat: a link at `path` holding `target` as it is.
int64_t symlink(Process& p, uint64_t target_address, int64_t dirfd, uint64_t path_address) {
    static proto::fs::Symlink::Request q;
    q = {};
    if (int64_t e = read_string(p, target_address, q.target, sizeof q.target)) return err(e);
    if (!q.target[0]) return -lx::kENOENT;
    char path[1024];
    if (int64_t e = read_path(p, dirfd, path_address, path, sizeof path)) return e;
    files::Name n;
    if (int64_t e = linux_name(p, path, &n, false)) return err(e);
    mica::copy_string(q.path, sizeof q.path, n.path);
    proto::fs::Symlink::Reply r;
    int64_t e = rpc::call<proto::fs::Symlink>(n.endpoint, q, &r);
    return e < 0 ? err(e) : 0;
}

// mknod, mknodat: a named pipe, or an empty file (S_IFREG or no type);
// devices and sockets are refused, as to a program without CAP_MKNOD.
int64_t mknod(Process& p, int64_t dirfd, uint64_t path_address, uint64_t mode) {
    uint64_t type = mode & lx::kSIfMt;
    if (type == lx::kSIfChr || type == lx::kSIfBlk || type == lx::kSIfSock) return -lx::kEPERM;
    if (type && type != lx::kSIfReg && type != lx::kSIfFifo) return -lx::kEINVAL;
    files::Name n;
    if (int64_t e = path_name(p, dirfd, path_address, &n)) return e;
    if (type == lx::kSIfFifo) return name_call<proto::fs::MakeFifo>(n, mode_bits(p, mode));
    proto::fs::Stat::Reply r;
    int64_t e = files::open(n, proto::fs::kOpenCreate | proto::fs::kOpenExclusive | proto::fs::kOpenMode, &r,
                            mode_bits(p, mode));
    if (e == kOk) files::close(n);
    return e < 0 ? err(e) : 0;
}

// link, linkat: `to` becomes a second name of the file `from` names (a
// symbolic link itself, unless AT_SYMLINK_FOLLOW).
int64_t link(Process& p, int64_t from_dir, uint64_t from_address, int64_t to_dir, uint64_t to_address, uint64_t flags) {
    constexpr uint64_t kAtSymlinkFollow = 0x400;
    if (flags & ~kAtSymlinkFollow) return -lx::kEINVAL;
    static files::Name a, b;
    if (int64_t e = two_names(p, from_dir, from_address, to_dir, to_address, flags & kAtSymlinkFollow, &a, &b))
        return e;
    static proto::fs::Link::Request q;
    mica::copy_string(q.from, sizeof q.from, a.path);
    mica::copy_string(q.to, sizeof q.to, b.path);
    proto::fs::Link::Reply r;
    int64_t e = rpc::call<proto::fs::Link>(a.endpoint, q, &r);
    if (e == kErrIsDirectory) return -lx::kEPERM;
    if (e == kErrLimit) return -lx::kEMLINK;
    return e < 0 ? err(e) : 0;
}

int64_t chdir(Process& p, uint64_t path_address) {
    char path[1024];
    if (int64_t e = read_string(p, path_address, path, sizeof path)) return err(e);
    files::Name n;
    if (int64_t e = linux_name(p, path, &n)) return err(e);
    proto::fs::Stat::Reply r;
    if (int64_t e = files::stat(n, &r)) return err(e);
    if (r.type != proto::fs::kDirectory) return -lx::kENOTDIR;
    mica::copy_string(p.cwd, sizeof p.cwd, n.path);
    return 0;
}

int64_t readlink(Process& p, int64_t dirfd, uint64_t path_address, uint64_t to, uint64_t size) {
    char path[1024];
    if (int64_t e = read_path(p, dirfd, path_address, path, sizeof path)) return e;
    static char target[1024];
    if (!strcmp(path, "/proc/self/exe")) {
        mica::copy_string(target, sizeof target, p.exe);
    } else if (!strcmp(path, "/proc/self")) {
        format_to(target, sizeof target, "%lu", p.pid);
    } else if (int64_t fd = fd_entry(p, path); fd >= 0) {
        // What the descriptor holds, named as Linux names it.
        const Fd& f = p.fds[fd];
        if (f.name) mica::copy_string(target, sizeof target, f.name->path);
        else if (f.pipe) format_to(target, sizeof target, "pipe:[%lu]", reinterpret_cast<uint64_t>(f.pipe) >> 4 & 0xffffff);
        else if (f.socket) format_to(target, sizeof target, "socket:[%lu]", socket_number(f));
        else if (f.kind == Fd::kConsole) mica::copy_string(target, sizeof target, "/dev/console");
        else if (f.kind == Fd::kFdFolder) mica::copy_string(target, sizeof target, "/proc/self/fd");
        else format_to(target, sizeof target, "/dev/%s", f.kind == Fd::kNull ? "null" : f.kind == Fd::kZero ? "zero" : "urandom");
    } else {
        files::Name n;
        if (int64_t e = linux_name(p, path, &n, false)) return err(e);
        if (int64_t e = link_target(n, target, sizeof target)) return err(e);
    }
    uint64_t n = strlen(target) < size ? strlen(target) : size;
    return copy_out(p, to, target, n) ? -lx::kEFAULT : static_cast<int64_t>(n);
}

int64_t dup(Process& p, uint64_t old_fd, int64_t new_fd, bool cloexec, uint64_t lowest = 0) {
    Fd* f = fd_of(p, old_fd);
    if (!f) return -lx::kEBADF;
    if (new_fd < 0) {
        new_fd = free_fd(p, lowest);
        if (new_fd < 0) return new_fd;
    } else if (static_cast<uint64_t>(new_fd) >= kMaxFds) {
        return -lx::kEBADF;
    } else if (static_cast<uint64_t>(new_fd) == old_fd) {
        return new_fd;
    } else if (p.fds[new_fd].kind != Fd::kFree) {
        close_fd(p, p.fds[new_fd]);
    }
    p.fds[new_fd] = *f;
    p.fds[new_fd].cloexec = cloexec;
    fd_attach(p.fds[new_fd]);
    return new_fd;
}

int64_t fcntl(Process& p, uint64_t fd, uint64_t cmd, uint64_t arg, CallState& s) {
    Fd* f = fd_of(p, fd);
    if (!f) return -lx::kEBADF;
    switch (cmd) {
        case 0: return dup(p, fd, -1, false, arg);     // F_DUPFD
        case 1030: return dup(p, fd, -1, true, arg);   // F_DUPFD_CLOEXEC
        case 1: return f->cloexec ? 1 : 0;              // F_GETFD
        case 2: f->cloexec = arg & 1; return 0;         // F_SETFD
        case 3: return static_cast<int64_t>(f->flags);  // F_GETFL
        case 4: set_status_flags(*f, arg); return 0;   // F_SETFL
        case lx::kFGetlk: case lx::kFSetlk: case lx::kFSetlkw: return lock_call(p, *f, cmd, arg, s);
        default: return -lx::kEINVAL;
    }
}

int64_t ioctl(Process& p, uint64_t fd, uint64_t request, uint64_t arg, CallState& s) {
    Fd* f = fd_of(p, fd);
    if (!f) return -lx::kEBADF;
    if (f->socket) return socket_ioctl(p, *f, request, arg);
    if (f->kind != Fd::kConsole) return -lx::kENOTTY;
    switch (request) {
        case lx::kTcgets: return copy_out(p, arg, &g_termios, sizeof g_termios) ? -lx::kEFAULT : 0;
        case lx::kTcsets: case lx::kTcsetsw: case lx::kTcsetsf: {
            // Kept and obeyed in what the console can do: canonical or raw
            // (ICANON), echo (ECHO), Ctrl-C as SIGINT (ISIG), CR as NL (ICRNL).
            lx::Termios t;
            if (copy_in(p, arg, &t, sizeof t)) return -lx::kEFAULT;
            if (int64_t e = tty_access(p, 22, s)) return e;  // from the background: SIGTTOU
            g_termios = t;
            return 0;
        }
        case lx::kTiocgwinsz: {
            lx::Winsize w{24, 80, 0, 0};
            return copy_out(p, arg, &w, sizeof w) ? -lx::kEFAULT : 0;
        }
        case lx::kTiocgpgrp: case lx::kTiocspgrp: case lx::kTiocgsid: return tty_ioctl(p, request, arg, s);
        default: return -lx::kEINVAL;
    }
}

}  // namespace

// `r`: n's stat (filled here; type 0 if it does not exist).
int64_t link_target(const files::Name& n, char* out, size_t size, proto::fs::Stat::Reply& r) {
    r.type = 0;
    if (int64_t e = files::stat(n, &r)) return e;
    if (r.type != proto::fs::kSymlink) return kErrInvalidArgument;
    int64_t got = files::read(n, 0, out, static_cast<uint32_t>(size - 1));
    if (got < 0) return got;
    out[got] = '\0';
    return kOk;
}

int64_t link_target(const files::Name& n, char* out, size_t size) {
    proto::fs::Stat::Reply r;
    return link_target(n, out, size, r);
}

namespace {

// The first symbolic link among the directories of n's path: `full` becomes
// the name with the link's target in its place (relative to the link's
// directory, or absolute on file:). False if there is none.
bool middle_link(const files::Name& n, char* full, size_t size) {
    static files::Name prefix;
    static char target[1024];
    for (const char* c = n.path + 1; *c; ++c) {
        if (*c != '/') continue;
        prefix = n;
        size_t length = static_cast<size_t>(c - n.path);
        prefix.path[length] = '\0';
        proto::fs::Stat::Reply r;
        int64_t e = link_target(prefix, target, sizeof target, r);
        if (e == kErrInvalidArgument) continue;  // a directory (or a file: the walk's own ENOTDIR)
        if (e != kOk) return false;
        if (target[0] == '/') {
            format_to(full, size, "file:%s%s", target, c);
        } else {
            while (length > 0 && prefix.path[length - 1] != '/') --length;
            prefix.path[length] = '\0';
            format_to(full, size, "file:%s%s%s", prefix.path, target, c);
        }
        return true;
    }
    return false;
}

}  // namespace

namespace {
char g_full[2200];

// Always an absolute name on file: (a Linux name may hold a ':'), in
// g_full; its whole length (g_full holds less if it is too long).
size_t full_name(Process& p, const char* path) {
    if (path[0] == '/') return join(g_full, sizeof g_full, "file:", path);
    size_t n = join(g_full, sizeof g_full, "file:", p.cwd, "/");
    return n < sizeof g_full ? n + join(g_full + n, sizeof g_full - n, path, "") : n;
}
}  // namespace

int64_t plain_name(Process& p, const char* path, files::Name* out) {
    if (!*path) return kErrNotFound;
    return full_name(p, path) >= proto::fs::kPathMax ? kErrNameTooLong : files::resolve(g_full, "file:/", out);
}

int64_t linux_name(Process& p, const char* path, files::Name* out, bool follow, proto::fs::Stat::Reply* st) {
    proto::fs::Stat::Reply unused;
    if (!st) st = &unused;
    st->type = 0;
    if (!*path) return kErrNotFound;
    static char target[1024];
    char* full = g_full;
    const size_t size = sizeof g_full;
    full_name(p, path);
    for (int links = 0;; ++links) {
        if (strlen(full) >= proto::fs::kPathMax) return kErrNameTooLong;
        if (int64_t e = files::resolve(full, "file:/", out)) return e;
        int64_t e = follow ? link_target(*out, target, sizeof target, *st) : files::stat(*out, st);
        if (e != kOk && e != kErrInvalidArgument) st->type = 0;
        // The file server's walk stops at a link in the middle of a path
        // (ENOTDIR): the personality follows it, as Linux does.
        if (e == kErrNotDirectory && links < 40 && middle_link(*out, full, size)) continue;
        if (e == kErrNotDirectory && links == 40) return kErrLimit;
        if (!follow || e != kOk) return kOk;
        if (links == 40) return kErrLimit;  // ELOOP
        // A relative target is relative to the link's directory.
        if (target[0] == '/') {
            format_to(full, size, "file:%s", target);
        } else {
            char* slash = nullptr;
            for (char* c = out->path; *c; ++c)
                if (*c == '/') slash = c;
            if (slash) *slash = '\0';
            format_to(full, size, "file:%s/%s", out->path, target);
        }
    }
}

// A file's last close lets go of it on file: later, in a batch with others
// (CloseMany), as Linux leaves the last fput to later: the batch goes when
// it is full, before statfs (whose free counts it changes), when a program
// ends, and at the idle sweep. Until then file: holds the file a moment
// longer (an unlinked file's blocks come back with the batch).
namespace {

struct PendingClose {
    Handle endpoint;
    proto::fs::Node node;
};
PendingClose g_closes[proto::fs::CloseMany::kMax];
uint32_t g_close_count;

void close_later(files::Name& n) {
    if (!n.node.inode) return;  // opened by path: nothing held
    if (g_close_count == proto::fs::CloseMany::kMax) flush_closes();
    g_closes[g_close_count++] = PendingClose{n.endpoint, n.node};
    n.node = {};
}

}  // namespace

void flush_closes() {
    static proto::fs::CloseMany::Request q;
    while (g_close_count) {
        // Those of one server (file: alone, in practice) in one call.
        Handle endpoint = g_closes[0].endpoint;
        uint32_t kept = 0;
        q.count = 0;
        for (uint32_t i = 0; i < g_close_count; ++i) {
            if (g_closes[i].endpoint == endpoint) q.nodes[q.count++] = g_closes[i].node;
            else g_closes[kept++] = g_closes[i];
        }
        g_close_count = kept;
        proto::fs::CloseMany::Reply r;
        rpc::call<proto::fs::CloseMany>(endpoint, q, &r, {},
                                        proto::fs::CloseMany::kMinRequest + q.count * sizeof q.nodes[0]);
    }
}

void first_check(const Process& p, uint64_t number, const uint64_t* a) {
    if (g_first.fd && !(a && (number == lx::kRead || (number == lx::kPread64 && a[3] == 0)) && a[0] < kMaxFds &&
                        &p.fds[a[0]] == g_first.fd && p.slot == g_first.slot && p.current == g_first.task))
        g_first.fd = nullptr;
}

void close_fd(Process& p, Fd& f) {
    if (f.kind == Fd::kFile && f.name) locks_release(p, f.name->path);
    if (f.shares && --f.shares->count == 0) {
        if (f.name) close_later(*f.name);
        free(f.name);
        free(f.text);
        free(f.shares);
    }
    Fd old = f;
    f = Fd{};
    if (old.pipe) pipe_detach(old);
    if (old.socket) socket_detach(old);
}

Fd* fd_of(Process& p, uint64_t fd) { return fd < kMaxFds && p.fds[fd].kind != Fd::kFree ? &p.fds[fd] : nullptr; }

int64_t free_fd(Process& p, uint64_t from) {
    for (uint64_t i = from; i < kMaxFds; ++i)
        if (p.fds[i].kind == Fd::kFree) return static_cast<int64_t>(i);
    return -lx::kEMFILE;
}

uint32_t new_description() {
    static uint32_t last = 0;
    // 0 is for none. After 2^32 opens, a number may come again while the
    // first to have it is still open: F_SETFL would change both.
    return ++last ? last : ++last;
}

void set_status_flags(const Fd& f, uint64_t flags) {
    constexpr uint64_t kStatus = lx::kOAppend | lx::kONonblock;  // what F_SETFL changes here
    uint32_t description = f.description;
    for (Process& q : g_processes)
        for (uint32_t i = 0; q.used && i < kMaxFds; ++i)
            if (q.fds[i].description == description && q.fds[i].kind != Fd::kFree)
                q.fds[i].flags = (q.fds[i].flags & ~kStatus) | (flags & kStatus);
}

void fd_attach(Fd& f) {
    if (f.shares) ++f.shares->count;
    if (f.pipe) pipe_attach(f);
    if (f.socket) socket_attach(f);
}

void open_console_fds(Process& p) {
    for (int i = 0; i < 3; ++i)
        p.fds[i] = Fd{Fd::kConsole, false, new_description(), static_cast<uint64_t>(i == 0 ? lx::kORdOnly : lx::kOWrOnly)};
}

void close_all(Process& p) {
    for (Fd& f : p.fds)
        if (f.kind != Fd::kFree) close_fd(p, f);
}

bool serve_file_call(Process& p, uint64_t number, const uint64_t* a, CallState& s) {
    int64_t& r = s.result;
    auto fd = [&](uint64_t i) { return fd_of(p, a[i]); };
    switch (number) {
        case lx::kRead:
        case lx::kPread64: {
            Fd* f = fd(0);
            if (!f) r = -lx::kEBADF;
            else if (f->kind == Fd::kPipeRead && number == lx::kRead) r = pipe_read(p, *f, a[1], a[2], s);
            else if (f->pipe) r = f->kind == Fd::kPipeRead ? -lx::kESPIPE : -lx::kEBADF;
            else r = read_fd(p, *f, a[1], a[2], number == lx::kPread64 ? static_cast<int64_t>(a[3]) : -1);
            return true;
        }
        case lx::kWrite:
        case lx::kPwrite64: {
            Fd* f = fd(0);
            if (!f) r = -lx::kEBADF;
            else if (pipe_writes(*f) && number == lx::kWrite) r = pipe_write(p, *f, a[1], a[2], s);
            else if (f->pipe) r = pipe_writes(*f) ? -lx::kESPIPE : -lx::kEBADF;
            else r = write_fd(p, *f, a[1], a[2], number == lx::kPwrite64 ? static_cast<int64_t>(a[3]) : -1);
            return true;
        }
        case lx::kReadv:
        case lx::kWritev: {
            Fd* f = fd(0);
            if (f && f->pipe) {  // the first buffer only: a short transfer, as Linux allows
                lx::Iovec v{0, 0};
                for (uint64_t i = 0; i < a[2] && i < 1024 && v.len == 0; ++i)
                    if (copy_in(p, a[1] + i * sizeof v, &v, sizeof v)) v = {0, 0}, i = 1024;
                bool in = number == lx::kReadv;
                if (in ? !pipe_reads(*f) : !pipe_writes(*f)) r = -lx::kEBADF;
                else r = in ? pipe_read(p, *f, v.base, v.len, s) : pipe_write(p, *f, v.base, v.len, s);
            } else {
                r = vector_io(p, a[0], a[1], a[2], number == lx::kWritev);
            }
            return true;
        }
        case lx::kOpen: r = open(p, lx::kAtFdCwd, a[0], a[1], a[2], s); return true;
        case lx::kOpenat: r = open(p, static_cast<int32_t>(a[0]), a[1], a[2], a[3], s); return true;
        case lx::kMknod: r = mknod(p, lx::kAtFdCwd, a[0], a[1]); return true;
        case lx::kMknodat: r = mknod(p, static_cast<int32_t>(a[0]), a[1], a[2]); return true;
        case lx::kClose:
            if (Fd* f = fd(0)) close_fd(p, *f), r = 0;
            else r = -lx::kEBADF;
            return true;
        case lx::kStat: r = stat_path(p, lx::kAtFdCwd, a[0], a[1]); return true;
        case lx::kLstat: r = stat_path(p, lx::kAtFdCwd, a[0], a[1], false); return true;
        case lx::kFstat: r = stat_fd(p, a[0], a[1]); return true;
        case lx::kNewfstatat: {
            char first = 0;
            if (a[3] & lx::kAtEmptyPath && copy_in(p, a[1], &first, 1) == kOk && first == '\0')
                r = stat_fd(p, a[0], a[2]);
            else
                r = stat_path(p, static_cast<int32_t>(a[0]), a[1], a[2], !(a[3] & lx::kAtSymlinkNofollow));
            return true;
        }
        case lx::kLseek: r = seek(p, a[0], static_cast<int64_t>(a[1]), a[2]); return true;
        case lx::kGetdents64: r = getdents(p, a[0], a[1], a[2]); return true;
        case lx::kAccess: r = access(p, lx::kAtFdCwd, a[0]); return true;
        case lx::kFaccessat:
        case lx::kFaccessat2: r = access(p, static_cast<int32_t>(a[0]), a[1]); return true;
        case lx::kGetcwd: {
            size_t n = strlen(p.cwd) + 1;
            if (n > a[1]) r = -lx::kERANGE;
            else r = copy_out(p, a[0], p.cwd, n) ? -lx::kEFAULT : static_cast<int64_t>(n);
            return true;
        }
        case lx::kChdir: r = chdir(p, a[0]); return true;
        case lx::kMkdir: r = mkdir(p, lx::kAtFdCwd, a[0], a[1]); return true;
        case lx::kMkdirat: r = mkdir(p, static_cast<int32_t>(a[0]), a[1], a[2]); return true;
        case lx::kRmdir: r = path_call<proto::fs::Rmdir>(p, lx::kAtFdCwd, a[0]); return true;
        case lx::kUnlink: r = path_call<proto::fs::Unlink>(p, lx::kAtFdCwd, a[0]); return true;
        case lx::kUnlinkat: {
            int64_t dir = static_cast<int32_t>(a[0]);
            r = a[2] & lx::kAtRemoveDir ? path_call<proto::fs::Rmdir>(p, dir, a[1]) : path_call<proto::fs::Unlink>(p, dir, a[1]);
            return true;
        }
        case lx::kChmod: r = chmod(p, lx::kAtFdCwd, a[0], a[1]); return true;
        case lx::kFchmodat: r = chmod(p, static_cast<int32_t>(a[0]), a[1], a[2]); return true;
        case lx::kFchmod:
            if (Fd* f = fd(0); !f) r = -lx::kEBADF;
            else if (!f->name) r = -lx::kEINVAL;  // a pipe, the console, a made-up file
            else r = files::chmod(*f->name, static_cast<uint32_t>(a[1])) < 0 ? -lx::kEIO : 0;
            return true;
        case lx::kChown: r = chown(p, lx::kAtFdCwd, a[0], a[1], a[2], true); return true;
        case lx::kLchown: r = chown(p, lx::kAtFdCwd, a[0], a[1], a[2], false); return true;
        case lx::kFchown: r = fchown(fd(0), a[1], a[2]); return true;
        case lx::kFchownat: {
            char first = 1;
            if (a[4] & ~(lx::kAtSymlinkNofollow | lx::kAtEmptyPath)) r = -lx::kEINVAL;
            else if (a[4] & lx::kAtEmptyPath && copy_in(p, a[1], &first, 1) == kOk && first == '\0')
                r = fchown(fd(0), a[2], a[3]);
            else r = chown(p, static_cast<int32_t>(a[0]), a[1], a[2], a[3], !(a[4] & lx::kAtSymlinkNofollow));
            return true;
        }
        case lx::kRename: r = rename(p, lx::kAtFdCwd, a[0], lx::kAtFdCwd, a[1]); return true;
        case lx::kRenameat: r = rename(p, static_cast<int32_t>(a[0]), a[1], static_cast<int32_t>(a[2]), a[3]); return true;
        case lx::kSymlink: r = symlink(p, a[0], lx::kAtFdCwd, a[1]); return true;
        case lx::kSymlinkat: r = symlink(p, a[0], static_cast<int32_t>(a[1]), a[2]); return true;
        case lx::kLink: r = link(p, lx::kAtFdCwd, a[0], lx::kAtFdCwd, a[1], 0); return true;
        case lx::kLinkat:
            r = link(p, static_cast<int32_t>(a[0]), a[1], static_cast<int32_t>(a[2]), a[3], a[4]);
            return true;
        case lx::kReadlink: r = readlink(p, lx::kAtFdCwd, a[0], a[1], a[2]); return true;
        case lx::kReadlinkat: r = readlink(p, static_cast<int32_t>(a[0]), a[1], a[2], a[3]); return true;
        case lx::kFtruncate:
            if (Fd* f = fd(0); f && f->kind == Fd::kFile) r = files::truncate(*f->name, a[1]) < 0 ? -lx::kEIO : 0;
            else r = -lx::kEINVAL;
            return true;
        case lx::kFsync:
        case lx::kFdatasync:
            r = fd(0) ? 0 : -lx::kEBADF;  // every write is on the disk when it returns (write-through)
            return true;
        case lx::kDup: r = dup(p, a[0], -1, false); return true;
        case lx::kDup2: r = dup(p, a[0], static_cast<int32_t>(a[1]), false); return true;
        case lx::kDup3:
            r = a[0] == a[1] ? -lx::kEINVAL : dup(p, a[0], static_cast<int32_t>(a[1]), (a[2] & lx::kOCloexec) != 0);
            return true;
        case lx::kFcntl: r = fcntl(p, a[0], a[1], a[2], s); return true;
        case lx::kUtimensat: r = utimens(p, static_cast<int32_t>(a[0]), a[1], a[2], a[3]); return true;
        case lx::kSendfile: r = sendfile(p, fd(0), fd(1), a[2], a[3]); return true;
        case lx::kStatfs: {
            char path[1024];
            files::Name n;
            if (int64_t e = read_string(p, a[0], path, sizeof path)) r = err(e);
            else if (int64_t e = linux_name(p, path, &n)) r = err(e);
            else r = statfs(p, n, a[1]);
            return true;
        }
        case lx::kFstatfs:
            if (Fd* f = fd(0); f && f->name) r = statfs(p, *f->name, a[1]);
            else r = f ? -lx::kEINVAL : -lx::kEBADF;
            return true;
        case lx::kIoctl: r = ioctl(p, a[0], a[1], a[2], s); return true;
        default: return false;
    }
}

}  // namespace personality
