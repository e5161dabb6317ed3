// hog: a badly behaved program, for the isolation tests. It takes all it
// can of one thing and holds it for a while:
//   hog memory   maps memory until its quota says no
//   hog threads  starts spinning threads until its quota says no
//   hog cpu      spins
//   [seconds=N]  how long (default 5)
// Each process's quota and the scheduler's priorities must keep everyone
// else (the shell, the drivers) going meanwhile.
#include "mica/process.h"
#include "mica/runtime.h"
#include "mica/strings.h"
#include "mica/words.h"

using namespace mica;

namespace {

volatile bool g_stop = false;

void spin(void*) {
    while (!g_stop) {
    }
}

}  // namespace

int main() {
    Words args(startup().cmdline);
    if (!args.accepts("seconds", 1, 1, "hog memory|threads|cpu [seconds=N]")) return 2;
    const char* what = args[0];
    uint64_t seconds = Words::parse(args.value("seconds", "5"));
    uint64_t until = static_cast<uint64_t>(sys::clock_monotonic()) + seconds * 1'000'000'000;
    if (!strcmp(what, "memory")) {
        uint64_t bytes = 0;
        int64_t e = kOk;
        for (;;) {
            auto m = sys::memory_create(1 << 20);
            if (!m.ok()) {
                e = m.error();
                break;
            }
            uintptr_t at = reserve_address_range(1 << 20);
            if ((e = sys::vm_map(startup().self_process, at, m.value(), 0, 1 << 20, kVmRead | kVmWrite)) != kOk)
                break;
            for (uint64_t i = 0; i < (1 << 20); i += kPageSize) reinterpret_cast<volatile uint8_t*>(at)[i] = 1;
            bytes += 1 << 20;
        }
        print("hog: holding %lu MiB of memory (then: %s)\n", bytes >> 20, error_name(e));
    } else if (!strcmp(what, "threads")) {
        uint64_t threads = 0;
        int64_t t;
        while ((t = start_thread(spin, nullptr, 14, 4096)) >= 0) ++threads;  // below us, so we keep making them
        print("hog: %lu spinning threads (then: %s)\n", threads, error_name(t));
    } else if (!strcmp(what, "cpu")) {
        print("hog: spinning\n");
        while (static_cast<uint64_t>(sys::clock_monotonic()) < until) {
        }
    } else {
        print("usage: hog memory|threads|cpu [seconds=N]\n");
        return 2;
    }
    while (static_cast<uint64_t>(sys::clock_monotonic()) < until) sys::thread_sleep(10'000'000);
    g_stop = true;
    print("hog: %s: done\n", what);
    return 0;
}
