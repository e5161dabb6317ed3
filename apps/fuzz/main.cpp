// fuzz: the syscall fuzzer. Boots as the first process (`init=fuzz`) and
// runs workers, each a process of its own with no privileges and four
// threads. Every step of a worker's threads comes from one of four
// generators (fuzz.h): random calls with random and half-valid arguments
// (real handles of every type and rights, shared by the threads, so one
// closes what another is using; null, kernel, unmapped, misaligned pointers;
// sizes from 0 to huge), boundary values (0, 2^31, 2^32, 2^47, 2^63, 2^64
// and around), odd CPU state around a call (RFLAGS bits, segment selectors,
// stack pointers), and IPC scenarios across threads and child processes.
// Seeded and reproducible: the same seed gives the same calls (and under
// -icount, which tools/fuzz.py uses, the same interleaving). A worker that
// blocks or faults is fine; the kernel must never panic, hang or leak: after
// the run free memory is back where it was, and once everything has ended the
// kernel checks the same for itself (kernel/shutdown.cpp).
//
//   fuzz -- seed=S count=N | seconds=T [gen=all|random|boundary|cpu|scenario]
// It prints `fuzz-result: N syscalls, L leaked pages, seed S`; N counts
// generator steps, each at least one system call. The host side adds what
// only it can see (a kernel panic or hang).
#include "format.h"
#include "fuzz.h"
#include "mica/process.h"
#include "mica/strings.h"

using namespace mica;
using namespace fuzz;

namespace {

uint64_t number(const char* key, uint64_t fallback) {
    char text[24];
    if (!cmdline_value(key, text, sizeof text)) return fallback;
    uint64_t v = 0;
    for (const char* p = text; *p >= '0' && *p <= '9'; ++p) v = v * 10 + static_cast<uint64_t>(*p - '0');
    return v;
}

// Which generators run: all (each step picks one), or one by name.
int g_only = -1;

int parse_generator(const char* text) {
    for (int g = 0; g < kGenerators; ++g)
        if (strcmp(text, kGeneratorNames[g]) == 0) return g;
    return strcmp(text, "all") == 0 ? -1 : -2;
}

// --- the worker ----------------------------------------------------------------

constexpr int kThreads = 4;
int g_finished = 0;

void steps(Rng& r, uint64_t count) {
    for (uint64_t i = 0; i < count; ++i) {
        // The mix when all run: random 35%, boundary 15%, CPU state 15%, scenario 35%.
        uint64_t pick = r.below(20);
        int g = g_only >= 0 ? g_only : pick < 7 ? kRandom : pick < 10 ? kBoundary : pick < 13 ? kCpuState : kScenario;
        switch (g) {
            case kRandom: step_random(r); break;
            case kBoundary: step_boundary(r); break;
            case kCpuState: step_cpu_state(r); break;
            default: step_scenario(r); break;
        }
        if (g_stats) __atomic_fetch_add(&g_stats[g], 1, __ATOMIC_RELAXED);
    }
    __atomic_fetch_add(&g_finished, 1, __ATOMIC_RELAXED);
}

struct ThreadStart {
    uint64_t seed, count;
};

void thread_main(void* arg) {
    auto* s = static_cast<ThreadStart*>(arg);
    Rng r{s->seed};
    steps(r, s->count);
}

void map_stats() {
    if (startup().handle_count < 2) return;
    uintptr_t at = reserve_address_range(kPageSize);
    if (sys::vm_map(startup().self_process, at, startup().handles[1], 0, kPageSize, kVmRead | kVmWrite) == kOk)
        g_stats = reinterpret_cast<uint64_t*>(at);
}

// The steps are shared among kThreads threads (the first is this one).
int worker(uint64_t seed, uint64_t count) {
    Rng r{seed * 0x9E3779B97F4A7C15ULL + 1};
    map_stats();
    pool_add(startup().self_process);
    pool_add(startup().self_thread);
    pool_add(static_cast<int64_t>(sys::memory_create(4096)));
    pool_add(static_cast<int64_t>(sys::memory_create(3 * 4096)));
    pool_add(static_cast<int64_t>(sys::notification_create()));
    pool_add(static_cast<int64_t>(sys::process_create("victim", 6, 128 * 1024)));
    scenario_init(r);
    for (int i = 0; i < 8; ++i)  // the same objects again with fewer rights
        pool_add(static_cast<int64_t>(sys::handle_duplicate(pool_pick(r), static_cast<uint32_t>(r.below(512)))));
    static ThreadStart starts[kThreads];
    int started = 1;
    for (int t = 1; t < kThreads; ++t) {
        starts[t] = ThreadStart{(seed + static_cast<uint64_t>(t)) * 0x9E3779B97F4A7C15ULL + 1, count / kThreads};
        if (start_thread(thread_main, &starts[t], 8, 16 * 1024) >= 0) ++started;
    }
    steps(r, count - (count / kThreads) * static_cast<uint64_t>(started - 1));
    // The others may be blocked in a call; the campaign's time limit ends us then.
    while (__atomic_load_n(&g_finished, __ATOMIC_RELAXED) < started) sys::thread_sleep(1'000'000);
    scenario_end();
    return 0;
}

// --- the campaign --------------------------------------------------------------

uint64_t steps_made(Handle stats) {
    uint64_t counts[kGenerators + 1] = {};
    sys::memory_read(stats, 0, counts, sizeof counts);
    uint64_t sum = 0;
    for (uint64_t c : counts) sum += c;
    return sum;
}

// Children of workers stopped by the time limit end on their own soon
// (their waits are bounded): wait for them before taking the figures.
void settle(SystemInfo& info) {
    for (int i = 0; i < 300; ++i) {
        sys::system_info(&info);
        if (info.processes <= 1) return;
        sys::thread_sleep(10'000'000);
    }
}

}  // namespace

int main() {
    char role[16], gen[16] = "all";
    uint64_t seed = number("seed", 1);
    cmdline_value("gen", gen, sizeof gen);
    g_only = parse_generator(gen);
    if (g_only == -2) {
        print("fuzz: gen wants all, random, boundary, cpu or scenario\n");
        return 2;
    }
    if (cmdline_value("role", role, sizeof role)) {
        if (strcmp(role, "child") == 0) return child_main(seed);
        return worker(seed, number("count", 1000));
    }

    uint64_t total = number("count", 100000);
    uint64_t seconds = number("seconds", 0);
    if (seconds) total = ~0ULL;
    uint64_t deadline = seconds ? static_cast<uint64_t>(sys::clock_monotonic()) + seconds * 1'000'000'000 : ~0ULL;
    constexpr uint64_t kPerWorker = 2000;
    constexpr uint64_t kAtOnce = 2;
    const void* elf;
    size_t size;
    if (!map_boot_module("fuzz", &elf, &size)) return 2;
    // Workers get this program (read-only, to start children with) and a
    // page to count their steps in.
    Handle module = kNoHandle;
    for (uint32_t i = 0; i < startup().module_count; ++i)
        if (strcmp(startup().modules[i].name, "fuzz") == 0) module = startup().modules[i].memory;
    auto stats_page = sys::memory_create(kPageSize);
    if (!stats_page.ok()) {
        print("fuzz: no page to count steps in (%s)\n", error_name(stats_page.error()));
        return 2;
    }
    Handle stats = stats_page.value();
    const Handle given[] = {module, stats};
    print("fuzz: seed %lu, workers of %lu steps, generators %s\n", seed, kPerWorker, gen);
    SystemInfo before{}, after{};
    uint64_t done = 0, workers = 0, killed = 0, faulted = 0, at_start = 0;
    for (int warm = 0; warm < 2; ++warm) {  // the kernel heap grows to its working size first
        settle(before);
        at_start = steps_made(stats);
        // Two workers at a time, so that processes race as well as threads.
        for (uint64_t w = 0; done < total && (warm == 0 ? w < 2 : true); w += kAtOnce) {
            if (warm && static_cast<uint64_t>(sys::clock_monotonic()) > deadline) break;
            Handle running[kAtOnce];
            for (uint64_t k = 0; k < kAtOnce; ++k, ++workers) {
                char cmdline[128];
                format_to(cmdline, sizeof cmdline, "role=worker seed=%lu count=%lu gen=%s module_size=%zu",
                          seed * 1000003 + workers, kPerWorker, gen, size);
                SpawnOptions o{.name = "fuzzworker", .cmdline = cmdline, .quota = 2 << 20, .priority = 8,
                               .handles = given, .handle_count = 2};
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
            }
            done = steps_made(stats) - at_start;
        }
    }
    settle(after);
    uint64_t counts[kGenerators + 1] = {};
    sys::memory_read(stats, 0, counts, sizeof counts);
    int64_t leaked = static_cast<int64_t>(before.free_frames) - static_cast<int64_t>(after.free_frames);
    print("fuzz: %lu workers (%lu stopped by the time limit, %lu ended by their own faults)\n", workers, killed,
          faulted);
    print("fuzz: steps by generator (warm-up included): random %lu, boundary %lu, cpu %lu, scenario %lu\n",
          counts[kRandom], counts[kBoundary], counts[kCpuState], counts[kScenario]);
    print("fuzz: %lu results outside their call's errors\n", counts[kContractSlot]);
    print("fuzz: kernel heap %lu -> %lu bytes, processes %lu -> %lu\n", before.heap_bytes_used,
          after.heap_bytes_used, before.processes, after.processes);
    print("fuzz-result: %lu syscalls, %ld leaked pages, seed %lu\n", done, leaked, seed);
    return leaked == 0 && after.heap_bytes_used == before.heap_bytes_used && counts[kContractSlot] == 0 ? 0 : 1;
}
