// init: the first process. It holds the initial capabilities, reads the boot
// manifest (etc/manifest in the boot file system), starts each service with
// exactly what its line grants, and supervises them: it is every service's
// fault handler, checks that servers answer, and restarts what crashes, ends
// or hangs, with back-off. It tells the namespace server (ns) which scheme
// each service provides and which each may use, and the log server who is
// who; when either restarts, it tells the new incarnation again.
//
// A service's endpoint belongs to init and outlives incarnations: clients
// keep their handles across a restart; a call caught in the crash fails with
// kErrPeerClosed and can simply be made again.
#include "mica/process.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "mica/tar.h"
#include "format.h"
#include "proto/init.h"
#include "proto/log.h"
#include "proto/ns.h"
#include "proto/pci.h"

using namespace mica;

namespace {

constexpr uint32_t kMaxServices = proto::init::kMaxServices;
constexpr uint64_t kTick = 50'000'000;           // supervision period
constexpr uint64_t kPingEvery = 2'000'000'000;   // liveness check period per server
constexpr uint64_t kPingTimeout = 1'000'000'000;
constexpr uint64_t kFirstBackoff = 100'000'000;
constexpr uint64_t kMaxBackoff = 10'000'000'000;
constexpr uint64_t kStableAfter = 10'000'000'000;  // a run this long resets the back-off

struct Service {
    char name[32];
    char program[64];
    char provides[32];
    char uses[96];
    char module[32];
    struct { uint32_t base, count; } ports[2] = {};  // ports=BASE:COUNT[,BASE:COUNT]
    uint64_t mmio_base = 0, mmio_size = 0;
    int irq = -1;
    uint16_t pci_vendor = 0, pci_device = 0;  // device=VVVV:DDDD[:N]
    uint32_t pci_instance = 0;
    bool pci = false;
    uint64_t dma_phys = 0;          // dma=: where its DMA memory is
    struct Grant { ResourceKind kind; uint64_t base, size; } grants[3];
    uint32_t grant_count = 0;
    bool control = false;
    bool restart = true;
    uint64_t quota = 4096 * 1024;

    Handle endpoint = kNoHandle;    // ours; the service receives on a copy
    Handle supervise = kNoHandle;   // send handle with the supervisor badge (pings, crash)
    Handle process = kNoHandle;
    Handle irq_line = kNoHandle;
    Handle mmio = kNoHandle;        // device memory it may map
    Handle bars[6] = {};            // device=: its BARs (memory or I/O ports)
    bool io_bar[6] = {};
    Handle config = kNoHandle;      // device=: its configuration space
    Handle resources[3] = {};       // dma= memory and resource= grants
    uint64_t pid = 0;
    uint32_t restarts = 0;
    uint64_t started_at = 0;
    uint64_t restart_at = 0;        // 0: not waiting to restart
    uint64_t backoff = kFirstBackoff;
    uint64_t next_ping = 0;
    uint64_t down_at = 0;           // when the last incarnation was found gone
    uint32_t missed = 0;            // liveness checks in a row it did not answer
    bool injected = false;          // the coming end was asked for (fault injection)
    bool running = false;
};

Service g_services[kMaxServices];
uint32_t g_count = 0;
Handle g_endpoint;  // init's own
const uint8_t* g_archive;
size_t g_archive_size;
Handle g_archive_memory;

// --- the log -------------------------------------------------------------------

Service* g_log_service = nullptr;  // the manifest's provides=log
Service* g_ns_service = nullptr;   // the manifest's provides=ns

void logf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// --- the manifest ---------------------------------------------------------------

bool find_file(const char* path, const uint8_t** data, uint64_t* size) {
    bool found = false;
    tar::for_each(g_archive, g_archive_size, [&](const tar::Entry& e) {
        if (e.directory || strcmp(e.path, path) != 0) return true;
        *data = e.data, *size = e.size, found = true;
        return false;
    });
    return found;
}

uint64_t parse_number(const char* s, unsigned base) {
    uint64_t v = 0;
    for (;; ++s) {
        unsigned d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : 99;
        if (d >= base) return v;
        v = v * base + d;
    }
}

// Lines go to the kernel's console and, once it runs, to the log server.
void logf(const char* fmt, ...) {
    static proto::log::Append::Request q;
    va_list args;
    va_start(args, fmt);
    size_t n = vformat_to(q.text, sizeof q.text - 1, fmt, args);
    va_end(args);
    if (n > sizeof q.text - 2) n = sizeof q.text - 2;
    sys::debug_write(q.text, n);
    sys::debug_write("\n", 1);
    if (g_log_service && g_log_service->running) {
        proto::log::Append::Reply r;
        rpc::call<proto::log::Append>(g_log_service->supervise, q, &r, rpc::Extras{.timeout_ns = 100'000'000});
    }
}

// One "service ..." line; false (and a log line) if it is malformed.
bool parse_service(char* line, int line_number) {
    char* words[16];
    int n = 0;
    for (char* p = line; *p && n < 16;) {
        while (*p == ' ' || *p == '\t') *p++ = '\0';
        if (!*p) break;
        words[n++] = p;
        while (*p && *p != ' ' && *p != '\t') ++p;
    }
    if (n == 0) return true;
    if (strcmp(words[0], "service") != 0 || n < 3 || g_count == kMaxServices) {
        logf("init: manifest line %d: expected 'service NAME PROGRAM key=value...'", line_number);
        return false;
    }
    Service& s = g_services[g_count];
    s = Service{};
    copy_string(s.name, sizeof s.name, words[1]);
    copy_string(s.program, sizeof s.program, words[2]);
    for (int i = 3; i < n; ++i) {
        char* eq = strchr(words[i], '=');
        if (!eq) {
            logf("init: manifest line %d: '%s' is not key=value", line_number, words[i]);
            return false;
        }
        *eq = '\0';
        const char* key = words[i];
        const char* value = eq + 1;
        if (!strcmp(key, "provides")) copy_string(s.provides, sizeof s.provides, value);
        else if (!strcmp(key, "uses")) copy_string(s.uses, sizeof s.uses, value);
        else if (!strcmp(key, "module")) copy_string(s.module, sizeof s.module, value);
        else if (!strcmp(key, "control")) s.control = !strcmp(value, "yes");
        else if (!strcmp(key, "quota")) s.quota = parse_number(value, 10) * 1024;
        else if (!strcmp(key, "irq")) s.irq = static_cast<int>(parse_number(value, 10));
        else if (!strcmp(key, "restart")) s.restart = strcmp(value, "never") != 0;
        else if (!strcmp(key, "mmio")) {
            s.mmio_base = parse_number(value, 16);
            const char* colon = strchr(value, ':');
            s.mmio_size = colon ? parse_number(colon + 1, 16) : 0x1000;
        } else if (!strcmp(key, "device")) {
            s.pci = true;
            s.pci_vendor = static_cast<uint16_t>(parse_number(value, 16));
            const char* colon = strchr(value, ':');
            s.pci_device = colon ? static_cast<uint16_t>(parse_number(colon + 1, 16)) : 0;
            const char* instance = colon ? strchr(colon + 1, ':') : nullptr;
            s.pci_instance = instance ? static_cast<uint32_t>(parse_number(instance + 1, 10)) : 0;
        } else if (!strcmp(key, "dma") || !strcmp(key, "resource")) {
            // dma=KIB: physically contiguous memory, made once and kept here,
            // so that a device still writing into it after its driver died
            // writes into memory nobody else has been given.
            Service::Grant g{kResourceDma, 0, parse_number(value, 10) * 1024};
            if (!strcmp(key, "resource")) {
                const char* colon = strchr(value, ':');
                size_t kind_len = colon ? static_cast<size_t>(colon - value) : strlen(value);
                const char* second = colon ? strchr(colon + 1, ':') : nullptr;
                g.kind = !strncmp(value, "mmio", kind_len) && kind_len == 4    ? kResourceMmio
                         : !strncmp(value, "ports", kind_len) && kind_len == 5 ? kResourceIoPorts
                         : !strncmp(value, "irq", kind_len) && kind_len == 3   ? kResourceIrq
                                                                               : kResourceRoot;
                if (g.kind == kResourceRoot || !second) {
                    logf("init: manifest line %d: resource=mmio|ports|irq:BASE:SIZE (hexadecimal)", line_number);
                    return false;
                }
                g.base = parse_number(colon + 1, 16);
                g.size = parse_number(second + 1, 16);
            }
            if (s.grant_count == 3) {
                logf("init: manifest line %d: at most 3 resources per service", line_number);
                return false;
            }
            s.grants[s.grant_count++] = g;
        } else if (!strcmp(key, "ports")) {
            const char* range = value;
            for (auto& p : s.ports) {
                if (!range) break;
                p.base = static_cast<uint32_t>(parse_number(range, 16));
                const char* colon = strchr(range, ':');
                const char* comma = strchr(range, ',');
                p.count = colon && (!comma || colon < comma) ? static_cast<uint32_t>(parse_number(colon + 1, 16)) : 1;
                range = comma ? comma + 1 : nullptr;
            }
        } else {
            logf("init: manifest line %d: unknown key '%s'", line_number, key);
            return false;
        }
    }
    if (s.pci && s.mmio_size) {
        logf("init: manifest line %d: device= and mmio= together", line_number);
        return false;
    }
    ++g_count;
    return true;
}

void read_manifest() {
    const uint8_t* data;
    uint64_t size;
    if (!find_file("etc/manifest", &data, &size)) {
        logf("init: no etc/manifest in the boot file system; nothing to start");
        return;
    }
    static char text[8192];
    if (size >= sizeof text) size = sizeof text - 1;
    memcpy(text, data, size);
    text[size] = '\0';
    int number = 0;
    for (char* line = text; line && *line;) {
        char* end = strchr(line, '\n');
        if (end) *end = '\0';
        ++number;
        if (char* hash = strchr(line, '#')) *hash = '\0';
        parse_service(line, number);
        line = end ? end + 1 : nullptr;
    }
}

// --- starting and supervising ---------------------------------------------------

Service* by_name(const char* name) {
    for (uint32_t i = 0; i < g_count; ++i)
        if (!strcmp(g_services[i].name, name)) return &g_services[i];
    return nullptr;
}

uint64_t badge_of(const Service& s) { return static_cast<uint64_t>(&s - g_services) + 1; }
Service* from_badge(uint64_t badge) {
    uint64_t fault = badge & ~0x1000ULL;
    return fault >= 1 && fault <= g_count ? &g_services[fault - 1] : nullptr;
}

// Both handles or neither: a service with an endpoint but no supervisor
// handle could never be checked for liveness.
bool make_endpoint(Service& s) {
    if (!s.provides[0] || s.endpoint != kNoHandle) return true;
    auto endpoint = sys::endpoint_create();
    if (!endpoint.ok()) {
        logf("init: %s: cannot make its endpoint (%s)", s.name, error_name(endpoint.error()));
        return false;
    }
    auto supervise = sys::handle_mint(endpoint.value(), kRightWrite, rpc::kSupervisorBadge);
    if (!supervise.ok()) {
        logf("init: %s: cannot make its supervisor handle (%s)", s.name, error_name(supervise.error()));
        sys::handle_close(endpoint.value());
        return false;
    }
    s.endpoint = endpoint.value();
    s.supervise = supervise.value();
    return true;
}

// A new namespace server learns every scheme and who may use which.
void brief_ns() {
    Handle ns = g_ns_service->supervise;
    for (uint32_t i = 0; i < g_count; ++i) {
        Service& s = g_services[i];
        if (s.endpoint != kNoHandle) {
            proto::ns::Register::Request q{};
            copy_string(q.scheme, sizeof q.scheme, s.provides);
            proto::ns::Register::Reply r;
            auto send = sys::handle_duplicate(s.endpoint, kRightWrite | kRightTransfer | kRightDuplicate);
            if (send.ok())
                rpc::call<proto::ns::Register>(ns, q, &r, rpc::Extras{.send_handle = send.value()});
            else
                logf("init: %s: cannot register its scheme with ns (%s)", s.name, error_name(send.error()));
        }
        for (const char* p = s.uses; *p;) {
            const char* end = strchr(p, ',');
            size_t len = end ? static_cast<size_t>(end - p) : strlen(p);
            proto::ns::Allow::Request q{};
            q.client = badge_of(s);
            memcpy(q.scheme, p, len < sizeof q.scheme ? len : sizeof q.scheme - 1);
            proto::ns::Allow::Reply r;
            rpc::call<proto::ns::Allow>(ns, q, &r);
            p = end ? end + 1 : p + len;
        }
    }
}

// A new log server learns every service's name.
void brief_log() {
    for (uint32_t i = 0; i < g_count; ++i) {
        proto::log::Name::Request q{};
        q.client = badge_of(g_services[i]);
        copy_string(q.name, sizeof q.name, g_services[i].name);
        proto::log::Name::Reply r;
        rpc::call<proto::log::Name>(g_log_service->supervise, q, &r, rpc::Extras{.timeout_ns = 100'000'000});
    }
}

Service* by_scheme(const char* scheme) {
    for (uint32_t i = 0; i < g_count; ++i)
        if (!strcmp(g_services[i].provides, scheme)) return &g_services[i];
    return nullptr;
}

// A device= line: the PCI server hands over the device (once; the handles
// stay with us for every incarnation of the driver).
bool claim_device(Service& s) {
    Service* pci = by_scheme("pci");
    if (!pci || !pci->running) {
        logf("init: %s: no running pci service to claim device %04x:%04x from", s.name, s.pci_vendor, s.pci_device);
        return false;
    }
    rpc::Extras extras{.timeout_ns = kPingTimeout};
    proto::pci::Claim::Request q{s.pci_vendor, s.pci_device, s.pci_instance};
    proto::pci::Claim::Reply r;
    if (int64_t e = rpc::call<proto::pci::Claim>(pci->supervise, q, &r, extras); e < 0) {
        logf("init: %s: cannot claim pci device %04x:%04x (%s)", s.name, s.pci_vendor, s.pci_device, error_name(e));
        return false;
    }
    for (uint32_t b = 0; b < proto::pci::kBars; ++b) {
        if (!r.bars[b].size) continue;
        proto::pci::Bar::Request bq{};
        copy_string(bq.name, sizeof bq.name, r.name);
        bq.bar = b;
        proto::pci::Bar::Reply br;
        Handle h = kNoHandle;
        rpc::Extras e = extras;
        e.received_handle = &h;
        if (int64_t err = rpc::call<proto::pci::Bar>(pci->supervise, bq, &br, e); err < 0) {
            logf("init: %s: cannot have BAR%u of %s (%s)", s.name, b, r.name, error_name(err));
            return false;
        }
        s.bars[b] = h;
        s.io_bar[b] = r.bars[b].io;
    }
    proto::pci::Config::Request cq{};
    copy_string(cq.name, sizeof cq.name, r.name);
    proto::pci::Config::Reply cr;
    rpc::Extras ce = extras;
    ce.received_handle = &s.config;
    rpc::call<proto::pci::Config>(pci->supervise, cq, &cr, ce);
    if (r.irq != 0xff) {
        auto n = sys::notification_create();
        auto send = n.ok() ? sys::handle_duplicate(n.value(), kRightSignal | kRightTransfer) : n;
        int64_t e = send.error();
        if (send.ok()) {
            proto::pci::Irq::Request iq{};
            copy_string(iq.name, sizeof iq.name, r.name);
            proto::pci::Irq::Reply ir;
            rpc::Extras ie = extras;
            ie.send_handle = send.value();
            ie.received_handle = &s.irq_line;
            e = rpc::call<proto::pci::Irq>(pci->supervise, iq, &ir, ie);
        }
        if (e < 0 || sys::endpoint_bind_notification(s.endpoint, n.value()) != kOk) {
            logf("init: %s: cannot have the interrupt of %s (%s)", s.name, r.name, error_name(e));
            return false;
        }
        sys::handle_close(n.value());
    }
    logf("init: %s gets pci device %s (%04x:%04x, irq %u)", s.name, r.name, s.pci_vendor, s.pci_device, r.irq);
    return true;
}

bool make_capabilities(Service& s) {
    const StartupInfo& info = startup();
    if (!make_endpoint(s)) return false;
    for (uint32_t i = 0; i < s.grant_count; ++i) {
        if (s.resources[i] != kNoHandle) continue;
        const Service::Grant& g = s.grants[i];
        auto r = g.kind == kResourceDma ? sys::memory_create_contiguous(info.resource, g.size, &s.dma_phys)
                                        : sys::resource_create(info.resource, g.kind, g.base, g.size);
        if (!r.ok()) {
            logf("init: %s: cannot have resource %u:%lx:%lx (%s)", s.name, g.kind, g.base, g.size,
                 error_name(r.error()));
            return false;
        }
        s.resources[i] = r.value();
    }
    if (s.pci && s.config == kNoHandle && !claim_device(s)) return false;
    if (s.mmio_size && s.mmio == kNoHandle) {
        auto m = sys::memory_create_physical(info.resource, s.mmio_base, s.mmio_size);
        if (!m.ok()) {
            logf("init: %s: cannot have device memory %lx:%lx (%s)", s.name, s.mmio_base, s.mmio_size,
                 error_name(m.error()));
            return false;
        }
        s.mmio = m.value();
    }
    if (s.irq >= 0 && s.irq_line == kNoHandle) {
        auto n = sys::notification_create();
        auto line = n.ok() ? sys::irq_create(info.resource, static_cast<uint32_t>(s.irq), kIrqEdge, n.value(), 1) : n;
        int64_t e = line.ok() ? sys::endpoint_bind_notification(s.endpoint, n.value()) : line.error();
        if (e != kOk) {
            logf("init: %s: cannot have irq %d (%s)", s.name, s.irq, error_name(e));
            return false;
        }
        s.irq_line = line.value();
    }
    return true;
}

// A service that cannot run at all (no program, no device): never
// restarted, and its endpoint closed, so that clients get kErrPeerClosed at
// once rather than waiting for an answer that will never come.
void give_up(Service& s) {
    s.restart = false;
    if (s.endpoint != kNoHandle) {
        sys::handle_close(s.endpoint);
        s.endpoint = kNoHandle;
    }
}

void start(Service& s) {
    const uint8_t* elf;
    uint64_t size;
    if (!find_file(s.program, &elf, &size)) {
        logf("init: %s: no program %s", s.name, s.program);
        give_up(s);
        return;
    }
    if (!make_capabilities(s)) {
        give_up(s);
        return;
    }
    // handles[0]: its endpoint (receive), [1]: the namespace, [2]: its
    // module, [3]: its interrupt line, [4]: the log, [5]: init's control
    // (control=yes only), [6]: its device memory (mmio=) or its PCI
    // device's BAR0, [7..11]: BAR1..5, [12]: the device's configuration
    // space, [13..15]: its DMA memory (dma=) and resources (resource=). [1],
    // [4] and [5] are badged as this service.
    Handle handles[16] = {};
    // Handles made for this incarnation alone, closed once it has its own.
    // One that cannot be made fails the start like a failed spawn: logged,
    // and tried again after the back-off.
    Handle temporary[6];
    uint32_t temporaries = 0;
    int64_t unmade = kOk;
    auto temporary_handle = [&](HandleResult r) {
        if (!r.ok()) {
            if (unmade == kOk) unmade = r.error();
            return kNoHandle;
        }
        return temporary[temporaries++] = r.value();
    };
    auto badged = [&](Handle endpoint) {
        if (endpoint == kNoHandle) return kNoHandle;
        return temporary_handle(sys::handle_mint(endpoint, kRightWrite | kRightDuplicate | kRightTransfer, badge_of(s)));
    };
    if (s.endpoint != kNoHandle)
        handles[0] = temporary_handle(
            sys::handle_duplicate(s.endpoint, kRightRead | kRightManage | kRightDuplicate | kRightTransfer));
    if (g_ns_service) handles[1] = badged(g_ns_service->endpoint);
    if (s.module[0]) handles[2] = g_archive_memory;
    if (s.irq_line != kNoHandle) handles[3] = s.irq_line;
    if (g_log_service) handles[4] = badged(g_log_service->endpoint);
    if (s.control) handles[5] = badged(g_endpoint);
    handles[6] = s.mmio;
    if (s.pci) {
        for (int b = 0; b < 6; ++b) handles[6 + b] = s.bars[b];
        handles[12] = s.config;
    }
    for (uint32_t i = 0; i < s.grant_count; ++i) handles[13 + i] = s.resources[i];
    Handle fault = temporary_handle(sys::handle_mint(g_endpoint, kRightWrite, badge_of(s) | 0x1000));
    char cmdline[64];
    format_to(cmdline, sizeof cmdline, "size=%lu dma=%#lx", g_archive_size, s.dma_phys);
    SpawnOptions o{.name = s.name, .cmdline = cmdline, .quota = s.quota, .priority = 16,
                   .handles = handles, .handle_count = 16, .fault_handler = fault};
    int64_t p = unmade != kOk ? unmade : spawn(elf, size, o);
    for (uint32_t i = 0; i < temporaries; ++i) sys::handle_close(temporary[i]);
    if (p < 0) {
        logf("init: %s: cannot start (%s); trying again in %lu ms", s.name, error_name(p),
             s.backoff / 1'000'000);
        s.restart_at = sys::clock_monotonic() + s.backoff;
        s.backoff = s.backoff * 2 > kMaxBackoff ? kMaxBackoff : s.backoff * 2;
        return;
    }
    s.process = static_cast<Handle>(p);
    for (int b = 0; b < 6; ++b)
        if (s.io_bar[b] && sys::io_ports_grant(s.process, s.bars[b]) != kOk)
            logf("init: %s: cannot grant the ports of BAR%d", s.name, b);
    for (const auto& range : s.ports) {
        if (!range.count) continue;
        auto ports = sys::io_ports_create(startup().resource, range.base, range.count);
        int64_t e = ports.ok() ? sys::io_ports_grant(s.process, ports.value()) : ports.error();
        if (e != kOk) logf("init: %s: cannot grant ports %x:%x (%s)", s.name, range.base, range.count, error_name(e));
        if (ports.ok()) sys::handle_close(ports.value());
    }
    ProcessInfo pi{};
    sys::process_info(s.process, &pi);
    s.pid = pi.pid;
    s.running = true;
    s.started_at = sys::clock_monotonic();
    s.next_ping = s.started_at + kPingEvery;
    s.restart_at = 0;
    if (s.irq_line != kNoHandle) sys::irq_ack(s.irq_line);
    if (&s == g_ns_service) brief_ns();
    if (&s == g_log_service) brief_log();
    logf("init: started %s (pid %lu)%s", s.name, s.pid, s.restarts ? ", a new incarnation" : "");
    if (s.restarts && s.supervise != kNoHandle) {
        // How long clients were without it: from the crash to the first
        // request the new incarnation answers.
        uint32_t none = 0;
        if (rpc::call_raw(s.supervise, rpc::kPingLabel, &none, sizeof none, &none, 0,
                          rpc::Extras{.timeout_ns = kPingTimeout}) == kOk) {
            uint64_t back = sys::clock_monotonic() - s.down_at;
            logf("init: %s answering again %lu.%03lu ms after it went down (%lu ms of back-off)", s.name,
                 back / 1'000'000, back / 1000 % 1000, (s.started_at - s.down_at) / 1'000'000);
        }
    }
}

// The service's process is gone (or must go): plan the next incarnation.
void ended(Service& s, const char* why) {
    if (s.process != kNoHandle) {
        sys::process_kill(s.process, -1);
        sys::handle_close(s.process);
        s.process = kNoHandle;
    }
    s.running = false;
    uint64_t now = sys::clock_monotonic();
    s.down_at = now;
    if (now - s.started_at > kStableAfter) s.backoff = kFirstBackoff;
    bool injected = s.injected;
    s.injected = false;
    if (!s.restart) {
        logf("init: %s %s; not restarted (restart=never)", s.name, why);
        return;
    }
    logf("init: %s %s; restarting in %lu ms", s.name, why, s.backoff / 1'000'000);
    s.restart_at = now + s.backoff;
    if (!injected) s.backoff = s.backoff * 2 > kMaxBackoff ? kMaxBackoff : s.backoff * 2;
    ++s.restarts;
}

bool answers_ping(const Service& s) {
    uint32_t none = 0;
    return rpc::call_raw(s.supervise, rpc::kPingLabel, &none, sizeof none, &none, 0,
                         rpc::Extras{.timeout_ns = kPingTimeout}) != kErrTimedOut;
}

// A server waiting for a service it uses (a file server for its disk) that
// is down, just restarted or not answering either is not hung itself; and
// killing it half-way through a request would be worse than waiting.
bool waits_for_another(const Service& self) {
    uint64_t now = sys::clock_monotonic();
    for (const char* p = self.uses; *p;) {
        const char* end = strchr(p, ',');
        size_t len = end ? static_cast<size_t>(end - p) : strlen(p);
        for (uint32_t i = 0; i < g_count; ++i) {
            const Service& s = g_services[i];
            if (&s == &self || strlen(s.provides) != len || strncmp(s.provides, p, len) != 0) continue;
            if (s.restart && (!s.running || now - s.started_at < kPingEvery + kPingTimeout)) return true;
            if (s.running && s.supervise != kNoHandle && !answers_ping(s)) return true;
        }
        p = end ? end + 1 : p + len;
    }
    return false;
}

void supervise() {
    uint64_t now = sys::clock_monotonic();
    for (uint32_t i = 0; i < g_count; ++i) {
        Service& s = g_services[i];
        if (s.running) {
            int64_t status = 0;
            if (sys::process_wait(s.process, 0, &status) == kOk) {
                char why[48];
                format_to(why, sizeof why, "ended with status %ld", status);
                ended(s, why);
            } else if (s.supervise != kNoHandle && now >= s.next_ping) {
                s.next_ping = now + kPingEvery;
                if (answers_ping(s)) {
                    s.missed = 0;
                } else if (waits_for_another(s)) {
                    if (s.missed++ == 0) logf("init: %s is slow to answer while a service it uses recovers", s.name);
                } else {
                    s.missed = 0;
                    ended(s, "stopped answering");
                }
            }
        } else if (s.restart_at && now >= s.restart_at) {
            start(s);
        }
    }
}

// Fault messages: the kernel calls our endpoint on a faulting thread's behalf.
uint64_t on_fault(const Message& m, uint64_t badge) {
    Service* s = from_badge(badge);
    if (m.label != kFaultLabel || !s || !(badge & 0x1000)) return static_cast<uint64_t>(kErrInvalidArgument);
    char why[96];
    format_to(why, sizeof why, "crashed (exception %lu at pc %#lx, address %#lx)", m.w0 & 0xffffffff, m.w2, m.w1);
    ended(*s, why);
    return 1;  // not 0: the kernel ends the faulting process
}

// --- the protocol ----------------------------------------------------------------

Service* caller(const rpc::Call& c) { return from_badge(c.badge); }

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
    for (uint32_t i = 0; i < g_count && r.count < kMaxServices; ++i)
        add(g_services[i].process, g_services[i].name, g_services[i].restarts);
    return kOk;
}

int64_t kill(const proto::init::Kill::Request& q, proto::init::Kill::Reply& r, rpc::Call& c) {
    Service* who = caller(c);
    if (!who || !who->control) return kErrAccessDenied;
    char name[32];
    copy_string(name, sizeof name, q.name);
    Service* s = by_name(name);
    if (!s) return kErrNotFound;
    if (!s->running) return kErrBadState;
    r.pid = s->pid;
    if (q.how > proto::init::kCorruptReply) return kErrInvalidArgument;
    s->injected = q.injected != 0 && q.how != proto::init::kCorruptReply;
    if (q.how != proto::init::kKill) {
        if (s->supervise == kNoHandle) return kErrBadState;
        // It faults (or spins, or garbles its next answer) while handling
        // this; we stop waiting soon, and the fault message, or the next
        // liveness check, does the rest.
        const uint64_t labels[] = {0, rpc::kCrashLabel, rpc::kHangLabel, rpc::kCorruptRegisterLabel,
                                   rpc::kCorruptReplyLabel};
        uint32_t none = 0;
        rpc::call_raw(s->supervise, labels[q.how], &none, sizeof none, &none, 0,
                      rpc::Extras{.timeout_ns = 100'000'000});
        return kOk;
    }
    logf("init: killing %s (pid %lu) as asked", s->name, s->pid);
    sys::process_kill(s->process, -9);
    return kOk;
}

int64_t poweroff(const proto::init::Poweroff::Request& q, proto::init::Poweroff::Reply&, rpc::Call& c) {
    Service* who = caller(c);
    if (!who || !who->control) return kErrAccessDenied;
    logf("init: powering off as %s asked", who->name);
    return sys::system_poweroff(startup().resource, q.status);
}

}  // namespace

int main() {
    const StartupInfo& info = startup();
    for (uint32_t i = 0; i < info.module_count; ++i) {
        if (strcmp(info.modules[i].name, "initfs") != 0) continue;
        g_archive_memory = info.modules[i].memory;
        g_archive_size = info.modules[i].size;
    }
    const void* archive;
    size_t size;
    if (!g_archive_memory || !map_boot_module("initfs", &archive, &size)) {
        logf("init: no initfs boot module; nothing to start");
        return 1;
    }
    g_archive = static_cast<const uint8_t*>(archive);
    auto endpoint = sys::endpoint_create();
    if (!endpoint.ok()) {
        // Without it no service could be supervised, nor any fault reported.
        logf("init: cannot make init's endpoint (%s); nothing to start", error_name(endpoint.error()));
        return 1;
    }
    g_endpoint = endpoint.value();
    read_manifest();
    // Every endpoint exists before anything starts, so the namespace can
    // name them all from the beginning.
    for (uint32_t i = 0; i < g_count; ++i) {
        make_endpoint(g_services[i]);  // a failure is logged, and start() tries again
        if (!strcmp(g_services[i].provides, "ns")) g_ns_service = &g_services[i];
        if (!strcmp(g_services[i].provides, "log")) g_log_service = &g_services[i];
    }
    logf("init: %u services in the manifest", g_count);
    for (uint32_t i = 0; i < g_count; ++i) start(g_services[i]);

    rpc::Server server(g_endpoint);
    server.on<proto::init::Ps>(ps);
    server.on<proto::init::Kill>(kill);
    server.on<proto::init::Poweroff>(poweroff);
    server.on_other(on_fault);
    server.on_idle(supervise, kTick);
    server.run();
}
