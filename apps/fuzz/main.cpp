// fuzz: the syscall fuzzer. Boots as the first process (`init=fuzz`) and
// runs workers, each a process of its own with no privileges and four
// threads, issuing random system calls with random and half-valid
// arguments: real handles of every type with all sorts of rights (shared by
// the threads, so one closes what another is using), random values,
// pointers that are null, kernel, unmapped, misaligned or valid, sizes from
// 0 to huge. Seeded and reproducible: the same seed gives the same calls
// (and under -icount, which tools/fuzz.py uses, the same interleaving). A
// worker that blocks or kills itself is fine; the kernel must never panic,
// hang or leak: after the run, free memory is back to its starting figure.
//
//   fuzz -- seed=S count=N | seconds=T    (./mica fuzz, tools/fuzz.py)
// It prints `fuzz-result: N syscalls, L leaked pages, seed S`; the host
// side adds what only it can see (a kernel panic or hang).
#include "format.h"
#include "mica/process.h"
#include "mica/runtime.h"
#include "mica/strings.h"
#include "mica/syscall_numbers.h"

using namespace mica;

namespace {

// Each thread draws from its own generator (xorshift64*): no thread-local
// storage here, so the state travels as an argument.
struct Rng {
    uint64_t state;
    uint64_t next() {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return state * 0x2545F4914F6CDD1DULL;
    }
    uint64_t below(uint64_t n) { return n ? next() % n : 0; }
};

uint64_t number(const char* key, uint64_t fallback) {
    char text[24];
    if (!cmdline_value(key, text, sizeof text)) return fallback;
    uint64_t v = 0;
    for (const char* p = text; *p >= '0' && *p <= '9'; ++p) v = v * 10 + (*p - '0');
    return v;
}

// --- the worker ----------------------------------------------------------------

constexpr int kPool = 24;
Handle g_pool[kPool];
int g_pool_size = 0;
alignas(16) uint8_t g_buffer[3 * 4096];

int pool_size() {
    int n = __atomic_load_n(&g_pool_size, __ATOMIC_RELAXED);
    return n < kPool ? n : kPool;
}

void add(int64_t h) {
    if (h <= 0 || __atomic_load_n(&g_pool_size, __ATOMIC_RELAXED) >= kPool) return;
    int slot = __atomic_fetch_add(&g_pool_size, 1, __ATOMIC_RELAXED);
    if (slot < kPool) g_pool[slot] = static_cast<Handle>(h);
    else __atomic_store_n(&g_pool_size, kPool, __ATOMIC_RELAXED);
}

void make_pool(Rng& r) {
    add(startup().self_process);
    add(startup().self_thread);
    add(sys::memory_create(4096));
    add(sys::memory_create(3 * 4096));
    add(sys::endpoint_create());
    add(sys::notification_create());
    add(sys::process_create("victim", 6, 128 * 1024));
    add(sys::handle_mint(g_pool[4], kRightWrite, 7));
    // The same objects again with fewer rights.
    for (int i = 0; i < 8 && g_pool_size < kPool; ++i)
        add(sys::handle_duplicate(g_pool[r.below(pool_size())], static_cast<uint32_t>(r.below(256))));
}

uint64_t pointer(Rng& r) {
    switch (r.below(8)) {
        case 0: return 0;
        case 1: return 0xffff'8000'0000'0000ULL + r.below(1ULL << 30);   // direct map
        case 2: return 0xffff'ffff'8000'0000ULL + r.below(1 << 22);       // kernel image
        case 3: return 0x0000'1234'0000'0000ULL;                        // unmapped
        case 4: return reinterpret_cast<uint64_t>(g_buffer) + r.below(sizeof g_buffer);  // misaligned, valid
        case 5: return 0x0000'7fff'ffff'f000ULL + r.below(0x2000);        // across the top of user space
        default: return reinterpret_cast<uint64_t>(g_buffer);
    }
}

uint64_t argument(Rng& r) {
    switch (r.below(10)) {
        case 0: case 1: case 2: return pool_size() ? g_pool[r.below(pool_size())] : 0;  // a real handle
        case 3: return pointer(r);
        case 4: return r.below(2) ? r.below(4097) : 4096 * r.below(64);  // sizes
        case 5: return ~0ULL - r.below(4096);                          // huge
        case 6: return r.below(256);                                   // small values, rights masks
        case 7: return 0x10000 + 4096 * r.below(1 << 20);             // addresses to map at
        case 8: return static_cast<uint32_t>(r.next());                // handle-shaped noise
        default: return r.next();
    }
}

constexpr int kThreads = 4;
int g_finished = 0;

void calls(Rng& r, uint64_t count) {
    for (uint64_t i = 0; i < count; ++i) {
        uint64_t n = r.below(kSyscallCount + 3);
        if (n == kSysProcessExit || n == kSysThreadExit) continue;  // that would be the end of us
        uint64_t a[6];
        for (auto& x : a) x = argument(r);
        if (n == kSysDebugWrite && r.below(8) != 0) a[0] = 0xffff'8000'0000'0000ULL;  // mostly the error path: a quiet log
        if (n == kSysThreadSleep || n == kSysProcessWait || n == kSysNotificationWait)
            a[n == kSysThreadSleep ? 0 : 1] %= 1'000'000;  // short waits: keep the calls coming
        detail::raw_syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]);
        if (r.below(64) == 0) add(static_cast<int64_t>(a[0]));  // maybe a fresh handle
    }
    __atomic_fetch_add(&g_finished, 1, __ATOMIC_RELAXED);
}

struct ThreadStart {
    uint64_t seed, count;
};

void thread_main(void* arg) {
    auto* s = static_cast<ThreadStart*>(arg);
    Rng r{s->seed};
    calls(r, s->count);
}

// The calls are shared among kThreads threads (the first is this one).
int worker(uint64_t seed, uint64_t count) {
    Rng r{seed * 0x9E3779B97F4A7C15ULL + 1};
    make_pool(r);
    static ThreadStart starts[kThreads];
    int started = 1;
    for (int t = 1; t < kThreads; ++t) {
        starts[t] = ThreadStart{(seed + static_cast<uint64_t>(t)) * 0x9E3779B97F4A7C15ULL + 1, count / kThreads};
        if (start_thread(thread_main, &starts[t], 8, 16 * 1024) >= 0) ++started;
    }
    calls(r, count - (count / kThreads) * static_cast<uint64_t>(started - 1));
    // The others may be blocked in a call; the campaign's time limit ends us then.
    while (__atomic_load_n(&g_finished, __ATOMIC_RELAXED) < started) sys::thread_sleep(1'000'000);
    return 0;
}

// --- the campaign --------------------------------------------------------------

}  // namespace

int main() {
    char role[16];
    uint64_t seed = number("seed", 1);
    if (cmdline_value("role", role, sizeof role)) return worker(seed, number("count", 1000));

    uint64_t total = number("count", 100000);
    uint64_t seconds = number("seconds", 0);
    if (seconds) total = ~0ULL;
    uint64_t deadline = seconds ? static_cast<uint64_t>(sys::clock_monotonic()) + seconds * 1'000'000'000 : ~0ULL;
    constexpr uint64_t kPerWorker = 2000;
    constexpr uint64_t kAtOnce = 2;
    const void* elf;
    size_t size;
    if (!map_boot_module("fuzz", &elf, &size)) return 2;
    print("fuzz: seed %lu, workers of %lu syscalls\n", seed, kPerWorker);
    SystemInfo before{}, after{};
    uint64_t done = 0, workers = 0, killed = 0, faulted = 0;
    for (int warm = 0; warm < 2; ++warm) {  // the kernel heap grows to its working size first
        sys::system_info(&before);
        // Two workers at a time, so that processes race as well as threads.
        for (uint64_t w = 0; done < total && (warm == 0 ? w < 2 : true); w += kAtOnce) {
            if (warm && static_cast<uint64_t>(sys::clock_monotonic()) > deadline) break;
            Handle running[kAtOnce];
            for (uint64_t k = 0; k < kAtOnce; ++k, ++workers) {
                char cmdline[64];
                format_to(cmdline, sizeof cmdline, "role=worker seed=%lu count=%lu", seed * 1000003 + workers,
                          kPerWorker);
                SpawnOptions o{.name = "fuzzworker", .cmdline = cmdline, .quota = 2 << 20, .priority = 8};
                int64_t p = spawn(elf, size, o);
                if (p < 0) {
                    print("fuzz: cannot start a worker: %s\n", error_name(p));
                    return 1;
                }
                running[k] = static_cast<Handle>(p);
            }
            for (Handle p : running) {
                int64_t status = 0;
                if (sys::process_wait(p, 2'000'000'000, &status) == kErrTimedOut) {
                    sys::process_kill(p, -77);  // blocked in some call: fine
                    sys::process_wait(p, kWaitForever, &status);
                    ++killed;
                }
                if (status <= kExitFaultBase && status > kExitFaultBase - 32) ++faulted;
                sys::handle_close(p);
                done += kPerWorker;
            }
        }
        if (warm == 0) done = 0;
    }
    sys::system_info(&after);
    int64_t leaked = static_cast<int64_t>(before.free_frames) - static_cast<int64_t>(after.free_frames);
    print("fuzz: %lu workers (%lu stopped by the time limit, %lu ended by their own faults)\n", workers, killed,
          faulted);
    print("fuzz: kernel heap %lu -> %lu bytes, processes %lu -> %lu\n", before.heap_bytes_used,
          after.heap_bytes_used, before.processes, after.processes);
    print("fuzz-result: %lu syscalls, %ld leaked pages, seed %lu\n", done, leaked, seed);
    return leaked == 0 && after.heap_bytes_used == before.heap_bytes_used ? 0 : 1;
}
