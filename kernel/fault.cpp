// CPU exceptions caused by user threads become a message to the fault
// handler the process's creator set: the kernel calls the handler's endpoint
// on the thread's behalf. A reply with label 0 resumes the thread (the
// handler has repaired what was wrong, e.g. mapped a page); any other answer,
// or no handler at all, ends the process, and the log says why.
#include "arch.h"
#include "endpoint.h"
#include "ipc.h"
#include "mica/ipc.h"
#include "klog.h"
#include "mica/types.h"
#include "process.h"
#include "scheduler.h"

bool user_exception(unsigned vector, uint64_t error, uintptr_t address, uintptr_t pc) {
    Thread* t = current_thread();
    Process* p = t->process();
    uint64_t badge = 0;
    if (Ref<Endpoint> handler{p->fault_handler(&badge)}) {
        MessageRegs msg{mica::kFaultLabel, vector | (error << 32), address, pc};
        if (endpoint_kernel_call(*handler, badge, msg) == mica::kOk && msg.label == 0) return true;
        if (!p->alive()) return false;  // killed while its fault was being handled
        log_warn("process %lu (%s): exception %u at pc %#lx, address %#lx: fault handler ended it",
                 p->pid(), p->name(), vector, pc, address);
    } else {
        log_warn("process %lu (%s): exception %u (error %#lx) at pc %#lx, address %#lx: killed",
                 p->pid(), p->name(), vector, error, pc, address);
    }
    p->terminate(mica::kExitFaultBase - static_cast<int64_t>(vector));
    return false;
}
