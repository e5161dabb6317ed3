// Linux system calls other than files' (files.cpp): memory, identity, time,
// signals (kept, not yet delivered), limits, and the end of a program.
// Every argument comes from the program and is checked; a pointer that is
// not in its mappings is EFAULT. A call not served here is ENOSYS, counted:
// when the program ends, the system log (dmesg) lists them.
#include "linux_abi.h"
#include "mica/log.h"
#include "mica/process.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "process.h"
#include "proto/console.h"
#include "proto/rtc.h"

using namespace mica;

namespace personality {
namespace {

constexpr uint64_t kPage = 4096;
uint64_t round_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }

uint32_t perms_of(uint64_t prot) {
    uint32_t perms = 0;
    if (prot & lx::kProtRead) perms |= kVmRead;
    if (prot & lx::kProtWrite) perms |= kVmWrite | kVmRead;
    if (prot & lx::kProtExec) perms |= kVmExec | kVmRead;
    return perms ? perms : kVmRead;  // PROT_NONE: readable here (no reservation without memory yet)
}

int64_t brk(Process& p, uint64_t address) {
    if (address <= p.brk_base || address >= p.mmap_top - (64ULL << 20)) return static_cast<int64_t>(p.brk);
    if (address > p.brk_mapped) {
        uint64_t end = (address + 0xffff) & ~0xffffULL;  // grow by 64 KiB at least
        if (map_anonymous(p, p.brk_mapped, end - p.brk_mapped, kVmRead | kVmWrite) != kOk)
            return static_cast<int64_t>(p.brk);
        p.brk_mapped = end;
    }
    p.brk = address;
    return static_cast<int64_t>(address);
}

int64_t mmap(Process& p, const uint64_t* a) {
    uint64_t address = a[0], size = round_up(a[1]), prot = a[2], flags = a[3], offset = a[5];
    if (a[1] == 0 || address % kPage || offset % kPage) return -lx::kEINVAL;
    if (size < a[1] || size > (1ULL << 30)) return -lx::kENOMEM;
    if ((prot & lx::kProtWrite) && (prot & lx::kProtExec)) return -lx::kEACCES;  // W^X
    if (flags & lx::kMapShared && !(flags & lx::kMapAnonymous)) return -lx::kENOSYS;  // shared file mappings: not yet
    if (flags & (lx::kMapFixed | lx::kMapFixedNoreplace)) {
        if (address < 0x10000 || address + size < address || address + size > p.mmap_top + (32ULL << 20))
            return -lx::kEINVAL;
        if (flags & lx::kMapFixed) unmap(p, address, size);
    } else {
        address = find_free(p, size);
        if (!address) return -lx::kENOMEM;
    }
    uint32_t perms = perms_of(prot);
    if (flags & lx::kMapAnonymous) {
        // A thread's stack, or memory not yet accessible (an arena glibc reserves), is
        // reserved, as a large mapping is (add_anonymous); shared memory and MAP_POPULATE never.
        bool eager = flags & (lx::kMapShared | lx::kMapPopulate);
        bool lazy = !eager && (prot == 0 || (flags & (lx::kMapStack | lx::kMapNoreserve)));
        int64_t e = eager ? map_anonymous(p, address, size, perms) : add_anonymous(p, address, size, perms, lazy);
        if (e) return e == kErrAlreadyExists ? -lx::kEEXIST : -lx::kENOMEM;
        p.mmap_top = address < p.mmap_top ? address : p.mmap_top;
        return static_cast<int64_t>(address);
    }
    // A private file mapping: a copy of the file's bytes.
    int64_t fd = static_cast<int32_t>(a[4]);
    if (fd < 0 || fd >= static_cast<int64_t>(kMaxFds) || p.fds[fd].kind != Fd::kFile) return -lx::kEBADF;
    Handle m;
    if (map_anonymous(p, address, size, perms, &m) != kOk) return -lx::kENOMEM;
    static uint8_t chunk[proto::fs::kChunk];
    for (uint64_t done = 0; done < size;) {
        int64_t got = files::read(*p.fds[fd].name, offset + done, chunk, sizeof chunk);
        if (got <= 0) break;
        sys::memory_write(m, done, chunk, static_cast<size_t>(got) < size - done ? static_cast<size_t>(got) : size - done);
        done += static_cast<uint64_t>(got);
    }
    if (sys::vm_map(p.process, address, m, 0, size, perms) != kOk) {
        unmap(p, address, size);
        return -lx::kENOMEM;
    }
    return static_cast<int64_t>(address);
}

// mremap, its arguments checked here and the work done in memory.cpp's
// remap. MREMAP_DONTUNMAP, and an old size of 0 (a second mapping of shared
// memory), are EINVAL here.
int64_t mremap(Process& p, const uint64_t* a) {
    constexpr uint64_t kMayMove = 1, kFixed = 2;
    uint64_t old = a[0], old_size = round_up(a[1]), size = round_up(a[2]), flags = a[3], to = a[4];
    if (old % kPage || a[1] == 0 || a[2] == 0 || old_size < a[1] || size < a[2] || (flags & ~(kMayMove | kFixed)) ||
        ((flags & kFixed) && (!(flags & kMayMove) || to % kPage)))
        return -lx::kEINVAL;
    if (size > (1ULL << 30) || old + old_size < old) return -lx::kENOMEM;
    if (flags & kFixed) {
        if (to < 0x10000 || to + size < to || to + size > p.mmap_top + (32ULL << 20) ||
            (to < old + old_size && old < to + size))
            return -lx::kEINVAL;
        unmap(p, to, size);
    }
    uint64_t at = 0;
    int64_t e = remap(p, old, old_size, size, flags & kFixed ? to : 0, flags & kMayMove, &at);
    if (e == kErrBadAddress) return -lx::kEFAULT;
    return e ? -lx::kENOMEM : static_cast<int64_t>(at);
}

// Seconds since 1970 from the real-time clock, read once.
int64_t boot_epoch() {
    static int64_t epoch = -1;
    if (epoch >= 0) return epoch;
    epoch = 0;
    Handle rtc = files::scheme_endpoint("rtc");
    proto::rtc::Now::Request q{};
    proto::rtc::Now::Reply r;
    if (rtc == kNoHandle || rpc::call<proto::rtc::Now>(rtc, q, &r) != kOk) return epoch;
    // Days from civil date (proleptic Gregorian), then seconds.
    int64_t y = r.year - (r.month <= 2), m = r.month, d = r.day;
    int64_t era = y / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
    epoch = days * 86400 + r.hour * 3600 + r.minute * 60 + r.second - sys::clock_monotonic() / 1'000'000'000;
    return epoch;
}


int64_t limit(Process& p, uint64_t resource, uint64_t out) {
    if (!out) return 0;
    uint64_t value[2] = {~0ULL, ~0ULL};
    // RLIMIT_STACK: how far the first thread's stack may grow. glibc gives
    // each new thread a stack this size (reserved: memory.cpp).
    if (resource == 3) value[0] = value[1] = kStackBytes;
    if (resource == 7) value[0] = value[1] = kMaxFds;     // RLIMIT_NOFILE
    if (resource >= 16) return -lx::kEINVAL;
    return copy_out(p, out, value, sizeof value) ? -lx::kEFAULT : 0;
}

int64_t sigaction(Process& p, uint64_t signal, uint64_t act, uint64_t old) {
    if (signal == 0 || signal > 64) return -lx::kEINVAL;
    if (old && copy_out(p, old, p.sigactions[signal], sizeof p.sigactions[signal])) return -lx::kEFAULT;
    if (act) {
        if (signal == 9 || signal == 19) return -lx::kEINVAL;  // SIGKILL, SIGSTOP
        uint64_t a[4];
        if (copy_in(p, act, a, sizeof a)) return -lx::kEFAULT;
        memcpy(p.sigactions[signal], a, sizeof a);
    }
    return 0;
}

int64_t sigprocmask(Process& p, uint64_t how, uint64_t set, uint64_t old) {
    uint64_t& current = p.task().sigmask;  // the calling thread's
    if (old && copy_out(p, old, &current, sizeof current)) return -lx::kEFAULT;
    if (!set) return 0;
    uint64_t mask;
    if (copy_in(p, set, &mask, sizeof mask)) return -lx::kEFAULT;
    if (how == 0) current |= mask;
    else if (how == 1) current &= ~mask;
    else if (how == 2) current = mask;
    else return -lx::kEINVAL;
    current &= ~(1ULL << 8 | 1ULL << 18);  // SIGKILL and SIGSTOP cannot be blocked
    return 0;
}

constexpr uint32_t kIsig = 0x1, kIcanon = 0x2, kEcho = 0x8, kIcrnl = 0x100;
constexpr uint32_t kVtime = 5, kVmin = 6;  // c_cc indices

}  // namespace

// The CPU's RDRAND where it has one (CPUID.1:ECX bit 30), mixed with the
// clock into a xorshift state.
void fill_random(uint8_t* out, size_t size) {
    static uint64_t state = 0x2545'f491'4f6c'dd1d;
    static int rdrand = -1;
    if (rdrand < 0) {
        uint32_t a = 1, b, c = 0, d;
        asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
        rdrand = c >> 30 & 1;
    }
    for (size_t i = 0; i < size; i += 8) {
        uint64_t hardware = 0;
        uint8_t ok = 0;
        if (rdrand) asm volatile("rdrand %0; setc %1" : "=r"(hardware), "=qm"(ok));
        state ^= (ok ? hardware : 0) ^ static_cast<uint64_t>(sys::clock_monotonic());
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        for (size_t j = 0; j < 8 && i + j < size; ++j) out[i + j] = static_cast<uint8_t>(state >> (8 * j));
    }
}

namespace {

int64_t random_bytes(Process& p, uint64_t to, uint64_t size) {
    uint8_t chunk[256];
    uint64_t n = size < sizeof chunk ? size : sizeof chunk;  // short, as Linux may be
    fill_random(chunk, n);
    return copy_out(p, to, chunk, n) ? -lx::kEFAULT : static_cast<int64_t>(n);
}

int64_t uname(Process& p, uint64_t to) {
    lx::Utsname u{};
    mica::copy_string(u.sysname, sizeof u.sysname, "Linux");
    mica::copy_string(u.nodename, sizeof u.nodename, "mica");
    mica::copy_string(u.release, sizeof u.release, "6.1.0-mica");
    mica::copy_string(u.version, sizeof u.version, "#1 Mica personality");
    mica::copy_string(u.machine, sizeof u.machine, "x86_64");
    mica::copy_string(u.domainname, sizeof u.domainname, "(none)");
    return copy_out(p, to, &u, sizeof u) ? -lx::kEFAULT : 0;
}

int64_t sysinfo(Process& p, uint64_t to) {
    SystemInfo si{};
    sys::system_info(&si);
    lx::Sysinfo out{};
    out.uptime = static_cast<int64_t>(si.uptime_ns / 1'000'000'000);
    out.totalram = si.total_frames * kPage;
    out.freeram = si.free_frames * kPage;
    out.procs = static_cast<uint16_t>(si.processes);
    out.mem_unit = 1;
    return copy_out(p, to, &out, sizeof out) ? -lx::kEFAULT : 0;
}

// Work that waits (a console line, a sleep) runs on a thread of its own, so
// that the personality goes on serving every other program (and init's
// liveness probe); it answers the saved call when done — unless a signal
// took the call back first (take_helper_wait). Who answers is settled by
// g_owner[slot], the generation of the wait still unanswered (0: none): the
// helper and the main thread each clear it with a compare-and-swap, and
// only the one that succeeds answers. A console line that arrives for a
// read already interrupted stays pending for the next read, and a read made
// while a helper is still reading waits for that helper's line.
struct Waiting {
    Process* p;
    uint32_t task;  // the waiting thread's index
    Handle saved;
    uint64_t to, size, sleep_ns;
    uint64_t generation;
    uint64_t deadline;  // sleeps: when it ends (clock_monotonic), for the time left
    uint64_t remaining; // sleeps: where the time left goes if interrupted (0: nowhere)
};

void answer(Handle saved, int64_t result) {
    sys::ipc_reply_to(saved, Message{kFaultReturn, static_cast<uint64_t>(result), 0, 0});
}

void take_pending(Process& p, uint64_t to, uint64_t size, int64_t* result) {
    uint64_t n = p.pending_size - p.pending_used;
    if (n > size) n = size;
    if (copy_out(p, to, p.pending_input + p.pending_used, n)) {
        *result = -lx::kEFAULT;
        return;
    }
    p.pending_used += static_cast<uint32_t>(n);
    *result = static_cast<int64_t>(n);
}

// One per thread of a program (slot * kMaxThreads + index): it waits in at
// most one call at a time. Not on the heap, which is not for two threads at once.
Waiting g_waiting[kMaxProcesses * kMaxThreads];
uint64_t g_owner[kMaxProcesses * kMaxThreads];
uint64_t g_generation;

uint32_t wait_index(const Process& p, uint32_t task) { return p.slot * kMaxThreads + task; }

void take_line(Process& p, uint64_t to, uint64_t size, int64_t* result);
void read_raw(Process& p, uint64_t size);

bool claim(uint32_t index, uint64_t generation) {
    return generation && __atomic_compare_exchange_n(&g_owner[index], &generation, 0, false, __ATOMIC_SEQ_CST,
                                                     __ATOMIC_SEQ_CST);
}

// The thread of p whose console read waits (0: none): its index in g_waiting, and its generation.
uint64_t console_reader(const Process& p, uint32_t* index) {
    for (uint32_t t = 0; t < kMaxThreads; ++t) {
        uint32_t i = wait_index(p, t);
        uint64_t generation = __atomic_load_n(&g_owner[i], __ATOMIC_SEQ_CST);
        if (generation && g_waiting[i].generation == generation && !g_waiting[i].sleep_ns) {
            *index = i;
            return generation;
        }
    }
    return 0;
}

// The helper's console input is in: whichever read waits now (the
// helper's, or one made since, in any thread) gets it; if none does, a poll
// may be waiting for it.
void hand_over(Process& p) {
    __atomic_store_n(&p.reading, false, __ATOMIC_SEQ_CST);
    uint32_t reader = 0;
    uint64_t generation = console_reader(p, &reader);
    const Waiting& current = g_waiting[reader];
    if (!generation || !claim(reader, generation)) {
        wake_main();
        return;
    }
    int64_t result = 0;
    take_line(p, current.to, current.size, &result);
    p.tasks[current.task].running = true;
    answer(current.saved, result);
}

void wait_thread(void* arg) {
    Waiting w = *static_cast<Waiting*>(arg);
    uint32_t index = wait_index(*w.p, w.task);
    if (w.sleep_ns) {
        sys::thread_sleep(w.sleep_ns);
        if (claim(index, w.generation)) w.p->tasks[w.task].running = true, answer(w.saved, 0);
        return;
    }
    Process& p = *w.p;
    static proto::console::ReadLine::Request q;
    static proto::console::ReadLine::Reply r;
    int64_t e;
    if (!(g_termios.lflag & kIcanon)) {
        read_raw(p, w.size);
        return;
    }
    for (;;) {
        e = rpc::call<proto::console::ReadLine>(g_console, q, &r);
        if (e >= 0 && r.cancelled) {  // its program ended (console_cancel): nothing for anyone
            __atomic_store_n(&p.reading, false, __ATOMIC_SEQ_CST);
            return;
        }
        // Ctrl-C: the shell makes it SIGINT, which interrupts the read; the
        // line typed so far is gone, as on a terminal. Read on while a read waits.
        if (e < 0 || !r.interrupted || r.eof) break;
        __atomic_store_n(&p.reading, false, __ATOMIC_SEQ_CST);
        bool idle = false;
        uint32_t any;
        if (!console_reader(p, &any) ||
            !__atomic_compare_exchange_n(&p.reading, &idle, true, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return;  // nobody waits, or a new helper reads for them
    }
    if (e < 0) {
        p.pending_error = true;
    } else if (r.eof) {
        p.pending_eof = true;
    } else {
        uint32_t n = r.size < sizeof p.pending_input - 1 ? r.size : sizeof p.pending_input - 1;
        memcpy(p.pending_input, r.data, n);
        p.pending_input[n++] = '\n';
        p.pending_size = n, p.pending_used = 0;
    }
    hand_over(p);
}

// For a poll: a helper reads a line for p that no read waits for yet (it
// stays pending, and the helper wakes the main thread).
Waiting g_prefetch[kMaxProcesses];

}  // namespace

void console_cancel(Process& p) {
    if (!__atomic_load_n(&p.reading, __ATOMIC_SEQ_CST)) return;
    proto::console::Cancel::Request q{};
    proto::console::Cancel::Reply r;
    // The helper (above us in priority) has its answer, and is gone, before ours comes.
    rpc::call<proto::console::Cancel>(g_console, q, &r);
}

void console_prefetch(Process& p) {
    bool idle = false;
    if (p.pending_used < p.pending_size || p.pending_eof || p.pending_error || g_console == kNoHandle ||
        !__atomic_compare_exchange_n(&p.reading, &idle, true, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        return;  // a line is there, or a helper is reading one
    g_prefetch[p.slot] = Waiting{&p, 0, kNoHandle, 0, 0, 0, 0, 0, 0};
    int64_t t = start_thread(wait_thread, &g_prefetch[p.slot], 16, 32 * 1024);
    if (t < 0) p.reading = false;
    else sys::handle_close(static_cast<Handle>(t));
}

namespace {

// Saves the call's reply for a helper thread to answer (a new one, unless a
// console read is still in flight); false if it cannot.
bool wait_later(Process& p, uint64_t to, uint64_t size, uint64_t sleep_ns, uint64_t remaining = 0) {
    uint32_t index = wait_index(p, p.current);
    Waiting* w = &g_waiting[index];
    auto saved = sys::ipc_reply_save();
    if (!saved.ok()) return false;
    uint64_t deadline = sleep_ns ? static_cast<uint64_t>(sys::clock_monotonic()) + sleep_ns : 0;
    *w = Waiting{&p, p.current, saved.value(), to, size, sleep_ns, ++g_generation, deadline, remaining};
    __atomic_store_n(&g_owner[index], w->generation, __ATOMIC_SEQ_CST);
    if (!sleep_ns) {
        bool idle = false;
        if (!__atomic_compare_exchange_n(&p.reading, &idle, true, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return true;  // a helper is reading: it answers
        if (p.pending_used < p.pending_size || p.pending_eof || p.pending_error) {
            // Its line came in meanwhile (and found no read waiting): take it.
            p.reading = false;
            if (claim(index, w->generation)) {
                int64_t result = 0;
                take_line(p, to, size, &result);
                answer(saved.value(), result);
            }
            return true;
        }
    }
    // At the personality's own priority, above its programs (15): a busy program must not starve it.
    int64_t t = start_thread(wait_thread, w, 16, 32 * 1024);
    if (t < 0) {
        p.reading = false;
        if (claim(index, w->generation)) answer(saved.value(), -lx::kEAGAIN);
        return true;
    }
    sys::handle_close(static_cast<Handle>(t));
    return true;
}

// Raw mode with VMIN 0 and VTIME > 0: a second helper answers the read
// with 0 (nothing came) after VTIME tenths of a second, if the reader has
// not answered first; what comes later stays pending for the next read.
Waiting g_timeouts[kMaxProcesses * kMaxThreads];

void time_out_read(Process& p, uint64_t ns) {
    uint32_t index = wait_index(p, p.current);
    g_timeouts[index] = g_waiting[index];
    g_timeouts[index].sleep_ns = ns;
    int64_t t = start_thread(wait_thread, &g_timeouts[index], 16, 32 * 1024);
    if (t >= 0) sys::handle_close(static_cast<Handle>(t));
}

// Raw mode: the bytes typed, as they come (CR made NL under ICRNL), for
// whichever read waits (of `size` bytes; 0: none yet), else kept (and a
// poll told). With VMIN above 1 the read has at least VMIN bytes (or its
// size), however far apart they were typed.
void read_raw(Process& p, uint64_t size) {
    static proto::console::ReadRaw::Request q;
    static proto::console::ReadRaw::Reply r;
    q.echo = (g_termios.lflag & kEcho) != 0;
    // The keys that signal under ISIG, if still the console's (VINTR, VSUSP, VQUIT).
    const uint8_t* cc = g_termios.cc;
    q.isig = !(g_termios.lflag & kIsig) ? 0 : (cc[0] == 3 ? 1 : 0) | (cc[10] == 26 ? 2 : 0) | (cc[1] == 28 ? 4 : 0);
    uint64_t want = cc[kVmin] < size ? cc[kVmin] : size;
    uint32_t have = 0;
    do {
        int64_t e = rpc::call<proto::console::ReadRaw>(g_console, q, &r);
        if (e >= 0 && r.cancelled) {
            __atomic_store_n(&p.reading, false, __ATOMIC_SEQ_CST);
            return;
        }
        if (e < 0) {
            p.pending_error = true;
            break;
        }
        uint32_t n = r.size < sizeof p.pending_input - have ? r.size : sizeof p.pending_input - have;
        for (uint32_t i = 0; i < n; ++i)
            p.pending_input[have + i] = r.data[i] == '\r' && (g_termios.iflag & kIcrnl) ? '\n' : r.data[i];
        have += n;
    } while (have < want && have < sizeof p.pending_input);
    p.pending_size = have, p.pending_used = 0;
    hand_over(p);
}

// The console's next bytes for a read: a pending line, its end, or its error.
void take_line(Process& p, uint64_t to, uint64_t size, int64_t* result) {
    if (p.pending_used < p.pending_size) {
        take_pending(p, to, size, result);
    } else if (p.pending_error) {
        p.pending_error = false;
        *result = -lx::kEIO;
    } else {
        p.pending_eof = false;
        *result = 0;
    }
}

// Counted per program; the list goes to the system log when it ends.
void unimplemented(Process& p, uint64_t number) {
    for (uint32_t i = 0; i < p.missing_count; ++i)
        if (p.missing[i].number == number) {
            ++p.missing[i].count;
            return;
        }
    if (p.missing_count < kMaxMissing) p.missing[p.missing_count++] = {static_cast<uint32_t>(number), 1};
    else ++p.missing_more;
}

}  // namespace

void serve(Process& p, uint64_t rax, CallState& s) {
    int64_t& r = s.result;
    uint64_t number = static_cast<uint32_t>(rax);  // as Linux: the low 32 bits name the call
    if (number != lx::kRead && number != lx::kPread64) first_check(p, number, nullptr);
    // Calls that need no arguments: no register read.
    switch (number) {
        case lx::kGetpid: r = static_cast<int64_t>(p.pid); return;
        case lx::kGetpgrp: r = static_cast<int64_t>(p.pgid); return;
        case lx::kGettid: r = static_cast<int64_t>(p.task().tid); return;
        case lx::kGetuid:
        case lx::kGeteuid:
        case lx::kGetgid:
        case lx::kGetegid: r = 0; return;
        case lx::kSchedYield: r = 0; return;
        case lx::kGetgroups: r = 0; return;  // root, in no supplementary group
        default: break;
    }
    Task& t = p.task();
    if (sys::thread_regs_read(t.thread, &s.regs) != kOk) {
        r = -lx::kEFAULT;
        return;
    }
    s.have_regs = true;
    const uint64_t a[6] = {s.regs.rdi, s.regs.rsi, s.regs.rdx, s.regs.r10, s.regs.r8, s.regs.r9};
    first_check(p, number, a);
    // If it waits and a signal's handler has SA_RESTART: calls Linux restarts then.
    t.call = number;
    t.restartable = number == lx::kRead || number == lx::kWrite || number == lx::kReadv ||
                    number == lx::kWritev || number == lx::kWait4 || number == lx::kFcntl ||
                    number == lx::kAccept || number == lx::kAccept4 || number == lx::kSendto ||
                    number == lx::kRecvfrom || number == lx::kSendmsg || number == lx::kRecvmsg ||
                    number == lx::kOpen || number == lx::kOpenat;  // a FIFO's open waits
    // A read of the console waits for a line on a thread of its own.
    if (number == lx::kRead && a[0] < kMaxFds && p.fds[a[0]].kind == Fd::kConsole) {
        if (int64_t e = tty_access(p, 21, s)) {  // from the background: SIGTTIN
            r = e < 0 ? e : 0;
        } else if (a[2] == 0) {
            r = 0;
        } else if (p.pending_used < p.pending_size || p.pending_eof || p.pending_error) {
            take_line(p, a[1], a[2], &r);
        } else if (!(g_termios.lflag & kIcanon) && g_termios.cc[kVmin] == 0 && g_termios.cc[kVtime] == 0) {
            console_prefetch(p);  // VMIN 0, VTIME 0: nothing has come; a helper looks for what comes
            r = 0;
        } else if (wait_later(p, a[1], a[2], 0)) {
            s.later = true;
            if (!(g_termios.lflag & kIcanon) && g_termios.cc[kVmin] == 0)  // VMIN 0: at most VTIME tenths
                time_out_read(p, g_termios.cc[kVtime] * 100'000'000ULL);
        } else {
            r = -lx::kENOMEM;
        }
        return;
    }
    if (serve_socket_call(p, number, a, s) || serve_file_call(p, number, a, s) || serve_process_call(p, number, a, s) ||
        serve_job_call(p, number, a, s))
        return;
    switch (number) {
        case lx::kBrk: r = brk(p, a[0]); return;
        case lx::kMmap: r = mmap(p, a); return;
        case lx::kMremap: r = mremap(p, a); return;
        case lx::kMunmap:
            r = a[0] % kPage || a[1] == 0 ? -lx::kEINVAL : unmap(p, a[0], round_up(a[1])) ? -lx::kEINVAL : 0;
            return;
        case lx::kMprotect:
            r = a[0] % kPage ? -lx::kEINVAL : protect(p, a[0], round_up(a[1]), perms_of(a[2])) ? -lx::kENOMEM : 0;
            return;
        case lx::kMadvise: r = 0; return;
        case lx::kArchPrctl:
            if (a[0] == lx::kArchSetFs) {
                s.regs.fs_base = a[1];
                r = sys::thread_regs_write(t.thread, &s.regs) == kOk ? 0 : -lx::kEPERM;
            } else if (a[0] == lx::kArchGetFs) {
                r = copy_out(p, a[1], &s.regs.fs_base, sizeof s.regs.fs_base) ? -lx::kEFAULT : 0;
            } else {
                r = -lx::kEINVAL;
            }
            return;
        case lx::kSetTidAddress: t.clear_tid = a[0], r = static_cast<int64_t>(t.tid); return;
        case lx::kSetRobustList: r = 0; return;
        case lx::kRseq: r = -lx::kENOSYS; return;  // glibc goes on without it
        case lx::kPrlimit64: r = a[0] && a[0] != p.pid ? -lx::kESRCH : limit(p, a[1], a[3]); return;
        case lx::kGetrlimit: r = limit(p, a[0], a[1]); return;
        case lx::kUname: r = uname(p, a[0]); return;
        case lx::kSysinfo: r = sysinfo(p, a[0]); return;
        case lx::kAlarm:
        case lx::kGetitimer:
        case lx::kSetitimer: r = itimer(p, number, a); return;
        case lx::kRtSigaction: r = sigaction(p, a[0], a[1], a[2]); return;
        case lx::kRtSigprocmask: r = sigprocmask(p, a[0], a[1], a[2]); return;
        case lx::kRtSigpending: {
            uint64_t pending = (p.sigpending | t.sigpending) & t.sigmask;
            r = a[1] != 8 ? -lx::kEINVAL : copy_out(p, a[0], &pending, 8) ? -lx::kEFAULT : 0;
            return;
        }
        case lx::kRtSigsuspend:
        case lx::kPause: {
            // Waits, with this mask (sigsuspend), until a signal is delivered: always EINTR.
            uint64_t mask = t.sigmask;
            if (number == lx::kRtSigsuspend && a[1] != 8) {
                r = -lx::kEINVAL;
                return;
            }
            if (number == lx::kRtSigsuspend && copy_in(p, a[0], &mask, 8)) {
                r = -lx::kEFAULT;
                return;
            }
            t.saved_mask = t.sigmask, t.mask_saved = true;
            t.sigmask = mask & ~(1ULL << 8 | 1ULL << 18);
            r = -lx::kEINTR;  // at once if a signal is ready: the mask comes back after its handler
            if (signal_waiting(p, t)) return;
            if (wait_here(p, t.suspend, 0, 0)) s.later = true;
            else t.sigmask = t.saved_mask, t.mask_saved = false, r = -lx::kENOMEM;
            return;
        }
        case lx::kSigaltstack: r = 0; return;
        case lx::kUmask: r = p.umask, p.umask = a[0] & 0777; return;
        case lx::kGetrandom: r = random_bytes(p, a[0], a[1]); return;
        case lx::kClockGettime: {
            lx::Timespec now = clock_now(a[0]);
            r = copy_out(p, a[1], &now, sizeof now) ? -lx::kEFAULT : 0;
            return;
        }
        case lx::kClockGetres: {
            lx::Timespec resolution{0, 1};
            r = a[1] && copy_out(p, a[1], &resolution, sizeof resolution) ? -lx::kEFAULT : 0;
            return;
        }
        case lx::kGettimeofday: {
            lx::Timespec now = clock_now(0);
            int64_t tv[2] = {now.sec, now.nsec / 1000};
            r = a[0] && copy_out(p, a[0], tv, sizeof tv) ? -lx::kEFAULT : 0;
            return;
        }
        case lx::kTime: {
            int64_t seconds = clock_now(0).sec;
            r = a[0] && copy_out(p, a[0], &seconds, sizeof seconds) ? -lx::kEFAULT : seconds;
            return;
        }
        case lx::kNanosleep:
        case lx::kClockNanosleep: {
            lx::Timespec span;
            uint64_t from = number == lx::kNanosleep ? a[0] : a[2];
            if (copy_in(p, from, &span, sizeof span)) {
                r = -lx::kEFAULT;
            } else if (span.sec < 0 || span.nsec < 0 || span.nsec >= 1'000'000'000) {
                r = -lx::kEINVAL;
            } else {
                constexpr int64_t kLongest = 10'000'000'000;  // seconds (317 years): no overflow below
                uint64_t sec = static_cast<uint64_t>(span.sec < kLongest ? span.sec : kLongest);
                uint64_t ns = sec * 1'000'000'000 + static_cast<uint64_t>(span.nsec);
                uint64_t remaining = number == lx::kNanosleep ? a[1] : a[3];
                if (number == lx::kClockNanosleep && (a[1] & 1)) {  // TIMER_ABSTIME: until then (no time left is told)
                    lx::Timespec now = clock_now(a[0]);
                    uint64_t at = static_cast<uint64_t>(now.sec) * 1'000'000'000 + static_cast<uint64_t>(now.nsec);
                    ns = ns > at ? ns - at : 0;
                    remaining = 0;
                }
                if (ns == 0) r = 0;
                else if (wait_later(p, 0, 0, ns, remaining)) s.later = true;
                else r = -lx::kENOMEM;
            }
            return;
        }
        case lx::kPoll:
        case lx::kPpoll:
        case lx::kSelect:
        case lx::kPselect6: r = poll_call(p, number, a, s); return;
        case lx::kFutex: r = futex(p, a, s); return;
        case lx::kSchedGetaffinity: {
            uint64_t mask = 1;
            r = a[1] < sizeof mask ? -lx::kEINVAL : copy_out(p, a[2], &mask, sizeof mask) ? -lx::kEFAULT : 8;
            return;
        }
        case lx::kSchedSetaffinity: {  // one CPU, as getaffinity says: a mask must hold it
            uint8_t first = 0;
            if (static_cast<int32_t>(a[0]) < 0) r = -lx::kESRCH;
            else if (a[1] == 0 || copy_in(p, a[2], &first, 1)) r = a[1] == 0 ? -lx::kEINVAL : -lx::kEFAULT;
            else r = first & 1 ? 0 : -lx::kEINVAL;
            return;
        }
        case lx::kSync:  // every change is on the disk when its call returns (file:'s promise); closes go now
            flush_closes();
            r = 0;
            return;
        case lx::kSyncfs:
            flush_closes();
            r = a[0] < kMaxFds && p.fds[a[0]].kind != Fd::kFree ? 0 : -lx::kEBADF;
            return;
        case lx::kPrctl:
            if (a[0] == 15) r = read_string(p, a[1], p.name, 16) == kOk ? 0 : -lx::kEFAULT;  // PR_SET_NAME
            else if (a[0] == 16) r = copy_out(p, a[1], p.name, 16) ? -lx::kEFAULT : 0;     // PR_GET_NAME
            else r = -lx::kEINVAL;
            return;
        case lx::kRtSigreturn: r = sigreturn(p, s); return;
        case lx::kKill: {
            // kill(pid, signal): a program (pid > 0), the caller's group (0),
            // every program but the caller (-1), the group -pid (< -1).
            int64_t target = static_cast<int32_t>(a[0]);
            int signal = static_cast<int>(a[1]);
            if (a[1] > 64) {
                r = -lx::kEINVAL;
            } else if (target > 0) {
                Process* q = nullptr;
                for (Process& other : g_processes)
                    if (other.used && !other.zombie && other.pid == static_cast<uint64_t>(target)) q = &other;
                r = q ? 0 : -lx::kESRCH;
                if (q && signal) send_signal(*q, signal, nullptr, &p);
            } else if (target == -1) {
                bool any = false;
                for (Process& other : g_processes) {
                    if (!other.used || other.zombie || &other == &p) continue;
                    any = true;
                    if (signal) send_signal(other, signal, nullptr, &p);
                }
                r = any ? 0 : -lx::kESRCH;
            } else {
                r = signal_group(target ? static_cast<uint64_t>(-target) : p.pgid, signal, &p) ? 0 : -lx::kESRCH;
            }
            return;  // on_fault sees it if it killed itself
        }
        case lx::kTkill:
        case lx::kTgkill: {
            // tkill(tid, signal) and tgkill(pid, tid, signal) name a thread.
            int64_t tid = static_cast<int32_t>(number == lx::kTkill ? a[0] : a[1]);
            uint64_t signal = number == lx::kTgkill ? a[2] : a[1];
            Process* q = nullptr;
            Task* to = nullptr;
            for (Process& other : g_processes) {
                if (q || !other.used || other.zombie) continue;
                if (number == lx::kTgkill && other.pid != static_cast<uint64_t>(static_cast<int32_t>(a[0]))) continue;
                for (Task& u : other.tasks)
                    if (u.thread != kNoHandle && u.tid == static_cast<uint64_t>(tid)) q = &other, to = &u;
            }
            if (tid <= 0 || signal > 64) r = -lx::kEINVAL;
            else if (!q) r = -lx::kESRCH;
            else if (signal == 0) r = 0;
            else {
                r = 0;
                send_signal(*q, static_cast<int>(signal), to, &p);
            }
            return;
        }
        case lx::kExit:
            if (exit_thread(p, t)) {  // another thread goes on
                s.thread_ended = true;
                return;
            }
            end(p, static_cast<int64_t>(a[0] & 0xff));
            s.ended = true;
            return;
        case lx::kExitGroup:
            end(p, static_cast<int64_t>(a[0] & 0xff));
            s.ended = true;
            return;
        default:
            unimplemented(p, number);
            r = -lx::kENOSYS;
            return;
    }
}

lx::Termios g_termios;

void reset_termios() {
    lx::Termios t{};
    t.iflag = 0x500;   // ICRNL | IXON
    t.oflag = 0x5;     // OPOST | ONLCR
    t.cflag = 0xbf;    // B38400 | CS8 | CREAD
    t.lflag = 0x8a3b;  // ISIG ICANON ECHO ECHOE ECHOK ECHOCTL ECHOKE IEXTEN
    const uint8_t cc[] = {3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22};
    memcpy(t.cc, cc, sizeof cc);
    g_termios = t;
}

lx::Timespec clock_now(uint64_t clock) {
    int64_t ns = sys::clock_monotonic();
    lx::Timespec t{ns / 1'000'000'000, ns % 1'000'000'000};
    if (clock == 0 || clock == 5 || clock == 8) t.sec += boot_epoch();  // REALTIME, _COARSE, _ALARM
    return t;
}

}  // namespace personality

namespace personality {

bool take_helper_wait(Process& p, Task& t, Handle* saved, bool* restartable) {
    uint32_t task = static_cast<uint32_t>(&t - p.tasks), index = wait_index(p, task);
    uint64_t generation = __atomic_load_n(&g_owner[index], __ATOMIC_SEQ_CST);
    const Waiting& w = g_waiting[index];
    if (!generation || w.generation != generation || w.p != &p || w.task != task || !claim(index, generation))
        return false;
    *saved = w.saved;
    *restartable = w.sleep_ns == 0;  // a console read; a sleep is not restarted (it tells the time left)
    if (w.sleep_ns && w.remaining) {
        int64_t left = static_cast<int64_t>(w.deadline) - sys::clock_monotonic();
        if (left < 0) left = 0;
        lx::Timespec rest{left / 1'000'000'000, left % 1'000'000'000};
        copy_out(p, w.remaining, &rest, sizeof rest);
    }
    return true;
}

}  // namespace personality
