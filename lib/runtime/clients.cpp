// Who may use a service, from init's clients= and programs=. See
// mica/clients.h.
#include "mica/clients.h"

#include "mica/rpc.h"
#include "mica/runtime.h"
#include "mica/strings.h"
#include "mica/words.h"
#include "proto/ns.h"

namespace mica {

namespace {

// Whether the comma-separated numbers of `key=` include `value`.
bool listed(const char* key, uint64_t value) {
    char text[64];
    if (!cmdline_value(key, text, sizeof text)) return false;
    for (const char* p = text; *p;) {
        if (Words::parse(p) == value) return true;
        const char* comma = strchr(p, ',');
        p = comma ? comma + 1 : p + strlen(p);
    }
    return false;
}

}  // namespace

bool client_allowed(uint64_t badge) {
    if (badge == kSupervisorBadge) return true;
    return is_delegated(badge) ? listed("programs", badge_grant(badge)) : listed("clients", badge);
}

bool program_ended(uint64_t badge) {
    if (!is_delegated(badge)) return false;
    proto::ns::Alive::Request q{badge};
    proto::ns::Alive::Reply r;
    return rpc::call<proto::ns::Alive>(startup_handle(kSlotNamespace), q, &r, rpc::Extras{.timeout_ns = 100'000'000}) ==
           kErrNotFound;
}

}  // namespace mica
