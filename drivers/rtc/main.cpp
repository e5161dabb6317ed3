// rtc: the CMOS real-time clock (ports 0x70-0x71, granted by the manifest),
// serving `rtc:` with the wall-clock time (UTC, as the PC keeps it).
// Startup slots: kSlotEndpoint, our endpoint.
#include "mica/ports.h"
#include "mica/rpc.h"
#include "proto/rtc.h"

using namespace mica;

namespace {

using ports::in8;
using ports::out8;

uint8_t cmos(uint8_t reg) {
    out8(0x70, reg);  // bit 7 stays clear: NMIs stay enabled
    return in8(0x71);
}

struct Reading {
    uint8_t second, minute, hour, day, month, year, century;
    bool operator==(const Reading&) const = default;
};

Reading read_once() {
    while (cmos(0x0a) & 0x80) {
    }  // an update is in progress: wait for it (at most ~2 ms)
    return Reading{cmos(0x00), cmos(0x02), cmos(0x04), cmos(0x07), cmos(0x08), cmos(0x09), cmos(0x32)};
}

uint8_t from_bcd(uint8_t v) { return static_cast<uint8_t>((v & 0x0f) + (v >> 4) * 10); }

int64_t now(const proto::rtc::Now::Request&, proto::rtc::Now::Reply& r, rpc::Call&) {
    Reading a = read_once(), b = read_once();
    while (!(a == b)) a = b, b = read_once();  // read until two agree: no torn value
    uint8_t status = cmos(0x0b);
    bool binary = status & 0x04, clock24 = status & 0x02;
    bool pm = a.hour & 0x80;
    a.hour &= 0x7f;
    if (!binary) {
        a.second = from_bcd(a.second), a.minute = from_bcd(a.minute), a.hour = from_bcd(a.hour);
        a.day = from_bcd(a.day), a.month = from_bcd(a.month), a.year = from_bcd(a.year);
        a.century = from_bcd(a.century);
    }
    if (!clock24 && pm) a.hour = static_cast<uint8_t>((a.hour + 12) % 24);
    r.year = static_cast<uint16_t>((a.century >= 19 && a.century <= 30 ? a.century : 20) * 100 + a.year);
    r.month = a.month, r.day = a.day, r.hour = a.hour, r.minute = a.minute, r.second = a.second;
    return kOk;
}

}  // namespace

int main() {
    const Handle endpoint = service_endpoint("rtc");
    rpc::Server server(endpoint);
    server.on<proto::rtc::Now>(now);
    server.run();
}
