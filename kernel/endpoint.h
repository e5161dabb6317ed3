// Endpoints: where synchronous IPC meets, and the rules of a call and a
// receive (the general path; the fast path is an optimisation of it).
// Callers queue until a receiver comes; receivers queue until a caller comes.
// When the last handle that can receive is closed, the endpoint is closed:
// queued callers and receivers wake with kErrPeerClosed and later calls fail
// at once.
#pragma once

#include "notification.h"
#include "object.h"
#include "thread.h"

class Endpoint final : public KObject {
public:
    static constexpr ObjectType kType = ObjectType::endpoint;
    static constexpr uint32_t kDefaultRights =
        mica::kRightRead | mica::kRightWrite | mica::kRightDuplicate | mica::kRightTransfer | mica::kRightManage;

    Endpoint() : KObject(kType) {}
    ~Endpoint() override;

    WaitQueue senders;
    WaitQueue receivers;
    Ref<Notification> bound;  // its bits wake receivers too
    bool closed() const { return closed_; }

protected:
    void on_handle_added(uint32_t rights) override;
    void on_handle_removed(uint32_t rights) override;

private:
    uint32_t receive_handles_ = 0;
    bool closed_ = false;
};

// A call on `ep` by the current thread: its message is in ipc.msg and its
// payload taken; handles not delivered are closed, whatever the reason.
// kOk: the reply is in the thread's IPC state.
int64_t endpoint_call(Endpoint& ep, uint64_t badge, const IpcRequest& req);
// A receive on `ep` by the current thread. kOk: a message is in its IPC
// state, and the thread holds its reply; kIpcNotified: the bound
// notification's bits are in msg.w0.
int64_t endpoint_receive(Endpoint& ep, const IpcRequest& req);
// The kernel calls `ep` on the current thread's behalf (fault messages);
// the reply comes back in `msg`.
int64_t endpoint_kernel_call(Endpoint& ep, uint64_t badge, MessageRegs& msg);
