// Threads of Linux programs (clone with CLONE_THREAD) and futexes.
//
// A Linux thread is a Mica thread of the program's process whose faults
// (and so its system calls) come here with a badge of its own: the
// process's slot and the thread's index in Process::tasks. What a thread
// owns (its id, its signal mask, the call it is in) is its Task; memory,
// descriptors, handlers and the rest are its process's. A thread's `exit`
// ends it alone (the kernel's kFaultExitThread answer); its clear-tid word
// is zeroed and woken first, which is how pthread_join learns of it.
//
// Futexes are private to a process: a wait is keyed by the word's address
// in its process (no futex is shared between processes yet). A waiting
// thread's reply is saved in its Task; whoever clears its
// `futex_generation` first — a wake, the timer thread (a timed wait), a
// signal, the end of the thread — answers it, so no two answer.
#include "linux_abi.h"
#include "mica/process.h"
#include "mica/rpc.h"
#include "process.h"

using namespace mica;

namespace personality {
namespace {

constexpr uint64_t kCloneVm = 0x100, kCloneSighand = 0x800, kCloneSettls = 0x80000,
                   kCloneParentSettid = 0x100000, kCloneChildCleartid = 0x200000,
                   kCloneChildSettid = 0x01000000;
constexpr uint64_t kWait = 0, kWake = 1, kRequeue = 3, kCmpRequeue = 4, kWaitBitset = 9, kWakeBitset = 10;
constexpr uint64_t kClockRealtimeFlag = 256;

// Thread ids beyond any pid Mica will hand out in practice (Linux's own
// pid_max is 4,194,304 at most): a tid never names another process.
uint64_t g_next_tid = 1ULL << 22;
uint64_t g_generation;  // futex waits, counted: 0 means none
Handle g_timer = kNoHandle;  // wakes the timer thread when a wait has an earlier deadline

bool claim(Task& t, uint64_t generation) {
    return generation && __atomic_compare_exchange_n(&t.futex_generation, &generation, 0, false, __ATOMIC_SEQ_CST,
                                                     __ATOMIC_SEQ_CST);
}

void answer_futex(Task& t, Handle saved, int64_t result) {
    t.futex = Waiter{};
    t.running = true;
    sys::ipc_reply_to(saved, Message{kFaultReturn, static_cast<uint64_t>(result), 0, 0});
}

// Times timed waits out. At priority 16, above the personality's main
// thread, on the same CPU: it runs while the main thread is stopped, and
// claims a futex wait before it answers; a poll or an alarm that is due it
// leaves to the main thread (wake_main), which may touch the program's memory.
void timer_thread(void*) {
    for (;;) {
        uint64_t now = static_cast<uint64_t>(sys::clock_monotonic()), next = ~0ULL;
        bool main_due = false;
        for (Process& p : g_processes) {
            if (!p.used) continue;
            if (uint64_t alarm = __atomic_load_n(&p.alarm_deadline, __ATOMIC_SEQ_CST)) {
                if (alarm <= now) main_due = true;  // SIGALRM, sent by the main thread
                else next = alarm < next ? alarm : next;
            }
            for (Task& t : p.tasks) {
                if (t.poll.saved != kNoHandle && t.poll_deadline) {
                    if (t.poll_deadline <= now) main_due = true;
                    else next = t.poll_deadline < next ? t.poll_deadline : next;
                }
                uint64_t generation = __atomic_load_n(&t.futex_generation, __ATOMIC_SEQ_CST);
                if (!generation || !t.futex_deadline) continue;
                if (t.futex_deadline > now) {
                    next = t.futex_deadline < next ? t.futex_deadline : next;
                    continue;
                }
                Handle saved = t.futex.saved;
                if (claim(t, generation)) answer_futex(t, saved, -lx::kETIMEDOUT);
            }
        }
        if (main_due) {
            wake_main();
            continue;
        }
        sys::notification_wait(g_timer, next == ~0ULL ? kWaitForever : next - now);
    }
}

// ITIMER_REAL in microseconds, as setitimer takes it.
struct Itimerval {
    int64_t interval_sec, interval_usec, value_sec, value_usec;
};

void put_itimer(const Process& p, uint64_t now, Itimerval* out) {
    uint64_t left = p.alarm_deadline > now ? p.alarm_deadline - now : p.alarm_deadline ? 1000 : 0;
    *out = Itimerval{static_cast<int64_t>(p.alarm_interval / 1'000'000'000),
                     static_cast<int64_t>(p.alarm_interval % 1'000'000'000 / 1000),
                     static_cast<int64_t>(left / 1'000'000'000), static_cast<int64_t>((left % 1'000'000'000 + 999) / 1000)};
}

bool start_timer() {
    if (g_timer != kNoHandle) return true;
    auto n = sys::notification_create();
    if (!n.ok()) return false;
    g_timer = n.value();  // before the thread, which waits on it at once
    int64_t t = start_thread(timer_thread, nullptr, 16, 16 * 1024);
    if (t < 0) {
        sys::handle_close(g_timer);
        g_timer = kNoHandle;
        return false;
    }
    sys::handle_close(static_cast<Handle>(t));
    return true;
}

// The deadline (clock_monotonic) of a wait with `timeout` (0: none), relative
// or absolute on `clock`; *error set for a bad one.
uint64_t deadline_of(Process& p, uint64_t timeout, bool absolute, uint64_t clock, int64_t* error) {
    if (!timeout) return 0;
    lx::Timespec t;
    if (copy_in(p, timeout, &t, sizeof t)) {
        *error = -lx::kEFAULT;
        return 0;
    }
    if (t.sec < 0 || t.nsec < 0 || t.nsec >= 1'000'000'000) {
        *error = -lx::kEINVAL;
        return 0;
    }
    int64_t now = sys::clock_monotonic();
    constexpr int64_t kFar = 9'000'000'000;  // seconds: beyond, a wait is as good as forever (and no overflow)
    int64_t ns = (t.sec > kFar ? kFar : t.sec) * 1'000'000'000 + t.nsec;
    if (absolute) {
        lx::Timespec c = clock_now(clock);
        ns -= c.sec * 1'000'000'000 + c.nsec;
    }
    if (ns <= 0) return 1;  // already past: times out at once
    return static_cast<uint64_t>(now + ns);
}

int64_t wait(Process& p, uint64_t address, uint32_t value, uint32_t bitset, uint64_t deadline, CallState& s) {
    uint32_t word;
    if (copy_in(p, address, &word, sizeof word)) return -lx::kEFAULT;
    if (word != value) return -lx::kEAGAIN;
    if (deadline && deadline <= static_cast<uint64_t>(sys::clock_monotonic())) return -lx::kETIMEDOUT;
    if (deadline && !start_timer()) return -lx::kENOMEM;
    auto saved = sys::ipc_reply_save();
    if (!saved.ok()) return -lx::kENOMEM;
    Task& t = p.task();
    t.futex = Waiter{saved.value(), static_cast<int32_t>(p.slot), p.current, address, 0, 0};
    t.futex_bitset = bitset;
    t.futex_deadline = deadline;
    __atomic_store_n(&t.futex_generation, ++g_generation, __ATOMIC_SEQ_CST);
    if (deadline) sys::notification_signal(g_timer, 1);
    s.later = true;
    return 0;
}

// The waiter of `address` that has waited longest (and matches `bitset`), or null.
Task* oldest(Process& p, uint64_t address, uint32_t bitset) {
    Task* found = nullptr;
    for (Task& t : p.tasks) {
        uint64_t generation = __atomic_load_n(&t.futex_generation, __ATOMIC_SEQ_CST);
        if (generation && t.futex.address == address && (t.futex_bitset & bitset) &&
            (!found || generation < found->futex_generation))
            found = &t;
    }
    return found;
}

// Wakes up to `wake` waiters of `address` and moves up to `move` others to
// wait on `to`: how many were woken, and with `count_moved`, moved too.
int64_t requeue(Process& p, uint64_t address, uint64_t wake, uint64_t move, uint64_t to, bool count_moved) {
    int64_t woken = futex_wake(p, address, wake);
    int64_t moved = 0;
    for (; static_cast<uint64_t>(moved) < move; ++moved) {
        Task* t = oldest(p, address, ~0u);
        if (!t) break;
        t->futex.address = to;
    }
    return count_moved ? woken + moved : woken;
}

}  // namespace

int64_t futex(Process& p, const uint64_t* a, CallState& s) {
    uint64_t address = a[0], op = a[1] & 127;
    uint32_t value = static_cast<uint32_t>(a[2]);
    if (address & 3) return -lx::kEINVAL;
    int64_t error = 0;
    switch (op) {
        case kWait:
        case kWaitBitset: {
            uint32_t bitset = op == kWait ? ~0u : static_cast<uint32_t>(a[5]);
            if (!bitset) return -lx::kEINVAL;
            // FUTEX_WAIT's timeout is relative; FUTEX_WAIT_BITSET's absolute, on
            // CLOCK_REALTIME if asked, else CLOCK_MONOTONIC.
            uint64_t deadline = deadline_of(p, a[3], op == kWaitBitset, a[1] & kClockRealtimeFlag ? 0 : 1, &error);
            return error ? error : wait(p, address, value, bitset, deadline, s);
        }
        case kWake:
        case kWakeBitset: {
            uint32_t bitset = op == kWake ? ~0u : static_cast<uint32_t>(a[5]);
            return bitset ? futex_wake(p, address, value, bitset) : -lx::kEINVAL;
        }
        case kRequeue:
        case kCmpRequeue: {
            if (a[4] & 3) return -lx::kEINVAL;
            if (op == kCmpRequeue) {
                uint32_t word;
                if (copy_in(p, address, &word, sizeof word)) return -lx::kEFAULT;
                if (word != static_cast<uint32_t>(a[5])) return -lx::kEAGAIN;
            }
            return requeue(p, address, value, static_cast<uint32_t>(a[3]), a[4], op == kCmpRequeue);
        }
        default: return -lx::kENOSYS;  // priority inheritance, FUTEX_WAKE_OP: not yet
    }
}

int64_t futex_wake(Process& p, uint64_t address, uint64_t count, uint32_t bitset) {
    int64_t woken = 0;
    while (static_cast<uint64_t>(woken) < count) {
        Task* t = oldest(p, address, bitset);
        if (!t) break;
        Handle saved = t->futex.saved;
        if (claim(*t, t->futex_generation)) answer_futex(*t, saved, 0), ++woken;
    }
    return woken;
}

bool futex_take(Task& t, Handle* saved) {
    uint64_t generation = __atomic_load_n(&t.futex_generation, __ATOMIC_SEQ_CST);
    Handle h = t.futex.saved;
    if (!claim(t, generation)) return false;
    t.futex = Waiter{};
    *saved = h;
    return true;
}

int64_t itimer(Process& p, uint64_t number, const uint64_t* a) {
    constexpr uint64_t kFar = 1ULL << 32;  // seconds: no overflow, and as good as never
    uint64_t now = static_cast<uint64_t>(sys::clock_monotonic());
    Itimerval old, next{};
    put_itimer(p, now, &old);
    if (number == lx::kAlarm) {
        next.value_sec = static_cast<int64_t>(a[0] & 0xffffffff);
    } else {
        if (a[0] != 0) return -lx::kEINVAL;  // ITIMER_VIRTUAL, ITIMER_PROF: CPU time is not counted
        if (number == lx::kGetitimer) return copy_out(p, a[1], &old, sizeof old) ? -lx::kEFAULT : 0;
        if (a[1] && copy_in(p, a[1], &next, sizeof next)) return -lx::kEFAULT;
        if (next.interval_usec < 0 || next.interval_usec >= 1'000'000 || next.value_usec < 0 ||
            next.value_usec >= 1'000'000 || next.interval_sec < 0 || next.value_sec < 0)
            return -lx::kEINVAL;
        if (a[2] && copy_out(p, a[2], &old, sizeof old)) return -lx::kEFAULT;
    }
    auto ns = [&](int64_t sec, int64_t usec) {
        return (static_cast<uint64_t>(sec) > kFar ? kFar : static_cast<uint64_t>(sec)) * 1'000'000'000 +
               static_cast<uint64_t>(usec) * 1000;
    };
    uint64_t value = ns(next.value_sec, next.value_usec);
    p.alarm_interval = value ? ns(next.interval_sec, next.interval_usec) : 0;
    __atomic_store_n(&p.alarm_deadline, value ? now + value : 0, __ATOMIC_SEQ_CST);
    if (value) timer_watch();
    if (number != lx::kAlarm) return 0;
    // alarm: the seconds the last one had left, rounded, and at least 1 if it had any.
    int64_t left = old.value_sec + (old.value_usec >= 500'000);
    return left ? left : old.value_usec ? 1 : 0;
}

void alarm_wake() {
    uint64_t now = static_cast<uint64_t>(sys::clock_monotonic());
    for (Process& p : g_processes) {
        if (!p.used || !p.alarm_deadline || p.alarm_deadline > now) continue;
        uint64_t next = 0;
        if (p.alarm_interval && !p.zombie) {  // the next period; one after now if the main thread was late
            next = p.alarm_deadline + p.alarm_interval;
            if (next <= now) next = now + p.alarm_interval;
        }
        __atomic_store_n(&p.alarm_deadline, next, __ATOMIC_SEQ_CST);
        if (!p.zombie) raise_signal(p, 14);  // SIGALRM
    }
}

void timer_watch() {
    if (start_timer()) sys::notification_signal(g_timer, 1);
}

void wake_main() {
    Wake::Request q{};
    Wake::Reply r;
    rpc::call<Wake>(g_endpoint, q, &r);
}

uint32_t live_threads(const Process& p) {
    uint32_t n = 0;
    for (const Task& t : p.tasks) n += t.thread != kNoHandle && !t.exiting;
    return n;
}

int64_t new_thread(Process& p, const uint64_t* a, const ThreadRegs& from) {
    uint64_t flags = a[0];
    if (!(flags & kCloneVm) || !(flags & kCloneSighand)) return -lx::kEINVAL;  // as Linux asks of CLONE_THREAD
    uint32_t index = 0;
    while (index < kMaxThreads && p.tasks[index].thread != kNoHandle) ++index;
    if (index == kMaxThreads) return -lx::kEAGAIN;
    ThreadRegs regs = from;
    regs.rax = 0;  // clone returns 0 in the new thread
    if (a[1]) regs.rsp = a[1];
    if (flags & kCloneSettls) regs.fs_base = a[4];
    auto thread = sys::thread_create(p.process, regs.rip, regs.rsp & ~15ULL, 0, 15);
    if (!thread.ok()) return -lx::kEAGAIN;
    auto badged = sys::handle_mint(g_endpoint, kRightWrite, badge_of(p, index));
    int64_t e = badged.ok() ? sys::thread_set_fault_handler(thread.value(), badged.value()) : badged.error();
    if (badged.ok()) sys::handle_close(badged.value());
    if (e == kOk) e = sys::thread_regs_write(thread.value(), &regs);  // kErrInvalidArgument: a bad TLS or stack
    if (e != kOk) {
        sys::handle_close(thread.value());  // never started: it goes with its handle
        return e == kErrInvalidArgument ? -lx::kEINVAL : -lx::kEAGAIN;
    }
    uint64_t tid = g_next_tid++;
    int32_t tid32 = static_cast<int32_t>(tid);
    if ((flags & kCloneParentSettid) && copy_out(p, a[2], &tid32, sizeof tid32)) e = kErrBadAddress;
    if ((flags & kCloneChildSettid) && copy_out(p, a[3], &tid32, sizeof tid32)) e = kErrBadAddress;
    if (e != kOk) {
        sys::handle_close(thread.value());
        return -lx::kEFAULT;
    }
    Task& t = p.tasks[index];
    t = Task{};
    t.thread = thread.value();
    t.tid = tid;
    t.clear_tid = flags & kCloneChildCleartid ? a[3] : 0;
    t.sigmask = p.task().sigmask;  // the creator's, as on Linux
    if (sys::thread_start(t.thread) != kOk) {
        release_task(p, t);
        return -lx::kEAGAIN;
    }
    t.running = true;
    return static_cast<int64_t>(tid);
}

bool exit_thread(Process& p, Task& t) {
    if (live_threads(p) <= 1) return false;
    if (t.clear_tid) {
        uint32_t zero = 0;
        if (copy_out(p, t.clear_tid, &zero, sizeof zero) == kOk) futex_wake(p, t.clear_tid, 1);
    }
    release_task(p, t);
    return true;
}

void end_other_threads(Process& p, Task& keep) {
    for (Task& t : p.tasks) {
        if (&t == &keep || t.thread == kNoHandle || t.exiting) continue;
        Handle saved = kNoHandle;
        bool restartable = false;
        if (Waiter* w = t.waiting_in) {
            saved = w->saved;
            *w = Waiter{};
            t.waiting_in = nullptr;
        } else if (!futex_take(t, &saved) && !take_helper_wait(p, t, &saved, &restartable)) {
            // Busy in its own code: it ends at its next stop here (on_fault).
            t.exiting = true;
            if (sys::thread_interrupt(t.thread) != kOk) release_task(p, t);
            continue;
        }
        sys::ipc_reply_to(saved, Message{kFaultExitThread, 0, 0, 0});
        release_task(p, t);
    }
}

void release_task(Process& p, Task& t) {
    Handle saved = kNoHandle;
    bool restartable = false;
    if (futex_take(t, &saved)) sys::handle_close(saved);
    if (take_helper_wait(p, t, &saved, &restartable)) sys::handle_close(saved);
    if (Waiter* w = t.waiting_in) {
        if (w->saved != kNoHandle) sys::handle_close(w->saved);
        *w = Waiter{};
    }
    if (t.suspend.saved != kNoHandle) sys::handle_close(t.suspend.saved);
    if (t.held != kNoHandle) sys::handle_close(t.held);
    if (t.thread != kNoHandle) sys::handle_close(t.thread);
    t = Task{};
}

}  // namespace personality
