// stress: load the kernel and the servers from many threads at once and
// check that nothing deadlocks, nothing is lost, and higher priorities are
// never starved.
//   1. many clients, one server: 32 threads hammer an echo server (and 8
//      more the file server) and check every answer;
//   2. thousands of threads: 2,000 threads started in waves, each making
//      a call and ending; memory afterwards is what it was before;
//   3. an IPC storm at low priority while a high-priority thread wakes
//      every 10 ms: it gets (nearly) every one of its turns. (How late it
//      wakes is printed, not judged: under TCG on a busy host the guest's
//      clock jumps when QEMU itself is not running.)
// Prints "stress: ok" or what went wrong. Run from the shell: `stress`.
#include "format.h"
#include "mica/files.h"
#include "mica/process.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "mica/words.h"

using namespace mica;

namespace {

constexpr uint64_t kMs = 1'000'000;
uint64_t now() { return static_cast<uint64_t>(sys::clock_monotonic()); }

struct Echo {
    static constexpr uint64_t kLabel = 0x7e01;
    struct Request { uint64_t sequence; char text[56]; };
    struct Reply { uint64_t sequence; char text[56]; };
};

int64_t echo(const Echo::Request& q, Echo::Reply& r, rpc::Call&) {
    r.sequence = q.sequence;
    memcpy(r.text, q.text, sizeof r.text);
    return kOk;
}

Handle g_echo;
int g_failures = 0;
int g_done = 0;
volatile bool g_storm = false;
uint64_t g_calls = 0;

void serve(void*) {
    rpc::Server server(g_echo);
    server.on<Echo>(echo);
    server.run();
}

// Starts a thread and lets go of its handle (true if it runs).
bool spawn_thread(void (*fn)(void*), void* arg, uint32_t priority, size_t stack) {
    int64_t t = start_thread(fn, arg, priority, stack);
    if (t < 0) return false;
    sys::handle_close(static_cast<Handle>(t));
    return true;
}

void fail(const char* what) {
    __atomic_fetch_add(&g_failures, 1, __ATOMIC_RELAXED);
    print("stress: %s\n", what);
}

void finished() { __atomic_fetch_add(&g_done, 1, __ATOMIC_RELAXED); }

// Waits until `count` threads have called finished(), or fails.
bool wait_for(int count, uint64_t limit_ms, const char* what) {
    uint64_t deadline = now() + limit_ms * kMs;
    while (__atomic_load_n(&g_done, __ATOMIC_RELAXED) < count) {
        if (now() > deadline) {
            print("stress: %s: only %d of %d threads finished (deadlock?)\n", what, g_done, count);
            ++g_failures;
            return false;
        }
        sys::thread_sleep(2 * kMs);
    }
    return true;
}

void client(void* arg) {
    uint64_t base = reinterpret_cast<uint64_t>(arg) << 32;
    for (uint64_t i = 0; i < 300; ++i) {
        Echo::Request q{base + i, {}};
        format_to(q.text, sizeof q.text, "call %lu", base + i);
        Echo::Reply r{};
        if (rpc::call<Echo>(g_echo, q, &r) != kOk || r.sequence != q.sequence || strcmp(r.text, q.text) != 0) {
            fail("an echo came back wrong");
            break;
        }
    }
    finished();
}

files::Name g_readme;

void file_client(void*) {
    for (int i = 0; i < 50; ++i) {
        proto::fs::Stat::Reply r;
        if (files::stat(g_readme, &r) != kOk || r.size == 0) {
            fail("the file server did not answer a Stat");
            break;
        }
    }
    finished();
}

void one_call(void* arg) {
    Echo::Request q{reinterpret_cast<uint64_t>(arg), {}};
    Echo::Reply r{};
    if (rpc::call<Echo>(g_echo, q, &r) != kOk || r.sequence != q.sequence) fail("a short-lived thread's call failed");
    finished();
}

void storm(void*) {
    Echo::Request q{};
    Echo::Reply r;
    while (g_storm) {
        if (rpc::call<Echo>(g_echo, q, &r) == kOk) __atomic_fetch_add(&g_calls, 1, __ATOMIC_RELAXED);
    }
    finished();
}

uint64_t g_late_max = 0, g_wakes = 0;

void watchdog(void*) {
    uint64_t next = now() + 10 * kMs;
    while (g_storm) {
        uint64_t t = now();
        if (next > t) sys::thread_sleep(next - t);
        uint64_t late = now() > next ? now() - next : 0;
        if (late > g_late_max) g_late_max = late;
        ++g_wakes;
        next += 10 * kMs;
        if (now() > next) next = now() + 10 * kMs;
    }
    finished();
}

}  // namespace

int main() {
    if (!Words(startup().cmdline).accepts("", 0, 0, "stress")) return 2;
    auto echo_endpoint = sys::endpoint_create();
    if (!echo_endpoint.ok()) {
        print("stress: no endpoint for the echo server (%s)\n", error_name(echo_endpoint.error()));
        return 1;
    }
    g_echo = echo_endpoint.value();
    if (!spawn_thread(serve, nullptr, 12, 16 * 1024)) return 1;

    // 1. Many clients, one server.
    uint64_t t0 = now();
    int clients = 0;
    for (uint64_t i = 0; i < 32; ++i) clients += spawn_thread(client, reinterpret_cast<void*>(i), 10, 8192);
    bool have_file = files::resolve("file:/README", "file:/", &g_readme) == kOk;
    for (int i = 0; have_file && i < 8; ++i) clients += spawn_thread(file_client, nullptr, 10, 8192);
    if (wait_for(clients, 60'000, "many clients"))
        print("stress: %d clients, %d calls answered correctly in %lu ms\n", clients, 32 * 300 + (have_file ? 400 : 0),
              (now() - t0) / kMs);

    // 2. Thousands of threads, in waves; memory comes back.
    SystemInfo before{}, after{};
    sys::system_info(&before);
    t0 = now();
    g_done = 0;
    int started = 0;
    for (int wave = 0; wave < 20; ++wave) {
        for (int i = 0; i < 100; ++i)
            started += spawn_thread(one_call, reinterpret_cast<void*>(static_cast<uint64_t>(wave * 100 + i)), 10, 4096);
        if (!wait_for(started, 30'000, "thread waves")) break;
    }
    sys::thread_sleep(50 * kMs);  // the last ones finish leaving
    sys::system_info(&after);
    print("stress: %d threads started and ended in %lu ms; threads in the system %lu -> %lu\n", started,
          (now() - t0) / kMs, before.threads, after.threads);
    if (started < 2000) fail("could not start 2,000 threads");
    if (after.threads != before.threads) fail("threads were left behind");

    // 3. A low-priority IPC storm and a high-priority thread that must run on time.
    g_done = 0;
    g_storm = true;
    int storm_threads = 0;
    if (sys::thread_create(startup().self_process, 0x1000, 0x2000, 0, 16).error() != kErrAccessDenied)
        fail("a thread could be made to outrank its creator");
    for (int i = 0; i < 8; ++i) storm_threads += spawn_thread(storm, nullptr, 6, 8192);
    storm_threads += spawn_thread(watchdog, nullptr, 15, 8192);  // as high as we may go
    uint64_t storm_start = now();
    sys::thread_sleep(2'000 * kMs);
    uint64_t periods = (now() - storm_start) / (10 * kMs);
    g_storm = false;
    wait_for(storm_threads, 30'000, "the storm");
    print("stress: storm of %lu calls at low priority; the high-priority thread woke %lu times in %lu periods, at "
          "most %lu ms late\n",
          g_calls, g_wakes, periods, g_late_max / kMs);
    if (g_calls == 0) fail("the storm made no progress");
    if (g_wakes * 2 < periods) fail("the high-priority thread was starved");
    print("stress: %s\n", g_failures ? "FAILED" : "ok");
    return g_failures ? 1 : 0;
}
