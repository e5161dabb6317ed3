// ns: the namespace server. Maps scheme names to the endpoints of the
// servers that registered them; Lookup hands the client a handle straight to
// that server, badged as the client. Registration, and which client may look
// up which scheme, come from init alone (the manifest's provides= and
// uses=); clients pass a part of their rights to the programs they start
// (Delegate), under badges of the programs' own. If ns restarts, init
// registers everything again (delegations made before are lost: their
// programs' lookups are then refused).
// Startup slots: kSlotEndpoint, our endpoint.
#include "mica/rpc.h"
#include "mica/strings.h"
#include "proto/ns.h"

using namespace mica;

namespace {

struct Scheme {
    char name[32];
    Handle endpoint;  // send, transfer and duplicate rights on the server's endpoint
};
Scheme g_schemes[proto::ns::kMaxSchemes];
uint32_t g_scheme_count = 0;

// Who may look up what: a service (from init's Allow) or a delegation.
struct Client {
    uint64_t badge = 0;  // 0: a free entry
    uint64_t owner = 0;  // for a delegation, the client that made it (and may release it)
    char schemes[96] = "";  // comma-separated
    bool launcher = false;
};
Client g_clients[64];

struct ProgramGrant {
    uint32_t index;
    bool control;
    char program[32];
    char schemes[96];
};
ProgramGrant g_grants[8];
uint32_t g_grant_count = 0;
uint64_t g_serial = 0;

bool from_init(const rpc::Call& c) { return c.badge == kSupervisorBadge; }

// Until init has briefed this incarnation, clients' requests wait.
bool g_ready = false;
bool waits(const rpc::Call& c) { return !g_ready && !from_init(c); }

Scheme* find(const char* name) {
    for (uint32_t i = 0; i < g_scheme_count; ++i)
        if (!strcmp(g_schemes[i].name, name)) return &g_schemes[i];
    return nullptr;
}

Client* client(uint64_t badge) {
    for (Client& c : g_clients)
        if (c.badge == badge && badge != 0) return &c;
    return nullptr;
}

Client* free_entry() {
    for (Client& c : g_clients)
        if (c.badge == 0) return &c;
    return nullptr;
}

bool listed(const char* list, const char* name, size_t length) {
    for (const char* p = list; *p;) {
        const char* end = strchr(p, ',');
        size_t n = end ? static_cast<size_t>(end - p) : strlen(p);
        if (n == length && !strncmp(p, name, length)) return true;
        p = end ? end + 1 : p + n;
    }
    return false;
}

bool add_to(char* list, size_t size, const char* name, size_t length) {
    if (listed(list, name, length)) return true;
    size_t used = strlen(list);
    if (used + (used ? 1 : 0) + length + 1 > size) return false;
    if (used) list[used++] = ',';
    memcpy(list + used, name, length);
    list[used + length] = '\0';
    return true;
}

int64_t register_scheme(const proto::ns::Register::Request& q, proto::ns::Register::Reply&, rpc::Call& c) {
    if (!from_init(c)) return kErrAccessDenied;
    if (c.received_handle == kNoHandle) return kErrInvalidArgument;
    char name[32];
    copy_string(name, sizeof name, q.scheme);
    Scheme* s = find(name);
    if (!s) {
        if (g_scheme_count == proto::ns::kMaxSchemes) return kErrLimit;
        s = &g_schemes[g_scheme_count++];
        copy_string(s->name, sizeof s->name, name);
    } else {
        sys::handle_close(s->endpoint);
    }
    s->endpoint = c.take_handle();
    return kOk;
}

int64_t allow(const proto::ns::Allow::Request& q, proto::ns::Allow::Reply&, rpc::Call& c) {
    if (!from_init(c) || q.client == 0 || is_delegated(q.client)) return kErrAccessDenied;
    Client* e = client(q.client);
    if (!e && (e = free_entry())) *e = Client{q.client, 0, "", false};
    if (!e) return kErrLimit;
    char scheme[32];
    copy_string(scheme, sizeof scheme, q.scheme);
    return add_to(e->schemes, sizeof e->schemes, scheme, strlen(scheme)) ? kOk : kErrLimit;
}

int64_t grant(const proto::ns::Grant::Request& q, proto::ns::Grant::Reply&, rpc::Call& c) {
    if (!from_init(c)) return kErrAccessDenied;
    if (q.index == 0 || q.index > 0xff) return kErrInvalidArgument;
    ProgramGrant* g = nullptr;
    for (uint32_t i = 0; i < g_grant_count; ++i)
        if (g_grants[i].index == q.index) g = &g_grants[i];
    if (!g && g_grant_count == sizeof g_grants / sizeof g_grants[0]) return kErrLimit;
    if (!g) g = &g_grants[g_grant_count++];
    g->index = q.index;
    g->control = q.control != 0;
    copy_string(g->program, sizeof g->program, q.program);
    copy_string(g->schemes, sizeof g->schemes, q.schemes);
    return kOk;
}

int64_t launcher(const proto::ns::Launcher::Request& q, proto::ns::Launcher::Reply&, rpc::Call& c) {
    if (!from_init(c) || q.client == 0 || is_delegated(q.client)) return kErrAccessDenied;
    Client* e = client(q.client);
    if (!e && (e = free_entry())) *e = Client{q.client, 0, "", false};
    if (!e) return kErrLimit;
    e->launcher = true;
    return kOk;
}

int64_t lookup(const proto::ns::Lookup::Request& q, proto::ns::Lookup::Reply&, rpc::Call& c) {
    if (waits(c)) return c.postpone();
    char name[32];
    copy_string(name, sizeof name, q.scheme);
    const Client* who = client(c.badge);
    if (!from_init(c) && !(who && listed(who->schemes, name, strlen(name)))) return kErrAccessDenied;
    Scheme* s = find(name);
    if (!s) return kErrNotFound;
    // Badged as the client: the server can tell who asks (the disk serves
    // only the clients the manifest lets use it).
    HandleResult h = sys::handle_mint(s->endpoint, kRightWrite | kRightTransfer | kRightDuplicate, c.badge);
    if (!h.ok()) return h.error();
    c.reply_handle = h.value();  // moved to the client with the reply
    return kOk;
}

int64_t delegate(const proto::ns::Delegate::Request& q, proto::ns::Delegate::Reply& r, rpc::Call& c) {
    if (waits(c)) return c.postpone();
    const Client* parent = client(c.badge);
    if (!parent) return kErrAccessDenied;
    uint32_t owned = 0;
    for (const Client& e : g_clients) owned += e.badge && e.owner == c.badge;
    Client* e = free_entry();
    if (owned >= proto::ns::kMaxDelegations || !e) return kErrLimit;
    char program[32], schemes[96];
    copy_string(program, sizeof program, q.program);
    copy_string(schemes, sizeof schemes, q.schemes);
    Client d{0, c.badge, "", false};
    for (const char* p = schemes; *p;) {  // what the client itself may look up
        const char* end = strchr(p, ',');
        size_t n = end ? static_cast<size_t>(end - p) : strlen(p);
        if (listed(parent->schemes, p, n)) add_to(d.schemes, sizeof d.schemes, p, n);
        p = end ? end + 1 : p + n;
    }
    const ProgramGrant* g = nullptr;
    for (uint32_t i = 0; parent->launcher && i < g_grant_count; ++i)
        if (!strcmp(g_grants[i].program, program)) g = &g_grants[i];
    for (const char* p = g ? g->schemes : ""; *p;) {  // what the manifest grants the program
        const char* end = strchr(p, ',');
        size_t n = end ? static_cast<size_t>(end - p) : strlen(p);
        add_to(d.schemes, sizeof d.schemes, p, n);
        p = end ? end + 1 : p + n;
    }
    d.badge = delegated_badge(badge_root(c.badge), g ? g->index : 0, ++g_serial);
    HandleResult h =
        sys::handle_mint(startup_handle(kSlotEndpoint), kRightWrite | kRightTransfer | kRightDuplicate, d.badge);
    if (!h.ok()) return h.error();
    *e = d;
    r.badge = d.badge;
    r.control = g && g->control;
    c.reply_handle = h.value();
    return kOk;
}

int64_t release(const proto::ns::Release::Request& q, proto::ns::Release::Reply&, rpc::Call& c) {
    Client* e = client(q.badge);
    if (!e || !is_delegated(q.badge) || e->owner != c.badge) return kErrNotFound;
    // Its own delegations go with it.
    for (Client& child : g_clients)
        if (child.badge && child.owner == q.badge) child = Client{};
    *e = Client{};
    return kOk;
}

int64_t alive(const proto::ns::Alive::Request& q, proto::ns::Alive::Reply&, rpc::Call& c) {
    if (waits(c)) return c.postpone();
    return is_delegated(q.badge) && client(q.badge) ? kOk : kErrNotFound;
}

int64_t ready(const proto::ns::Ready::Request&, proto::ns::Ready::Reply&, rpc::Call& c) {
    if (!from_init(c)) return kErrAccessDenied;
    g_ready = true;
    c.start_background();  // nothing to do but serve what waited
    return kOk;
}

int64_t schemes(const proto::ns::Schemes::Request&, proto::ns::Schemes::Reply& r, rpc::Call& c) {
    if (waits(c)) return c.postpone();
    for (uint32_t i = 0; i < g_scheme_count; ++i) copy_string(r.names[r.count++], 32, g_schemes[i].name);
    return kOk;
}

}  // namespace

int main() {
    const Handle endpoint = service_endpoint("ns");
    rpc::Server server(endpoint);
    server.on<proto::ns::Register>(register_scheme);
    server.on<proto::ns::Allow>(allow);
    server.on<proto::ns::Grant>(grant);
    server.on<proto::ns::Launcher>(launcher);
    server.on<proto::ns::Lookup>(lookup);
    server.on<proto::ns::Delegate>(delegate);
    server.on<proto::ns::Release>(release);
    server.on<proto::ns::Alive>(alive);
    server.on<proto::ns::Schemes>(schemes);
    server.on<proto::ns::Ready>(ready);
    server.on_background([] { return false; });
    server.run();
}
