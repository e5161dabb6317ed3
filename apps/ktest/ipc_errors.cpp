// Every IPC call with bad handles, rights, sizes and pointers returns the
// exact error and leaves both parties intact.
#include "ktest.h"
#include "mica/process.h"

using namespace mica;
using namespace ktest;

namespace {
constexpr uintptr_t kKernel = 0xffff'8000'0000'1000;
Handle g_ep;
volatile int g_served = 0;

void one_server(void*) {
    Message m;
    while (sys::ipc_recv(g_ep, m) == kOk) {
        g_served = g_served + 1;
        if (sys::ipc_reply(Message{m.label, m.w0, 0, 0}) != kOk) break;
        if (m.label == 0) break;
    }
}
}  // namespace

KTEST(ipc, errors) {
    Handle ep = EXPECT_HANDLE(sys::endpoint_create());
    Handle memory = EXPECT_HANDLE(sys::memory_create(kPageSize));
    Handle send_only = EXPECT_HANDLE(sys::handle_duplicate(ep, kRightWrite));
    Handle recv_only = EXPECT_HANDLE(sys::handle_duplicate(ep, kRightRead));
    Message m{1, 2, 3, 4};
    IpcBuffer b;

    EXPECT_EQ(sys::ipc_call(0x5555'0001, m), kErrBadHandle);
    EXPECT_EQ(sys::ipc_call(memory, m), kErrWrongType);
    EXPECT_EQ(sys::ipc_call(recv_only, m), kErrAccessDenied);
    EXPECT_EQ(sys::ipc_recv(send_only, m), kErrAccessDenied);
    EXPECT_EQ(sys::ipc_reply_recv(send_only, m), kErrAccessDenied);
    EXPECT_EQ(sys::ipc_call(ep, m, reinterpret_cast<IpcBuffer*>(kKernel)), kErrBadAddress);
    EXPECT_EQ(sys::ipc_recv(ep, m, reinterpret_cast<IpcBuffer*>(0x1000)), kErrBadAddress);
    b.send_size = kMaxMessageBytes + 1;
    EXPECT_EQ(sys::ipc_call(ep, m, &b), kErrInvalidArgument);
    b = IpcBuffer{};
    b.send_data = reinterpret_cast<void*>(kKernel), b.send_size = 16;
    EXPECT_EQ(sys::ipc_call(ep, m, &b), kErrBadAddress);
    b = IpcBuffer{};
    b.recv_data = reinterpret_cast<void*>(kKernel), b.recv_capacity = 16;
    EXPECT_EQ(sys::ipc_call(ep, m, &b), kErrBadAddress);
    b = IpcBuffer{};
    b.send_handle_count = kMaxMessageHandles + 1;
    EXPECT_EQ(sys::ipc_call(ep, m, &b), kErrInvalidArgument);
    b = IpcBuffer{};
    b.send_handle_count = 1, b.send_handles[0] = 0x4444'0001;
    EXPECT_EQ(sys::ipc_call(ep, m, &b), kErrBadHandle);
    Handle no_transfer = EXPECT_HANDLE(sys::handle_duplicate(memory, kRightRead));
    b.send_handles[0] = no_transfer, b.send_rights[0] = kRightsSame;
    EXPECT_EQ(sys::ipc_call(ep, m, &b), kErrAccessDenied);
    b.send_handle_count = 2, b.send_handles[0] = memory, b.send_handles[1] = memory;
    b.send_rights[1] = kRightsSame;
    EXPECT_EQ(sys::ipc_call(ep, m, &b), kErrInvalidArgument);  // the same handle twice
    HandleInfo info{};
    EXPECT_EQ(sys::handle_info(memory, &info), kOk);  // nothing was consumed by refused calls
    EXPECT_EQ(sys::ipc_reply(m), kErrBadState);       // no call to answer
    EXPECT_EQ(sys::handle_mint(0x4444'0001, kRightWrite, 1), kErrBadHandle);

    // Notifications.
    Handle n = EXPECT_HANDLE(sys::notification_create());
    EXPECT_EQ(sys::notification_signal(memory, 1), kErrWrongType);
    EXPECT_EQ(sys::notification_signal(n, 1ULL << 63), kErrInvalidArgument);
    Handle wait_only = EXPECT_HANDLE(sys::handle_duplicate(n, kRightWait));
    EXPECT_EQ(sys::notification_signal(wait_only, 1), kErrAccessDenied);
    EXPECT_EQ(sys::notification_wait(ep, 0), kErrWrongType);
    EXPECT_EQ(sys::endpoint_bind_notification(send_only, n), kErrAccessDenied);
    EXPECT_EQ(sys::endpoint_bind_notification(ep, memory), kErrWrongType);
    EXPECT_EQ(sys::endpoint_bind_notification(ep, n), kOk);
    EXPECT_EQ(sys::endpoint_bind_notification(ep, n), kErrAlreadyExists);
    EXPECT_EQ(sys::process_set_fault_handler(memory, ep, 0), kErrWrongType);
    EXPECT_EQ(sys::process_set_fault_handler(startup().self_process, memory, 0), kErrWrongType);

    // After all that, the endpoint still works both ways.
    g_ep = ep;
    int64_t server = start_thread(one_server, nullptr, 16);
    Message ok{5, 6, 0, 0};
    EXPECT_EQ(sys::ipc_call(send_only, ok), kOk);
    EXPECT_EQ(ok.label, 5);
    EXPECT_EQ(ok.w0, 6);
    Message stop{0, 0, 0, 0};
    EXPECT_EQ(sys::ipc_call(ep, stop), kOk);
    EXPECT_EQ(g_served, 2);
    const Handle all[] = {ep, memory, send_only, recv_only, no_transfer, n, wait_only,
                          static_cast<Handle>(server)};
    for (Handle h : all) sys::handle_close(h);
}
