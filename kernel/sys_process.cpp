// Process system calls: create, kill, wait, inspect, exit.
#include "process.h"
#include "scheduler.h"
#include "syscalls.h"

using namespace mica;

int64_t sys_process_create(UserPtr<const char> name, size_t name_length, uint64_t quota_bytes) {
    Process& self = current_process();
    char buffer[Process::kNameBytes];
    if (name_length >= sizeof buffer) return kErrInvalidArgument;
    if (int64_t e = copy_from_user(buffer, name.address(), name_length)) return e;
    Ref<Process> child;
    if (int64_t e = Process::create(buffer, name_length, &self.quota(), quota_bytes, &child, &self)) return e;
    int64_t handle = self.handles().add(child.get(), kRightsAll, self.quota());
    if (handle < 0) child->terminate(0);  // unreachable by anyone: undo
    return handle;
}

int64_t sys_process_kill(Handle process, int64_t status) {
    Ref<Process> target;
    if (int64_t e = current_process().get(process, kRightManage, &target)) return e;
    target->terminate(status);
    return kOk;
}

int64_t sys_process_wait(Handle process, uint64_t timeout_ns, UserPtr<int64_t> status) {
    Ref<Process> target;
    if (int64_t e = current_process().get(process, kRightWait, &target)) return e;
    if (target->state() != Process::State::dead) {
        if (timeout_ns == 0) return kErrWouldBlock;  // as every call that may wait
        if (int64_t e = sched_block(&target->exit_waiters(), sched_deadline(timeout_ns))) return e;
    }
    return status.null() ? kOk : status.write(target->exit_status());
}

int64_t sys_process_info(Handle process, UserPtr<ProcessInfo> info) {
    Ref<Process> p;
    if (int64_t e = current_process().get(process, kRightRead, &p)) return e;
    ProcessInfo out{};
    out.pid = p->pid();
    out.quota_bytes = p->quota().limit();
    out.used_bytes = p->quota().used();
    out.threads = p->thread_count();
    out.handles = p->handles().count();
    out.exit_status = p->exit_status();
    out.state = static_cast<uint32_t>(p->state());
    for (size_t i = 0; i < sizeof out.name && p->name()[i]; ++i) out.name[i] = p->name()[i];
    return info.write(out);
}

int64_t sys_process_exit(int64_t status) {
    current_process().terminate(status);
    sched_exit_current();
}
