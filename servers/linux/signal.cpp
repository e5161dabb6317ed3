// Signals of Linux programs. A signal sent (kill, tgkill, a child's end,
// a write to a pipe nobody reads) is pending until its program next stops
// in the personality: then an unblocked one with a handler is delivered as
// Linux does, by a signal frame on the program's stack (its registers, FPU
// state and mask in a ucontext, a siginfo) and a jump to the handler, which
// returns through sa_restorer to rt_sigreturn; one with the default action
// ends the program or is dropped. A program waiting in a call (a pipe, a
// socket, wait4, a lock, the console, a sleep, rt_sigsuspend) is
// interrupted at once: the call fails with EINTR — or, when the handler has
// SA_RESTART and the call is one Linux restarts, the frame holds the
// registers that make the call again after rt_sigreturn. Not yet: SA_ONSTACK.
//
// A signal sent to a process is taken by one of its threads that does not
// block it (the one being served first); one sent to a thread (tgkill) waits
// for that thread. Each thread has its own mask.
#include "linux_abi.h"
#include "mica/strings.h"
#include "process.h"

using namespace mica;

namespace personality {
namespace {

constexpr uint64_t kSaSiginfo = 4, kSaRestart = 0x10000000, kSaNodefer = 0x40000000, kSaResethand = 0x80000000;
constexpr uint64_t kSigDefault = 0, kSigIgnore = 1;
constexpr int kSigchld = 17, kSigcont = 18, kSigstop = 19, kSigtstp = 20, kSigttin = 21, kSigttou = 22,
              kSigurg = 23, kSigwinch = 28;

struct Sigcontext {
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp;
    uint64_t rip, eflags;
    uint16_t cs, gs, fs, ss;
    uint64_t err, trapno, oldmask, cr2;
    uint64_t fpstate;
    uint64_t reserved[8];
};
static_assert(sizeof(Sigcontext) == 256);

struct Ucontext {
    uint64_t flags, link;
    uint64_t stack_sp;
    int32_t stack_flags, pad;
    uint64_t stack_size;
    Sigcontext mcontext;
    uint64_t sigmask;
};
static_assert(sizeof(Ucontext) == 304);

struct Siginfo {
    int32_t signo, errno_, code, pad;
    int32_t pid, uid, status, pad2;
    uint8_t rest[96];
};
static_assert(sizeof(Siginfo) == 128);

struct Frame {
    uint64_t return_address;  // sa_restorer: the handler's `ret` goes there
    Ucontext uc;
    Siginfo info;
};

uint64_t bit(int signal) { return 1ULL << (signal - 1); }

bool ignored_by_default(int signal) {
    // Stop signals with the default action stop the program (jobs.cpp) rather than arrive.
    return signal == kSigchld || signal == kSigurg || signal == kSigwinch || signal == kSigcont ||
           signal == kSigstop || signal == kSigtstp || signal == kSigttin || signal == kSigttou;
}

// Builds the frame and points the registers at the handler.
int64_t enter_handler(Process& p, Task& t, int signal, ThreadRegs& r) {
    const uint64_t* action = p.sigactions[signal];
    uint64_t sp = r.rsp - 128;                    // below the red zone
    uint64_t fpstate = (sp - 512) & ~63ULL;       // the FXSAVE image, aligned
    uint64_t frame_at = ((fpstate - sizeof(Frame)) & ~15ULL) - 8;  // as after a call: RSP + 8 aligned
    // After rt_sigsuspend, the handler returns to the caller's own mask.
    uint64_t old_mask = t.mask_saved ? t.saved_mask : t.sigmask;
    Frame f{};
    f.return_address = action[2];
    f.uc.mcontext = Sigcontext{r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rdi, r.rsi, r.rbp, r.rbx,
                               r.rdx, r.rax, r.rcx, r.rsp, r.rip, r.rflags, 0x33, 0, 0, 0x2b, 0, 0,
                               old_mask, 0, fpstate, {}};
    f.uc.sigmask = old_mask;
    f.info.signo = signal;
    f.info.code = 0;  // SI_USER
    if (copy_out(p, fpstate, r.fpu, sizeof r.fpu) || copy_out(p, frame_at, &f, sizeof f)) return -lx::kEFAULT;
    t.mask_saved = false;
    r.rdi = static_cast<uint64_t>(signal);
    r.rsi = frame_at + offsetof(Frame, info);
    r.rdx = frame_at + offsetof(Frame, uc);
    r.rax = 0;
    r.rsp = frame_at;
    r.rip = action[0];
    r.rflags &= ~(1ULL << 10);  // DF clear, as the ABI wants at a call
    t.sigmask |= action[3] | (action[1] & kSaNodefer ? 0 : bit(signal));
    if (action[1] & kSaResethand) p.sigactions[signal][0] = kSigDefault;
    return 0;
}

}  // namespace

void raise_signal(Process& p, int signal, Task* to_thread) {
    if (signal < 1 || signal > 64) return;
    uint64_t handler = p.sigactions[signal][0];
    if (handler == kSigIgnore || (handler == kSigDefault && ignored_by_default(signal))) return;
    if (to_thread) {
        to_thread->sigpending |= bit(signal);
        if (!(to_thread->sigmask & bit(signal))) interrupt(p, *to_thread);
        return;
    }
    p.sigpending |= bit(signal);
    Task* taker = nullptr;
    if (p.task().thread != kNoHandle && !(p.task().sigmask & bit(signal))) taker = &p.task();
    for (Task& t : p.tasks)
        if (!taker && t.thread != kNoHandle && !t.exiting && !(t.sigmask & bit(signal))) taker = &t;
    if (taker) interrupt(p, *taker);
}

void interrupt(Process& p, Task& t) {
    // A stopped program hears of it when it continues (jobs.cpp).
    if (!p.used || p.zombie || p.stopped || t.thread == kNoHandle || t.exiting || !signal_waiting(p, t)) return;
    Handle saved = kNoHandle;
    bool restartable = false;
    int64_t result = -lx::kEINTR;
    if (Waiter* w = t.waiting_in) {
        saved = w->saved;
        if (w->done) result = static_cast<int64_t>(w->done);  // a pipe write cut short: what it wrote
        else restartable = t.restartable;
        *w = Waiter{};
        t.waiting_in = nullptr;
    } else if (!futex_take(t, &saved) && !take_helper_wait(p, t, &saved, &restartable)) {
        // Not waiting: served now (delivered on the way back), or running its
        // own code, which may make no call for a long time: stop it.
        if (t.running) sys::thread_interrupt(t.thread);
        return;
    }
    if (t.fifo_fd >= 0) close_fd(p, p.fds[t.fifo_fd]), t.fifo_fd = -1;  // a FIFO's open: not opened after all
    int first = __builtin_ctzll((t.sigpending | p.sigpending) & ~t.sigmask) + 1;
    ThreadRegs r;
    if (sys::thread_regs_read(t.thread, &r) != kOk) {
        sys::handle_close(saved);
        return;
    }
    if (restartable && result == -lx::kEINTR && (p.sigactions[first][1] & kSaRestart)) {
        rewind_call(r, t.call);
    } else {
        r.rax = static_cast<uint64_t>(result);
    }
    bool alive = deliver_signals(p, t, r);
    if (alive && sys::thread_regs_write(t.thread, &r) == kOk) {
        sys::ipc_reply_to(saved, Message{0, 0, 0, 0});
        t.running = true;
    } else {
        sys::handle_close(saved);
    }
}

bool signal_waiting(const Process& p, const Task& t) { return ((t.sigpending | p.sigpending) & ~t.sigmask) != 0; }

bool any_signal_waiting(const Process& p) {
    for (const Task& t : p.tasks)
        if (t.thread != kNoHandle && signal_waiting(p, t)) return true;
    return false;
}

bool deliver_signals(Process& p, Task& t, ThreadRegs& r) {
    uint64_t ready = (t.sigpending | p.sigpending) & ~t.sigmask;
    // SIGKILL and SIGSTOP cannot be blocked (sigprocmask sees to it).
    for (int signal = 1; ready && signal <= 64; ++signal) {
        if (!(ready & bit(signal))) continue;
        if (t.sigpending & bit(signal)) t.sigpending &= ~bit(signal);
        else p.sigpending &= ~bit(signal);
        uint64_t handler = p.sigactions[signal][0];
        if (handler == kSigDefault) {
            end(p, 0, signal);
            return false;
        }
        if (handler == kSigIgnore) continue;
        if (enter_handler(p, t, signal, r) != 0) {  // no room for the frame: as Linux, SIGSEGV
            end(p, 0, 11);
            return false;
        }
        return true;  // one at a time; the rest when it next stops
    }
    if (t.mask_saved) t.sigmask = t.saved_mask, t.mask_saved = false;  // no handler ran: rt_sigsuspend's mask ends
    return true;
}

int64_t sigreturn(Process& p, CallState& s) {
    ThreadRegs& r = s.regs;
    uint64_t frame_at = r.rsp - 8;  // the handler's `ret` took the return address
    Frame f;
    if (copy_in(p, frame_at, &f, sizeof f)) {
        end(p, 0, 11);
        s.ended = true;
        return 0;
    }
    const Sigcontext& c = f.uc.mcontext;
    ThreadRegs n = r;
    n.r8 = c.r8, n.r9 = c.r9, n.r10 = c.r10, n.r11 = c.r11, n.r12 = c.r12, n.r13 = c.r13, n.r14 = c.r14;
    n.r15 = c.r15, n.rdi = c.rdi, n.rsi = c.rsi, n.rbp = c.rbp, n.rbx = c.rbx, n.rdx = c.rdx, n.rax = c.rax;
    n.rcx = c.rcx, n.rsp = c.rsp, n.rip = c.rip, n.rflags = c.eflags;
    if (c.fpstate && copy_in(p, c.fpstate, n.fpu, sizeof n.fpu)) {
        end(p, 0, 11);
        s.ended = true;
        return 0;
    }
    if (sys::thread_regs_write(p.task().thread, &n) != kOk) {  // a frame the program garbled
        end(p, 0, 11);
        s.ended = true;
        return 0;
    }
    r = n;
    p.task().sigmask = f.uc.sigmask & ~(1ULL << 8 | 1ULL << 18);
    s.regs_changed = true;
    return 0;
}

}  // namespace personality
