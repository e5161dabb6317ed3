// System-wide calls: the debug console, the clock, statistics, power.
#include "arch.h"
#include "heap_instance.h"
#include "klog.h"
#include "memory.h"
#include "process.h"
#include "resource.h"
#include "scheduler.h"
#include "syscalls.h"

using namespace mica;

int64_t sys_debug_write(UserPtr<const char> text, size_t length) {
    if (length > 4096) return kErrInvalidArgument;
    char chunk[256];
    for (size_t done = 0; done < length;) {
        size_t n = length - done < sizeof chunk ? length - done : sizeof chunk;
        if (int64_t e = copy_from_user(chunk, text.address() + done, n)) return e;
        arch::console_write(chunk, n);
        done += n;
    }
    return kOk;
}

int64_t sys_clock_monotonic() { return static_cast<int64_t>(arch::clock_ns()); }

int64_t sys_system_info(UserPtr<SystemInfo> info) {
    SystemInfo out{};
    out.total_frames = usable_frames();
    out.free_frames = frames().free_frames();
    out.heap_bytes_used = kernel_heap().bytes_total() - kernel_heap().bytes_free();
    out.processes = Process::live_count();
    out.threads = thread_count();
    out.uptime_ns = arch::clock_ns();
    out.tsc_hz = arch::counter_hz();
    out.idle_ticks = sched_idle_ticks();
    out.cpus = cpus_running();
    out.priority_inversions = sched_priority_inversions();
    for (unsigned i = 0; i < cpus_running(); ++i) {
        out.cpu_busy_ticks[i] = cpu_at(i).busy_tick_count;
        out.cpu_idle_ticks[i] = cpu_at(i).idle_tick_count;
    }
    return info.write(out);
}

int64_t sys_system_poweroff(Handle resource, int64_t status) {
    Ref<Resource> r;
    if (int64_t e = current_process().get(resource, kRightManage, &r)) return e;
    if (r->kind != kResourceRoot) return kErrAccessDenied;
    log_info("poweroff requested by process %lu (%s), status %ld", current_process().pid(),
             current_process().name(), status);
    arch::poweroff(status == 0);
}
