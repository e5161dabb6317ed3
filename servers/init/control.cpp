// The init protocol (proto::init): the process list for anyone, and killing,
// crashing or hanging a service (the restart and fault-injection tests) and
// powering off for services whose manifest line says control=yes.
#include "mica/strings.h"
#include "proto/init.h"
#include "service.h"

using namespace mica;

namespace init {

namespace {

Service* controller(const rpc::Call& c) {
    bool fault = false;
    Service* s = g_system.from_badge(c.badge, &fault);
    return s && !fault && s->spec->control ? s : nullptr;
}

int64_t ps(const proto::init::Ps::Request&, proto::init::Ps::Reply& r, rpc::Call&) {
    auto add = [&](Handle process, const char* name, uint32_t restarts) {
        ProcessInfo pi{};
        proto::init::ServiceInfo& e = r.services[r.count++];
        copy_string(e.name, sizeof e.name, name);
        e.restarts = restarts;
        if (process == kNoHandle || sys::process_info(process, &pi) != kOk) {
            e.state = kProcessDead;
            return;
        }
        e.pid = pi.pid, e.state = pi.state, e.memory = pi.used_bytes, e.quota = pi.quota_bytes;
    };
    add(startup().self_process, "init", 0);
    for (uint32_t i = 0; i < g_system.count && r.count < proto::init::kMaxServices; ++i)
        add(g_system.services[i].run.process, g_system.services[i].name(), g_system.services[i].policy.restarts);
    return kOk;
}

int64_t kill(const proto::init::Kill::Request& q, proto::init::Kill::Reply& r, rpc::Call& c) {
    if (!controller(c)) return kErrAccessDenied;
    char name[32];
    copy_string(name, sizeof name, q.name);
    Service* s = g_system.by_name(name);
    if (!s) return kErrNotFound;
    if (!s->run.running) return kErrBadState;
    if (q.how > proto::init::kCrashAfter || (q.how == proto::init::kCrashAfter && q.count == 0))
        return kErrInvalidArgument;
    r.pid = s->run.pid;
    s->policy.injected = q.injected != 0 && q.how != proto::init::kCorruptReply;
    if (q.how != proto::init::kKill) {
        if (s->held.supervise == kNoHandle) return kErrBadState;
        // It faults (or spins, or garbles its next answer) while handling
        // this; we stop waiting soon, and the fault message, or the next
        // liveness probe, does the rest.
        const uint64_t labels[] = {0, rpc::kCrashLabel, rpc::kHangLabel, rpc::kCorruptRegisterLabel,
                                   rpc::kCorruptReplyLabel, rpc::kCrashAfterLabel};
        uint32_t count = q.count, none = 0;
        int64_t e = rpc::call_raw(s->held.supervise, labels[q.how], &count, sizeof count, &none, 0,
                                  rpc::Extras{.timeout_ns = 100'000'000});
        if (e == kErrTimedOut) {  // too busy to take it within 100 ms: nothing was done
            s->policy.injected = false;
            return kErrTimedOut;
        }
        return kOk;
    }
    RestartLog quiet;  // these lines reach the log server once it answers again
    logf("init: killing %s (pid %lu) as asked", s->name(), s->run.pid);
    sys::process_kill(s->run.process, -9);
    ended(*s, "was killed");  // known now: no need to wait for the next supervision tick
    return kOk;
}

int64_t poweroff(const proto::init::Poweroff::Request& q, proto::init::Poweroff::Reply&, rpc::Call& c) {
    Service* who = controller(c);
    if (!who) return kErrAccessDenied;
    logf("init: powering off as %s asked", who->name());
    return sys::system_poweroff(startup().resource, q.status);
}

}  // namespace

void serve_control(rpc::Dispatcher& server) {
    server.on<proto::init::Ps>(ps);
    server.on<proto::init::Kill>(kill);
    server.on<proto::init::Poweroff>(poweroff);
}

}  // namespace init
