// pci: enumerates the PCI bus through configuration space (the legacy ports
// 0xcf8/0xcfc, which the manifest grants) and serves the result as `pci:`:
// a directory of devices named BB.DD.F, each a file describing the device.
// Handing a device's BARs and interrupt to its driver comes with the drivers
// that need them.
// handles[0]: our endpoint.
#include "format.h"
#include "mica/ports.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "proto/fs.h"

using namespace mica;

namespace {

using ports::in32;
using ports::out32;

uint32_t config_read(uint32_t bus, uint32_t device, uint32_t function, uint32_t offset) {
    out32(0xcf8, 0x8000'0000u | bus << 16 | device << 11 | function << 8 | (offset & 0xfc));
    return in32(0xcfc);
}

struct Device {
    uint8_t bus, device, function;
    uint16_t vendor, id;
    uint8_t class_code, subclass, prog_if, irq_pin, irq_line;
    uint32_t bars[6];
    char name[16];
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
                           static_cast<uint8_t>(irq), {}, {}};
                if ((header & 0x7f) == 0)
                    for (uint32_t b = 0; b < 6; ++b) d.bars[b] = config_read(bus, device, function, 0x10 + 4 * b);
                format_to(d.name, sizeof d.name, "%02x.%02x.%x", bus, device, function);
            }
        }
    }
}

// "BB.DD.F" (with or without a leading '/') -> the device.
const Device* find(const char* path) {
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

int64_t read(const proto::fs::Read::Request& q, proto::fs::Read::Reply& r, rpc::Call&) {
    if (strnlen(q.path, sizeof q.path) == sizeof q.path) return kErrInvalidArgument;
    const Device* d = find(q.path);
    if (!d) return is_root(q.path) ? kErrWrongType : kErrNotFound;
    char text[512];
    size_t n = describe(*d, text, sizeof text);
    if (q.offset >= n) return 0;
    size_t take = n - q.offset;
    if (take > q.length) take = q.length;
    memcpy(r.data, text + q.offset, take);
    r.size = static_cast<uint32_t>(take);
    return static_cast<int64_t>(take);
}

int64_t readdir(const proto::fs::ReadDir::Request& q, proto::fs::ReadDir::Reply& r, rpc::Call&) {
    if (strnlen(q.path, sizeof q.path) == sizeof q.path) return kErrInvalidArgument;
    if (!is_root(q.path)) return find(q.path) ? kErrWrongType : kErrNotFound;
    if (q.index >= g_count) return kErrNotFound;
    const Device& d = g_devices[q.index];
    format_to(r.name, sizeof r.name, "%s %04x:%04x %s", d.name, d.vendor, d.id, class_name(d.class_code, d.subclass));
    r.type = proto::fs::kFile;
    char text[512];
    r.size = describe(d, text, sizeof text);
    return kOk;
}

}  // namespace

int main() {
    scan();
    rpc::Server server(startup().handles[0]);
    server.on<proto::fs::Stat>(stat);
    server.on<proto::fs::Read>(read);
    server.on<proto::fs::ReadDir>(readdir);
    server.run();
}
