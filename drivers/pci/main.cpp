// pci: enumerates the PCI bus through configuration space (the legacy ports
// 0xcf8/0xcfc, which the manifest grants) and serves the result as `pci:`:
// a directory of devices named BB.DD.F, each a file describing the device.
//
// It also hands devices out, to init alone: init claims the device a
// driver's manifest line names and gets its BARs (device memory or I/O
// ports), its interrupt line and a copy of its configuration space, which it
// passes to that driver. The resources the manifest grants us (kSlotResource0 + 0..2:
// device memory, I/O ports, interrupt lines) bound what we can hand out; a
// device is claimed once, so no driver gets another's resources.
// Startup slots: kSlotEndpoint, our endpoint.
#include "format.h"
#include "mica/ports.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "proto/fs.h"
#include "proto/pci.h"

using namespace mica;

namespace {

using ports::in32;
using ports::out32;

uint32_t config_read(uint32_t bus, uint32_t device, uint32_t function, uint32_t offset) {
    out32(0xcf8, 0x8000'0000u | bus << 16 | device << 11 | function << 8 | (offset & 0xfc));
    return in32(0xcfc);
}

void config_write(uint32_t bus, uint32_t device, uint32_t function, uint32_t offset, uint32_t value) {
    out32(0xcf8, 0x8000'0000u | bus << 16 | device << 11 | function << 8 | (offset & 0xfc));
    out32(0xcfc, value);
}

struct Device {
    uint8_t bus, device, function;
    uint16_t vendor, id;
    uint8_t class_code, subclass, prog_if, irq_pin, irq_line;
    uint32_t bars[6];
    char name[16];
    bool claimed;
    proto::pci::BarInfo sizes[6];  // filled when claimed
};
Device g_devices[64];
uint32_t g_count = 0;

const char* class_name(uint8_t c, uint8_t s) {
    switch (c) {
        case 0x01: return s == 0x01 ? "IDE controller" : s == 0x06 ? "SATA controller" : s == 0x08 ? "NVMe controller" : "storage";
        case 0x02: return "network";
        case 0x03: return "display";
        case 0x06: return s == 0x00 ? "host bridge" : s == 0x01 ? "ISA bridge" : s == 0x80 ? "bridge" : "bridge";
        case 0x0c: return "serial bus";
        default: return "device";
    }
}

void scan() {
    for (uint32_t bus = 0; bus < 256 && g_count < 64; ++bus) {
        for (uint32_t device = 0; device < 32; ++device) {
            uint32_t functions = 1;
            for (uint32_t function = 0; function < functions && g_count < 64; ++function) {
                uint32_t id = config_read(bus, device, function, 0);
                if ((id & 0xffff) == 0xffff) continue;
                uint32_t header = config_read(bus, device, function, 0x0c) >> 16 & 0xff;
                if (function == 0 && (header & 0x80)) functions = 8;
                uint32_t class_reg = config_read(bus, device, function, 0x08);
                uint32_t irq = config_read(bus, device, function, 0x3c);
                Device& d = g_devices[g_count++];
                d = Device{static_cast<uint8_t>(bus), static_cast<uint8_t>(device), static_cast<uint8_t>(function),
                           static_cast<uint16_t>(id), static_cast<uint16_t>(id >> 16),
                           static_cast<uint8_t>(class_reg >> 24), static_cast<uint8_t>(class_reg >> 16),
                           static_cast<uint8_t>(class_reg >> 8), static_cast<uint8_t>(irq >> 8),
                           static_cast<uint8_t>(irq), {}, {}, false, {}};
                if ((header & 0x7f) == 0)
                    for (uint32_t b = 0; b < 6; ++b) d.bars[b] = config_read(bus, device, function, 0x10 + 4 * b);
                format_to(d.name, sizeof d.name, "%02x.%02x.%x", bus, device, function);
            }
        }
    }
}

// "BB.DD.F" (with or without a leading '/') -> the device.
Device* find(const char* path) {
    while (*path == '/') ++path;
    for (uint32_t i = 0; i < g_count; ++i)
        if (!strcmp(g_devices[i].name, path)) return &g_devices[i];
    return nullptr;
}

size_t describe(const Device& d, char* out, size_t size) {
    size_t n = format_to(out, size, "%s %04x:%04x class %02x.%02x.%02x (%s) irq pin %u line %u\n", d.name,
                         d.vendor, d.id, d.class_code, d.subclass, d.prog_if, class_name(d.class_code, d.subclass),
                         d.irq_pin, d.irq_line);
    for (int b = 0; b < 6 && n < size; ++b)
        if (d.bars[b]) n += format_to(out + n, size - n, "  bar%d %08x\n", b, d.bars[b]);
    return n < size ? n : size - 1;
}

bool is_root(const char* path) {
    while (*path == '/') ++path;
    return *path == '\0';
}

int64_t stat(const proto::fs::Stat::Request& q, proto::fs::Stat::Reply& r, rpc::Call&) {
    if (strnlen(q.path, sizeof q.path) == sizeof q.path) return kErrInvalidArgument;
    if (is_root(q.path)) {
        r.type = proto::fs::kDirectory;
        return kOk;
    }
    const Device* d = find(q.path);
    if (!d) return kErrNotFound;
    char text[512];
    r.size = describe(*d, text, sizeof text);
    r.type = proto::fs::kFile;
    return kOk;
}

int64_t read(const proto::fs::Read::Request& q, proto::fs::Read::Reply& r, rpc::Call& c) {
    if (strnlen(q.path, sizeof q.path) == sizeof q.path) return kErrInvalidArgument;
    const Device* d = find(q.path);
    if (!d) return is_root(q.path) ? kErrIsDirectory : kErrNotFound;
    c.reply_size = proto::fs::Read::kMinReply;
    char text[512];
    size_t n = describe(*d, text, sizeof text);
    if (q.offset >= n) return 0;
    size_t take = n - q.offset;
    if (take > q.length) take = q.length;
    memcpy(r.data, text + q.offset, take);
    r.size = static_cast<uint32_t>(take);
    c.reply_size += r.size;
    return static_cast<int64_t>(take);
}

int64_t readdir(const proto::fs::ReadDir::Request& q, proto::fs::ReadDir::Reply& r, rpc::Call&) {
    if (strnlen(q.path, sizeof q.path) == sizeof q.path) return kErrInvalidArgument;
    if (!is_root(q.path)) return find(q.path) ? kErrNotDirectory : kErrNotFound;
    if (q.index >= g_count) return kErrNotFound;
    const Device& d = g_devices[q.index];
    format_to(r.name, sizeof r.name, "%s %04x:%04x %s", d.name, d.vendor, d.id, class_name(d.class_code, d.subclass));
    r.type = proto::fs::kFile;
    char text[512];
    r.size = describe(d, text, sizeof text);
    return kOk;
}

// --- handing devices to drivers (init only) -------------------------------------

Handle g_mmio = kNoHandle, g_io = kNoHandle, g_irqs = kNoHandle;  // what we may hand out

uint32_t config(const Device& d, uint32_t offset) { return config_read(d.bus, d.device, d.function, offset); }
void set_config(const Device& d, uint32_t offset, uint32_t v) { config_write(d.bus, d.device, d.function, offset, v); }

// Each BAR's address and size (by writing all ones and reading back what
// sticks), with decoding off meanwhile so the probe never shows on the bus.
void size_bars(Device& d) {
    uint32_t command = config(d, 0x04);
    set_config(d, 0x04, command & ~0x7u);
    for (uint32_t b = 0; b < 6; ++b) {
        uint32_t offset = 0x10 + 4 * b;
        uint32_t original = config(d, offset);
        set_config(d, offset, ~0u);
        uint32_t mask = config(d, offset);
        set_config(d, offset, original);
        proto::pci::BarInfo& info = d.sizes[b];
        if (original & 1) {  // I/O ports
            info.io = 1;
            info.base = original & ~3u;
            info.size = mask ? (~(mask & ~3u) & 0xffff) + 1 : 0;
            continue;
        }
        uint64_t base = original & ~0xfu, size_mask = mask & ~0xfu;
        bool wide = ((original >> 1) & 3) == 2 && b < 5;
        if (wide) {
            uint32_t high = config(d, offset + 4);
            set_config(d, offset + 4, ~0u);
            uint32_t high_mask = config(d, offset + 4);
            set_config(d, offset + 4, high);
            base |= static_cast<uint64_t>(high) << 32;
            size_mask |= static_cast<uint64_t>(high_mask) << 32;
        } else if (size_mask) {
            size_mask |= 0xffff'ffff'0000'0000ULL;
        }
        info.base = base;
        info.size = size_mask ? ~size_mask + 1 : 0;
        if (wide) ++b;  // the upper half is not a BAR of its own
    }
    set_config(d, 0x04, command);
}

bool from_init(const rpc::Call& c) { return c.badge == kSupervisorBadge; }

Device* claimed(const char* name) {
    char n[16];
    copy_string(n, sizeof n, name);
    Device* d = find(n);
    return d && d->claimed ? d : nullptr;
}

int64_t claim(const proto::pci::Claim::Request& q, proto::pci::Claim::Reply& r, rpc::Call& c) {
    if (!from_init(c)) return kErrAccessDenied;
    uint32_t seen = 0;
    for (uint32_t i = 0; i < g_count; ++i) {
        Device& d = g_devices[i];
        if (d.vendor != q.vendor || d.id != q.device || seen++ != q.instance) continue;
        if (d.claimed) return kErrAlreadyExists;
        size_bars(d);
        // Memory and I/O decoding, bus mastering (DMA) on; INTx not disabled.
        set_config(d, 0x04, (config(d, 0x04) | 0x7) & ~(1u << 10));
        d.claimed = true;
        copy_string(r.name, sizeof r.name, d.name);
        r.irq = d.irq_pin ? d.irq_line : 0xff;
        for (uint32_t b = 0; b < 6; ++b) r.bars[b] = d.sizes[b];
        return kOk;
    }
    return kErrNotFound;
}

int64_t bar(const proto::pci::Bar::Request& q, proto::pci::Bar::Reply&, rpc::Call& c) {
    if (!from_init(c)) return kErrAccessDenied;
    Device* d = claimed(q.name);
    if (!d) return kErrNotFound;
    if (q.bar >= 6 || !d->sizes[q.bar].size) return kErrInvalidArgument;
    const proto::pci::BarInfo& info = d->sizes[q.bar];
    // Memory objects cover whole pages; a BAR smaller than a page gets the
    // page it sits in.
    uint64_t first = info.base & ~(kPageSize - 1);
    uint64_t end = (info.base + info.size + kPageSize - 1) & ~(kPageSize - 1);
    auto h = info.io ? sys::io_ports_create(g_io, static_cast<uint32_t>(info.base), static_cast<uint32_t>(info.size))
                     : sys::memory_create_physical(g_mmio, first, end - first);
    if (!h.ok()) return h.error();
    c.reply_handle = h.value();
    return kOk;
}

int64_t irq(const proto::pci::Irq::Request& q, proto::pci::Irq::Reply& r, rpc::Call& c) {
    if (!from_init(c)) return kErrAccessDenied;
    Device* d = claimed(q.name);
    if (!d) return kErrNotFound;
    if (!d->irq_pin || d->irq_line >= 16) return kErrNotFound;  // no interrupt routed
    if (c.received_handle == kNoHandle) return kErrInvalidArgument;
    auto h = sys::irq_create(g_irqs, d->irq_line, kIrqLevel, c.received_handle, 1);  // the server closes ours
    if (!h.ok()) return h.error();
    c.reply_handle = h.value();
    r.irq = d->irq_line;
    return kOk;
}

int64_t config_copy(const proto::pci::Config::Request& q, proto::pci::Config::Reply&, rpc::Call& c) {
    if (!from_init(c)) return kErrAccessDenied;
    Device* d = claimed(q.name);
    if (!d) return kErrNotFound;
    uint32_t space[64];
    for (uint32_t i = 0; i < 64; ++i) space[i] = config(*d, 4 * i);
    auto m = sys::memory_create(kPageSize);
    if (!m.ok()) return m.error();
    sys::memory_write(m.value(), 0, space, sizeof space);
    auto h = sys::handle_duplicate(m.value(), kRightRead | kRightMap | kRightTransfer | kRightDuplicate);
    sys::handle_close(m.value());
    if (!h.ok()) return h.error();
    c.reply_handle = h.value();
    return kOk;
}

}  // namespace

int main() {
    const Handle endpoint = service_endpoint("pci");
    g_mmio = startup_handle(kSlotResource0), g_io = startup_handle(StartupSlot(kSlotResource0 + 1)),
    g_irqs = startup_handle(StartupSlot(kSlotResource0 + 2));
    scan();
    rpc::Server server(endpoint);
    server.on<proto::pci::Claim>(claim);
    server.on<proto::pci::Bar>(bar);
    server.on<proto::pci::Irq>(irq);
    server.on<proto::pci::Config>(config_copy);
    server.on<proto::fs::Stat>(stat);
    server.on<proto::fs::Read>(read);
    server.on<proto::fs::ReadDir>(readdir);
    server.run();
}
