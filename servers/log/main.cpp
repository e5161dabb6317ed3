// log: the system log of user space (the kernel keeps its own on the serial
// port). Services append lines; dmesg reads them back. Lines are prefixed
// with the name init gave the writer's badge, or, for a program a service
// started (a delegated badge), the name that service gave it.
//
// The lines live in memory init keeps across our incarnations (dma= in the
// manifest, kSlotResource0): a new incarnation finds what the last one held,
// so a crash of the log loses no line (a line half-appended when it died is
// not counted).
// Startup slots: kSlotEndpoint, our endpoint; kSlotResource0, the memory.
#include "format.h"
#include "mica/process.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "proto/log.h"

using namespace mica;

namespace {

constexpr uint64_t kMagic = 0x6c6f672d72696e67;  // "log-ring"

struct Ring {
    uint64_t magic;
    uint64_t total;  // bytes ever logged; text holds the last sizeof text
    char text[32768];
};
Ring g_own;  // if init gave no memory
Ring* g_ring = &g_own;

// The ring of the last incarnation, or a new one.
void open_ring() {
    Handle memory = startup_handle(kSlotResource0);
    constexpr size_t kBytes = (sizeof(Ring) + 4095) & ~size_t{4095};
    uintptr_t at = memory == kNoHandle ? 0 : reserve_address_range(kBytes);
    if (!at || sys::vm_map(startup().self_process, at, memory, 0, kBytes, kVmRead | kVmWrite) != kOk)
        return;  // no memory kept across restarts: the lines end with this incarnation
    g_ring = reinterpret_cast<Ring*>(at);
    if (g_ring->magic != kMagic) g_ring->magic = kMagic, g_ring->total = 0;
}

struct Writer {
    uint64_t badge;
    char name[32];
};
Writer g_writers[32];
uint32_t g_writer_count = 0;

void append(const char* text, size_t n) {
    Ring& r = *g_ring;
    for (size_t i = 0; i < n; ++i) r.text[(r.total + i) % sizeof r.text] = text[i];
    __atomic_store_n(&r.total, r.total + n, __ATOMIC_RELEASE);  // the line counts once it is all there
}

const char* name_of(uint64_t badge) {
    if (badge == kSupervisorBadge) return "init";
    for (uint32_t i = 0; i < g_writer_count; ++i)
        if (g_writers[i].badge == badge) return g_writers[i].name;
    return "?";
}

// Programs come and go: their names take the oldest program's entry once
// the table is full (services' names, from init, stay).
Writer* entry_for(uint64_t badge) {
    for (uint32_t i = 0; i < g_writer_count; ++i)
        if (g_writers[i].badge == badge) return &g_writers[i];
    if (g_writer_count < sizeof g_writers / sizeof g_writers[0]) return &g_writers[g_writer_count++];
    if (!is_delegated(badge)) return nullptr;
    for (uint32_t i = 0; i < g_writer_count; ++i) {  // the oldest program's goes; the rest move up
        if (!is_delegated(g_writers[i].badge)) continue;
        for (uint32_t j = i; j + 1 < g_writer_count; ++j) g_writers[j] = g_writers[j + 1];
        return &g_writers[g_writer_count - 1];
    }
    return nullptr;
}

int64_t append_op(const proto::log::Append::Request& q, proto::log::Append::Reply&, rpc::Call& c) {
    char text[sizeof q.text];
    copy_string(text, sizeof text, q.text);
    char line[320];
    size_t n = format_to(line, sizeof line, "[%s] %s\n", name_of(c.badge), text);
    append(line, n < sizeof line ? n : sizeof line - 1);
    return kOk;
}

// Init names services; a service names the programs it started (whose
// delegated badges have it at their root).
int64_t name_op(const proto::log::Name::Request& q, proto::log::Name::Reply&, rpc::Call& c) {
    bool may = c.badge == kSupervisorBadge || (is_delegated(q.client) && badge_root(q.client) == c.badge);
    if (!may) return kErrAccessDenied;
    Writer* w = entry_for(q.client);
    if (!w) return kErrLimit;
    w->badge = q.client;
    copy_string(w->name, sizeof w->name, q.name);
    return kOk;
}

int64_t read_op(const proto::log::Read::Request& q, proto::log::Read::Reply& r, rpc::Call&) {
    const Ring& ring = *g_ring;
    uint64_t total = ring.total;
    uint64_t oldest = total > sizeof ring.text ? total - sizeof ring.text : 0;
    uint64_t from = q.offset < oldest ? oldest : q.offset;
    if (from > total) from = total;
    uint64_t n = total - from;
    if (n > sizeof r.text) n = sizeof r.text;
    for (uint64_t i = 0; i < n; ++i) r.text[i] = ring.text[(from + i) % sizeof ring.text];
    r.size = static_cast<uint32_t>(n);
    r.next = from + n;
    return kOk;
}

}  // namespace

int main() {
    const Handle endpoint = service_endpoint("log");
    open_ring();
    rpc::Server server(endpoint);
    server.on<proto::log::Append>(append_op);
    server.on<proto::log::Name>(name_op);
    server.on<proto::log::Read>(read_op);
    server.run();
}
