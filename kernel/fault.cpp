// CPU exceptions caused by user threads. There is no fault handler to send
// them to yet (that is IPC work), so the faulting process is ended, and the
// log says why: a fault is never silently ignored.
#include "arch.h"
#include "klog.h"
#include "mica/types.h"
#include "process.h"
#include "scheduler.h"

void user_exception(unsigned vector, uint64_t error, uintptr_t address, uintptr_t pc) {
    Thread* t = current_thread();
    Process* p = t->process();
    log_warn("process %lu (%s): exception %u (error %#lx) at pc %#lx, address %#lx: killed",
             p->pid(), p->name(), vector, error, pc, address);
    p->terminate(mica::kExitFaultBase - static_cast<int64_t>(vector));
}
