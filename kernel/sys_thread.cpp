// Thread system calls: create (suspended), start, yield, sleep, exit.
#include "arch.h"
#include "process.h"
#include "scheduler.h"
#include "syscalls.h"

using namespace mica;

int64_t sys_thread_create(Handle process, uintptr_t entry, uintptr_t stack, uintptr_t arg,
                          uint32_t priority) {
    Process& self = current_process();
    Ref<Process> target;
    if (int64_t e = self.get(process, kRightManage, &target)) return e;
    if (entry >= kUserTop || stack > kUserTop || priority >= Thread::kPriorities) return kErrInvalidArgument;
    if (stack % 16) return kErrAlignment;
    if (priority > current_thread()->priority) return kErrAccessDenied;  // no one outranks its creator
    if (!target->alive()) return kErrBadState;
    Ref<Thread> thread;
    if (int64_t e = Thread::create_user(*target, entry, stack, arg, static_cast<int>(priority), &thread))
        return e;
    int64_t handle = self.handles().add(thread.get(), kRightsAll, self.quota());
    if (handle >= 0) target->add_thread(thread.get());
    return handle;
}

int64_t sys_thread_start(Handle thread) {
    Ref<Thread> t;
    if (int64_t e = current_process().get(thread, kRightManage, &t)) return e;
    if (t->state != Thread::State::created || t->kill_pending) return kErrBadState;
    t->process()->start_thread(t.get());
    return kOk;
}

// A thread's registers can be reached only while it cannot run: before it
// starts, or while it waits for its fault handler.
int64_t sys_thread_regs_read(Handle thread, UserPtr<ThreadRegs> regs) {
    Ref<Thread> t;
    if (int64_t e = current_process().get(thread, kRightRead, &t)) return e;
    if (t->state != Thread::State::created && !t->stopped) return kErrBadState;
    ThreadRegs out;
    arch::read_user_regs(t->context, t->stack_top(), out);
    return regs.write(out);
}

int64_t sys_thread_regs_write(Handle thread, UserPtr<const ThreadRegs> regs) {
    Ref<Thread> t;
    if (int64_t e = current_process().get(thread, kRightWrite, &t)) return e;
    if (t->state != Thread::State::created && !t->stopped) return kErrBadState;
    ThreadRegs in;
    if (int64_t e = regs.read(&in)) return e;
    return arch::write_user_regs(t->context, t->stack_top(), in) ? kOk : kErrInvalidArgument;
}

// A personality's signal for a program busy in its own code: the thread
// stops before it next runs user code (before_user_return) and its fault
// handler is told, as for a fault. One that is stopped already, or will
// stop for a system call of its own, needs no interrupt.
int64_t sys_thread_interrupt(Handle thread) {
    Ref<Thread> t;
    if (int64_t e = current_process().get(thread, kRightWrite, &t)) return e;
    uint64_t badge;
    if (t->state == Thread::State::created || t->stopped || !t->fault_handler(&badge)) return kErrBadState;
    t->interrupt_pending = true;
    sched_kick(t.get());
    return kOk;
}

int64_t sys_thread_set_affinity(Handle thread, uint64_t mask) {
    Ref<Thread> t;
    if (int64_t e = current_process().get(thread, kRightManage, &t)) return e;
    uint64_t running = (1ULL << cpus_running()) - 1;
    if (!(mask & running)) return kErrInvalidArgument;
    if (t->state == Thread::State::dead) return kErrBadState;
    sched_set_affinity(t.get(), static_cast<uint16_t>(mask & running));
    return kOk;
}

static_assert(static_cast<uint32_t>(Thread::State::ready) == kThreadReady &&
              static_cast<uint32_t>(Thread::State::running) == kThreadRunning &&
              static_cast<uint32_t>(Thread::State::blocked) == kThreadBlocked &&
              static_cast<uint32_t>(Thread::State::dead) == kThreadDead);

int64_t sys_thread_info(Handle thread, UserPtr<ThreadInfo> info) {
    Ref<Thread> t;
    if (int64_t e = current_process().get(thread, kRightRead, &t)) return e;
    ThreadInfo out{};
    out.tid = t->tid;
    out.state = static_cast<uint32_t>(t->state);  // Thread::State matches ThreadState
    out.priority = t->priority;
    out.cpu = t->cpu;
    out.affinity = t->affinity;
    return info.write(out);
}

int64_t sys_thread_exit() { sched_exit_current(); }

// A thread cannot unmap the stack it runs on and then make a call: the
// kernel does the unmapping for it, once it is off that stack, on its way
// out (what lets a runtime free thread stacks; Zircon has the same call).
int64_t sys_thread_exit_unmapping(uintptr_t base, size_t size) {
    current_process().address_space().unmap(base, size);  // a bad range is the caller's loss only
    sched_exit_current();
}

int64_t sys_thread_yield() {
    sched_yield();
    return kOk;
}

int64_t sys_thread_sleep(uint64_t nanoseconds) {
    if (nanoseconds == 0) return sys_thread_yield();
    int64_t result = sched_block(nullptr, sched_deadline(nanoseconds));
    return result == kErrTimedOut ? kOk : result;
}
