#include "shutdown.h"

#include "arch.h"
#include "heap_instance.h"
#include "klog.h"
#include "memory.h"
#include "process.h"

namespace {

struct Figures {
    uint64_t free_frames, heap_used, heap_total;
};

Figures g_boot;
bool g_ending = false;
int64_t g_status = 0;

Figures now() {
    Heap& h = kernel_heap();
    return {frames().free_frames(), h.bytes_total() - h.bytes_free(), h.bytes_total()};
}

}  // namespace

void shutdown_baseline() { g_boot = now(); }

void shutdown_begin(int64_t status) {
    g_ending = true;
    g_status = status;
    log_info("init exited with status %ld; ending every other process", status);
    for (;;) {  // terminate may end others too, so find the next one afresh each time
        Process* victim = nullptr;
        all_processes().for_each([&](Process* p) {
            if (!victim && p->alive()) victim = p;
        });
        if (!victim) break;
        victim->terminate(mica::kExitFaultBase);
    }
}

void shutdown_poll() {
    if (!g_ending || Process::live_count() != 0) return;
    Figures f = now();
    // The heap keeps the frames it grew by; everything else must be free again.
    auto grown = static_cast<int64_t>((f.heap_total - g_boot.heap_total) / arch::kPageSize);
    int64_t pages = static_cast<int64_t>(g_boot.free_frames - f.free_frames) - grown;
    int64_t heap = static_cast<int64_t>(f.heap_used - g_boot.heap_used);
    bool clean = pages == 0 && heap == 0;
    if (clean) log_info("shutdown: every process gone, all kernel memory given back; powering off");
    else log_error("shutdown: every process gone, but %ld pages and %ld heap bytes were not given back", pages, heap);
    arch::poweroff(g_status == 0 && clean);
}
