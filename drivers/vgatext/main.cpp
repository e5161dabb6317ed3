// The VGA text screen (80x25 cells at 0xb8000), serving `screen:` with the
// console protocol's Write: text appears on the PC's display (./mica run
// --gui shows it; the serial console stays the default). Its only access to
// the hardware is the device memory the manifest grants (kSlotDeviceMemory,
// the 32 KiB of text memory) and the CRT controller's two ports.
//
// Text memory is slow to reach (under QEMU each access is a trap), and the
// console waits for the screen: a scroll must not move the whole screen.
// So the display start (the CRT controller's start address) moves down one
// row a line, through the 204 rows the memory holds; only at their end is
// the screen copied back to the top, from a copy kept here (never read back).
#include "mica/log.h"
#include "mica/ports.h"
#include "mica/process.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "proto/console.h"

using namespace mica;

namespace {

constexpr int kColumns = 80, kRows = 25;
constexpr int kMemoryBytes = 0x8000, kMemoryRows = kMemoryBytes / (2 * kColumns);
constexpr uint16_t kAttribute = 0x0700;  // light grey on black
constexpr uint16_t kCrtIndex = 0x3d4, kCrtData = 0x3d5;
constexpr uint8_t kStartHigh = 0x0c, kStartLow = 0x0d;
volatile uint16_t* g_cells;       // all of text memory
uint16_t g_screen[kRows * kColumns];  // what the screen shows, top row first
int g_top = 0;                    // the memory row the screen starts at
int g_row = 0, g_column = 0;

void show_from(int top) {
    uint16_t start = static_cast<uint16_t>(top * kColumns);
    ports::out8(kCrtIndex, kStartHigh), ports::out8(kCrtData, static_cast<uint8_t>(start >> 8));
    ports::out8(kCrtIndex, kStartLow), ports::out8(kCrtData, static_cast<uint8_t>(start));
    g_top = top;
}

void set(int row, int column, uint16_t cell) {
    g_screen[row * kColumns + column] = cell;
    g_cells[(g_top + row) * kColumns + column] = cell;
}

void scroll() {
    for (int i = 0; i < (kRows - 1) * kColumns; ++i) g_screen[i] = g_screen[i + kColumns];
    if (g_top + kRows < kMemoryRows) {
        show_from(g_top + 1);
    } else {  // the end of text memory: the screen's rows back to its start
        for (int i = 0; i < (kRows - 1) * kColumns; ++i) g_cells[i] = g_screen[i];
        show_from(0);
    }
    for (int i = 0; i < kColumns; ++i) set(kRows - 1, i, kAttribute | ' ');
    g_row = kRows - 1;
}

void put(char c) {
    if (c == '\n' || g_column == kColumns) {
        g_column = 0;
        if (++g_row == kRows) scroll();
        if (c == '\n') return;
    }
    set(g_row, g_column++, static_cast<uint16_t>(kAttribute | static_cast<uint8_t>(c)));
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
    uintptr_t at = reserve_address_range(kMemoryBytes);
    if (sys::vm_map(info.self_process, at, startup_handle(kSlotDeviceMemory), 0, kMemoryBytes, kVmRead | kVmWrite) != kOk)
        return 2;
    g_cells = reinterpret_cast<volatile uint16_t*>(at);
    show_from(0);
    for (int i = 0; i < kRows * kColumns; ++i) set(i / kColumns, i % kColumns, kAttribute | ' ');
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
