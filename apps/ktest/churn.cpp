// Churn: create and destroy many processes, each with a thread and some
// memory. Afterwards free physical memory and kernel heap use are back to
// their starting figures exactly: teardown releases everything.
#include "ktest.h"

using namespace mica;
using namespace ktest;

KTEST(churn, processes) {
    char count_text[16] = "10000";
    cmdline_value("churn", count_text, sizeof count_text);
    int count = 0;
    for (const char* p = count_text; *p >= '0' && *p <= '9'; ++p) count = count * 10 + (*p - '0');

    // Warm up: the kernel heap grows to its working size and keeps it.
    for (int i = 0; i < 20; ++i) EXPECT_EQ(run_child("exit0"), 0);
    SystemInfo before{}, after{};
    EXPECT_EQ(sys::system_info(&before), kOk);
    ProcessInfo self_before{}, self_after{};
    EXPECT_EQ(sys::process_info(startup().self_process, &self_before), kOk);
    // Most exit by themselves; the others are killed while running, sleeping
    // in the kernel, or with several threads blocked or not yet run.
    // (Spinners are few: each holds the CPU for a whole time slice.)
    struct Round {
        const char* mode;
        bool kill;
    };
    const Round kRounds[] = {{"exit0", false}, {"touch_memory", false}, {"exit0", false},
                             {"touch_memory", false}, {"sleep", true}, {"exit0", false},
                             {"touch_memory", false}, {"threads", true}, {"exit0", false},
                             {"ipc_objects", true}};
    const Round kSpin{"spin", true};
    for (int i = 0; i < count; ++i) {
        const Round& round = i % 50 == 9 ? kSpin : kRounds[i % 10];
        const char* mode = round.mode;
        bool kill = round.kill;
        int64_t status = kill ? run_child_and_kill(mode, 77) : run_child(mode);
        if (status != (kill ? 77 : 0)) {
            print("ktest: churn: child %d (%s) ended with %ld\n", i, mode, status);
            EXPECT_EQ(status, kill ? 77 : 0);
            break;
        }
    }
    EXPECT_EQ(sys::system_info(&after), kOk);
    EXPECT_EQ(sys::process_info(startup().self_process, &self_after), kOk);
    print("ktest: churn: %d processes; free frames %lu -> %lu, heap bytes %lu -> %lu\n", count,
          before.free_frames, after.free_frames, before.heap_bytes_used, after.heap_bytes_used);
    EXPECT_EQ(after.free_frames, before.free_frames);
    EXPECT_EQ(after.heap_bytes_used, before.heap_bytes_used);
    EXPECT_EQ(after.processes, before.processes);
    EXPECT_EQ(after.threads, before.threads);
    EXPECT_EQ(self_after.used_bytes, self_before.used_bytes);
    EXPECT_EQ(self_after.handles, self_before.handles);
}
