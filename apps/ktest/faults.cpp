// Faults as messages: a child's page fault reaches the fault handler its
// creator set, as a message on an endpoint; the handler maps the missing
// page and replies, and the child carries on, unaware. A handler that
// answers otherwise ends the child; a child with no handler is ended and the
// kernel logs it.
#include "ktest.h"
#include "mica/process.h"

using namespace mica;
using namespace ktest;

namespace {
constexpr uintptr_t kHole = 0x0000'5000'0000'0000;  // where ktest_child "fault_touch" reads
}

KTEST(faults, handler) {
    Handle ep = EXPECT_HANDLE(sys::endpoint_create());
    Handle badged = EXPECT_HANDLE(sys::handle_mint(ep, kRightWrite, 0xfa));
    int64_t child = spawn_child("fault_touch");  // waits a moment before touching
    EXPECT(child > 0);
    auto process = static_cast<Handle>(child);
    EXPECT_EQ(sys::process_set_fault_handler(process, badged, 0), kOk);

    Message m;
    uint64_t badge = 0;
    EXPECT_EQ(sys::ipc_recv(ep, m, nullptr, &badge), kOk);
    EXPECT_EQ(m.label, kFaultLabel);
    EXPECT_EQ(m.w0 & 0xffffffff, 14);  // page fault
    EXPECT_EQ(m.w1, kHole);
    EXPECT_EQ(badge, 0xfa);
    // Repair: give the child a page there holding 1234, and resume it.
    Handle page = EXPECT_HANDLE(sys::memory_create(kPageSize));
    uint64_t value = 1234;
    EXPECT_EQ(sys::memory_write(page, 0, &value, sizeof value), kOk);
    EXPECT_EQ(sys::vm_map(process, kHole, page, 0, kPageSize, kVmRead), kOk);
    EXPECT_EQ(sys::ipc_reply(Message{0, 0, 0, 0}), kOk);
    // Its second fault (a write to the read-only page) we refuse.
    EXPECT_EQ(sys::ipc_recv(ep, m, nullptr, &badge), kOk);
    EXPECT_EQ(m.label, kFaultLabel);
    EXPECT_EQ(m.w1, kHole);
    EXPECT_EQ(sys::ipc_reply(Message{1, 0, 0, 0}), kOk);
    EXPECT_EQ(wait_child(child), kExitFaultBase - 14);
    // The first value reached the child: it printed it, and the kernel's
    // log shows it was ended by its handler, not by the first fault.
    sys::handle_close(page);
    sys::handle_close(badged);
    sys::handle_close(ep);
}
