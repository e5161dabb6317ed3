// Churn: create and destroy many processes, each with a thread and some
// memory. Afterwards free physical memory and kernel heap use are back to
// their starting figures exactly: teardown releases everything.
#include "ktest.h"

using namespace mica;

void ktest::test_churn() {
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
    for (int i = 0; i < count; ++i) {
        int64_t status = run_child(i % 2 ? "exit0" : "touch_memory");
        if (status != 0) {
            EXPECT_EQ(status, 0);
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
