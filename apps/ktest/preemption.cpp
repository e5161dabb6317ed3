// Scheduling: a thread that spins forever does not stop another of the same
// priority (round robin), and of two ready threads the higher priority runs
// first. If preemption were broken these tests would hang, and the host's
// timeout would fail them.
#include "ktest.h"
#include "mica/process.h"

using namespace mica;
using namespace ktest;

namespace {
volatile bool g_stop = false;
volatile uint64_t g_spins = 0;
volatile int g_order[4];
volatile int g_order_count = 0;

void spin(void*) {
    while (!g_stop) g_spins = g_spins + 1;
}

void record(void* id) {
    g_order[g_order_count] = static_cast<int>(reinterpret_cast<intptr_t>(id));
    g_order_count = g_order_count + 1;
}
}  // namespace

KTEST(sched, preemption) {
    // All on this CPU (the threads inherit the affinity): with several, two
    // threads would simply run side by side.
    ThreadInfo me{};
    EXPECT_EQ(sys::thread_info(startup().self_thread, &me), kOk);
    EXPECT_EQ(sys::thread_set_affinity(startup().self_thread, 1ULL << me.cpu), kOk);
    // Same priority as ours: we only get the CPU back by preemption.
    int64_t spinner = start_thread(spin, nullptr, 16);
    EXPECT(spinner > 0);
    uint64_t start = sys::clock_monotonic();
    while (g_spins == 0) {
    }  // it runs...
    uint64_t seen = g_spins;
    // ...and we run too, though neither ever yields: it has to be preempted
    // for us to see it go on (a bound of seconds, for a host that is busy).
    while (g_spins == seen && sys::clock_monotonic() - start < 10'000'000'000) {
    }
    EXPECT(g_spins > seen);
    // A sleeping thread wakes and runs again with a spinner at its priority.
    EXPECT_EQ(sys::thread_sleep(30'000'000), kOk);
    g_stop = true;

    // Started low-priority first; the higher-priority one still runs first
    // (we sleep so that both are ready together, neither running).
    g_order_count = 0;
    int64_t low = start_thread(record, reinterpret_cast<void*>(10), 10);
    int64_t high = start_thread(record, reinterpret_cast<void*>(12), 12);
    EXPECT(low > 0 && high > 0);
    EXPECT_EQ(sys::thread_sleep(20'000'000), kOk);
    EXPECT_EQ(g_order_count, 2);
    EXPECT_EQ(g_order[0], 12);
    EXPECT_EQ(g_order[1], 10);
    const int64_t threads[] = {spinner, low, high};
    for (int64_t h : threads) sys::handle_close(static_cast<Handle>(h));
    EXPECT_EQ(sys::thread_set_affinity(startup().self_thread, ~0ULL), kOk);
}
