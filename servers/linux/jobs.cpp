// Job control, as a Linux terminal and its sessions give it to shells:
// process groups and sessions (setpgid, setsid), the console's foreground
// group (tcsetpgrp), signals to a group (kill with 0 or -pgid, Ctrl-C,
// Ctrl-Z and Ctrl-\ from the console), stopping and continuing programs
// (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU; SIGCONT), and orphaned groups.
//
// A program started from Mica's shell (Run) leads a new session, and the
// console is that session's terminal with the program's group in front.
// Mica's shell is outside the Linux world, so a group whose only parent is
// it is orphaned: the terminal's stop signals do not stop it (nobody could
// continue it), as POSIX has it for orphaned groups.
//
// Stopping: a thread busy in its own code is interrupted (thread_interrupt)
// and, like every thread of a stopped program that comes here (a system
// call, which is made again later), kept waiting for its reply until the
// program continues. A thread waiting in a call when its program stops
// goes on waiting; if the call ends meanwhile, the thread stops at its
// next call. Simplifications: a stop signal with the default action acts
// even while blocked, and stops at once rather than when a thread next runs.
#include "linux_abi.h"
#include "process.h"

using namespace mica;

namespace personality {

uint64_t g_tty_sid = 0, g_tty_pgrp = 0;

namespace {

constexpr int kSighup = 1, kSigkill = 9, kSigchld = 17, kSigcont = 18, kSigstop = 19, kSigtstp = 20,
              kSigttin = 21, kSigttou = 22;
constexpr uint64_t kSaNocldstop = 1, kSigDefault = 0, kSigIgnore = 1;

uint64_t bit(int signal) { return 1ULL << (signal - 1); }
constexpr uint64_t kStopSignals = 1ULL << (kSigstop - 1) | 1ULL << (kSigtstp - 1) | 1ULL << (kSigttin - 1) |
                                  1ULL << (kSigttou - 1);

bool stop_signal(int signal) { return (bit(signal) & kStopSignals) != 0; }

void drop_pending(Process& q, uint64_t bits) {
    q.sigpending &= ~bits;
    for (Task& t : q.tasks) t.sigpending &= ~bits;
}

// Its parent hears of a stop or a continuation: wait4 with WUNTRACED or
// WCONTINUED, and SIGCHLD unless it asked for none (SA_NOCLDSTOP).
void report(Process& q, int32_t change) {
    q.change = change;
    Process* parent = parent_of(q);
    if (!parent) return;
    child_changed(q);
    if (!(parent->sigactions[kSigchld][1] & kSaNocldstop)) send_signal(*parent, kSigchld);
}

void stop(Process& q, int signal) {
    drop_pending(q, bit(kSigcont));
    if (q.stopped) return;
    q.stopped = true;
    for (Task& t : q.tasks)
        if (t.thread != kNoHandle && t.running) sys::thread_interrupt(t.thread);  // it comes here, to be held
    report(q, signal);
}

void resume(Process& q) {
    drop_pending(q, kStopSignals);
    if (!q.stopped) return;
    q.stopped = false;
    for (Task& t : q.tasks) {
        if (t.held != kNoHandle) {
            Handle held = t.held;
            t.held = kNoHandle;
            t.running = true;
            sys::ipc_reply_to(held, Message{0, 0, 0, 0});
        }
        interrupt(q, t);  // what was sent to it meanwhile is delivered now
    }
    report(q, -1);
}

Process* by_pid(uint64_t pid) {
    for (Process& q : g_processes)
        if (q.used && !q.zombie && q.pid == pid) return &q;
    return nullptr;
}

bool group_in_session(uint64_t pgid, uint64_t sid) {
    for (Process& q : g_processes)
        if (q.used && !q.zombie && q.pgid == pgid && q.sid == sid) return true;
    return false;
}

bool ignores_or_blocks(Process& p, int signal) {
    return p.sigactions[signal][0] == kSigIgnore || (p.task().sigmask & bit(signal));
}

// What the signal does by default: end the program (not ignore it, not stop it).
bool ends_by_default(int signal) {
    return !stop_signal(signal) && signal != kSigchld && signal != kSigcont && signal != 23 && signal != 28;
}

// Pending for a thread of q that does not block it.
bool waiting_for(const Process& q, int signal) {
    for (const Task& t : q.tasks)
        if (t.thread != kNoHandle && ((q.sigpending | t.sigpending) & ~t.sigmask & bit(signal))) return true;
    return false;
}

// A group this left orphaned, with a stopped program in it: SIGHUP, then SIGCONT.
void hang_up_if_orphaned(uint64_t pgid) {
    bool any_stopped = false;
    for (Process& q : g_processes) any_stopped |= q.used && !q.zombie && q.pgid == pgid && q.stopped;
    if (!any_stopped || !orphaned(pgid)) return;
    signal_group(pgid, kSighup);
    signal_group(pgid, kSigcont);
}

int64_t setpgid(Process& p, int64_t pid, int64_t pgid) {
    if (pgid < 0) return -lx::kEINVAL;
    Process* q = pid == 0 ? &p : by_pid(static_cast<uint64_t>(pid));
    if (!q || (q != &p && parent_of(*q) != &p)) return -lx::kESRCH;
    if (q != &p && q->execed) return -lx::kEACCES;
    if (q->sid == q->pid || q->sid != p.sid) return -lx::kEPERM;  // a session leader, or another session's
    uint64_t group = pgid ? static_cast<uint64_t>(pgid) : q->pid;
    if (group != q->pid && !group_in_session(group, p.sid)) return -lx::kEPERM;
    uint64_t old = q->pgid;
    q->pgid = group;
    hang_up_if_orphaned(old);
    return 0;
}

}  // namespace

bool orphaned(uint64_t pgid) {
    for (Process& q : g_processes) {
        if (!q.used || q.zombie || q.pgid != pgid) continue;
        Process* parent = parent_of(q);
        if (parent && parent->pgid != pgid && parent->sid == q.sid) return false;
    }
    return true;
}

void send_signal(Process& q, int signal, Task* to, const Process* caller) {
    if (!q.used || q.zombie || signal < 1 || signal > 64) return;
    if (signal == kSigkill) {
        end(q, 0, kSigkill);
        return;
    }
    uint64_t handler = q.sigactions[signal][0];
    if (signal == kSigcont) resume(q);  // whatever its handler
    if (stop_signal(signal)) {
        drop_pending(q, bit(kSigcont));
        if (signal == kSigstop || handler == kSigDefault) {
            if (signal == kSigstop || !orphaned(q.pgid)) stop(q, signal);
            return;
        }
    }
    raise_signal(q, signal, to);
    // A program waiting in a call, or busy, hears of it when it next stops
    // here; one the signal ends by default ends now (unless it is the
    // caller, or stopped: as on Linux, it ends when continued).
    if (&q != caller && q.used && !q.stopped && handler == kSigDefault && ends_by_default(signal) &&
        waiting_for(q, signal))
        end(q, 0, signal);
}

bool signal_group(uint64_t pgid, int signal, const Process* caller) {
    bool any = false;
    for (Process& q : g_processes) {
        if (!q.used || q.zombie || q.pgid != pgid) continue;
        any = true;
        if (signal) send_signal(q, signal, nullptr, caller);
    }
    return any;
}

void hold(Process& p, Task& t) {
    t.running = false;
    auto saved = sys::ipc_reply_save();
    if (!saved.ok()) {
        end(p, 0, kSigkill);  // it could never go on
        return;
    }
    t.held = saved.value();
}

void after_end(Process& p, const uint64_t* groups, uint32_t count) {
    if (p.sid == p.pid && g_tty_sid == p.sid) {
        // The session's leader ended: its terminal hangs up on the foreground group.
        uint64_t front = g_tty_pgrp;
        g_tty_sid = g_tty_pgrp = 0;
        if (front) signal_group(front, kSighup);
    }
    for (uint32_t i = 0; i < count; ++i) hang_up_if_orphaned(groups[i]);
}

bool serve_job_call(Process& p, uint64_t number, const uint64_t* a, CallState& s) {
    int64_t& r = s.result;
    switch (number) {
        case lx::kGetpgrp: r = static_cast<int64_t>(p.pgid); return true;
        case lx::kSetpgid: r = setpgid(p, static_cast<int32_t>(a[0]), static_cast<int32_t>(a[1])); return true;
        case lx::kGetpgid:
        case lx::kGetsid: {
            int64_t pid = static_cast<int32_t>(a[0]);
            Process* q = pid == 0 ? &p : nullptr;
            for (Process& c : g_processes)  // zombies keep theirs
                if (!q && pid > 0 && c.used && c.pid == static_cast<uint64_t>(pid)) q = &c;
            r = !q ? -lx::kESRCH : static_cast<int64_t>(number == lx::kGetpgid ? q->pgid : q->sid);
            return true;
        }
        case lx::kSetsid:
            if (p.pgid == p.pid || group_in_session(p.pid, p.sid)) {
                r = -lx::kEPERM;  // a group's leader cannot leave its group
                return true;
            }
            p.sid = p.pgid = p.pid;
            r = static_cast<int64_t>(p.pid);
            return true;
        default: return false;
    }
}

int64_t tty_access(Process& p, int signal, CallState& s) {
    if (p.sid != g_tty_sid || p.pgid == g_tty_pgrp) return 0;  // in front, or not this terminal's
    if (ignores_or_blocks(p, signal) || orphaned(p.pgid)) return signal == kSigttin ? -lx::kEIO : 0;
    signal_group(p.pgid, signal, &p);
    s.restart = true;
    return 1;
}

int64_t tty_ioctl(Process& p, uint64_t request, uint64_t arg, CallState& s) {
    if (p.sid != g_tty_sid) return -lx::kENOTTY;  // not its controlling terminal
    if (request == lx::kTiocspgrp) {
        int32_t pgrp;
        if (copy_in(p, arg, &pgrp, sizeof pgrp)) return -lx::kEFAULT;
        if (pgrp < 0) return -lx::kEINVAL;
        bool found = false;
        for (Process& q : g_processes) found |= q.used && !q.zombie && q.pgid == static_cast<uint64_t>(pgrp);
        if (!found) return -lx::kESRCH;
        if (!group_in_session(static_cast<uint64_t>(pgrp), p.sid)) return -lx::kEPERM;
        if (int64_t e = tty_access(p, kSigttou, s)) return e;
        g_tty_pgrp = static_cast<uint64_t>(pgrp);
        return 0;
    }
    int32_t value = static_cast<int32_t>(request == lx::kTiocgsid ? g_tty_sid : g_tty_pgrp);
    return copy_out(p, arg, &value, sizeof value) ? -lx::kEFAULT : 0;
}

}  // namespace personality
