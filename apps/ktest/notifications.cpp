// Notifications: signals never block and coalesce (bits OR together until a
// wait takes them); a wait sleeps until a signal or its time limit; a signal
// from another process wakes the waiter; bound to an endpoint, a signal
// wakes a receiver there with kIpcNotified.
#include "ktest.h"
#include "mica/process.h"

using namespace mica;
using namespace ktest;

KTEST(notifications, basics) {
    Handle n = EXPECT_HANDLE(sys::notification_create());
    EXPECT_EQ(sys::notification_wait(n, 0), kErrWouldBlock);
    EXPECT_EQ(sys::notification_signal(n, 1), kOk);
    EXPECT_EQ(sys::notification_signal(n, 2), kOk);
    EXPECT_EQ(sys::notification_signal(n, 4 | 1), kOk);
    EXPECT_EQ(sys::notification_wait(n, 0), 7);  // coalesced
    EXPECT_EQ(sys::notification_wait(n, 0), kErrWouldBlock);  // and cleared
    EXPECT_EQ(sys::notification_wait(n, 10'000'000), kErrTimedOut);

    // Another process signals; we sleep in wait until it does.
    int64_t child = spawn_child("signal_after_sleep", &n, 1);
    EXPECT_EQ(sys::notification_wait(n, kWaitForever), 0x40);
    EXPECT_EQ(wait_child(child), 0);

    // Bound to an endpoint: a receive there wakes for the signal.
    Handle ep = EXPECT_HANDLE(sys::endpoint_create());
    EXPECT_EQ(sys::endpoint_bind_notification(ep, n), kOk);
    EXPECT_EQ(sys::notification_signal(n, 0x10), kOk);
    Message m;
    EXPECT_EQ(sys::ipc_recv(ep, m), kIpcNotified);  // pending bits: at once
    EXPECT_EQ(m.w0, 0x10);
    child = spawn_child("signal_after_sleep", &n, 1);
    EXPECT_EQ(sys::ipc_recv(ep, m), kIpcNotified);  // blocked, then woken by the signal
    EXPECT_EQ(m.w0, 0x40);
    EXPECT_EQ(wait_child(child), 0);
    sys::handle_close(ep);
    sys::handle_close(n);
}
