// Isolation: a process cannot touch memory it has not mapped, cannot write
// its code or execute its data, cannot reach the kernel half, cannot run
// privileged instructions, and cannot use handle values it was not given.
// Each attempt ends that process alone, with the fault as its exit status.
#include "ktest.h"

using namespace mica;
using namespace ktest;

namespace {
constexpr int64_t kPageFault = kExitFaultBase - 14;
constexpr int64_t kGeneralProtection = kExitFaultBase - 13;
}  // namespace

KTEST(isolation, faults) {
    EXPECT_EQ(run_child("exit0"), 0);
    EXPECT_EQ(run_child("exit42"), 42);
    EXPECT_EQ(run_child("read_unmapped"), kPageFault);
    EXPECT_EQ(run_child("write_null"), kPageFault);
    EXPECT_EQ(run_child("write_code"), kPageFault);
    EXPECT_EQ(run_child("exec_stack"), kPageFault);
    EXPECT_EQ(run_child("exec_heap"), kPageFault);
    EXPECT_EQ(run_child("read_kernel"), kPageFault);
    EXPECT_EQ(run_child("write_kernel"), kPageFault);
    EXPECT_EQ(run_child("privileged_hlt"), kGeneralProtection);
    EXPECT_EQ(run_child("privileged_cr3"), kGeneralProtection);
    EXPECT_EQ(run_child("port_io"), kGeneralProtection);
    EXPECT_EQ(run_child("divide_zero"), kExitFaultBase - 0);
    EXPECT_EQ(run_child("invalid_opcode"), kExitFaultBase - 6);
    EXPECT_EQ(run_child("kernel_pointers"), 0);  // every call refuses with kErrBadAddress
    EXPECT_EQ(run_child("forge_handles"), 0);    // guessed handle values name nothing
    EXPECT_EQ(run_child("thread_fault"), kPageFault);  // one thread's fault ends the whole process
    // And the parent carries on unharmed after all of it.
    SystemInfo info{};
    EXPECT_EQ(sys::system_info(&info), kOk);
    EXPECT_EQ(info.processes, 1u);
}
