#include "scheduler.h"

#include "arch.h"
#include "cpu.h"
#include "klog.h"
#include "mica/errors.h"
#include "panic.h"
#include "process.h"
#include "shutdown.h"

using namespace mica;

namespace {

Cpu g_cpus[kMaxCpus];  // by index; the boot CPU is 0
unsigned g_cpus_running = 1;

// Ready threads by priority; a bit per non-empty queue.
WaitQueue g_ready[Thread::kPriorities];
uint32_t g_ready_bits = 0;
// Threads with a deadline, soonest first.
List<Thread, &Thread::timer_node> g_sleepers;
unsigned g_slice_left = kSliceTicks;
uint64_t g_threads = 0;

void enqueue(Thread* t) {
    g_ready[t->priority].push_back(t);
    g_ready_bits |= 1u << t->priority;
    t->state = Thread::State::ready;
}

Thread* dequeue_highest() {
    if (!g_ready_bits) return nullptr;
    int p = 31 - __builtin_clz(g_ready_bits);
    Thread* t = g_ready[p].pop_front();
    if (g_ready[p].empty()) g_ready_bits &= ~(1u << p);
    return t;
}

void add_sleeper(Thread* t) {
    Thread* at = g_sleepers.front();
    while (at && at->deadline <= t->deadline) at = g_sleepers.next(at);
    g_sleepers.insert_before(at, t);
}

// After every switch, on the new thread's stack: free what the previous
// thread left behind if it died.
void finish_switch() {
    Cpu& cpu = this_cpu();
    if (Thread* dead = cpu.reap) {
        cpu.reap = nullptr;
        dead->release_stack();
        dead->unref();
    }
}

void request_preemption_by(Thread* t) {
    Thread* cur = this_cpu().current;
    if (cur == this_cpu().idle || t->priority > cur->priority) this_cpu().need_resched = true;
}

}  // namespace

// A new user thread, before it first enters user mode: it may have been
// killed (or asked to yield) between being started and first running.
extern "C" void user_thread_first_run() {
    finish_switch();
    before_user_return();
}

void cpu_init_boot() { arch::init_cpu(g_cpus[0]); }

namespace {
// The per-CPU block of CPU `index`, with an idle thread that will be the
// context the CPU starts in.
Cpu* prepare_cpu(unsigned index) {
    Cpu& cpu = g_cpus[index];
    Thread* idle = Thread::adopt_boot_context("idle");
    if (!idle) return nullptr;
    idle->ref();
    cpu.id = index;
    cpu.idle = cpu.current = idle;
    return &cpu;
}
}  // namespace

void scheduler_init() {
    if (!prepare_cpu(0)) panic("scheduler: no memory for the idle thread");
}

void cpus_start() { g_cpus_running = arch::start_cpus(prepare_cpu); }

unsigned cpus_running() { return g_cpus_running; }

// The other CPUs wait with interrupts off until the scheduler can share its
// queues between CPUs.
void cpu_main() { arch::halt_forever(); }

uint64_t thread_count() { return g_threads; }

void sched_make_ready(Thread* t) {
    KASSERT(t->state == Thread::State::created || t->state == Thread::State::blocked);
    if (t->state == Thread::State::created) {
        ++g_threads;
        t->ref();  // the scheduler's: dropped when the thread is reaped
    }
    enqueue(t);
    request_preemption_by(t);
}

namespace {
[[gnu::always_inline]] inline void switch_now(Cpu& cpu, Thread* prev, Thread* next) {
    next->state = Thread::State::running;
    cpu.current = next;
    if (Process* p = next->process()) {
        arch::activate(p->address_space().tables());
        arch::set_kernel_stack(next->stack_top());
        arch::set_io_permissions(p->io_bitmap(), p->io_owner_id());
        cpu.foreign = p->foreign();
    }
    arch::switch_to(prev->context, next->context);
    finish_switch();
}
}  // namespace

int sched_highest_ready() { return g_ready_bits ? 31 - __builtin_clz(g_ready_bits) : -1; }

void schedule() {
    Cpu& cpu = this_cpu();
    Thread* prev = cpu.current;
    cpu.need_resched = false;
    if (prev->state == Thread::State::running && prev != cpu.idle) {
        // Still runnable: it keeps the CPU unless something of equal or higher
        // priority is waiting (equal: round robin, it goes to the back).
        if (sched_highest_ready() < prev->priority) return;
        enqueue(prev);
    }
    Thread* next = dequeue_highest();
    if (!next) next = cpu.idle;
    g_slice_left = kSliceTicks;
    if (next == prev) {
        next->state = Thread::State::running;
        return;
    }
    switch_now(cpu, prev, next);
}

int64_t sched_handoff(WaitQueue* queue, Thread* next) {
    KASSERT(next->state == Thread::State::blocked && !next->queue);
    Cpu& cpu = this_cpu();
    Thread* t = cpu.current;
    t->state = Thread::State::blocked;
    t->wake_result = kOk;
    t->queue = queue;
    if (queue) queue->push_back(t);
    t->deadline = kNoDeadline;
    next->wake_result = kOk;
    switch_now(cpu, t, next);
    return t->wake_result;
}

void sched_yield() {
    Cpu& cpu = this_cpu();
    Thread* cur = cpu.current;
    if (cur == cpu.idle) return;
    enqueue(cur);
    Thread* next = dequeue_highest();  // perhaps cur again, if it is alone at its level
    if (next == cur) {
        cur->state = Thread::State::running;
        return;
    }
    // Put `next` back where it was and let schedule() do the switch.
    g_ready[next->priority].push_front(next);
    g_ready_bits |= 1u << next->priority;
    cur->state = Thread::State::ready;
    schedule();
}

uint64_t sched_deadline(uint64_t timeout_ns) {
    uint64_t now = arch::clock_ns();
    return timeout_ns == kWaitForever || timeout_ns > ~0ULL - now ? kNoDeadline : now + timeout_ns;
}

int64_t sched_block(WaitQueue* queue, uint64_t deadline) {
    Thread* t = this_cpu().current;
    KASSERT(t != this_cpu().idle);
    if (t->kill_pending) return kErrPeerClosed;
    t->state = Thread::State::blocked;
    t->wake_result = kOk;
    t->queue = queue;
    if (queue) queue->push_back(t);
    t->deadline = deadline;
    if (deadline != kNoDeadline) add_sleeper(t);
    schedule();
    return t->wake_result;
}

bool sched_wake(Thread* t, int64_t result) {
    if (t->state != Thread::State::blocked) return false;
    t->ipc.stop_waiting();
    if (t->queue) {
        t->queue->remove(t);
        t->queue = nullptr;
    }
    if (t->timer_node.linked()) g_sleepers.remove(t);
    t->wake_result = result;
    enqueue(t);
    request_preemption_by(t);
    return true;
}

void sched_wake_all(WaitQueue& queue, int64_t result) {
    while (Thread* t = queue.front()) sched_wake(t, result);
}

void sched_exit_current() {
    Cpu& cpu = this_cpu();
    Thread* t = cpu.current;
    KASSERT(t != cpu.idle);
    t->state = Thread::State::dead;
    --g_threads;
    ipc_thread_exit(*t);
    if (Process* p = t->process()) p->thread_exited(t);
    cpu.reap = t;  // with the scheduler's reference, dropped in finish_switch
    schedule();
    panic("scheduler: a dead thread was scheduled");
}

void timer_tick() {
    uint64_t now = arch::clock_ns();
    while (Thread* t = g_sleepers.front()) {
        if (t->deadline > now) break;
        sched_wake(t, kErrTimedOut);
    }
    if (g_slice_left > 0) --g_slice_left;
    if (g_slice_left == 0) this_cpu().need_resched = true;
}

void before_user_return() {
    Cpu& cpu = this_cpu();
    for (;;) {
        Thread* t = cpu.current;
        if (t->kill_pending) sched_exit_current();
        if (!cpu.need_resched) return;
        schedule();
    }
}

// The trap paths (interrupts, exceptions, foreign syscalls): the only ones a
// thread thread_interrupt can stop takes back to user mode (a foreign thread
// makes no Mica call), so the system-call path pays nothing for it.
void before_user_return_from_trap() {
    for (;;) {
        before_user_return();
        Thread* t = current_thread();
        if (!t->interrupt_pending) return;
        t->interrupt_pending = false;
        foreign_interrupt();
    }
}

// Cycle-counter ticks spent halted: benchmarks subtract them to count only
// the instructions a path executed (under -icount, QEMU advances the
// counter while the CPU waits, e.g. for a disk).
uint64_t g_idle_ticks = 0;

uint64_t sched_idle_ticks() { return g_idle_ticks; }

void idle_loop() {
    for (;;) {
        schedule();
        if (!this_cpu().need_resched && !g_ready_bits) {
            shutdown_poll();
            uint64_t start = arch::counter();
            arch::wait_for_interrupt();
            g_idle_ticks += arch::counter() - start;
        }
    }
}

