// The scheduler: fixed priorities (0..31, higher runs first), round robin
// within a priority, one run queue per CPU. The kernel itself is not
// preemptible: switches happen when a thread blocks, yields or exits, and at
// the return to user mode after the timer or a wake-up asked for one.
#pragma once

#include <stdint.h>

#include "cpu.h"
#include "thread.h"

constexpr unsigned kTickHz = 100;
constexpr unsigned kSliceTicks = 2;  // round-robin quantum: 20 ms
constexpr uint64_t kNoDeadline = 0;

// Sets up the boot CPU's per-CPU block (this_cpu()); first thing at boot.
void cpu_init_boot();

// The calling context (the boot stack) becomes this CPU's idle thread.
void scheduler_init();
// Starts the other CPUs (once the timer is calibrated); how many run.
void cpus_start();
unsigned cpus_running();
Cpu& cpu_at(unsigned index);

inline Thread* current_thread() { return this_cpu().current; }
// Whether `t` may run on this CPU (its affinity).
inline bool sched_may_run_here(const Thread* t) {
    return t->affinity == Thread::kAnyCpu || (t->affinity >> this_cpu().id & 1);
}

// Puts a created or blocked thread on the run queue.
void sched_make_ready(Thread* t);

// The current thread goes to the back of its priority's queue.
void sched_yield();
// Cycle-counter ticks the CPU has spent halted since boot.
uint64_t sched_idle_ticks();

// The deadline of a wait of `timeout_ns` from now, for sched_block:
// kNoDeadline for kWaitForever or a time past the clock's range.
uint64_t sched_deadline(uint64_t timeout_ns);

// Blocks the current thread on `queue` (may be null: sleep only) until it is
// woken or `deadline` (clock_ns) passes. Returns the wake result: what the
// waker passed, or kErrTimedOut.
int64_t sched_block(WaitQueue* queue, uint64_t deadline);

// The current thread blocks (on `queue`, if given, until `deadline`) and
// gives the CPU straight to `next`, a blocked thread in no queue, which
// resumes as if woken with kOk. The IPC fast path's switch: no trip through
// the run queue.
int64_t sched_handoff(WaitQueue* queue, Thread* next, uint64_t deadline);
// A blocked thread about to be handed the CPU leaves the sleepers.
void sched_remove_sleeper(Thread* t);
inline void sched_forget_deadline(Thread* t) {
    if (t->timer_node.linked()) sched_remove_sleeper(t);
}
int64_t sched_handoff(WaitQueue* queue, Thread* next);  // with no deadline
// The same from a system call (`self` is cpu.current), with no deadline,
// through arch::switch_direct (`in_user`: resumes_in_user(next), which then
// receives self's message registers with `badge`): `self` resumes in user
// mode, through ipc_fast_resumed unless the fast path itself resumes it.
// kSmp: from the entry for several CPUs (with one, less to do).
template <bool kSmp>
[[noreturn]] void sched_handoff_direct(Cpu& cpu, Thread* self, WaitQueue* queue, Thread* next, bool in_user,
                                       uint64_t badge);

// The highest priority among ready threads, or -1 if none is ready.
inline int sched_highest_ready() {
    uint32_t bits = this_cpu().ready_bits;
    return bits ? 31 - __builtin_clz(bits) : -1;
}

// Wakes a blocked thread with `result`; false if it was not blocked.
bool sched_wake(Thread* t, int64_t result);
void sched_wake_all(WaitQueue& queue, int64_t result);

// The CPUs `t` may run on (bit n: CPU n; at least one running); it moves
// now if it is, or waits, on one it may no longer use.
void sched_set_affinity(Thread* t, uint16_t mask);

// Ticks in which a CPU ran a thread below one that waited for it (timer_tick).
uint64_t sched_priority_inversions();

// A thread running on another CPU goes through the kernel soon (an
// interrupt there), to notice what was asked of it (kill, interrupt).
void sched_kick(Thread* t);

// Ends the current thread. Its kernel stack is freed after the switch away.
[[noreturn]] void sched_exit_current();

// Runs the highest-priority ready thread (possibly still the current one).
void schedule();

// The idle loop of this CPU; never returns.
[[noreturn]] void idle_loop();

uint64_t thread_count();
