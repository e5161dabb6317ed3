// Telling the namespace server which scheme each service provides (with a
// handle to its endpoint) and which schemes each may look up (uses=), and
// the log server each service's name. Each new incarnation of either is
// briefed again.
#include "mica/strings.h"
#include "proto/log.h"
#include "proto/ns.h"
#include "service.h"

using namespace mica;

namespace init {

void brief_ns() {
    Handle ns = g_system.ns->held.supervise;
    for (uint32_t i = 0; i < g_system.count; ++i) {
        Service& s = g_system.services[i];
        if (s.held.endpoint != kNoHandle) {
            proto::ns::Register::Request q{};
            copy_string(q.scheme, sizeof q.scheme, s.spec->provides);
            proto::ns::Register::Reply r;
            HandleResult send = sys::handle_duplicate(s.held.endpoint, kRightWrite | kRightTransfer | kRightDuplicate);
            int64_t e = send.ok() ? rpc::call<proto::ns::Register>(ns, q, &r, rpc::Extras{.send_handle = send.value()})
                                  : send.error();
            if (e < 0) logf("init: ns: cannot register %s (%s)", s.spec->provides, error_name(e));
        }
        s.spec->uses.for_each([&](const char* scheme, size_t length) {
            proto::ns::Allow::Request q{};
            q.client = s.badge;
            memcpy(q.scheme, scheme, length < sizeof q.scheme ? length : sizeof q.scheme - 1);
            proto::ns::Allow::Reply r;
            if (int64_t e = rpc::call<proto::ns::Allow>(ns, q, &r); e < 0)
                logf("init: ns: cannot allow %s to use %s (%s)", s.name(), q.scheme, error_name(e));
        });
        if (s.spec->control) {  // it starts programs (the shell): it may pass on `program` grants
            proto::ns::Launcher::Request q{s.badge};
            proto::ns::Launcher::Reply r;
            rpc::call<proto::ns::Launcher>(ns, q, &r);
        }
    }
    for (uint32_t i = 0; i < g_system.manifest.program_count; ++i) {
        const ProgramSpec& p = g_system.manifest.programs[i];
        proto::ns::Grant::Request q{};
        q.index = i + 1;
        q.control = p.control;
        copy_string(q.program, sizeof q.program, p.name);
        copy_string(q.schemes, sizeof q.schemes, p.uses.text);
        proto::ns::Grant::Reply r;
        if (int64_t e = rpc::call<proto::ns::Grant>(ns, q, &r); e < 0)
            logf("init: ns: cannot grant %s its schemes (%s)", p.name, error_name(e));
    }
    proto::ns::Ready::Request q{};
    proto::ns::Ready::Reply r;
    if (int64_t e = rpc::call<proto::ns::Ready>(ns, q, &r); e < 0) logf("init: ns: not ready (%s)", error_name(e));
}

void brief_log() {
    for (uint32_t i = 0; i < g_system.count; ++i) {
        proto::log::Name::Request q{};
        q.client = g_system.services[i].badge;
        copy_string(q.name, sizeof q.name, g_system.services[i].name());
        proto::log::Name::Reply r;
        rpc::call<proto::log::Name>(g_system.log->held.supervise, q, &r, rpc::Extras{.timeout_ns = 100'000'000});
    }
}

}  // namespace init
