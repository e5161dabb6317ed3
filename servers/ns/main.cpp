// ns: the namespace server. Maps scheme names to the endpoints of the
// servers that registered them; Lookup hands the client a handle straight to
// that server. Registration, and which client may look up which scheme, come
// from init alone (the manifest's provides= and uses=). If ns restarts, init
// registers everything again.
// Startup slots: kSlotEndpoint, our endpoint.
#include "mica/rpc.h"
#include "mica/strings.h"
#include "proto/ns.h"

using namespace mica;

namespace {

struct Scheme {
    char name[32];
    Handle endpoint;  // send (and transfer) rights on the server's endpoint
};
Scheme g_schemes[proto::ns::kMaxSchemes];
uint32_t g_count = 0;

struct Permission {
    uint64_t client;
    char scheme[32];
};
Permission g_allowed[64];
uint32_t g_allowed_count = 0;

bool from_init(const rpc::Call& c) { return c.badge == kSupervisorBadge; }

Scheme* find(const char* name) {
    for (uint32_t i = 0; i < g_count; ++i)
        if (!strcmp(g_schemes[i].name, name)) return &g_schemes[i];
    return nullptr;
}

int64_t register_scheme(const proto::ns::Register::Request& q, proto::ns::Register::Reply&, rpc::Call& c) {
    if (!from_init(c)) return kErrAccessDenied;
    if (c.received_handle == kNoHandle) return kErrInvalidArgument;
    char name[32];
    copy_string(name, sizeof name, q.scheme);
    Scheme* s = find(name);
    if (!s) {
        if (g_count == proto::ns::kMaxSchemes) return kErrLimit;
        s = &g_schemes[g_count++];
        copy_string(s->name, sizeof s->name, name);
    } else {
        sys::handle_close(s->endpoint);
    }
    s->endpoint = c.take_handle();
    return kOk;
}

int64_t allow(const proto::ns::Allow::Request& q, proto::ns::Allow::Reply&, rpc::Call& c) {
    if (!from_init(c)) return kErrAccessDenied;
    if (g_allowed_count == sizeof g_allowed / sizeof g_allowed[0]) return kErrLimit;
    Permission& p = g_allowed[g_allowed_count++];
    p.client = q.client;
    copy_string(p.scheme, sizeof p.scheme, q.scheme);
    return kOk;
}

int64_t lookup(const proto::ns::Lookup::Request& q, proto::ns::Lookup::Reply&, rpc::Call& c) {
    char name[32];
    copy_string(name, sizeof name, q.scheme);
    bool allowed = from_init(c);
    for (uint32_t i = 0; i < g_allowed_count && !allowed; ++i)
        allowed = g_allowed[i].client == c.badge && !strcmp(g_allowed[i].scheme, name);
    if (!allowed) return kErrAccessDenied;
    Scheme* s = find(name);
    if (!s) return kErrNotFound;
    auto h = sys::handle_duplicate(s->endpoint, kRightsSame);
    if (!h.ok()) return h.error();
    c.reply_handle = h.value();  // moved to the client with the reply
    return kOk;
}

int64_t schemes(const proto::ns::Schemes::Request&, proto::ns::Schemes::Reply& r, rpc::Call&) {
    for (uint32_t i = 0; i < g_count; ++i) copy_string(r.names[r.count++], 32, g_schemes[i].name);
    return kOk;
}

}  // namespace

int main() {
    rpc::Server server(startup_handle(kSlotEndpoint));
    server.on<proto::ns::Register>(register_scheme);
    server.on<proto::ns::Allow>(allow);
    server.on<proto::ns::Lookup>(lookup);
    server.on<proto::ns::Schemes>(schemes);
    server.run();
}
