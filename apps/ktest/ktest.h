// In-OS kernel tests: a tiny harness. Each test is a function declared with
// KTEST(family, name) anywhere in ktest's sources; it registers itself (a
// record in the `ktests` section), so adding a test is one edit. Checks use
// EXPECT/EXPECT_EQ; results go to the serial console, where the host test
// runner reads them. The host boots once per family (tests/qemu/CMakeLists.txt
// finds the families in these sources); `test=FAMILY` or `test=FAMILY.NAME`
// picks what runs.
#pragma once

#include "mica/errors.h"
#include "mica/runtime.h"

namespace ktest {

// Records sit back to back in the section, so each is padded to an
// alignment that the compiler's own placement of them cannot break.
struct alignas(32) Test {
    const char* family;
    const char* name;
    void (*run)();
};

void fail(const char* file, int line, const char* what, int64_t got, int64_t want);
extern int g_failures;

// The handle a call made; if it failed, the failure is recorded (with its
// error) and the result is kNoHandle, so a test never goes on with an error
// taken for a handle. Used through EXPECT_HANDLE.
mica::Handle made(const mica::HandleResult& r, const char* file, int line, const char* what);

// A child process running ktest_child with `mode`; returns its exit status
// (or the error that kept it from running).
int64_t run_child(const char* mode, uint64_t quota = 4 << 20);
// Starts ktest_child with `mode`, passing it `handles`; returns its process handle.
int64_t spawn_child(const char* mode, const mica::Handle* handles = nullptr, uint32_t count = 0,
                    uint64_t quota = 4 << 20);
// Waits for a child and closes its handle; returns its exit status.
int64_t wait_child(int64_t process);
// The same, but the child is killed with `status` once it has started.
int64_t run_child_and_kill(const char* mode, int64_t status);

// Frames and kernel heap now, to check that a test gave back what it took.
struct Usage {
    uint64_t free_frames, heap_bytes;
};
Usage usage();
// EXPECTs that frames and heap are back to `before` (after a settling sleep,
// in which threads that are ending, at any priority, finish).
void expect_no_leak(const Usage& before, const char* file, int line);

}  // namespace ktest

#define KTEST(family, name)                                                                      \
    static void ktest_##family##_##name();                                                       \
    [[gnu::used, gnu::section("ktests")]] static const ::ktest::Test ktest_record_##family##_##name{ \
        #family, #name, ktest_##family##_##name};                                                \
    static void ktest_##family##_##name()

#define EXPECT(cond)                                                         \
    do {                                                                     \
        if (!(cond)) ::ktest::fail(__FILE__, __LINE__, #cond, 0, 0);         \
    } while (0)

#define EXPECT_EQ(got_expr, want_expr)                                                     \
    do {                                                                                   \
        int64_t got_ = static_cast<int64_t>(got_expr);                                     \
        int64_t want_ = static_cast<int64_t>(want_expr);                                   \
        if (got_ != want_) ::ktest::fail(__FILE__, __LINE__, #got_expr " == " #want_expr, got_, want_); \
    } while (0)

// EXPECT_HANDLE(sys::endpoint_create()): the new handle, or kNoHandle and a failure.
#define EXPECT_HANDLE(call) ::ktest::made((call), __FILE__, __LINE__, #call)

#define EXPECT_NO_LEAK(before) ::ktest::expect_no_leak(before, __FILE__, __LINE__)
