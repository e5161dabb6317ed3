// CPU exceptions caused by user threads become a message to the fault
// handler the thread's or the process's creator set: the kernel calls the
// handler's endpoint on the thread's behalf. A reply with label 0 resumes the
// thread (the handler has repaired what was wrong, e.g. mapped a page);
// kFaultExitThread ends the thread alone; any other answer, or no handler
// at all, ends the process, and the log says why.
// A foreign process's `syscall` instructions take the same road (mica/ipc.h):
// that is the whole of the kernel's part in running another system's
// programs; the personality server does the rest.
#include "arch.h"
#include "endpoint.h"
#include "ipc.h"
#include "mica/ipc.h"
#include "klog.h"
#include "mica/types.h"
#include "process.h"
#include "scheduler.h"

namespace {
// Calls the current thread's fault handler with `msg` (which gets the
// answer). False if there is no handler or no answer came.
bool call_handler(Thread* t, MessageRegs& msg, bool* had_handler) {
    uint64_t badge = 0;
    Ref<Endpoint> handler{t->fault_handler(&badge)};
    *had_handler = static_cast<bool>(handler);
    if (!handler) return false;
    t->stopped = true;
    t->interrupt_pending = false;  // it stops now: the handler sees to what an interrupt was for
    int64_t e = endpoint_kernel_call(*handler, badge, msg);
    t->stopped = false;
    if (e == mica::kOk && msg.label == mica::kFaultExitThread) {  // this thread ends, not its process
        handler.reset();  // sched_exit_current does not return
        sched_exit_current();
    }
    return e == mica::kOk;
}
}  // namespace

bool user_exception(unsigned vector, uint64_t error, uintptr_t address, uintptr_t pc) {
    Thread* t = current_thread();
    Process* p = t->process();
    // A port its process was granted on another CPU since this CPU last
    // switched to it: this CPU's I/O map catches up, and the access is retried.
    if (vector == 13 && arch::refresh_io_permissions(p->io_bitmap(), p->io_owner_id())) return true;
    MessageRegs msg{mica::kFaultLabel, vector | (error << 32), address, pc};
    bool had_handler = false;
    if (call_handler(t, msg, &had_handler) && msg.label == 0) return true;
    if (!p->alive()) return false;  // killed while its fault was being handled
    if (had_handler)
        log_warn("process %lu (%s): exception %u at pc %#lx, address %#lx: fault handler ended it",
                 p->pid(), p->name(), vector, pc, address);
    else
        log_warn("process %lu (%s): exception %u (error %#lx) at pc %#lx, address %#lx: killed",
                 p->pid(), p->name(), vector, error, pc, address);
    p->terminate(mica::kExitFaultBase - static_cast<int64_t>(vector));
    return false;
}

void foreign_interrupt() {
    Thread* t = current_thread();
    MessageRegs msg{mica::kFaultLabel, mica::kFaultInterrupt, 0, 0};
    bool had_handler = false;
    if (!call_handler(t, msg, &had_handler) && t->process()->alive() && had_handler) {
        log_warn("process %lu (%s): interrupt not answered: ended", t->process()->pid(), t->process()->name());
        t->process()->terminate(mica::kExitFaultBase - static_cast<int64_t>(mica::kFaultInterrupt));
    }
}

void foreign_syscall(uint64_t* rax, uintptr_t pc) {
    Thread* t = current_thread();
    Process* p = t->process();
    MessageRegs msg{mica::kFaultLabel, mica::kFaultSyscall, *rax, pc};
    bool had_handler = false;
    if (call_handler(t, msg, &had_handler) && (msg.label == 0 || msg.label == mica::kFaultReturn)) {
        if (msg.label == mica::kFaultReturn) *rax = msg.w0;
        return;
    }
    if (p->alive()) {
        log_warn("process %lu (%s): system call %lu at pc %#lx not served: ended", p->pid(), p->name(),
                 *rax, pc);
        p->terminate(mica::kExitFaultBase - static_cast<int64_t>(mica::kFaultSyscall));
    }
}
