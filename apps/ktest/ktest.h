// In-OS kernel tests: a tiny harness. Each test is a function that checks
// with EXPECT/EXPECT_EQ; results go to the serial console, where the host
// test runner reads them.
#pragma once

#include "mica/errors.h"
#include "mica/runtime.h"

namespace ktest {

struct Test {
    const char* name;
    void (*run)();
};

void fail(const char* file, int line, const char* what, int64_t got, int64_t want);
extern int g_failures;

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

void test_syscall_errors();
void test_handles();
void test_memory();
void test_isolation();
void test_preemption();
void test_churn();
void test_quota();
void test_handle_chain();
void test_self_reference();
void test_ipc();
void test_ipc_errors();
void test_notifications();
void test_faults();
void test_devices();
void test_resources();

}  // namespace ktest

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
