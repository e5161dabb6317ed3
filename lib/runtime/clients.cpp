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

// The badges found allowed last, each plus one (0: none): the command line
// never changes, so neither does the answer, and a request costs no parse of
// it (several hundred instructions). Each slot is one word, read and written
// whole, so threads of one service may ask at once. Refusals are not kept.
constexpr uint32_t kKnownAllowed = 4;
static uint64_t g_allowed[kKnownAllowed];
static uint32_t g_allowed_next;

bool client_allowed(uint64_t badge) {
    if (badge == kSupervisorBadge) return true;
    for (uint64_t& known : g_allowed)
        if (__atomic_load_n(&known, __ATOMIC_RELAXED) == badge + 1 && badge + 1) return true;
    bool allowed = is_delegated(badge) ? listed("programs", badge_grant(badge)) : listed("clients", badge);
    if (allowed) __atomic_store_n(&g_allowed[g_allowed_next++ % kKnownAllowed], badge + 1, __ATOMIC_RELAXED);
    return allowed;
}

bool program_ended(uint64_t badge) {
    if (!is_delegated(badge)) return false;
    proto::ns::Alive::Request q{badge};
    proto::ns::Alive::Reply r;
    return rpc::call<proto::ns::Alive>(startup_handle(kSlotNamespace), q, &r, rpc::Extras{.timeout_ns = 100'000'000}) ==
           kErrNotFound;
}

}  // namespace mica
