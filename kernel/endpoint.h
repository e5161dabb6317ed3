// Endpoints: where synchronous IPC meets. Callers queue until a receiver
// comes; receivers queue until a caller comes. When the last handle that can
// receive is closed, the endpoint is closed: queued callers wake with
// kErrPeerClosed and later calls fail at once.
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
