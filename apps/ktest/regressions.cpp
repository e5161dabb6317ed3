// Regression tests, one per kernel fault found (issue 8's review and later):
// each reproduces what was done, and checks the kernel now answers with an
// error and stays whole. Names say what the program did.
#include "ktest.h"
#include "mica/process.h"
#include "mica/syscall_numbers.h"

using namespace mica;
using namespace ktest;

namespace {

struct Caller {
    Handle endpoint;
    uint64_t label;
    uint64_t timeout_ns;
    volatile int64_t result;
    volatile uint64_t answer;
};

void call_once(void* p) {
    auto* c = static_cast<Caller*>(p);
    IpcBuffer b;
    b.timeout_ns = c->timeout_ns;
    Message m{c->label, 0, 0, 0};
    int64_t r = sys::ipc_call(c->endpoint, m, &b);
    c->answer = m.w0;
    c->result = r;
}

void wait_for(volatile int64_t& result, int64_t pending) {
    while (result == pending) sys::thread_yield();
}

// ktest_child's module is mapped once, for good, the first time a child runs;
// leak checks start after that.
Usage settled_usage() {
    EXPECT_EQ(run_child("exit0"), 0);
    return usage();
}

}  // namespace

// A saved reply named among the handles its own ipc_reply_to sends: the
// reply handle was removed first, the transfer then failed to detach it, and
// an uninitialised entry reached the caller's table (a later kernel fault).
KTEST(regress, saved_reply_sends_itself) {
    Handle ep = EXPECT_HANDLE(sys::endpoint_create());
    static Caller c{ep, 5, kWaitForever, 1, 0};
    int64_t t = start_thread(call_once, &c, 16);
    Message m;
    EXPECT_EQ(sys::ipc_recv(ep, m), kOk);
    Handle saved = EXPECT_HANDLE(sys::ipc_reply_save());
    IpcBuffer b;
    b.send_handle_count = 1;
    b.send_handles[0] = saved;
    b.send_rights[0] = kRightsSame;
    EXPECT_EQ(sys::ipc_reply_to(saved, Message{0, 1, 0, 0}, &b), kErrInvalidArgument);
    // Refused before anything changed: the saved reply still answers.
    EXPECT_EQ(sys::ipc_reply_to(saved, Message{0, 7, 0, 0}), kOk);
    wait_for(c.result, 1);
    EXPECT_EQ(c.result, kOk);
    EXPECT_EQ(c.answer, 7);
    sys::handle_close(static_cast<Handle>(t));
    sys::handle_close(ep);
}

// A server kills its caller and at once replies with a handle: the killed
// caller was still marked as awaiting the reply, so the handle went into
// its cleared table, charged to a quota that was then freed (a panic).
KTEST(regress, reply_into_killed_caller) {
    Usage before = settled_usage();
    Handle ep = EXPECT_HANDLE(sys::endpoint_create());
    int64_t child = spawn_child("call_and_hang", &ep, 1);
    Message m;
    EXPECT_EQ(sys::ipc_recv(ep, m), kOk);
    EXPECT_EQ(m.label, 77);
    EXPECT_EQ(sys::process_kill(static_cast<Handle>(child), 5), kOk);
    Handle n = EXPECT_HANDLE(sys::notification_create());
    IpcBuffer b;
    b.send_handle_count = 1;
    b.send_handles[0] = n;
    b.send_rights[0] = kRightsSame;
    EXPECT_EQ(sys::ipc_reply(Message{0, 0, 0, 0}, &b), kErrPeerClosed);
    HandleInfo info{};
    EXPECT_EQ(sys::handle_info(n, &info), kErrBadHandle);  // consumed, as a failed send's are
    EXPECT_EQ(wait_child(child), 5);
    sys::handle_close(ep);
    EXPECT_NO_LEAK(before);
}

namespace {
void end_receive_later(void* p) {
    sys::thread_sleep(20'000'000);
    Message m{0, 0, 0, 0};
    sys::ipc_call(*static_cast<Handle*>(p), m);
}
}  // namespace

// The same, answered through the fast path (reply_recv with no buffer): it
// switched straight to the killed caller, which was on the run queue too;
// the scheduler later picked the dead thread again (a panic).
KTEST(regress, fastpath_reply_to_killed_caller) {
    Usage before = settled_usage();
    static Handle ep;
    ep = EXPECT_HANDLE(sys::endpoint_create());
    int64_t child = spawn_child("call_and_hang", &ep, 1);
    Message m;
    EXPECT_EQ(sys::ipc_recv(ep, m), kOk);
    EXPECT_EQ(sys::process_kill(static_cast<Handle>(child), 6), kOk);
    int64_t helper = start_thread(end_receive_later, &ep, 8);  // below us: never ready when we reply
    m = Message{1, 0, 0, 0};
    uint64_t badge = 0;
    EXPECT_EQ(sys::ipc_reply_recv(ep, m, nullptr, &badge), kOk);
    EXPECT_EQ(m.label, 0);  // the helper's call, not anything of the dead caller's
    EXPECT_EQ(sys::ipc_reply(Message{}), kOk);
    EXPECT_EQ(wait_child(child), 6);
    sys::handle_close(static_cast<Handle>(helper));
    sys::handle_close(ep);
    EXPECT_NO_LEAK(before);
}

// RFLAGS.NT set by a program before a system call leaked into the kernel and
// into another thread's iretq (#GP in kernel mode). TF and AC, DF likewise
// must not reach the kernel.
KTEST(regress, rflags_from_user) {
    EXPECT_EQ(run_child("rflags_nt"), 0);
    EXPECT_EQ(run_child("rflags_ac_df"), 0);
    // A single step over a system call traps in the program, not the kernel.
    int64_t status = run_child("rflags_tf");
    EXPECT(status == 0 || status == kExitFaultBase - 1);
}

// A quota near 2^64 wrapped the reservation in the parent (charged 16
// bytes), and the child could take all of RAM.
KTEST(regress, quota_overflow) {
    const uint64_t huge[] = {~0ULL, ~0ULL - 15, ~0ULL - 4095, 1ULL << 63, (1ULL << 63) - 16, 1ULL << 62};
    ProcessInfo before{}, after{};
    EXPECT_EQ(sys::process_info(startup().self_process, &before), kOk);
    for (uint64_t q : huge) EXPECT_EQ(sys::process_create("big", 3, q), kErrQuotaExceeded);
    EXPECT_EQ(sys::process_info(startup().self_process, &after), kOk);
    EXPECT_EQ(after.used_bytes, before.used_bytes);  // nothing was charged
    // Inside a child with a small quota, the same.
    EXPECT_EQ(run_child("quota_overflow", 1 << 20), 0);
}

// Handle values carry a 15-bit generation: after 32,767 reuses of one slot
// the value of its first handle named a new object. Slots retire instead.
KTEST(regress, handle_generation_wrap) {
    Handle first = EXPECT_HANDLE(sys::notification_create());
    EXPECT_EQ(sys::handle_close(first), kOk);
    HandleInfo info{};
    int reused = 0;
    for (int i = 0; i < 33000; ++i) {
        auto made = sys::notification_create();
        if (!made.ok()) break;
        Handle h = made.value();
        if ((h & 0xffff) == (first & 0xffff)) ++reused;
        if (sys::handle_info(first, &info) != kErrBadHandle) {
            EXPECT_EQ(sys::handle_info(first, &info), kErrBadHandle);
            sys::handle_close(h);
            break;
        }
        sys::handle_close(h);
    }
    EXPECT(reused > 30000);  // the slot really was reused that often
}

// A syscall as the last instruction of user space returned to a
// non-canonical address (an iretq #GP in ring 0, with the user's GS). The top
// page of user space cannot be mapped; a syscall just below it returns into
// that hole and the program gets a page fault.
KTEST(regress, top_user_page) {
    Handle m = EXPECT_HANDLE(sys::memory_create(2 * kPageSize));
    EXPECT_EQ(sys::vm_map(startup().self_process, kUserTop - kPageSize, m, 0, kPageSize, kVmRead),
              kErrInvalidArgument);
    EXPECT_EQ(sys::vm_map(startup().self_process, kUserTop - 2 * kPageSize, m, 0, 2 * kPageSize, kVmRead),
              kErrInvalidArgument);
    sys::handle_close(m);
    EXPECT_EQ(run_child("syscall_below_top"), kExitFaultBase - 14);
}

// One memory object could be mapped writable at one address and executable
// at another. Executing needs kRightExecute, and an object is never
// writable and executable at once, through any mapping or memory_write.
KTEST(regress, wx_across_mappings) {
    const Handle self = startup().self_process;
    Handle m = EXPECT_HANDLE(sys::memory_create(2 * kPageSize));
    HandleInfo info{};
    EXPECT_EQ(sys::handle_info(m, &info), kOk);
    EXPECT((info.rights & kRightExecute) != 0);
    uintptr_t a = reserve_address_range(2 * kPageSize), b = reserve_address_range(2 * kPageSize);
    EXPECT_EQ(sys::vm_map(self, a, m, 0, kPageSize, kVmRead | kVmWrite), kOk);
    EXPECT_EQ(sys::vm_map(self, b, m, kPageSize, kPageSize, kVmRead | kVmExec), kErrBadState);  // another page, same object
    EXPECT_EQ(sys::vm_protect(self, a, kPageSize, kVmRead | kVmExec), kOk);  // its only writable mapping goes
    EXPECT_EQ(sys::vm_map(self, b, m, 0, kPageSize, kVmRead | kVmWrite), kErrBadState);
    EXPECT_EQ(sys::memory_write(m, 0, "x", 1), kErrBadState);
    EXPECT_EQ(sys::vm_map(self, b, m, 0, 2 * kPageSize, kVmRead), kOk);  // reading is fine
    EXPECT_EQ(sys::vm_unmap(self, b, 2 * kPageSize), kOk);
    EXPECT_EQ(sys::vm_unmap(self, a, kPageSize), kOk);
    EXPECT_EQ(sys::memory_write(m, 0, "x", 1), kOk);
    // Half of a writable mapping made executable leaves the other half writable.
    EXPECT_EQ(sys::vm_map(self, a, m, 0, 2 * kPageSize, kVmRead | kVmWrite), kOk);
    EXPECT_EQ(sys::vm_protect(self, a, kPageSize, kVmRead | kVmExec), kErrBadState);
    EXPECT_EQ(sys::vm_unmap(self, a, 2 * kPageSize), kOk);
    // Without the right, no executable mapping at all.
    Handle no_exec = EXPECT_HANDLE(sys::handle_duplicate(m, kRightRead | kRightMap));
    EXPECT_EQ(sys::vm_map(self, a, no_exec, 0, kPageSize, kVmRead | kVmExec), kErrAccessDenied);
    EXPECT_EQ(sys::vm_map(self, a, no_exec, 0, kPageSize, kVmRead), kOk);
    EXPECT_EQ(sys::vm_protect(self, a, kPageSize, kVmRead | kVmExec), kErrAccessDenied);
    EXPECT_EQ(sys::vm_unmap(self, a, kPageSize), kOk);
    sys::handle_close(no_exec);
    sys::handle_close(m);
}

namespace {
struct Receiver {
    Handle endpoint;
    volatile int64_t result;
};
void receive_once(void* p) {
    auto* r = static_cast<Receiver*>(p);
    Message m;
    r->result = sys::ipc_recv(r->endpoint, m);
    if (r->result == kOk) sys::ipc_reply(Message{});
}
}  // namespace

// A call through a send-only handle reached a receiver still queued on an
// endpoint whose last receiving handle had been closed (the fast path did not
// check; the general path refuses). The receivers wake instead.
KTEST(regress, closed_endpoint_receivers) {
    Handle ep = EXPECT_HANDLE(sys::endpoint_create());
    Handle send_only = EXPECT_HANDLE(sys::handle_duplicate(ep, kRightWrite));
    static Receiver r{ep, 1};
    int64_t t = start_thread(receive_once, &r, 16);
    sys::thread_sleep(10'000'000);  // it waits in ipc_recv
    EXPECT_EQ(r.result, 1);
    EXPECT_EQ(sys::handle_close(ep), kOk);  // the last handle that could receive
    wait_for(r.result, 1);
    EXPECT_EQ(r.result, kErrPeerClosed);
    Message m{3, 0, 0, 0};
    EXPECT_EQ(sys::ipc_call(send_only, m), kErrPeerClosed);
    sys::handle_close(send_only);
    sys::handle_close(static_cast<Handle>(t));
}

namespace {
struct TwoCalls {
    Handle endpoint;
    volatile int stage;
    volatile int64_t first, second;
    volatile uint64_t second_answer;
};
void call_twice(void* p) {
    auto* c = static_cast<TwoCalls*>(p);
    IpcBuffer b;
    b.timeout_ns = 20'000'000;
    Message m{1, 0, 0, 0};
    c->first = sys::ipc_call(c->endpoint, m, &b);  // times out while the server holds it
    c->stage = 1;
    while (c->stage != 2) sys::thread_yield();
    Message again{2, 0, 0, 0};
    c->second = sys::ipc_call(c->endpoint, again);
    c->second_answer = again.w0;
}
}  // namespace

// A reply saved for a call that timed out answered the same caller's next
// call, received by the same server thread.
KTEST(regress, stale_saved_reply) {
    Handle ep = EXPECT_HANDLE(sys::endpoint_create());
    static TwoCalls c{ep, 0, 1, 1, 0};
    int64_t t = start_thread(call_twice, &c, 16);
    Message m;
    EXPECT_EQ(sys::ipc_recv(ep, m), kOk);
    EXPECT_EQ(m.label, 1);
    Handle saved = EXPECT_HANDLE(sys::ipc_reply_save());
    while (c.stage != 1) sys::thread_yield();
    EXPECT_EQ(c.first, kErrTimedOut);
    c.stage = 2;
    EXPECT_EQ(sys::ipc_recv(ep, m), kOk);
    EXPECT_EQ(m.label, 2);
    EXPECT_EQ(sys::ipc_reply_to(saved, Message{0, 111, 0, 0}), kErrPeerClosed);
    EXPECT_EQ(sys::ipc_reply(Message{0, 222, 0, 0}), kOk);
    wait_for(c.second, 1);
    EXPECT_EQ(c.second, kOk);
    EXPECT_EQ(c.second_answer, 222);
    sys::handle_close(static_cast<Handle>(t));
    sys::handle_close(ep);
}

// Found by the fuzzer's CPU-state generator: the kernel never loaded a null
// LDT, so the LDTR the CPU had from reset (linear 0..64K) served selectors
// with the table bit set: loading one read a "descriptor" at a user address
// (a page fault there; with memory mapped and no SMAP, a descriptor the
// program wrote, call gates included). Now such a load is a #GP.
KTEST(regress, ldt_selector) { EXPECT_EQ(run_child("ldt_selector"), kExitFaultBase - 13); }
