// ps2kbd: the PS/2 keyboard behind the PC's i8042 controller (ports 0x60 and
// 0x64, IRQ 1, as the manifest grants). Scancodes (set 1: the controller
// translates) become the bytes a terminal would send — letters, Enter,
// Backspace, Ctrl-letters, arrows as ESC [ A — and go to the console as
// Input, joining the serial line's input. QEMU's display (./mica run --gui)
// feeds this keyboard; the serial console stays the default.
//
// Startup slots: kSlotEndpoint (its notification is the IRQ), kSlotIrq.
#include "mica/files.h"
#include "mica/log.h"
#include "mica/ports.h"
#include "mica/rpc.h"
#include "proto/console.h"

using namespace mica;

namespace {

constexpr uint16_t kData = 0x60, kStatus = 0x64, kCommand = 0x64;

using ports::in8;
using ports::out8;

// Set 1 make codes 0x00-0x39, unshifted and shifted.
const char kPlain[] = "\0\x1b" "1234567890-=\b\tqwertyuiop[]\r\0asdfghjkl;'`\0\\zxcvbnm,./\0*\0 ";
const char kShifted[] = "\0\x1b" "!@#$%^&*()_+\b\tQWERTYUIOP{}\r\0ASDFGHJKL:\"~\0|ZXCVBNM<>?\0*\0 ";

bool g_shift = false, g_ctrl = false, g_caps = false, g_extended = false;

// The bytes one scancode stands for (0 to 3 of them).
size_t translate(uint8_t code, char* out) {
    bool release = code & 0x80;
    uint8_t key = code & 0x7f;
    if (code == 0xe0) {
        g_extended = true;
        return 0;
    }
    bool extended = g_extended;
    g_extended = false;
    if (key == 0x2a || key == 0x36) g_shift = !release;
    else if (key == 0x1d) g_ctrl = !release;
    else if (key == 0x3a && !release) g_caps = !g_caps;
    if (release) return 0;
    if (extended) {
        if (key == 0x48 || key == 0x50) {  // up, down: what a terminal sends
            out[0] = 0x1b, out[1] = '[', out[2] = key == 0x48 ? 'A' : 'B';
            return 3;
        }
        if (key == 0x1c) return out[0] = '\r', 1;  // keypad Enter
        return 0;
    }
    if (key >= sizeof kPlain - 1) return 0;
    char c = (g_shift ? kShifted : kPlain)[key];
    if (!c) return 0;
    if (g_caps && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    else if (g_caps && c >= 'A' && c <= 'Z' && g_shift) c = static_cast<char>(c - 'A' + 'a');
    if (g_ctrl && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) c = static_cast<char>((c & 0x1f));
    if (c == '\b') c = 0x7f;
    out[0] = c;
    return 1;
}

Handle g_console = kNoHandle;

void on_interrupt(uint64_t) {
    proto::console::Input::Request q{};
    for (int guard = 0; guard < 64 && (in8(kStatus) & 0x01); ++guard) {
        bool mouse = in8(kStatus) & 0x20;
        uint8_t code = in8(kData);
        if (!mouse && q.size + 3 <= sizeof q.data) q.size += static_cast<uint32_t>(translate(code, q.data + q.size));
    }
    sys::irq_ack(startup_handle(kSlotIrq));
    if (!q.size) return;
    if (g_console == kNoHandle) g_console = files::scheme_endpoint("console");
    proto::console::Input::Reply r;
    if (g_console != kNoHandle) rpc::call<proto::console::Input>(g_console, q, &r, rpc::Extras{.timeout_ns = 100'000'000});
}

}  // namespace

int main() {
    const Handle endpoint = service_endpoint("ps2kbd");
    // Empty the controller's buffer, then make sure the keyboard's interrupt
    // and the translation to set 1 are on (the firmware normally leaves them so).
    for (int i = 0; i < 32 && (in8(kStatus) & 0x01); ++i) in8(kData);
    out8(kCommand, 0x20);  // read the configuration byte
    for (int i = 0; i < 100000 && !(in8(kStatus) & 0x01); ++i) {
    }
    uint8_t config = in8(kData);
    out8(kCommand, 0x60);  // write it back with IRQ 1 and translation on
    for (int i = 0; i < 100000 && (in8(kStatus) & 0x02); ++i) {
    }
    out8(kData, static_cast<uint8_t>(config | 0x01 | 0x40));
    logf("ps2kbd: keyboard ready (controller configuration %#x)", config);
    rpc::Server server(endpoint);
    server.on_notification(on_interrupt);
    server.run();
}
