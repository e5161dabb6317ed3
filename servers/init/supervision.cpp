// Supervision: every service's fault handler, liveness probes, and the
// restart policy (the first restart at once; in a crash loop, back-off from
// 100 ms doubling to 10 s, reset after 10 s of good running; faults injected
// on request do not grow it).
#include "format.h"
#include "mica/strings.h"
#include "proto/disk.h"
#include "proto/fs.h"
#include "proto/ns.h"
#include "service.h"

using namespace mica;

namespace init {

// A liveness probe: a real request in the service's own protocol where
// init knows one (a stat of / for file servers, the disk's info, a lookup
// in the namespace), so that a server that answers pings but can no longer
// serve anyone (its quota spent, its table full) counts as failing; the
// ping every rpc::Server answers otherwise. kOk or an answer that is the
// service's own business means alive; a timeout, a crash, a malformed
// answer or an exhausted resource means not.
int64_t probe(const Service& s) {
    rpc::Extras x{.timeout_ns = kProbeTimeout};
    Handle to = s.held.supervise;
    const char* scheme = s.spec->provides;
    int64_t e;
    if (!strcmp(scheme, "file") || !strcmp(scheme, "initfs")) {
        proto::fs::Stat::Request q{};
        copy_string(q.path, sizeof q.path, "/");
        proto::fs::Stat::Reply r;
        e = rpc::call<proto::fs::Stat>(to, q, &r, x);
    } else if (!strcmp(scheme, "disk")) {
        proto::disk::Info::Request q{};
        proto::disk::Info::Reply r;
        e = rpc::call<proto::disk::Info>(to, q, &r, x);
    } else if (!strcmp(scheme, "ns")) {
        proto::ns::Lookup::Request q{};
        copy_string(q.scheme, sizeof q.scheme, "ns");
        proto::ns::Lookup::Reply r;
        e = rpc::call<proto::ns::Lookup>(to, q, &r, x);  // the handle that comes back is closed
    } else {
        uint32_t none = 0;
        e = rpc::call_raw(to, rpc::kPingLabel, &none, sizeof none, &none, 0, x);
    }
    bool failed = e == kErrTimedOut || e == kErrPeerClosed || e == kErrProtocol || e == kErrQuotaExceeded ||
                  e == kErrNoMemory || e == kErrLimit;
    return failed ? e : kOk;
}

// The service's process is gone (or must go): plan the next incarnation.
void ended(Service& s, const char* why) {
    RestartLog quiet;
    if (s.run.process != kNoHandle) {
        sys::process_kill(s.run.process, -1);
        sys::handle_close(s.run.process);
        s.run.process = kNoHandle;
    }
    s.run.running = false;
    auto now = static_cast<uint64_t>(sys::clock_monotonic());
    s.policy.down_at = now;
    if (now - s.run.started_at > kStableAfter) s.policy.backoff = 0;
    bool injected = s.policy.injected;
    s.policy.injected = false;
    if (!s.restarts()) {
        logf("init: %s %s; not restarted (restart=never)", s.name(), why);
        return;
    }
    if (s.policy.backoff) logf("init: %s %s; restarting in %lu ms", s.name(), why, s.policy.backoff / 1'000'000);
    else logf("init: %s %s; restarting now", s.name(), why);
    s.policy.retry_later(now, !injected);
    ++s.policy.restarts;
    if (s.policy.restart_at <= now) launch(s);  // no wait: not even for the next tick
}

namespace {

// A server waiting for a service it uses (a file server for its disk) that
// is down, just restarted or failing its probes too is not hung itself; and
// killing it half-way through a request would be worse than waiting.
bool waits_for_another(const Service& self) {
    auto now = static_cast<uint64_t>(sys::clock_monotonic());
    bool waits = false;
    self.spec->uses.for_each([&](const char* scheme, size_t length) {
        const Service* s = g_system.by_scheme(scheme, length);
        if (!s || s == &self || waits) return;
        if (s->restarts() && (!s->run.running || now - s->run.started_at < kProbeEvery + kProbeTimeout)) waits = true;
        else if (s->run.running && s->held.supervise != kNoHandle && probe(*s) != kOk) waits = true;
    });
    return waits;
}

void check(Service& s, uint64_t now) {
    int64_t status = 0;
    if (sys::process_wait(s.run.process, 0, &status) == kOk) {
        char why[48];
        format_to(why, sizeof why, "ended with status %ld", status);
        ended(s, why);
        return;
    }
    if (s.held.supervise == kNoHandle || now < s.run.next_probe) return;
    s.run.next_probe = now + kProbeEvery;
    int64_t e = probe(s);
    if (e == kOk) {
        s.run.missed = 0;
    } else if (waits_for_another(s)) {
        if (s.run.missed++ == 0) logf("init: %s is slow to answer while a service it uses recovers", s.name());
    } else {
        s.run.missed = 0;
        char why[64] = "stopped answering";
        if (e != kErrTimedOut) format_to(why, sizeof why, "failed its liveness probe (%s)", error_name(e));
        ended(s, why);
    }
}

}  // namespace

void supervise() {
    auto now = static_cast<uint64_t>(sys::clock_monotonic());
    for (uint32_t i = 0; i < g_system.count; ++i) {
        Service& s = g_system.services[i];
        if (s.run.running) check(s, now);
        else if (s.policy.restart_at && now >= s.policy.restart_at) launch(s);
    }
}

// Fault messages: the kernel calls our endpoint on a faulting thread's behalf.
bool on_fault(const Message& m, uint64_t badge, Message& reply) {
    bool fault = false;
    Service* s = g_system.from_badge(badge, &fault);
    if (m.label != kFaultLabel || !s || !fault) return true;  // kErrInvalidArgument
    char why[96];
    format_to(why, sizeof why, "crashed (exception %lu at pc %#lx, address %#lx)", m.w0 & 0xffffffff, m.w2, m.w1);
    ended(*s, why);
    reply = Message{1, 0, 0, 0};  // not 0: the kernel ends the faulting process
    return true;
}

}  // namespace init
