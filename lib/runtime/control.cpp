// Asking init about its services. See mica/control.h.
#include "mica/control.h"

#include "mica/rpc.h"
#include "mica/strings.h"

namespace mica {

const proto::init::ServiceInfo* service_info(const char* name) {
    proto::init::Ps::Request q{};
    static proto::init::Ps::Reply r;
    if (rpc::call<proto::init::Ps>(startup_handle(kSlotControl), q, &r) != kOk) return nullptr;
    for (uint32_t i = 0; i < r.count && i < proto::init::kMaxServices; ++i)
        if (!strcmp(r.services[i].name, name)) return &r.services[i];
    return nullptr;
}

uint64_t running_pid(const char* name) {
    const proto::init::ServiceInfo* s = service_info(name);
    return s && s->state == kProcessRunning ? s->pid : 0;
}

}  // namespace mica
