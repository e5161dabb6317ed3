// The benchmark image's first process (`init=bench`). Measures the kernel's
// primitives with the cycle counter (lfence; rdtsc) over many iterations and
// prints `bench <metric>.{median,min,max} <value> ticks`, plus the counter's
// rate. tools/bench.py runs it under -icount shift=0, where a tick is one
// executed instruction, and again without, converting ticks to ns.
//
// The same program plays the other side of each measurement in a child
// process (`role=`), so every IPC figure crosses address spaces.
#include "format.h"
#include "mica/process.h"
#include "mica/runtime.h"
#include "string.h"

using namespace mica;

namespace {

constexpr int kIterations = 2000;
constexpr uintptr_t kShared = 0x0000'4000'0000'0000;  // shared page, same address in both
constexpr uintptr_t kFaultPage = 0x0000'4100'0000'0000;
constexpr uintptr_t kDataPage = 0x0000'4200'0000'0000;  // a 4 KiB message's buffer

inline uint64_t ticks() {
    uint32_t lo, hi;
    asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

struct Shared {
    volatile uint64_t stamp;  // when the signal was sent
    volatile uint64_t samples[kIterations + 1];  // the waiter's first wake is not a sample
    volatile uint64_t count;
};
Shared* shared() { return reinterpret_cast<Shared*>(kShared); }

uint64_t g_samples[kIterations];

void sort(uint64_t* v, int n) {
    for (int i = 1; i < n; ++i)
        for (int j = i; j > 0 && v[j - 1] > v[j]; --j) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

void report(const char* metric, uint64_t* v, int n) {
    sort(v, n);
    print("bench %s.median %lu ticks\n", metric, v[n / 2]);
    print("bench %s.min %lu ticks\n", metric, v[0]);
    print("bench %s.max %lu ticks\n", metric, v[n - 1]);
}

bool is(const char* a, const char* b) { return strlen(a) == strlen(b) && memcmp(a, b, strlen(a)) == 0; }

int64_t spawn_role(const char* role, const Handle* handles, uint32_t count, uint32_t priority = 16) {
    static const void* elf = nullptr;
    static size_t size = 0;
    static Handle image = kNoHandle;
    if (!elf && !map_boot_module("bench", &elf, &size, &image)) return kErrNotFound;
    char cmdline[48];
    format_to(cmdline, sizeof cmdline, "role=%s", role);
    SpawnOptions o{.name = role, .cmdline = cmdline, .priority = priority, .handles = handles,
                   .handle_count = count, .image = image};
    return spawn(elf, size, o);
}

// A measurement cannot go on without the objects it is made of: stop
// before "bench-done", so the host reports the run as failed.
Handle made(HandleResult r, const char* what) {
    if (!r.ok()) {
        print("bench: cannot make %s (%s)\n", what, error_name(r.error()));
        exit(1);
    }
    return r.value();
}

void finish(int64_t child) {
    int64_t status;
    sys::process_wait(static_cast<Handle>(child), kWaitForever, &status);
    sys::handle_close(static_cast<Handle>(child));
}

// --- the measurements --------------------------------------------------------

void bench_null_syscall() {
    for (int i = 0; i < kIterations; ++i) {
        uint64_t t0 = ticks();
        detail::raw_syscall(kSyscallCount);  // no such call: entry, dispatch check, exit
        g_samples[i] = ticks() - t0;
    }
    report("syscall.null", g_samples, kIterations);
}

// A page of memory of its own for a 4 KiB message, at kDataPage: page-aligned,
// as a program that moves 4 KiB at a time keeps its buffers (unaligned, each
// side's data spans two pages and the kernel copies it in three pieces).
uint8_t* data_page() {
    static bool mapped;
    if (!mapped) {
        Handle page = made(sys::memory_create(kPageSize), "a data page");
        sys::vm_map(startup().self_process, kDataPage, page, 0, kPageSize, kVmRead | kVmWrite);
        mapped = true;
    }
    return reinterpret_cast<uint8_t*>(kDataPage);
}

void bench_ipc(const char* metric, uint32_t bytes) {
    Handle ep = made(sys::endpoint_create(), "an endpoint");
    int64_t server = spawn_role(bytes ? "echo_data" : "echo", &ep, 1);
    uint8_t* data = data_page();
    IpcBuffer b;
    b.send_data = data, b.send_size = bytes;
    Message m{1, 0, 0, 0};
    sys::ipc_call(ep, m, bytes ? &b : nullptr);  // warm up: the server is receiving now
    for (int i = 0; i < kIterations; ++i) {
        m = Message{1, static_cast<uint64_t>(i), 0, 0};
        uint64_t t0 = ticks();
        sys::ipc_call(ep, m, bytes ? &b : nullptr);
        g_samples[i] = ticks() - t0;
    }
    report(metric, g_samples, kIterations);
    m = Message{0, 0, 0, 0};
    sys::ipc_call(ep, m);
    finish(server);
    sys::handle_close(ep);
}

constexpr size_t kSharedBytes = (sizeof(Shared) + kPageSize - 1) & ~(kPageSize - 1);

Handle map_shared_page() {
    Handle page = made(sys::memory_create(kSharedBytes), "the shared page");
    sys::vm_map(startup().self_process, kShared, page, 0, kSharedBytes, kVmRead | kVmWrite);
    return page;
}

void unmap_shared_page(Handle page) {
    sys::vm_unmap(startup().self_process, kShared, kSharedBytes);
    sys::handle_close(page);
}

struct NotifyArgs {
    Handle notification;
    volatile bool done;
};

void signaller(void* p) {
    auto* a = static_cast<NotifyArgs*>(p);
    for (int i = 0; i <= kIterations; ++i) {
        shared()->stamp = ticks();
        sys::notification_signal(a->notification, 1);  // the waiter, higher priority, runs now
    }
    a->done = true;
}

void bench_notify() {
    Handle page = map_shared_page();
    Handle n = made(sys::notification_create(), "a notification");
    const Handle handles[] = {n, page};
    int64_t waiter = spawn_role("waiter", handles, 2);
    sys::thread_sleep(5'000'000);  // the waiter is blocked in notification_wait by now
    static NotifyArgs args{n, false};
    start_thread(signaller, &args, 8);  // below the waiter: each signal switches at once
    while (!args.done) sys::thread_sleep(1'000'000);
    finish(waiter);
    for (int i = 0; i < kIterations; ++i) g_samples[i] = shared()->samples[i + 1];
    report("notify.signal_wait", g_samples, kIterations);
    sys::handle_close(n);
    unmap_shared_page(page);
}

volatile bool g_stop_yielder = false;
void yielder(void*) {
    while (!g_stop_yielder) sys::thread_yield();
}

void bench_thread_switch() {
    g_stop_yielder = false;
    int64_t other = start_thread(yielder, nullptr, 16);
    sys::thread_yield();
    for (int i = 0; i < kIterations; ++i) {
        uint64_t t0 = ticks();
        sys::thread_yield();  // to the other thread, which yields straight back
        g_samples[i] = (ticks() - t0) / 2;
    }
    g_stop_yielder = true;
    sys::thread_yield();
    sys::handle_close(static_cast<Handle>(other));
    report("thread.switch", g_samples, kIterations);
}

void bench_fault() {
    Handle page = map_shared_page();
    Handle ep = made(sys::endpoint_create(), "an endpoint");
    Handle fault_page = made(sys::memory_create(kPageSize), "the page to fault in");
    const Handle handles[] = {page};
    int64_t child = spawn_role("faulter", handles, 1);
    auto process = static_cast<Handle>(child);
    sys::process_set_fault_handler(process, ep, 0);
    Message m;
    // Each fault: map the page the child touched and resume it, as a pager's
    // loop does (the answer and the wait for the next fault in one call; the
    // last fault's answer alone). The child unmaps the page again itself (it
    // holds its own process handle).
    int64_t r = sys::ipc_recv(ep, m);
    for (int i = 0; i < kIterations && r == kOk && m.label == kFaultLabel; ++i) {
        sys::vm_map(process, kFaultPage, fault_page, 0, kPageSize, kVmRead | kVmWrite);
        m = Message{0, 0, 0, 0};
        r = i + 1 < kIterations ? sys::ipc_reply_recv(ep, m) : sys::ipc_reply(m);
    }
    finish(child);
    for (int i = 0; i < kIterations; ++i) g_samples[i] = shared()->samples[i];
    report("fault.roundtrip", g_samples, kIterations);
    unmap_shared_page(page);
    sys::handle_close(ep);
    sys::handle_close(fault_page);
}

void bench_spawn() {
    constexpr int kSpawns = 50;
    for (int i = 0; i < kSpawns; ++i) {
        uint64_t t0 = ticks();
        finish(spawn_role("exit", nullptr, 0));
        g_samples[i] = ticks() - t0;
    }
    report("process.spawn_wait", g_samples, kSpawns);
}

// --- several CPUs (tools/bench.py boots this image with -smp 2 and 4) -----------

void pin_self(unsigned cpu) { sys::thread_set_affinity(startup().self_thread, 1ULL << cpu); }

// A call to a server pinned to another CPU: the general path, a wake-up
// by IPI there, and the reply back the same way. Under icount the ticks
// count every CPU's instructions (the waiting one halts meanwhile).
void bench_ipc_cross_core() {
    pin_self(0);
    Handle ep = made(sys::endpoint_create(), "an endpoint");
    int64_t server = spawn_role("echo_cpu1", &ep, 1);
    Message m{1, 0, 0, 0};
    sys::ipc_call(ep, m);
    for (int i = 0; i < kIterations; ++i) {
        m = Message{1, static_cast<uint64_t>(i), 0, 0};
        uint64_t t0 = ticks();
        sys::ipc_call(ep, m);
        g_samples[i] = ticks() - t0;
    }
    report("ipc.call_reply.cross_core", g_samples, kIterations);
    m = Message{0, 0, 0, 0};
    sys::ipc_call(ep, m);
    finish(server);
    sys::handle_close(ep);
}

volatile bool g_spin_stop;
void spin(void*) {
    while (!g_spin_stop) asm volatile("pause");
}

// Unmapping one page of an address space that threads run on `cpus` CPUs
// (this one and spinners on the others): the shootdown's cost is the
// difference from cpus = 1.
void bench_unmap(uint64_t cpus) {
    pin_self(0);
    int64_t spinners[16];
    g_spin_stop = false;
    for (uint64_t c = 1; c < cpus; ++c) {
        spinners[c] = start_thread(spin, nullptr, 16);
        if (spinners[c] >= 0) sys::thread_set_affinity(static_cast<Handle>(spinners[c]), 1ULL << c);
    }
    sys::thread_sleep(20'000'000);  // they run now
    Handle page = made(sys::memory_create(kPageSize), "a page");
    constexpr int kUnmaps = 200;
    for (int i = 0; i < kUnmaps; ++i) {
        sys::vm_map(startup().self_process, kFaultPage, page, 0, kPageSize, kVmRead | kVmWrite);
        *reinterpret_cast<volatile uint64_t*>(kFaultPage) = i;  // in this CPU's TLB
        uint64_t t0 = ticks();
        sys::vm_unmap(startup().self_process, kFaultPage, kPageSize);
        g_samples[i] = ticks() - t0;
    }
    char metric[48];
    format_to(metric, sizeof metric, "tlb.unmap_page.cpus_%lu", cpus);
    report(metric, g_samples, kUnmaps);
    g_spin_stop = true;
    sys::thread_sleep(20'000'000);
    for (uint64_t c = 1; c < cpus; ++c)
        if (spinners[c] >= 0) sys::handle_close(static_cast<Handle>(spinners[c]));
    sys::handle_close(page);
}

// Independent client/server pairs, each pair on one CPU, calling for a
// fixed time: calls per second with every pair on CPU 0, then with pair i
// on CPU i. Wall clock only (plain TCG runs each CPU on its own host thread).
// `work`: loop iterations of user-mode work by the caller between calls.
struct PairArgs {
    Handle ep;
    volatile uint64_t calls;
    volatile bool stop;
    uint64_t work;
};
PairArgs g_pairs[16];

void caller(void* p) {
    auto* a = static_cast<PairArgs*>(p);
    Message m;
    while (!a->stop) {
        for (uint64_t i = 0; i < a->work; ++i) asm volatile("" ::: "memory");
        m = Message{1, 0, 0, 0};
        if (sys::ipc_call(a->ep, m) != kOk) return;
        a->calls = a->calls + 1;
    }
}

// shared: one endpoint that every server thread receives on (one server
// per CPU) and every client calls.
uint64_t pairs_calls_per_second(uint64_t pairs, bool spread, bool shared = false, uint64_t work = 0) {
    int64_t servers[16], callers[16];
    for (uint64_t i = 0; i < pairs; ++i) {
        Handle ep = shared && i ? g_pairs[0].ep : made(sys::endpoint_create(), "an endpoint");
        g_pairs[i] = PairArgs{ep, 0, false, work};
        servers[i] = spawn_role(spread && i ? (i == 1 ? "echo_cpu1" : i == 2 ? "echo_cpu2" : "echo_cpu3") : "echo_cpu0",
                                &g_pairs[i].ep, 1);
        callers[i] = start_thread(caller, &g_pairs[i], 16);
        sys::thread_set_affinity(static_cast<Handle>(callers[i]), 1ULL << (spread ? i : 0));
    }
    sys::thread_sleep(100'000'000);  // all running
    uint64_t before = 0, after = 0;
    for (uint64_t i = 0; i < pairs; ++i) before += g_pairs[i].calls;
    uint64_t t0 = sys::clock_monotonic();
    sys::thread_sleep(1'000'000'000);
    uint64_t ns = sys::clock_monotonic() - t0;
    for (uint64_t i = 0; i < pairs; ++i) after += g_pairs[i].calls;
    for (uint64_t i = 0; i < pairs; ++i) g_pairs[i].stop = true;
    sys::thread_sleep(50'000'000);
    for (uint64_t i = 0; i < pairs; ++i) {
        Message m{0, 0, 0, 0};
        sys::ipc_call(g_pairs[i].ep, m);  // the server's last call
    }
    for (uint64_t i = 0; i < pairs; ++i) {
        finish(servers[i]);
        sys::handle_close(static_cast<Handle>(callers[i]));
        if (!shared || i == 0) sys::handle_close(g_pairs[i].ep);
    }
    return (after - before) * 1'000'000'000 / (ns ? ns : 1);
}

void bench_scaling(uint64_t cpus) {
    pin_self(0);
    uint64_t pairs = cpus < 4 ? cpus : 4;
    uint64_t one = pairs_calls_per_second(pairs, false);
    uint64_t all = pairs_calls_per_second(pairs, true);
    print("bench ipc.pairs_%lu.one_cpu %lu calls/s\n", pairs, one);
    print("bench ipc.pairs_%lu.%lu_cpus %lu calls/s\n", pairs, pairs, all);
    print("bench ipc.pairs_%lu.scaling %lu.%02lu x\n", pairs, all / (one ? one : 1), all * 100 / (one ? one : 1) % 100);
    one = pairs_calls_per_second(pairs, false, true);
    all = pairs_calls_per_second(pairs, true, true);
    print("bench ipc.shared_server_%lu.one_cpu %lu calls/s\n", pairs, one);
    print("bench ipc.shared_server_%lu.%lu_cpus %lu calls/s\n", pairs, pairs, all);
    print("bench ipc.shared_server_%lu.scaling %lu.%02lu x\n", pairs, all / (one ? one : 1), all * 100 / (one ? one : 1) % 100);
    // The same pairs with about 60,000 instructions of the caller's own work
    // per call: how far the big lock lets work outside the kernel scale.
    one = pairs_calls_per_second(pairs, false, false, 20000);
    all = pairs_calls_per_second(pairs, true, false, 20000);
    print("bench ipc.pairs_%lu_work.one_cpu %lu calls/s\n", pairs, one);
    print("bench ipc.pairs_%lu_work.%lu_cpus %lu calls/s\n", pairs, pairs, all);
    print("bench ipc.pairs_%lu_work.scaling %lu.%02lu x\n", pairs, all / (one ? one : 1), all * 100 / (one ? one : 1) % 100);
}

// --- the child roles ---------------------------------------------------------

int role(const char* name) {
    const StartupInfo& info = startup();
    if (is(name, "exit")) return 0;
    if (memcmp(name, "echo_cpu", 8) == 0) {  // echo_cpuN: the echo server, on CPU N
        pin_self(static_cast<unsigned>(name[8] - '0'));
        Message m;
        int64_t r = sys::ipc_recv(info.handles[0], m);
        while (r == kOk && m.label != 0) r = sys::ipc_reply_recv(info.handles[0], m);
        sys::ipc_reply(Message{});
        return 0;
    }
    if (is(name, "echo") || is(name, "echo_data")) {
        IpcBuffer b;
        b.recv_data = data_page(), b.recv_capacity = kPageSize;
        Message m;
        IpcBuffer* bp = is(name, "echo_data") ? &b : nullptr;  // registers only: the fast path
        int64_t r = sys::ipc_recv(info.handles[0], m, bp);
        while (r == kOk && m.label != 0) r = sys::ipc_reply_recv(info.handles[0], m, bp);
        sys::ipc_reply(Message{});
        return 0;
    }
    if (is(name, "waiter")) {
        sys::vm_map(info.self_process, kShared, info.handles[1], 0, kSharedBytes, kVmRead | kVmWrite);
        for (int i = 0; i <= kIterations; ++i) {
            sys::notification_wait(info.handles[0], kWaitForever);
            shared()->samples[i] = ticks() - shared()->stamp;
        }
        return 0;
    }
    if (is(name, "faulter")) {
        sys::vm_map(info.self_process, kShared, info.handles[0], 0, kSharedBytes, kVmRead | kVmWrite);
        auto* p = reinterpret_cast<volatile uint64_t*>(kFaultPage);
        for (int i = 0; i < kIterations; ++i) {
            uint64_t t0 = ticks();
            *p = i;  // faults: the handler maps the page and resumes us
            shared()->samples[i] = ticks() - t0;
            sys::vm_unmap(info.self_process, kFaultPage, kPageSize);
        }
        return 0;
    }
    return 100;
}

}  // namespace

int main() {
    char name[24];
    if (cmdline_value("role", name, sizeof name)) return role(name);
    SystemInfo info{};
    sys::system_info(&info);
    print("bench memory.used_after_boot %lu KiB\n", (info.total_frames - info.free_frames) * 4);
    print("bench-counter-hz %lu\n", info.tsc_hz);
    if (info.cpus > 1) {  // the several-CPU image: only what needs them
        char what[16] = "";
        cmdline_value("smp", what, sizeof what);
        if (is(what, "scaling")) {
            bench_scaling(info.cpus);
        } else {
            bench_ipc_cross_core();
            for (uint64_t c = 1; c <= info.cpus; ++c) bench_unmap(c);
        }
        print("bench-done\n");
        return 0;
    }
    bench_null_syscall();
    bench_ipc("ipc.call_reply.same_core", 0);
    bench_ipc("ipc.call_reply.same_core.4k", 4096);
    bench_notify();
    bench_thread_switch();
    bench_fault();
    bench_spawn();
    print("bench-done\n");
    return 0;
}
