// The VGA text screen (80x25 cells at 0xb8000), serving `screen:` with the
// console protocol's Write: text appears on the PC's display (./mica run
// --gui shows it; the serial console stays the default). Its only access to
// the hardware is the device memory the manifest grants (kSlotDeviceMemory).
#include "mica/log.h"
#include "mica/process.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "proto/console.h"

using namespace mica;

namespace {

constexpr int kColumns = 80, kRows = 25;
constexpr uint16_t kAttribute = 0x0700;  // light grey on black
volatile uint16_t* g_cells;
int g_row = 0, g_column = 0;

void scroll() {
    for (int i = 0; i < (kRows - 1) * kColumns; ++i) g_cells[i] = g_cells[i + kColumns];
    for (int i = 0; i < kColumns; ++i) g_cells[(kRows - 1) * kColumns + i] = kAttribute | ' ';
    g_row = kRows - 1;
}

void put(char c) {
    if (c == '\n' || g_column == kColumns) {
        g_column = 0;
        if (++g_row == kRows) scroll();
        if (c == '\n') return;
    }
    g_cells[g_row * kColumns + g_column++] = static_cast<uint16_t>(kAttribute | static_cast<uint8_t>(c));
}

int64_t write(const proto::console::Write::Request& q, proto::console::Write::Reply&, rpc::Call&) {
    if (q.size > sizeof q.data) return kErrInvalidArgument;
    for (uint32_t i = 0; i < q.size; ++i) put(q.data[i]);
    return kOk;
}

}  // namespace

int main() {
    const Handle endpoint = service_endpoint("vgatext");
    const StartupInfo& info = startup();
    if (startup_handle(kSlotDeviceMemory) == kNoHandle) return 1;
    uintptr_t at = reserve_address_range(kPageSize);
    if (sys::vm_map(info.self_process, at, startup_handle(kSlotDeviceMemory), 0, kPageSize, kVmRead | kVmWrite) != kOk) return 2;
    g_cells = reinterpret_cast<volatile uint16_t*>(at);
    for (int i = 0; i < kRows * kColumns; ++i) g_cells[i] = kAttribute | ' ';
    const char banner[] = "Mica";
    for (const char* p = banner; *p; ++p) put(*p);
    bool same = true;
    for (int i = 0; i < 4; ++i) same &= (g_cells[i] & 0xff) == static_cast<uint8_t>(banner[i]);
    logf("%s", same ? "banner written to the VGA text screen and read back" : "VGA text memory did not keep the banner");
    put('\n');
    rpc::Server server(endpoint);
    server.on<proto::console::Write>(write);
    server.run();
}
