// probe: the IPC protocol fuzzer. For every server it can reach (each
// scheme the namespace lets it look up, and the log) it sends
//   * malformed messages: unknown labels, wrong sizes up to 64 KiB,
//     supervisor-only labels, stray handles — each must be refused;
//   * typed nonsense: every operation of the server's protocol with random
//     bytes (seeded) where the fields go — unterminated paths, huge
//     offsets and counts, lengths larger than the data carried, requests
//     only init may make — each must get an answer, error or not;
//   * valid requests that each bring a handle — none may be kept (the
//     server's memory, in init's process list, must not grow);
// and then checks that every server still serves a proper request and that
// none was restarted meanwhile (init's process list). Run from the shell:
//   probe [seed=S] [rounds=N]
#include "format.h"
#include "mica/control.h"
#include "mica/files.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "mica/words.h"
#include "proto/console.h"
#include "proto/disk.h"
#include "proto/fs.h"
#include "proto/init.h"
#include "proto/log.h"
#include "proto/net.h"
#include "proto/ns.h"
#include "proto/pci.h"
#include "proto/rtc.h"

using namespace mica;

namespace {

int g_failures = 0;
uint64_t g_sent = 0;
constexpr uint64_t kAnswerWithin = 5'000'000'000;

void fail(const char* fmt, const char* server, int64_t status) {
    print(fmt, server, status);
    ++g_failures;
}

// --- malformed messages ---------------------------------------------------------------

void malformed(const char* name, Handle ep) {
    static uint8_t junk[kMaxMessageBytes];
    for (size_t i = 0; i < sizeof junk; ++i) junk[i] = static_cast<uint8_t>(i * 13);
    uint8_t reply[64];
    const uint64_t labels[] = {0, 1, 0x999, ~0ULL, proto::fs::Read::kLabel, proto::ns::Lookup::kLabel,
                               proto::console::Write::kLabel, rpc::kCrashLabel, rpc::kHangLabel,
                               rpc::kCorruptRegisterLabel, rpc::kCorruptReplyLabel, rpc::kPingLabel};
    const uint32_t sizes[] = {0, 1, 7, 300, 4100, kMaxMessageBytes};
    for (uint64_t label : labels)
        for (uint32_t size : sizes) {
            ++g_sent;
            int64_t e = rpc::call_raw(ep, label, junk, size, reply, sizeof reply, rpc::Extras{.timeout_ns = kAnswerWithin});
            if (e >= 0) fail("probe: %s accepted a malformed message (status %ld)\n", name, e);
        }
    // A handle sent where none is expected is refused too (and not kept).
    auto spare = sys::memory_create(kPageSize);
    if (!spare.ok()) {
        fail("probe: %s: no memory to send as a stray handle (%ld)\n", name, spare.error());
        return;
    }
    int64_t e = rpc::call_raw(ep, 0x4242, junk, 8, reply, sizeof reply, rpc::Extras{.send_handle = spare.value()});
    if (e >= 0) fail("probe: %s accepted a message with a stray handle (status %ld)\n", name, e);
}

// --- typed nonsense ----------------------------------------------------------------------

Random* g_random;

// A path that is random bytes (maybe without an end), or a plausible one
// inside probe/ so that the server's real code runs.
void path(char* field, size_t size) {
    switch (g_random->below(4)) {
        case 0: g_random->fill(field, size); break;  // no terminator at all
        case 1:
            g_random->fill(field, size);
            field[g_random->below(size)] = '\0';
            break;
        default: {
            static const char* const parts[] = {"probe", "..", ".", "/", "a", "bb", "probe/x", "//", "README", "\xff\xfe"};
            size_t n = 0;
            for (int i = 0, k = static_cast<int>(1 + g_random->below(5)); i < k && n + 10 < size; ++i) {
                const char* p = parts[g_random->below(sizeof parts / sizeof parts[0])];
                if (i == 0 && strncmp(p, "probe", 5) != 0) p = "probe";
                size_t len = strlen(p);
                memcpy(field + n, p, len);
                n += len;
                field[n++] = '/';
            }
            field[n ? n - 1 : 0] = '\0';
        }
    }
}

template <class Op>
void typed(const char* name, Handle ep) {
    static typename Op::Request q;
    static typename Op::Reply r;
    g_random->fill(&q, sizeof q);
    if constexpr (requires { q.path; }) path(q.path, sizeof q.path);
    if constexpr (requires { q.from; }) path(q.from, sizeof q.from), path(q.to, sizeof q.to);
    if constexpr (requires { q.length; })
        if (g_random->below(2)) q.length = static_cast<uint32_t>(g_random->below(2 * proto::fs::kChunk));
    if constexpr (requires { q.count; })
        if (g_random->below(2)) q.count = static_cast<uint32_t>(g_random->below(2 * proto::disk::kMaxSectors));
    uint32_t size = static_cast<uint32_t>(rpc::min_request<Op>() + g_random->below(sizeof q - rpc::min_request<Op>() + 1));
    ++g_sent;
    int64_t e = rpc::call_sized(ep, Op::kLabel, &q, size, &r, rpc::min_reply<Op>(), sizeof r,
                                rpc::Extras{.timeout_ns = kAnswerWithin});
    if (e == kErrTimedOut || e == kErrPeerClosed)
        fail("probe: %s did not answer a typed request (%ld)\n", name, e);
}

// A disk request that must be refused: past the end, too long, short of data.
void disk_nonsense(Handle ep, uint64_t sectors) {
    static proto::disk::Write::Request w;
    proto::disk::Write::Reply wr;
    const struct {
        uint64_t sector;
        uint32_t count, carried;
    } cases[] = {{sectors, 1, 1}, {sectors - 1, 2, 2}, {~0ULL, 1, 1}, {0, 0, 0},
                 {0, proto::disk::kMaxSectors + 1, proto::disk::kMaxSectors}, {0, 8, 1}};
    for (const auto& c : cases) {
        w.sector = c.sector, w.count = c.count;
        ++g_sent;
        int64_t e = rpc::call<proto::disk::Write>(ep, w, &wr, {}, proto::disk::Write::kMinRequest + c.carried * 512);
        if (e >= 0) fail("probe: %s accepted a bad write (status %ld)\n", "disk", e);
    }
    proto::disk::Read::Request rq{sectors, 1};
    static proto::disk::Read::Reply rr;
    if (int64_t e = rpc::call<proto::disk::Read>(ep, rq, &rr); e >= 0)
        fail("probe: %s read past its end (status %ld)\n", "disk", e);
}

// Every server must still do its job afterwards.
bool serves(const char* scheme, Handle ep) {
    if (!strcmp(scheme, "ns")) {
        proto::ns::Schemes::Request q{};
        static proto::ns::Schemes::Reply r;
        return rpc::call<proto::ns::Schemes>(ep, q, &r) == kOk;
    }
    if (!strcmp(scheme, "log")) {
        proto::log::Read::Request q{};
        static proto::log::Read::Reply r;
        return rpc::call<proto::log::Read>(ep, q, &r) == kOk;
    }
    if (!strcmp(scheme, "console") || !strcmp(scheme, "screen")) {
        static proto::console::Write::Request q;
        format_to(q.data, sizeof q.data, "probe: %s still serving\n", scheme);
        q.size = static_cast<uint32_t>(strlen(q.data));
        proto::console::Write::Reply r;
        return rpc::call<proto::console::Write>(ep, q, &r) == kOk;
    }
    if (!strcmp(scheme, "disk")) {
        proto::disk::Info::Request q{};
        proto::disk::Info::Reply r;
        return rpc::call<proto::disk::Info>(ep, q, &r) == kOk;
    }
    if (!strcmp(scheme, "rtc")) {
        proto::rtc::Now::Request q{};
        proto::rtc::Now::Reply r;
        return rpc::call<proto::rtc::Now>(ep, q, &r) == kOk;
    }
    if (!strcmp(scheme, "net")) {
        proto::net::Interface::Request q{};
        proto::net::Interface::Reply r;
        return rpc::call<proto::net::Interface>(ep, q, &r) == kOk;
    }
    if (!strcmp(scheme, "keyboard")) {  // it serves nothing but its supervisor: it must still answer
        uint32_t none = 0;
        int64_t e = rpc::call_raw(ep, 0x4242, &none, sizeof none, &none, sizeof none, rpc::Extras{.timeout_ns = kAnswerWithin});
        return e == kErrInvalidArgument;
    }
    proto::fs::Stat::Request q{};
    proto::fs::Stat::Reply r;
    return rpc::call<proto::fs::Stat>(ep, q, &r) == kOk;  // the root of any file scheme
}

uint32_t restarts(const char* service) {
    const proto::init::ServiceInfo* s = service_info(service);
    return s ? s->restarts : 0;
}

// --- handles sent with valid requests -------------------------------------------------------

// A server must not keep a handle a client chose to send with a request it
// did not ask one for: 300 valid requests, each bringing a handle, must not
// grow what the server uses (init reports it). Kept, they filled ns's quota
// and init's table for good before servers closed every handle not taken.
constexpr int kHandleFlood = 300;

template <class Op>
void with_handles(const char* name, Handle ep, const typename Op::Request& q) {
    const proto::init::ServiceInfo* info = service_info(name);
    uint64_t before = info ? info->memory : 0;
    for (int i = 0; i < kHandleFlood; ++i) {
        auto n = sys::notification_create();
        if (!n.ok()) {
            fail("probe: %s: no handle to send (%ld)\n", name, n.error());
            return;
        }
        static typename Op::Reply r;
        ++g_sent;
        rpc::call<Op>(ep, q, &r, rpc::Extras{.send_handle = n.value(), .timeout_ns = kAnswerWithin});  // moved
    }
    info = service_info(name);
    uint64_t after = info ? info->memory : 0;
    if (!info || after > before + 4096) {
        print("probe: %s kept handles sent with valid requests: %lu -> %lu bytes\n", name, before, after);
        ++g_failures;
    }
}

void flood_with_handles(const char* name, Handle ep) {
    if (!strcmp(name, "ns")) {
        with_handles<proto::ns::Schemes>(name, ep, proto::ns::Schemes::Request{});
    } else if (!strcmp(name, "log")) {
        with_handles<proto::log::Read>(name, ep, proto::log::Read::Request{~0ULL});
    } else if (!strcmp(name, "disk")) {
        with_handles<proto::disk::Info>(name, ep, proto::disk::Info::Request{});
    } else if (!strcmp(name, "rtc")) {
        with_handles<proto::rtc::Now>(name, ep, proto::rtc::Now::Request{});
    } else if (!strcmp(name, "console")) {
        with_handles<proto::console::Write>(name, ep, proto::console::Write::Request{});  // writes nothing
    } else if (strcmp(name, "screen") != 0 && strcmp(name, "keyboard") != 0) {
        proto::fs::Stat::Request q{};
        copy_string(q.path, sizeof q.path, "/");
        with_handles<proto::fs::Stat>(name, ep, q);
    }
}

}  // namespace

int main() {
    const StartupInfo& info = startup();
    if (startup_handle(kSlotNamespace) == kNoHandle || startup_handle(kSlotLog) == kNoHandle) {
        print("probe: no handles to the namespace and the log (run me from the shell)\n");
        return 1;
    }
    Words args(info.cmdline);
    if (!args.accepts("seed rounds", 0, 0, "probe [seed=S] [rounds=N]")) return 2;
    uint64_t seed = Words::parse(args.value("seed", "1"));
    uint64_t rounds = Words::parse(args.value("rounds", "200"));
    static Random random(seed);
    g_random = &random;
    Handle ns = startup_handle(kSlotNamespace), log = startup_handle(kSlotLog);
    proto::ns::Schemes::Request sq{};
    static proto::ns::Schemes::Reply schemes;
    if (rpc::call<proto::ns::Schemes>(ns, sq, &schemes) != kOk) return 1;
    const char* services[proto::ns::kMaxSchemes + 1];
    Handle endpoints[proto::ns::kMaxSchemes + 1];
    uint32_t before[proto::ns::kMaxSchemes + 1];
    uint32_t n = 0;
    services[n] = "log", endpoints[n] = log, before[n] = restarts("log"), ++n;
    for (uint32_t i = 0; i < schemes.count; ++i) {
        Handle ep = !strcmp(schemes.names[i], "ns") ? ns : files::scheme_endpoint(schemes.names[i]);
        if (ep == kNoHandle) continue;  // not ours to use
        services[n] = schemes.names[i], endpoints[n] = ep, ++n;
    }
    // Each service is named after the scheme it provides.
    for (uint32_t i = 1; i < n; ++i) before[i] = restarts(services[i]);
    print("probe: seed %lu, %u servers\n", seed, n);

    uint64_t disk_sectors = 0;
    for (uint32_t s = 0; s < n; ++s) {
        const char* name = services[s];
        Handle ep = endpoints[s];
        malformed(name, ep);
        for (uint64_t i = 0; i < rounds; ++i) {
            if (!strcmp(name, "ns")) {
                typed<proto::ns::Register>(name, ep), typed<proto::ns::Allow>(name, ep);
                typed<proto::ns::Lookup>(name, ep);
            } else if (!strcmp(name, "log")) {
                typed<proto::log::Name>(name, ep), typed<proto::log::Read>(name, ep);
            } else if (!strcmp(name, "disk")) {
                // Reads only: random writes would be the disk's contents, not its protocol.
                typed<proto::disk::Info>(name, ep), typed<proto::disk::Read>(name, ep);
                typed<proto::disk::Flush>(name, ep);
            } else if (!strcmp(name, "rtc")) {
                typed<proto::rtc::Now>(name, ep);
            } else if (!strcmp(name, "net")) {
                // Random socket numbers name no socket, so nothing here waits
                // (Ping would: the malformed messages cover it).
                namespace pn = proto::net;
                typed<pn::Socket>(name, ep), typed<pn::Bind>(name, ep), typed<pn::Listen>(name, ep);
                typed<pn::Accept>(name, ep), typed<pn::Connect>(name, ep), typed<pn::Send>(name, ep);
                typed<pn::Receive>(name, ep), typed<pn::Close>(name, ep), typed<pn::Shutdown>(name, ep);
                typed<pn::Wait>(name, ep), typed<pn::Status>(name, ep), typed<pn::Interface>(name, ep);
                typed<pn::Notify>(name, ep), typed<pn::Watch>(name, ep);
            } else if (!strcmp(name, "console") || !strcmp(name, "screen") || !strcmp(name, "keyboard")) {
                // Typed nonsense here would be typed into the shell or drawn on
                // the screen; the malformed messages above are the test.
            } else {  // a file scheme (and pci: also the device hand-out init alone may use)
                typed<proto::fs::Stat>(name, ep), typed<proto::fs::Read>(name, ep);
                typed<proto::fs::ReadDir>(name, ep), typed<proto::fs::Write>(name, ep);
                typed<proto::fs::Create>(name, ep), typed<proto::fs::Truncate>(name, ep);
                typed<proto::fs::Unlink>(name, ep), typed<proto::fs::Mkdir>(name, ep);
                typed<proto::fs::Rmdir>(name, ep), typed<proto::fs::Rename>(name, ep);
                typed<proto::fs::Sync>(name, ep), typed<proto::fs::StatFs>(name, ep);
                if (!strcmp(name, "pci")) {
                    typed<proto::pci::Claim>(name, ep), typed<proto::pci::Bar>(name, ep);
                    typed<proto::pci::Irq>(name, ep), typed<proto::pci::Config>(name, ep);
                }
            }
        }
        if (!strcmp(name, "disk")) {
            proto::disk::Info::Request q{};
            proto::disk::Info::Reply r;
            if (rpc::call<proto::disk::Info>(ep, q, &r) == kOk) disk_sectors = r.sectors;
            disk_nonsense(ep, disk_sectors);
        }
        flood_with_handles(name, ep);
        if (!strcmp(name, "pci")) {  // only init may claim devices
            proto::pci::Claim::Request q{0x1af4, 0x1042, 0};
            proto::pci::Claim::Reply r;
            if (int64_t e = rpc::call<proto::pci::Claim>(ep, q, &r); e != kErrAccessDenied)
                fail("probe: %s let a client claim a device (%ld)\n", name, e);
        }
    }
    for (uint32_t s = 0; s < n; ++s) {
        if (!serves(services[s], endpoints[s])) fail("probe: %s stopped serving (%ld)\n", services[s], 0);
        uint32_t after = restarts(services[s]);
        if (after != before[s]) fail("probe: %s was restarted (%ld times) during the probe\n", services[s], after - before[s]);
    }
    print("probe: %lu messages to %u servers, %d failures\n", g_sent, n, g_failures);
    return g_failures == 0 ? 0 : 1;
}
