// poll, ppoll, select and pselect6: waiting for descriptors.
//
// A call is answered at once when a descriptor it names is ready (or its
// timeout is 0); otherwise its reply is saved in the thread's Task
// (`poll`, a Waiter like any other: a signal ends it with EINTR) with its
// arguments, and it is looked at again by poll_wake, on the personality's
// main thread, whenever something may have changed: a pipe moved or lost
// an end (pipe.cpp), a console line came in for its program, or a poll's
// deadline passed (the timer thread, threads.cpp), a socket had news
// (net: signals; sockets.cpp). The last three happen on helper threads,
// which send the main thread a Wake message rather than touch a program's
// memory themselves.
//
// Ready: files and devices always; a pipe's read end when it holds bytes
// (POLLHUP once no writer is left), its write end when 4,096 bytes fit (PIPE_BUF;
// POLLERR once no reader is left); the console for writing always, for
// reading when a line is waiting (a helper reads one for a program that polls);
// a socket as net: says (POLLIN: data, a connection to accept or the
// peer's end; POLLOUT: room to send; POLLERR and POLLHUP: the connection
// failed), a watch armed on it when it is not ready.
#include "linux_abi.h"
#include "mica/strings.h"
#include "process.h"

using namespace mica;

namespace personality {
namespace {

constexpr int16_t kIn = lx::kPollIn, kOut = lx::kPollOut, kErr = lx::kPollErr, kHup = lx::kPollHup,
                  kNval = lx::kPollNval, kRdnorm = lx::kPollRdnorm, kWrnorm = lx::kPollWrnorm;
constexpr uint64_t kMaxPollFds = kMaxFds;

struct PollFd {
    int32_t fd;
    int16_t events, revents;
};

// What descriptor `fd` is ready for, as poll's bits (a socket says only of
// those `wanted`, and its errors). *console is set when a console line
// would make it readable and none is there yet.
int16_t ready(Process& p, int64_t fd, int16_t wanted, bool* console) {
    if (fd < 0 || fd >= static_cast<int64_t>(kMaxFds) || p.fds[fd].kind == Fd::kFree) return kNval;
    const Fd& f = p.fds[fd];
    switch (f.kind) {
        case Fd::kPipeRead: {  // (a FIFO opened O_RDWR writes too)
            // A FIFO's reader opened with no writer and O_NONBLOCK hears of a hang-up only once
            // a writer has come, as on Linux (fifo_open in pipe.cpp).
            bool hup = f.pipe->writers == 0 && (!f.pipe->inode || f.index != f.pipe->writer_opens);
            return static_cast<int16_t>((f.pipe->used ? kIn | kRdnorm : 0) | (hup ? kHup : 0) |
                                        (pipe_writes(f) && kPipeBytes - f.pipe->used >= 4096 ? kOut | kWrnorm : 0));
        }
        case Fd::kPipeWrite:
            if (f.pipe->readers == 0) return kErr;
            return kPipeBytes - f.pipe->used >= 4096 ? kOut | kWrnorm : 0;
        case Fd::kConsole: {
            bool line = p.pending_used < p.pending_size || p.pending_eof || p.pending_error;
            if (!line) *console = true;
            return static_cast<int16_t>(kOut | kWrnorm | (line ? kIn | kRdnorm : 0));
        }
        case Fd::kSocket: return socket_ready(f, wanted);
        default: return kIn | kOut | kRdnorm | kWrnorm;
    }
}

// poll's array: each revents written; how many are ready, or -errno.
int64_t scan_poll(Process& p, uint64_t fds, uint64_t count, bool* console) {
    if (count > kMaxPollFds) return -lx::kEINVAL;
    int64_t ready_count = 0;
    for (uint64_t i = 0; i < count; ++i) {
        PollFd e;
        if (copy_in(p, fds + i * sizeof e, &e, sizeof e)) return -lx::kEFAULT;
        e.revents = 0;
        if (e.fd >= 0) {
            bool wants_console = false;
            int16_t r = ready(p, e.fd, e.events, &wants_console);
            e.revents = static_cast<int16_t>(r & (e.events | kErr | kHup | kNval));
            if (wants_console && (e.events & (kIn | kRdnorm))) *console = true;
        }
        if (e.revents) ++ready_count;
        if (copy_out(p, fds + i * sizeof e, &e, sizeof e)) return -lx::kEFAULT;
    }
    return ready_count;
}

// select's three sets (each may be null) of nfds bits: how many bits are
// set in the answer, or -errno. The sets are written only when something is
// ready, or with `clear` (a timeout: all empty).
int64_t scan_select(Process& p, const uint64_t* a, bool clear, bool* console) {
    uint64_t nfds = a[0];
    if (nfds > kMaxFds) return -lx::kEINVAL;
    constexpr uint32_t kWords = kMaxFds / 64;
    uint64_t in[3][kWords] = {}, out[3][kWords] = {};
    uint64_t bytes = (nfds + 63) / 64 * 8;
    for (int s = 0; s < 3; ++s)
        if (a[1 + s] && copy_in(p, a[1 + s], in[s], bytes)) return -lx::kEFAULT;
    int64_t count = 0;
    for (uint64_t fd = 0; fd < nfds && !clear; ++fd) {
        uint64_t bit = 1ULL << (fd % 64), word = fd / 64;
        bool read = in[0][word] & bit, write = in[1][word] & bit;
        if (!read && !write && !(in[2][word] & bit)) continue;
        bool wants_console = false;
        int16_t r = ready(p, static_cast<int64_t>(fd), static_cast<int16_t>((read ? kIn : 0) | (write ? kOut : 0)),
                          &wants_console);
        if (r & kNval) return -lx::kEBADF;
        if (read && (r & (kIn | kHup | kErr))) out[0][word] |= bit, ++count;
        if (write && (r & (kOut | kErr))) out[1][word] |= bit, ++count;
        if (read && wants_console) *console = true;
    }
    if (count || clear)
        for (int s = 0; s < 3; ++s)
            if (a[1 + s] && copy_out(p, a[1 + s], out[s], bytes)) return -lx::kEFAULT;
    return count;
}

// Looks at the call again: its result, or 0 if it should go on waiting.
int64_t scan(Process& p, uint64_t number, const uint64_t* a, bool timed_out, bool* console) {
    if (number == lx::kPoll || number == lx::kPpoll) return scan_poll(p, a[0], a[1], console);
    return scan_select(p, a, timed_out, console);
}

// A timeout as a deadline on clock_monotonic: 0 when there is none (wait
// for ever), 1 when it is already over (answer at once).
int64_t deadline_of(Process& p, uint64_t number, const uint64_t* a, uint64_t* deadline) {
    *deadline = 0;
    int64_t ns = -1;
    if (number == lx::kPoll) {
        int64_t ms = static_cast<int32_t>(a[2]);
        if (ms >= 0) ns = ms * 1'000'000;
    } else {
        uint64_t address = number == lx::kPpoll ? a[2] : a[4];
        if (address) {
            lx::Timespec t;
            if (copy_in(p, address, &t, sizeof t)) return -lx::kEFAULT;
            if (number == lx::kSelect) t.nsec *= 1000;  // a timeval: microseconds
            if (t.sec < 0 || t.nsec < 0 || t.nsec >= 1'000'000'000) return -lx::kEINVAL;
            ns = t.sec > 1'000'000'000 ? 1'000'000'000'000'000'000 : t.sec * 1'000'000'000 + t.nsec;
        }
    }
    if (ns == 0) *deadline = 1;
    else if (ns > 0) *deadline = static_cast<uint64_t>(sys::clock_monotonic() + ns);
    return 0;
}

// ppoll's and pselect6's signal mask, for the call's length: as
// rt_sigsuspend, the thread's own comes back when the call ends (or after
// the handler of a signal that ended it).
int64_t use_mask(Process& p, Task& t, uint64_t number, const uint64_t* a) {
    uint64_t address = 0, size = 8;
    if (number == lx::kPpoll) {
        address = a[3], size = a[4];
    } else if (number == lx::kPselect6 && a[5]) {
        uint64_t data[2];
        if (copy_in(p, a[5], data, sizeof data)) return -lx::kEFAULT;
        address = data[0], size = data[1];
    }
    if (!address) return 0;
    if (size != 8) return -lx::kEINVAL;
    uint64_t mask;
    if (copy_in(p, address, &mask, sizeof mask)) return -lx::kEFAULT;
    t.saved_mask = t.sigmask, t.mask_saved = true;
    t.sigmask = mask & ~(1ULL << 8 | 1ULL << 18);
    return 0;
}

// Programs (bit: slot) that may have a thread waiting in a poll: a wake
// looks at those alone (a pipe's every move asks for one).
uint32_t g_polling;

void end_mask(Task& t) {
    if (t.mask_saved) t.sigmask = t.saved_mask, t.mask_saved = false;
}

}  // namespace

int64_t poll_call(Process& p, uint64_t number, const uint64_t* a, CallState& s) {
    Task& t = p.task();
    uint64_t deadline;
    if (int64_t e = deadline_of(p, number, a, &deadline)) return e;
    if (int64_t e = use_mask(p, t, number, a)) return e;
    bool console = false;
    int64_t r = scan(p, number, a, false, &console);
    if (r == 0 && deadline == 1) r = scan(p, number, a, true, &console);  // timed out at once: select's sets emptied
    if (r != 0 || deadline == 1) {
        end_mask(t);
        return r;
    }
    // A signal the new mask lets through ends it at once (on_fault's interrupt).
    if (!wait_here(p, t.poll, 0, 0)) {
        end_mask(t);
        return -lx::kENOMEM;
    }
    t.poll_number = number;
    memcpy(t.poll_args, a, sizeof t.poll_args);
    t.poll_deadline = deadline;
    g_polling |= 1u << p.slot;
    if (deadline) timer_watch();
    if (console) console_prefetch(p);
    s.later = true;
    return 0;
}

void poll_wake() {
    if (!g_polling) return;
    uint64_t now = static_cast<uint64_t>(sys::clock_monotonic());
    for (uint32_t bits = g_polling; bits; bits &= bits - 1) {
        uint32_t slot = static_cast<uint32_t>(__builtin_ctz(bits));
        Process& p = g_processes[slot];
        bool waits = false;
        for (Task& t : p.tasks) {
            if (!p.used || p.zombie || t.poll.saved == kNoHandle) continue;
            bool console = false, over = t.poll_deadline && t.poll_deadline <= now;
            int64_t r = scan(p, t.poll_number, t.poll_args, false, &console);
            if (r == 0 && over) r = scan(p, t.poll_number, t.poll_args, true, &console);
            if (r != 0 || over) {
                end_mask(t);
                answer(t.poll, r);
            } else {
                waits = true;
                if (console) console_prefetch(p);
            }
        }
        if (!waits) g_polling &= ~(1u << slot);
    }
}

}  // namespace personality
