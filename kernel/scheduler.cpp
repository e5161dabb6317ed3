#include "scheduler.h"

#include "arch.h"
#include "cpu.h"
#include "klog.h"
#include "mica/errors.h"
#include "panic.h"
#include "process.h"
#include "shutdown.h"
#include "smp.h"

using namespace mica;

char g_cpu_switch_point;  // cpu_local.h

namespace {

// Ready threads of one CPU by priority (Cpu::ready_bits: a bit per non-empty queue).
struct RunQueue {
    WaitQueue ready[Thread::kPriorities];
};

Cpu g_cpus[kMaxCpus];  // by index; the boot CPU is 0
unsigned g_cpus_running = 1;
RunQueue g_queues[kMaxCpus];
// Threads with a deadline, soonest first.
List<Thread, &Thread::timer_node> g_sleepers;
uint64_t g_threads = 0;
uint64_t g_readies = 0;  // numbers each time a thread is made ready

#define HOT [[gnu::always_inline]] inline  // on the IPC and switch paths: no call

HOT int highest(const Cpu& c) { return c.ready_bits ? 31 - __builtin_clz(c.ready_bits) : -1; }

HOT bool allowed(const Thread* t, unsigned cpu) { return t->affinity >> cpu & 1; }

// Onto the run queue of `cpu` (a constant 0 with one CPU: no index to compute).
HOT void enqueue_on(unsigned cpu, Thread* t) {
    g_queues[cpu].ready[t->priority].push_back(t);
    g_cpus[cpu].ready_bits |= 1u << t->priority;
    t->state = Thread::State::ready;
}

HOT void enqueue(Thread* t) {
    enqueue_on(t->cpu, t);
    if (g_cpus_running > 1) t->ready_since = ++g_readies;  // for count_inversion
}

void unqueue(Thread* t) {
    WaitQueue& q = g_queues[t->cpu].ready[t->priority];
    q.remove(t);
    if (q.empty()) g_cpus[t->cpu].ready_bits &= ~(1u << t->priority);
}

HOT Thread* take(unsigned cpu, int priority) {
    WaitQueue& q = g_queues[cpu].ready[priority];
    Thread* t = q.pop_front();
    if (q.empty()) g_cpus[cpu].ready_bits &= ~(1u << priority);
    return t;
}

// The CPU whose queue holds the highest-priority ready thread that may run
// on `cpu` (of another CPU's, only the first at its level is looked at),
// this one first among equals; -1 (and *priority -1) if there is none.
int best_queue_of_all(const Cpu& cpu, int* priority) {
    int best = highest(cpu), at = static_cast<int>(cpu.id);
    for (unsigned i = 0; i < g_cpus_running; ++i) {
        int p = highest(g_cpus[i]);
        if (p > best && allowed(g_queues[i].ready[p].front(), cpu.id)) best = p, at = static_cast<int>(i);
    }
    *priority = best;
    return best < 0 ? -1 : at;
}

HOT int best_queue(const Cpu& cpu, int* priority) {
    if (g_cpus_running > 1) return best_queue_of_all(cpu, priority);
    *priority = highest(cpu);
    return *priority < 0 ? -1 : static_cast<int>(cpu.id);
}

// The next thread for `cpu`: the highest-priority ready thread of any CPU
// (idle CPUs take work), which moves here.
HOT Thread* dequeue_highest(Cpu& cpu) {
    int priority;
    if (g_cpus_running == 1) {
        priority = highest(cpu);
        return priority < 0 ? nullptr : take(0, priority);
    }
    int at = best_queue_of_all(cpu, &priority);
    return at < 0 ? nullptr : take(static_cast<unsigned>(at), priority);  // switch_now sets its cpu
}

// How busy a CPU is: the priority of what runs there or waits first, -1 if idle.
int load_of(unsigned i) {
    const Cpu& c = g_cpus[i];
    int running = c.current == c.idle ? -1 : c.current->priority;
    int queued = highest(c);
    return running > queued ? running : queued;
}

// Where a thread made ready goes: its own CPU, unless that one is busy with
// work of its priority or higher and another is less busy.
void place_among_cpus(Thread* t) {
    bool here = allowed(t, t->cpu);
    if (here && load_of(t->cpu) < t->priority) return;
    int best = here ? t->cpu : -1;
    for (unsigned i = 0; i < g_cpus_running; ++i)
        if (allowed(t, i) && (best < 0 || load_of(i) < load_of(static_cast<unsigned>(best))))
            best = static_cast<int>(i);
    t->cpu = static_cast<uint8_t>(best);
}

HOT void place(Thread* t) {
    if (g_cpus_running > 1) place_among_cpus(t);
}

void add_sleeper(Thread* t) {
    Thread* at = g_sleepers.front();
    while (at && at->deadline <= t->deadline) at = g_sleepers.next(at);
    g_sleepers.insert_before(at, t);
}

// `t`, the running thread, waits: on `queue` if there is one, until `deadline` if there is one.
HOT void block(Thread* t, WaitQueue* queue, uint64_t deadline) {
    t->state = Thread::State::blocked;
    t->wake_result = kOk;
    t->queue = queue;
    if (queue) queue->push_back(t);
    t->deadline = deadline;
    if (deadline != kNoDeadline) add_sleeper(t);
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

// `t` was just made ready on its CPU: that CPU switches to it at its next
// return to user mode if it outranks what runs there (another CPU is told
// by an interrupt).
HOT void request_preemption_by(Thread* t) {
    Cpu& cpu = g_cpus[t->cpu];
    Thread* cur = cpu.current;
    if (cur != cpu.idle && t->priority <= cur->priority) return;
    cpu.need_resched = true;
    if (&cpu != &this_cpu()) arch::send_reschedule(cpu.id);
}

// `t` becomes ready: placed, queued, and let preempt. With one CPU that is
// CPU 0's queue, at addresses the compiler knows (the notification and
// general IPC paths pay nothing for the index of a thread's CPU).
HOT void make_ready(Thread* t) {
    if (g_cpus_running == 1) {
        enqueue_on(0, t);
        Thread* cur = g_cpus[0].current;
        if (cur == g_cpus[0].idle || t->priority > cur->priority) g_cpus[0].need_resched = true;
        return;
    }
    place(t);
    enqueue(t);
    request_preemption_by(t);
}

}  // namespace

// A new user thread, before it first enters user mode: it may have been
// killed (or asked to yield) between being started and first running.
extern "C" void user_thread_first_run() {
    finish_switch();
    before_user_return();
    kernel_unlock();
}

void cpu_init_boot() { arch::init_cpu(g_cpus[0]); }

namespace {
// The per-CPU block of CPU `index`, with an idle thread that will be the
// context the CPU starts in.
Cpu* prepare_cpu(unsigned index) {
    Cpu& cpu = g_cpus[index];
    Thread* idle = Thread::adopt_boot_context();
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

namespace {
bool g_cpus_go = false;  // the boot CPU lets the others into the scheduler
}  // namespace

void cpus_start() {
    unsigned count = arch::start_cpus(prepare_cpu);
    if (count == 1) return;
    kernel_lock_enable();  // the boot CPU holds it from here; its idle loop lets go
    arch::enter_smp();
    g_cpus_running = count;
    __atomic_store_n(&g_cpus_go, true, __ATOMIC_RELEASE);
}

unsigned cpus_running() { return g_cpus_running; }

Cpu& cpu_at(unsigned index) { return g_cpus[index]; }

void cpu_main() {
    while (!__atomic_load_n(&g_cpus_go, __ATOMIC_ACQUIRE)) arch::relax();
    arch::enter_smp();
    kernel_lock();
    idle_loop();
}

uint64_t thread_count() { return g_threads; }

void sched_make_ready(Thread* t) {
    KASSERT(t->state == Thread::State::created || t->state == Thread::State::blocked);
    if (t->state == Thread::State::created) {
        ++g_threads;
        t->ref();  // the scheduler's: dropped when the thread is reaped
        t->cpu = static_cast<uint8_t>(this_cpu().id);
    }
    make_ready(t);
}

namespace {
// kDirect: arch::switch_direct's switch (the IPC fast path), which does not
// return; `in_user`, `badge`, kSmp: as for sched_handoff_direct.
template <bool kDirect = false, bool kSmp = true>
[[gnu::always_inline]] inline void switch_now(Cpu& cpu, Thread* prev, Thread* next, bool in_user = false,
                                              uint64_t badge = 0) {
    next->state = Thread::State::running;
    if (kSmp) next->cpu = static_cast<uint8_t>(cpu.id);  // with one CPU, all are on it
    cpu.current = next;
    if (Process* p = next->process()) {
        cpu.foreign = p->foreign();
        if constexpr (kDirect)
            arch::switch_direct(cpu, p->address_space().tables(), next->stack_top(), p->io_bitmap(),
                                p->io_owner_id(), prev->context, next->context, in_user, badge, kSmp);
        arch::enter_process(cpu, p->address_space().tables(), next->stack_top(), p->io_bitmap(),
                            p->io_owner_id());
    } else if (g_cpus_running > 1) {
        // Idle: off the last address space, so that no CPU runs on the
        // tables of a process that is being torn down, and a shootdown
        // needs to reach only CPUs that run its threads.
        arch::activate(arch::kernel_page_tables());
    }
    arch::switch_to(prev->context, next->context);
    finish_switch();
}
}  // namespace

void schedule() {
    Cpu& cpu = this_cpu();
    Thread* prev = cpu.current;
    cpu.need_resched = false;
    cpu.scheduled = true;
    if (prev->state == Thread::State::running && prev != cpu.idle) {
        // Still runnable: it keeps the CPU unless something of equal or higher
        // priority is waiting (equal: round robin, it goes to the back), or
        // it may no longer run here.
        if (g_cpus_running == 1) {
            if (highest(cpu) < prev->priority) return;
            enqueue_on(0, prev);
        } else {
            int waiting;
            best_queue_of_all(cpu, &waiting);
            if (waiting < prev->priority && allowed(prev, cpu.id)) return;
            place_among_cpus(prev);
            enqueue(prev);
            if (prev->cpu != cpu.id) request_preemption_by(prev);
        }
    }
    Thread* next = dequeue_highest(cpu);
    if (!next) next = cpu.idle;
    cpu.slice_left = kSliceTicks;
    if (next == prev) {
        next->state = Thread::State::running;
        return;
    }
    switch_now(cpu, prev, next);
}

namespace {
HOT int64_t handoff(WaitQueue* queue, Thread* next, uint64_t deadline) {
    KASSERT(next->state == Thread::State::blocked && !next->queue);
    Cpu& cpu = this_cpu();
    Thread* t = cpu.current;
    block(t, queue, deadline);
    next->wake_result = kOk;
    switch_now(cpu, t, next);
    return t->wake_result;
}
}  // namespace

template <bool kSmp>
void sched_handoff_direct(Cpu& cpu, Thread* self, WaitQueue* queue, Thread* next, bool in_user, uint64_t badge) {
    block(self, queue, kNoDeadline);
    next->wake_result = kOk;
    switch_now<true, kSmp>(cpu, self, next, in_user, badge);
    __builtin_unreachable();
}
template void sched_handoff_direct<false>(Cpu&, Thread*, WaitQueue*, Thread*, bool, uint64_t);
template void sched_handoff_direct<true>(Cpu&, Thread*, WaitQueue*, Thread*, bool, uint64_t);

int64_t sched_handoff(WaitQueue* queue, Thread* next, uint64_t deadline) { return handoff(queue, next, deadline); }
int64_t sched_handoff(WaitQueue* queue, Thread* next) { return handoff(queue, next, kNoDeadline); }

void sched_yield() {
    Cpu& cpu = this_cpu();
    Thread* cur = cpu.current;
    if (cur == cpu.idle) return;
    int waiting;
    best_queue(cpu, &waiting);
    if (waiting < cur->priority) return;  // nothing else at its level or above
    enqueue(cur);  // at the back of its level
    schedule();
}

uint64_t sched_deadline(uint64_t timeout_ns) {
    if (timeout_ns == kWaitForever) return kNoDeadline;  // without reading the clock
    uint64_t now = arch::clock_ns();
    return timeout_ns > ~0ULL - now ? kNoDeadline : now + timeout_ns;
}

int64_t sched_block(WaitQueue* queue, uint64_t deadline) {
    Thread* t = this_cpu().current;
    KASSERT(t != this_cpu().idle);
    if (t->kill_pending) return kErrPeerClosed;
    block(t, queue, deadline);
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
    sched_forget_deadline(t);
    t->wake_result = result;
    make_ready(t);
    return true;
}

void sched_remove_sleeper(Thread* t) { g_sleepers.remove(t); }

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

namespace {
uint64_t g_inversions = 0;

// A CPU that runs something below a ready thread it could run (a thread of
// another CPU's queue, say) takes it at this tick's return. If that same
// wait (ready_since) is still there at the CPU's next tick, and the CPU has
// been through schedule() in between, that is an inversion. Counted in the
// CPU's own ticks, and only after a schedule(): a virtual CPU the host did
// not run for a while gets two ticks back to back, with no chance between.
void count_inversion(Cpu& cpu) {
    int running = cpu.current == cpu.idle ? -1 : cpu.current->priority;
    uint64_t waiting = 0;
    for (unsigned i = 0; i < g_cpus_running && !waiting; ++i) {
        int p = highest(g_cpus[i]);
        Thread* first = p > running ? g_queues[i].ready[p].front() : nullptr;
        if (first && allowed(first, cpu.id)) waiting = first->ready_since;
    }
    if (waiting && waiting == cpu.waiting_since && cpu.scheduled) ++g_inversions;
    cpu.waiting_since = waiting;
    cpu.scheduled = false;
    if (waiting) cpu.need_resched = true;
}
}  // namespace

uint64_t sched_priority_inversions() { return g_inversions; }

void timer_tick() {
    uint64_t now = arch::clock_ns();
    while (Thread* t = g_sleepers.front()) {
        if (t->deadline > now) break;
        sched_wake(t, kErrTimedOut);
    }
    Cpu& cpu = this_cpu();
    ++(cpu.current == cpu.idle ? cpu.idle_tick_count : cpu.busy_tick_count);
    count_inversion(cpu);
    if (cpu.slice_left > 0) --cpu.slice_left;
    if (cpu.slice_left == 0) cpu.need_resched = true;
}

void sched_set_affinity(Thread* t, uint16_t mask) {
    t->affinity = mask;
    if (allowed(t, t->cpu)) return;
    if (t->state == Thread::State::ready) {
        unqueue(t);
        make_ready(t);
    } else if (t->state == Thread::State::running) {
        g_cpus[t->cpu].need_resched = true;  // schedule() moves it
        sched_kick(t);
    } else {
        place(t);
    }
}

void sched_kick(Thread* t) {
    if (t->state == Thread::State::running && t->cpu != this_cpu().id) {
        g_cpus[t->cpu].need_resched = true;
        arch::send_reschedule(t->cpu);
    }
}

void before_user_return() {
    for (;;) {
        Cpu& cpu = this_cpu();  // again after each schedule(): the thread may come back on another CPU
        if (cpu.current->kill_pending) sched_exit_current();
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

// Cycle-counter ticks this CPU spent halted: benchmarks subtract them to
// count only the instructions a path executed (under -icount, QEMU advances
// the counter while the CPU waits, e.g. for a disk).
uint64_t sched_idle_ticks() { return this_cpu().idle_ticks; }

void idle_loop() {
    Cpu& cpu = this_cpu();
    for (;;) {
        schedule();
        int waiting;
        if (!cpu.need_resched && best_queue(cpu, &waiting) < 0) {
            if (cpu.id == 0) shutdown_poll();
            uint64_t start = arch::counter();
            kernel_unlock();
            arch::wait_for_interrupt();  // an interrupt that comes takes the lock itself
            kernel_lock();
            cpu.idle_ticks += arch::counter() - start;
        }
    }
}

