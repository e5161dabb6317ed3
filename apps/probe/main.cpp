// probe: sends malformed messages to every server it can reach (the
// namespace and the log, and through the namespace console: and initfs:) — unknown labels, wrong
// sizes, oversized data, bogus handles — checks that each answers with an
// error, and that each still serves a proper request afterwards.
// Run from the shell: `probe`.
#include "mica/rpc.h"
#include "mica/strings.h"
#include "proto/console.h"
#include "proto/fs.h"
#include "proto/log.h"
#include "proto/ns.h"

using namespace mica;

namespace {
int g_failures = 0;

void expect_error(const char* server, const char* what, int64_t status) {
    if (status >= 0) {
        print("probe: %s accepted %s (status %ld)\n", server, what, status);
        ++g_failures;
    }
}

void probe(const char* name, Handle ep) {
    static uint8_t junk[kMaxMessageBytes];
    for (size_t i = 0; i < sizeof junk; ++i) junk[i] = static_cast<uint8_t>(i * 13);
    uint8_t reply[64];
    const uint64_t labels[] = {0, 1, 0x999, ~0ULL, proto::fs::Read::kLabel, proto::ns::Lookup::kLabel,
                               proto::console::Write::kLabel, rpc::kCrashLabel, rpc::kHangLabel,
                               rpc::kPingLabel};
    const uint32_t sizes[] = {0, 1, 7, 300, 4100, kMaxMessageBytes};
    for (uint64_t label : labels)
        for (uint32_t size : sizes)
            expect_error(name, "a malformed message",
                         rpc::call_raw(ep, label, junk, size, reply, sizeof reply, rpc::Extras{.timeout_ns = 2'000'000'000}));
    // A handle sent where none is expected is refused too (and not kept).
    Handle spare = static_cast<Handle>(sys::memory_create(kPageSize));
    expect_error(name, "a message with a stray handle",
                 rpc::call_raw(ep, 0x4242, junk, 8, reply, sizeof reply, rpc::Extras{.send_handle = spare}));
}
}  // namespace

int main() {
    const StartupInfo& info = startup();
    if (info.handle_count < 5) {
        print("probe: no handles to the namespace and the log (run me from the shell)\n");
        return 1;
    }
    Handle ns = info.handles[1], log = info.handles[4];
    Handle console = kNoHandle, initfs = kNoHandle;
    proto::ns::Lookup::Request q{};
    proto::ns::Lookup::Reply r;
    copy_string(q.scheme, sizeof q.scheme, "console");
    rpc::call<proto::ns::Lookup>(ns, q, &r, rpc::Extras{.received_handle = &console});
    copy_string(q.scheme, sizeof q.scheme, "initfs");
    rpc::call<proto::ns::Lookup>(ns, q, &r, rpc::Extras{.received_handle = &initfs});
    probe("ns", ns);
    probe("log", log);
    probe("console", console);
    probe("initfs", initfs);
    // All still serve.
    proto::ns::Schemes::Request nq{};
    static proto::ns::Schemes::Reply nr;
    if (rpc::call<proto::ns::Schemes>(ns, nq, &nr) != kOk) ++g_failures, print("probe: ns stopped serving\n");
    proto::log::Read::Request lq{};
    static proto::log::Read::Reply lr;
    if (rpc::call<proto::log::Read>(log, lq, &lr) != kOk) ++g_failures, print("probe: log stopped serving\n");
    proto::fs::Stat::Request sq{};
    copy_string(sq.path, sizeof sq.path, "etc/motd");
    proto::fs::Stat::Reply sr;
    if (rpc::call<proto::fs::Stat>(initfs, sq, &sr) != kOk) ++g_failures, print("probe: initfs stopped serving\n");
    static proto::console::Write::Request wq;
    copy_string(wq.data, sizeof wq.data, "probe: console still serving\n");
    wq.size = static_cast<uint32_t>(strlen(wq.data));
    proto::console::Write::Reply wr;
    if (rpc::call<proto::console::Write>(console, wq, &wr) != kOk) ++g_failures;
    print("probe: %d failures\n", g_failures);
    return g_failures == 0 ? 0 : 1;
}
