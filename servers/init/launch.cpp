// Starting an incarnation of a service: its program from the boot file
// system, its startup slots (abi/mica/startup.h) filled from what init holds
// for it, init as its fault handler, its ports granted.
#include "format.h"
#include "mica/process.h"
#include "mica/strings.h"
#include "mica/tar.h"
#include "service.h"

using namespace mica;

namespace init {

bool find_file(const char* path, const uint8_t** data, uint64_t* size) {
    bool found = false;
    tar::for_each(g_system.archive, g_system.archive_size, [&](const tar::Entry& e) {
        if (e.directory || strcmp(e.path, path) != 0) return true;
        *data = e.data, *size = e.size, found = true;
        return false;
    });
    return found;
}

namespace {

// Handles made for one start and closed once the child has its copies.
struct Temporaries {
    Handle handles[8];
    uint32_t count = 0;
    int64_t error = kOk;  // the first that could not be made
    Handle keep(HandleResult r) {
        if (r.ok()) return handles[count++] = r.value();
        if (error == kOk) error = r.error();
        return kNoHandle;
    }
    ~Temporaries() {
        for (uint32_t i = 0; i < count; ++i) sys::handle_close(handles[i]);
    }
};

void fill_slots(const Service& s, Handle (&slots)[kMaxStartupHandles], Temporaries& t) {
    // Its own endpoint to receive on; ns, the log and init's control
    // protocol badged as this service, so that nobody can sign as another.
    auto badged = [&](const Service* to) {
        if (!to || to->held.endpoint == kNoHandle) return kNoHandle;
        return t.keep(sys::handle_mint(to->held.endpoint, kRightWrite | kRightDuplicate | kRightTransfer, s.badge));
    };
    // Its own endpoint with the right to send too: ns makes send handles to
    // itself for the programs others start (Delegate).
    if (s.held.endpoint != kNoHandle)
        slots[kSlotEndpoint] = t.keep(sys::handle_duplicate(
            s.held.endpoint, kRightRead | kRightWrite | kRightManage | kRightDuplicate | kRightTransfer));
    slots[kSlotNamespace] = badged(g_system.ns);
    slots[kSlotLog] = badged(g_system.log);
    if (s.spec->module[0]) slots[kSlotModule] = g_system.archive_memory;
    slots[kSlotIrq] = s.held.irq_line;
    if (s.spec->control && g_system.endpoint != kNoHandle)
        slots[kSlotControl] =
            t.keep(sys::handle_mint(g_system.endpoint, kRightWrite | kRightDuplicate | kRightTransfer, s.badge));
    slots[kSlotDeviceMemory] = s.held.mmio;
    if (s.spec->pci) {
        for (uint32_t b = 0; b < kSlotBarCount; ++b) slots[kSlotBar0 + b] = s.held.bars[b];
        slots[kSlotDeviceConfig] = s.held.config;
    }
    for (uint32_t i = 0; i < s.spec->grant_count; ++i) slots[kSlotResource0 + i] = s.held.resources[i];
}

// Who may use this service, by the manifest: `clients=` the badges of the
// services whose uses= names its scheme, `programs=` the `program` lines
// that grant it (the disk serves no one else).
void clients_of(const Service& s, char* out, size_t size) {
    size_t n = format_to(out, size, " clients=");
    const char* scheme = s.spec->provides;
    for (uint32_t i = 0; scheme[0] && i < g_system.count; ++i)
        if (g_system.services[i].spec->uses.contains(scheme))
            n += format_to(out + n, size - n, "%s%lu", out[n - 1] == '=' ? "" : ",", g_system.services[i].badge);
    n += format_to(out + n, size - n, " programs=");
    for (uint32_t i = 0; scheme[0] && i < g_system.manifest.program_count; ++i)
        if (g_system.manifest.programs[i].uses.contains(scheme))
            n += format_to(out + n, size - n, "%s%u", out[n - 1] == '=' ? "" : ",", i + 1);
}

// Options for a service from init's own command line (what follows `--` on
// the kernel's): each `NAME.KEY=VALUE` word reaches service NAME as
// KEY=VALUE, e.g. `shell.boot_ticks=yes` (./mica bench's boot figure).
void options_of(const Service& s, char* out, size_t size) {
    size_t name = strlen(s.name()), n = 0;
    for (const char* p = startup().cmdline; *p && n < size;) {
        const char* end = p;
        while (*end && *end != ' ') ++end;
        if (static_cast<size_t>(end - p) > name + 1 && !strncmp(p, s.name(), name) && p[name] == '.')
            n += format_to(out + n, size - n, " %.*s", static_cast<int>(end - p - name - 1), p + name + 1);
        p = *end ? end + 1 : end;
    }
}

// Before the service's first instruction: it may use its ports at once.
void grant_ports(Handle process, void* service) {
    Service& s = *static_cast<Service*>(service);
    for (uint32_t b = 0; b < kSlotBarCount; ++b)
        if (s.held.io_bar[b] && sys::io_ports_grant(process, s.held.bars[b]) != kOk)
            logf("init: %s: cannot grant the ports of BAR%u", s.name(), b);
    for (const PortRange& range : s.spec->ports) {
        if (!range.count) continue;
        HandleResult ports = sys::io_ports_create(startup().resource, range.base, range.count);
        int64_t e = ports.ok() ? sys::io_ports_grant(process, ports.value()) : ports.error();
        if (e != kOk) logf("init: %s: cannot grant ports %x:%x (%s)", s.name(), range.base, range.count, error_name(e));
        if (ports.ok()) sys::handle_close(ports.value());
    }
}

}  // namespace

namespace {

// What init can still give away (its own quota less what it uses, and a
// little for its own growth).
uint64_t quota_left() {
    constexpr uint64_t kOwnGrowth = 256 << 10;
    ProcessInfo me{};
    sys::process_info(startup().self_process, &me);
    uint64_t left = me.quota_bytes - me.used_bytes;
    return left > kOwnGrowth ? left - kOwnGrowth : 0;
}

// The quota this incarnation gets: its line's, or (quota=rest:KIB) what is
// left after loading its program (`cost`), at most that. 0 if it does not
// fit: said once, tried again later.
uint64_t quota_for(Service& s, uint64_t cost) {
    uint64_t left = quota_left(), want = s.spec->quota;
    left = left > cost ? left - cost : 0;
    if (s.spec->quota_rest && left < want) want = left;
    if (want <= left && want >= (256 << 10)) return want;
    if (!s.policy.said_no_room)
        logf("init: %s needs %lu KiB, %lu KiB left", s.name(), (s.spec->quota_rest ? 256 << 10 : want) >> 10, left >> 10);
    s.policy.said_no_room = true;
    return 0;
}

// The service's program in memory of ours, made at its first start and
// kept: the read-only segments of every incarnation are mapped from it
// (SpawnOptions::image) rather than copied again, so a restart runs on the
// code pages the last incarnation ran on, with no copy (and under QEMU's
// emulator, with the code it translated from them still valid: a fresh copy
// costs a new incarnation of the file server several milliseconds of
// translation). None if init cannot spare the memory (its own reserve
// kept): then copied, as before.
Handle image_of(Service& s, const uint8_t* elf, uint64_t size) {
    if (s.held.image != kNoHandle) return s.held.image;
    uint64_t bytes = (size + kPageSize - 1) & ~(kPageSize - 1);
    if (quota_left() < bytes + bytes / 8) return kNoHandle;
    auto memory = sys::memory_create(bytes);
    if (!memory.ok()) return kNoHandle;
    if (sys::memory_write(memory.value(), 0, elf, size) != kOk) {
        sys::handle_close(memory.value());
        return kNoHandle;
    }
    return s.held.image = memory.value();
}

}  // namespace

void launch(Service& s) {
    RestartLog quiet;
    const uint8_t* elf;
    uint64_t size;
    if (!find_file(s.spec->program, &elf, &size)) {
        logf("init: %s: no program %s", s.name(), s.spec->program);
        give_up(s);
        return;
    }
    if (!acquire(s)) {
        give_up(s);
        return;
    }
    Handle slots[kMaxStartupHandles] = {};
    Temporaries t;
    fill_slots(s, slots, t);
    Handle fault = t.keep(sys::handle_mint(g_system.endpoint, kRightWrite, s.badge | kFaultBadgeBit));
    char cmdline[192];
    size_t n = format_to(cmdline, sizeof cmdline, "size=%lu dma=%#lx", g_system.archive_size, s.held.dma_phys);
    clients_of(s, cmdline + n, sizeof cmdline - n);
    n += strnlen(cmdline + n, sizeof cmdline - n);
    options_of(s, cmdline + n, sizeof cmdline - n);
    SpawnOptions o{.name = s.name(), .cmdline = cmdline, .quota = 0, .priority = 16,
                   .handles = slots, .handle_count = kMaxStartupHandles, .fault_handler = fault,
                   .before_start = grant_ports, .before_start_arg = &s, .image = image_of(s, elf, size)};
    uint64_t quota = o.quota = quota_for(s, spawn_cost(elf, size, o));
    int64_t p = t.error != kOk ? t.error : !quota ? kErrQuotaExceeded : spawn(elf, size, o);  // never without a slot
    if (p < 0 && p == kErrQuotaExceeded && s.policy.said_no_room) {  // said once; tried again quietly
        s.policy.retry_later(static_cast<uint64_t>(sys::clock_monotonic()), true);
        return;
    }
    if (p < 0) {
        logf("init: %s: cannot start (%s); trying again in %lu ms", s.name(), error_name(p),
             s.policy.backoff / 1'000'000);
        s.policy.retry_later(static_cast<uint64_t>(sys::clock_monotonic()), true);
        return;
    }
    s.run.process = static_cast<Handle>(p);
    ProcessInfo pi{};
    sys::process_info(s.run.process, &pi);
    s.run.pid = pi.pid;
    s.run.running = true;
    s.run.missed = 0;
    s.run.started_at = static_cast<uint64_t>(sys::clock_monotonic());
    s.run.next_probe = s.run.started_at + kProbeEvery;
    s.policy.restart_at = 0;
    if (s.held.irq_line != kNoHandle) sys::irq_ack(s.held.irq_line);
    if (&s == g_system.ns) brief_ns();
    if (&s == g_system.log) brief_log();
    logf("init: started %s (pid %lu)%s", s.name(), s.run.pid, s.policy.restarts ? ", a new incarnation" : "");
    if (s.policy.restarts && s.held.supervise != kNoHandle && probe(s) == kOk) {
        // How long clients were without it: from the crash to the first
        // request the new incarnation answers.
        uint64_t back = static_cast<uint64_t>(sys::clock_monotonic()) - s.policy.down_at;
        uint64_t wait = s.run.started_at - s.policy.down_at;  // back-off and spawning
        logf("init: %s answering again %lu.%03lu ms after it went down (started after %lu.%03lu ms)", s.name(),
             back / 1'000'000, back / 1000 % 1000, wait / 1'000'000, wait / 1000 % 1000);
    }
}

}  // namespace init
