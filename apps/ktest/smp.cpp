// Several CPUs: threads of one process on every CPU at once, wake-ups and
// IPC across CPUs, unmapping memory another CPU is using, killing a process
// whose threads run elsewhere, affinity. Booted with -smp 2 and -smp 4
// (tests/qemu/CMakeLists.txt); with one CPU each test says so and passes.
#include "ktest.h"
#include "mica/process.h"
#include "mica/words.h"

using namespace mica;
using namespace ktest;

namespace {

uint64_t cpus() {
    SystemInfo info{};
    sys::system_info(&info);
    return info.cpus;
}

bool several_cpus() {
    if (cpus() >= 2) return true;
    print("ktest: one CPU: nothing to test here\n");
    return false;
}

// Starts `fn` pinned to `cpu` (the thread is created, pinned, then started).
int64_t start_on(unsigned cpu, void (*fn)(void*), void* arg) {
    int64_t t = start_thread(fn, arg, 16);
    if (t >= 0) EXPECT_EQ(sys::thread_set_affinity(static_cast<Handle>(t), 1ULL << cpu), kOk);
    return t;
}

ThreadInfo info_of(int64_t thread) {
    ThreadInfo info{};
    EXPECT_EQ(sys::thread_info(static_cast<Handle>(thread), &info), kOk);
    return info;
}

volatile bool g_stop;
volatile uint64_t g_counts[16];

void count_forever(void* slot) {
    auto i = reinterpret_cast<uintptr_t>(slot);
    while (!g_stop) g_counts[i] = g_counts[i] + 1;
}

void stop_and_close(const int64_t* threads, uint64_t n) {
    g_stop = true;
    sys::thread_sleep(20'000'000);
    for (uint64_t i = 0; i < n; ++i) sys::handle_close(static_cast<Handle>(threads[i]));
}

}  // namespace

// The scheduler never let a CPU run a lower-priority thread while a higher
// one waited for it for over a tick. Written first: it runs last (the
// records run in the reverse of their order here).
KTEST(smp, priorities_kept_system_wide) {
    SystemInfo info{};
    sys::system_info(&info);
    EXPECT_EQ(info.priority_inversions, 0);
    print("ktest: %lu CPUs; busy/idle ticks:", info.cpus);
    for (uint64_t i = 0; i < info.cpus && i < 16; ++i) print(" %lu/%lu", info.cpu_busy_ticks[i], info.cpu_idle_ticks[i]);
    print("\n");
}

KTEST(smp, threads_run_on_every_cpu) {
    if (!several_cpus()) return;
    uint64_t n = cpus();
    ThreadInfo me = info_of(startup().self_thread);
    g_stop = false;
    int64_t threads[16];
    for (uint64_t i = 0; i < n; ++i) {
        g_counts[i] = 0;
        threads[i] = start_on(static_cast<unsigned>(i), count_forever, reinterpret_cast<void*>(i));
    }
    // All count at once, each where it was put, while this thread (at the
    // same priority) keeps its own CPU too.
    uint64_t start = sys::clock_monotonic();
    while (sys::clock_monotonic() - start < 100'000'000) {
    }
    for (uint64_t i = 0; i < n; ++i) {
        ThreadInfo t = info_of(threads[i]);
        EXPECT_EQ(t.cpu, i);
        EXPECT_EQ(t.affinity, 1ULL << i);
        EXPECT(g_counts[i] > 0);
    }
    EXPECT(me.cpu < n);
    SystemInfo info{};
    sys::system_info(&info);
    for (uint64_t i = 0; i < n; ++i) EXPECT(info.cpu_busy_ticks[i] > 0);
    stop_and_close(threads, n);
}

namespace {
Handle g_ping, g_pong;
uint64_t g_pairs;
volatile uint64_t g_pongs;
volatile int64_t g_bad;

void ponger(void*) {
    for (uint64_t i = 0; i < g_pairs; ++i) {
        int64_t got = sys::notification_wait(g_ping, 5'000'000'000);
        if (got != 1) g_bad = got ? got : -1;
        g_pongs = g_pongs + 1;
        sys::notification_signal(g_pong, 1);
    }
}
}  // namespace

// One thread signals, another on another CPU waits and answers, `pairs=`
// times (20,000 unless the command line says): every signal wakes its
// waiter, none is lost or doubled.
KTEST(smp, cross_cpu_signal_wait) {
    if (!several_cpus()) return;
    char text[24] = "";
    g_pairs = cmdline_value("pairs", text, sizeof text) ? Words::parse(text) : 20'000;
    g_ping = EXPECT_HANDLE(sys::notification_create());
    g_pong = EXPECT_HANDLE(sys::notification_create());
    g_pongs = 0;
    g_bad = 0;
    ThreadInfo me = info_of(startup().self_thread);
    EXPECT_EQ(sys::thread_set_affinity(startup().self_thread, 1ULL << me.cpu), kOk);
    int64_t other = start_on(me.cpu == 0 ? 1 : 0, ponger, nullptr);
    uint64_t pings = 0;
    for (uint64_t i = 0; i < g_pairs && !g_bad; ++i) {
        sys::notification_signal(g_ping, 1);
        ++pings;
        int64_t got = sys::notification_wait(g_pong, 5'000'000'000);
        if (got != 1) {
            EXPECT_EQ(got, 1);
            break;
        }
    }
    EXPECT_EQ(g_bad, 0);
    EXPECT_EQ(pings, g_pairs);
    EXPECT_EQ(g_pongs, g_pairs);
    print("ktest: %lu signal/wait pairs across CPUs\n", g_pongs);
    EXPECT_EQ(sys::thread_set_affinity(startup().self_thread, ~0ULL), kOk);
    sys::handle_close(static_cast<Handle>(other));
    sys::handle_close(g_ping);
    sys::handle_close(g_pong);
}

namespace {
Handle g_server;
volatile uint64_t g_served;

void server(void*) {
    Message m;
    if (sys::ipc_recv(g_server, m) < 0) return;
    for (;;) {
        g_served = g_served + 1;
        m = Message{m.label + 1, m.w0 * 2, 0, 0};
        if (sys::ipc_reply_recv(g_server, m) < 0) return;
    }
}

volatile uint64_t g_calls_done[16];

void client(void* slot) {
    auto i = reinterpret_cast<uintptr_t>(slot);
    for (uint64_t k = 0; k < 2000; ++k) {
        Message m{7, k, 0, 0};
        if (sys::ipc_call(g_server, m) < 0 || m.label != 8 || m.w0 != 2 * k) return;
        g_calls_done[i] = k + 1;
    }
}
}  // namespace

// Clients on every CPU call one server: each gets its own answers.
KTEST(smp, ipc_across_cpus) {
    if (!several_cpus()) return;
    uint64_t n = cpus();
    g_server = EXPECT_HANDLE(sys::endpoint_create());
    g_served = 0;
    int64_t srv = start_on(0, server, nullptr);
    int64_t clients[16];
    for (uint64_t i = 0; i < n; ++i) {
        g_calls_done[i] = 0;
        clients[i] = start_on(static_cast<unsigned>(i), client, reinterpret_cast<void*>(i));
    }
    uint64_t start = sys::clock_monotonic();
    auto all_done = [&] {
        for (uint64_t i = 0; i < n; ++i)
            if (g_calls_done[i] != 2000) return false;
        return true;
    };
    while (!all_done() && sys::clock_monotonic() - start < 60'000'000'000) sys::thread_sleep(10'000'000);
    for (uint64_t i = 0; i < n; ++i) EXPECT_EQ(g_calls_done[i], 2000);
    EXPECT_EQ(g_served, 2000 * n);
    sys::handle_close(g_server);  // the server's receive ends
    sys::thread_sleep(20'000'000);
    for (uint64_t i = 0; i < n; ++i) sys::handle_close(static_cast<Handle>(clients[i]));
    sys::handle_close(static_cast<Handle>(srv));
}

// Threads on every CPU duplicate, use and close handles to one object in
// one table at once (ktest_child's hammer_handles): no call fails, and once
// the process has ended everything it took is back.
KTEST(smp, shared_handles) {
    if (!several_cpus()) return;
    EXPECT_EQ(run_child("exit0"), 0);  // maps the child's program here once, for good
    Usage before = usage();
    EXPECT_EQ(run_child("hammer_handles"), 0);
    EXPECT_NO_LEAK(before);
}

// A thread reads a page on one CPU while another thread unmaps it: the
// reader faults (never reads the freed frame through a stale TLB entry).
KTEST(smp, unmap_while_another_cpu_reads) {
    if (!several_cpus()) return;
    EXPECT_EQ(run_child("exit0"), 0);  // maps the child's program here once, for good
    Usage before = usage();
    EXPECT_EQ(run_child("unmap_under_reader"), kExitFaultBase - 14);
    EXPECT_NO_LEAK(before);
}

// A process whose threads spin on every CPU is killed: it ends, and all
// its memory comes back.
KTEST(smp, kill_threads_running_elsewhere) {
    if (!several_cpus()) return;
    EXPECT_EQ(run_child("exit0"), 0);  // maps the child's program here once, for good
    Usage before = usage();
    EXPECT_EQ(run_child_and_kill("spin_everywhere", 77), 77);
    EXPECT_NO_LEAK(before);
}

// thread_set_affinity moves a running thread; bad masks and missing
// rights are refused.
KTEST(smp, affinity) {
    if (!several_cpus()) return;
    uint64_t n = cpus();
    g_stop = false;
    g_counts[0] = 0;
    int64_t t = start_on(0, count_forever, reinterpret_cast<void*>(0));
    sys::thread_sleep(20'000'000);
    EXPECT_EQ(info_of(t).cpu, 0);
    EXPECT_EQ(sys::thread_set_affinity(static_cast<Handle>(t), 1ULL << (n - 1)), kOk);
    sys::thread_sleep(30'000'000);
    ThreadInfo moved = info_of(t);
    EXPECT_EQ(moved.cpu, n - 1);
    EXPECT_EQ(moved.state, kThreadRunning);
    uint64_t seen = g_counts[0];
    sys::thread_sleep(20'000'000);
    EXPECT(g_counts[0] > seen);  // it runs on there
    EXPECT_EQ(sys::thread_set_affinity(static_cast<Handle>(t), 1ULL << 40), kErrInvalidArgument);
    EXPECT_EQ(sys::thread_set_affinity(static_cast<Handle>(t), 0), kErrInvalidArgument);
    auto readonly = sys::handle_duplicate(static_cast<Handle>(t), kRightRead);
    EXPECT(readonly.ok());
    EXPECT_EQ(sys::thread_set_affinity(readonly.value(), 1), kErrAccessDenied);
    sys::handle_close(readonly.value());
    const int64_t threads[] = {t};
    stop_and_close(threads, 1);
}
