// POSIX byte-range locks (fcntl F_GETLK, F_SETLK, F_SETLKW), as sqlite and
// other programs that share a file take them. A lock belongs to a process
// and a file (named by its path on file:, until the file protocol names
// inodes) and covers [start, end); end kToEnd reaches past any end of
// file. Read locks of different processes coexist; a write lock excludes
// every other process's locks over the bytes it covers. A process's own
// locks never conflict with each other: a new one replaces what it held
// over the same bytes (splitting ranges). All of a process's locks on a
// file go when it closes any descriptor of that file (POSIX's rule) or
// ends; locks are not inherited by fork. F_SETLKW waits, its call saved,
// until the bytes are free, and fails with EDEADLK rather than wait on a
// process that (through a chain of waits) waits on the caller.
#include "linux_abi.h"
#include "mica/strings.h"
#include "process.h"

using namespace mica;

namespace personality {
namespace {

constexpr uint64_t kToEnd = ~0ULL;
constexpr int16_t kRead = 0, kWrite = 1, kUnlock = 2;  // F_RDLCK, F_WRLCK, F_UNLCK
constexpr uint32_t kMaxLocks = 64, kMaxWaits = 8;

// struct flock, as x86-64 Linux lays it out.
struct Flock {
    int16_t type, whence;
    uint32_t pad;
    int64_t start, len;
    int32_t pid;
    uint32_t pad2;
};
static_assert(sizeof(Flock) == 32);

struct Lock {
    char* path = nullptr;  // heap; null: a free entry
    uint64_t pid = 0, start = 0, end = 0;
    int16_t type = kRead;
};

// A F_SETLKW that waits: answered when its range is free.
struct Wait {
    Waiter waiter;
    char* path = nullptr;
    uint64_t pid = 0, start = 0, end = 0;
    int16_t type = kRead;
};

Lock g_locks[kMaxLocks];
uint32_t g_held;  // entries of g_locks in use (none: a close has nothing to look for)
Wait g_waits[kMaxWaits];

char* copy_of(const char* text) {
    size_t size = strlen(text) + 1;
    auto* copy = static_cast<char*>(malloc(size));
    if (copy) memcpy(copy, text, size);
    return copy;
}

bool same_file(const char* a, const char* b) { return a && b && !strcmp(a, b); }

// Another process's lock that keeps `pid` from a `type` lock of [start, end), or null.
const Lock* conflict(const char* path, uint64_t pid, int16_t type, uint64_t start, uint64_t end) {
    for (const Lock& l : g_locks)
        if (l.path && l.pid != pid && same_file(l.path, path) && l.start < end && start < l.end &&
            (type == kWrite || l.type == kWrite))
            return &l;
    return nullptr;
}

Lock* free_lock() {
    for (Lock& l : g_locks)
        if (!l.path) return &l;
    return nullptr;
}

// Removes pid's locks over [start, end) of the file, splitting the ranges
// that reach past it. False (nothing changed) if a split needs an entry
// and there is none.
bool clear(const char* path, uint64_t pid, uint64_t start, uint64_t end) {
    uint32_t splits = 0, spare = 0;
    for (const Lock& l : g_locks) {
        if (!l.path) ++spare;
        else if (l.pid == pid && same_file(l.path, path) && l.start < start && l.end > end) ++splits;
    }
    if (splits > spare) return false;
    for (Lock& l : g_locks) {
        if (!l.path || l.pid != pid || !same_file(l.path, path) || l.end <= start || end <= l.start) continue;
        if (l.start < start && l.end > end) {  // a hole in the middle: the part after it is a new lock
            Lock* after = free_lock();
            *after = Lock{copy_of(l.path), pid, end, l.end, l.type};
            if (!after->path) return false;
            ++g_held;
            l.end = start;
        } else if (l.start < start) {
            l.end = start;
        } else if (l.end > end) {
            l.start = end;
        } else {
            free(l.path);
            l = Lock{};
            --g_held;
        }
    }
    return true;
}

// Sets pid's lock (or unlock) over [start, end); kEAGAIN if another process's lock is in the way.
int64_t set(const char* path, uint64_t pid, int16_t type, uint64_t start, uint64_t end) {
    if (type != kUnlock && conflict(path, pid, type, start, end)) return -lx::kEAGAIN;
    Lock* entry = nullptr;
    if (type != kUnlock) {
        // One entry is needed beyond what clearing may split: check first, change nothing on failure.
        uint32_t spare = 0;
        for (const Lock& l : g_locks) spare += !l.path;
        if (spare < 2) return -lx::kENOLCK;
    }
    if (!clear(path, pid, start, end)) return -lx::kENOLCK;
    if (type == kUnlock) return 0;
    entry = free_lock();
    *entry = Lock{copy_of(path), pid, start, end, type};
    if (!entry->path) return -lx::kENOLCK;
    ++g_held;
    return 0;
}

// Would pid waiting on `holder` close a circle of waits?
bool deadlock(uint64_t pid, uint64_t holder) {
    for (int step = 0; step < static_cast<int>(kMaxWaits) + 1; ++step) {
        if (holder == pid) return true;
        const Wait* next = nullptr;
        for (const Wait& w : g_waits)
            if (w.path && w.pid == holder) next = &w;
        if (!next) return false;
        const Lock* l = conflict(next->path, next->pid, next->type, next->start, next->end);
        if (!l) return false;
        holder = l->pid;
    }
    return true;
}

// Grants the waits whose ranges are free now.
void settle() {
    for (bool granted = true; granted;) {
        granted = false;
        for (Wait& w : g_waits) {
            if (!w.path || conflict(w.path, w.pid, w.type, w.start, w.end)) continue;
            int64_t r = set(w.path, w.pid, w.type, w.start, w.end);
            answer(w.waiter, r);
            free(w.path);
            w = Wait{};
            granted = true;
        }
    }
}

}  // namespace

int64_t lock_call(Process& p, Fd& f, uint64_t cmd, uint64_t address, CallState& s) {
    Flock fl;
    if (copy_in(p, address, &fl, sizeof fl)) return -lx::kEFAULT;
    if (f.kind != Fd::kFile || !f.name) return -lx::kEINVAL;
    int64_t base = 0;
    if (fl.whence == 1) {
        base = static_cast<int64_t>(f.position());
    } else if (fl.whence == 2) {
        proto::fs::Stat::Reply st;
        if (files::stat(*f.name, &st) != kOk) return -lx::kEIO;
        base = static_cast<int64_t>(st.size);
    } else if (fl.whence != 0) {
        return -lx::kEINVAL;
    }
    // [start, end): l_len 0 reaches past any end; a negative l_len counts backwards from start.
    int64_t start, end;
    if (__builtin_add_overflow(base, fl.start, &start)) return -lx::kEOVERFLOW;
    if (fl.len > 0) {
        if (__builtin_add_overflow(start, fl.len, &end)) return -lx::kEOVERFLOW;
    } else if (fl.len < 0) {
        end = start;
        if (__builtin_add_overflow(start, fl.len, &start)) return -lx::kEINVAL;
    } else {
        end = -1;
    }
    if (start < 0) return -lx::kEINVAL;
    uint64_t from = static_cast<uint64_t>(start), to = end < 0 ? kToEnd : static_cast<uint64_t>(end);
    const char* path = f.name->path;
    if (cmd == lx::kFGetlk) {
        if (fl.type != kRead && fl.type != kWrite) return -lx::kEINVAL;
        if (const Lock* l = conflict(path, p.pid, fl.type, from, to)) {
            fl.type = l->type, fl.whence = 0;
            fl.start = static_cast<int64_t>(l->start);
            fl.len = l->end == kToEnd ? 0 : static_cast<int64_t>(l->end - l->start);
            fl.pid = static_cast<int32_t>(l->pid);
        } else {
            fl.type = kUnlock;
        }
        return copy_out(p, address, &fl, sizeof fl) ? -lx::kEFAULT : 0;
    }
    if (fl.type != kRead && fl.type != kWrite && fl.type != kUnlock) return -lx::kEINVAL;
    uint64_t access = f.flags & lx::kOAccMode;
    if ((fl.type == kRead && access == lx::kOWrOnly) || (fl.type == kWrite && access == lx::kORdOnly))
        return -lx::kEBADF;
    int64_t r = set(path, p.pid, fl.type, from, to);
    if (fl.type == kUnlock) settle();
    if (r != -lx::kEAGAIN || cmd != lx::kFSetlkw) return r;
    if (deadlock(p.pid, conflict(path, p.pid, fl.type, from, to)->pid)) return -lx::kEDEADLK;
    for (Wait& w : g_waits) {
        if (w.path) continue;
        w = Wait{Waiter{}, copy_of(path), p.pid, from, to, fl.type};
        if (!w.path || !wait_here(p, w.waiter, 0, 0)) {
            free(w.path);
            w = Wait{};
            return -lx::kENOLCK;
        }
        s.later = true;
        return 0;
    }
    return -lx::kENOLCK;
}

void locks_release(Process& p, const char* path) {
    if (path && !g_held) return;  // (every close of a file comes here)
    bool changed = false;
    for (Lock& l : g_locks) {
        if (!l.path || l.pid != p.pid || (path && !same_file(l.path, path))) continue;
        free(l.path);
        l = Lock{};
        --g_held;
        changed = true;
    }
    if (!path) {  // the process is going: its waits go with it
        for (Wait& w : g_waits) {
            if (!w.path || w.pid != p.pid) continue;
            sys::handle_close(w.waiter.saved);
            free(w.path);
            w = Wait{};
        }
    }
    if (changed) settle();
}

}  // namespace personality
