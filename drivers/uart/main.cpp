// The console: a 16550 UART driver in user space, serving `console:`. Input
// is interrupt-driven (IRQ 4 arrives as our endpoint's bound notification);
// the line discipline — echo, erase, history on the arrow keys, Ctrl-C,
// Ctrl-D, lines of up to 4,095 bytes of UTF-8 — is here, not in the kernel.
// A reader that asks for a line before one is typed is answered later (its
// call is kept as a saved reply). While a program runs in the foreground,
// Ctrl-C signals the notification the shell registered (Interrupt).
//
// Keys from the PS/2 keyboard arrive as Input messages and join the same
// line discipline; what is written goes to the screen (screen:) as well,
// when there is one, for a person at QEMU's display (./mica run --gui).
//
// Startup slots: kSlotEndpoint (receive; its notification is the IRQ);
// kSlotIrq, the interrupt line (to acknowledge). Ports 0x3f8-0x3ff are ours.
#include "mica/files.h"
#include "mica/ports.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "proto/console.h"

using namespace mica;

namespace {

constexpr uint16_t kBase = 0x3f8;
enum : uint16_t { kData = 0, kIer = 1, kMcr = 4, kLsr = 5 };

using ports::in8;
using ports::out8;

Handle g_irq;

void put(char c) {
    while (!(in8(kBase + kLsr) & 0x20)) {
    }  // the transmitter takes a byte at a time; QEMU's is ready at once
    out8(kBase + kData, static_cast<uint8_t>(c));
}

// The screen's endpoint, looked up on first use (kNoHandle: none).
Handle screen() {
    static bool looked = false;
    static Handle h = kNoHandle;
    if (!looked) looked = true, h = files::scheme_endpoint("screen");
    return h;
}

void write(const char* s, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        if (s[i] == '\n') put('\r');
        put(s[i]);
    }
    if (Handle h = screen(); h != kNoHandle) {
        // A screen that does not answer quickly is skipped, never waited for.
        static proto::console::Write::Request q;
        proto::console::Write::Reply r;
        for (size_t done = 0; done < n;) {
            size_t chunk = n - done < sizeof q.data ? n - done : sizeof q.data;
            q.size = static_cast<uint32_t>(chunk);
            memcpy(q.data, s + done, chunk);
            if (rpc::call<proto::console::Write>(h, q, &r, rpc::Extras{.timeout_ns = 20'000'000}) < 0) break;
            done += chunk;
        }
    }
}

// The line being typed, and the reader waiting for it (a saved reply).
// Input is taken from the UART only while someone reads: what is typed ahead
// waits in the UART and in QEMU (echoed when it is read, after the prompt),
// where a crash of this driver cannot lose it.
struct Line {
    char text[kLineMax];
    uint32_t size;
};
Line g_editing;
bool g_too_long = false;  // more was typed than a line holds: it ends as "too long"
Handle g_reader = kNoHandle;
uint64_t g_reader_badge = 0;  // whose read it is (Cancel)
// A raw read (ReadRaw) instead of a line: the bytes typed so far.
bool g_raw = false, g_raw_echo = false;
uint32_t g_raw_isig = 0;  // the keys that interrupt rather than arrive (as Interrupt's bits)
proto::console::ReadRaw::Reply g_raw_reply;
Handle g_interrupt = kNoHandle;  // signalled on Ctrl-C while a program runs
bool g_after_cr = false;

// A UTF-8 continuation byte (10xxxxxx): part of the character before it.
bool continuation(char c) { return (static_cast<uint8_t>(c) & 0xc0) == 0x80; }

// Characters, not bytes: what erasing on the terminal takes.
uint32_t characters(const char* text, uint32_t size) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < size; ++i) n += !continuation(text[i]);
    return n;
}

// History: the last lines entered, recalled with the up and down arrows.
constexpr int kHistory = 16;
Line g_history[kHistory];
int g_history_count = 0;  // lines ever entered (the ring holds the last kHistory)
int g_recall = 0;         // how far back the up arrow has gone
int g_escape = 0;         // 1 after ESC, 2 after ESC [

void show(const Line& line) {
    for (uint32_t i = characters(g_editing.text, g_editing.size); i > 0; --i) write("\b \b", 3);
    g_editing = line;
    write(g_editing.text, g_editing.size);
}

void recall(int step) {
    int back = g_recall + step;
    if (back < 0 || back > g_history_count || back > kHistory) return;
    g_recall = back;
    show(back == 0 ? Line{} : g_history[(g_history_count - back) % kHistory]);
}

void finish_line(bool eof, bool interrupted) {
    bool too_long = g_too_long && !interrupted;
    if (g_editing.size && !interrupted && !too_long) g_history[g_history_count++ % kHistory] = g_editing;
    g_recall = 0;
    static proto::console::ReadLine::Reply r;
    r.size = too_long ? 0 : g_editing.size;
    r.eof = eof;
    r.interrupted = interrupted;
    r.too_long = too_long;
    r.cancelled = 0;
    memcpy(r.data, g_editing.text, r.size);
    rpc::reply_later<proto::console::ReadLine>(g_reader, kOk, r, proto::console::ReadLine::kMinReply + r.size);
    g_reader = kNoHandle;
    g_editing.size = 0;
    g_too_long = false;
}

// Ctrl-C, Ctrl-Z, Ctrl-\: the foreground program's notification bit (0: none).
uint32_t signal_key(char c) { return c == 0x03 ? 1 : c == 0x1a ? 2 : c == 0x1c ? 4 : 0; }

// Shows the key (^C, ^Z, ^\) and signals the foreground program's notification.
void interrupt(char c) {
    char shown[] = {'^', static_cast<char>(c + '@'), '\n'};
    write(shown, 3);
    if (g_interrupt != kNoHandle) sys::notification_signal(g_interrupt, signal_key(c));
}

void raw_input(char c) {
    if (signal_key(c) & g_raw_isig) {
        if (g_raw_echo) interrupt(c);
        else if (g_interrupt != kNoHandle) sys::notification_signal(g_interrupt, signal_key(c));
        return;
    }
    g_raw_reply.data[g_raw_reply.size++] = c;
    if (g_raw_echo) write(&c, 1);
}

void finish_raw(bool cancelled) {
    g_raw_reply.cancelled = cancelled;
    rpc::reply_later<proto::console::ReadRaw>(g_reader, kOk, g_raw_reply,
                                               proto::console::ReadRaw::kMinReply + g_raw_reply.size);
    g_reader = kNoHandle;
    g_raw = false;
    g_raw_reply.size = 0;
}

void input(char c) {
    if (g_raw) {
        raw_input(c);
        return;
    }
    if (g_escape == 1) {
        g_escape = c == '[' ? 2 : 0;
        return;
    }
    if (g_escape == 2) {
        g_escape = 0;
        if (c == 'A') recall(1);
        if (c == 'B') recall(-1);
        return;  // other sequences (arrows left and right...) are ignored
    }
    if (c == 0x1b) {
        g_escape = 1;
        return;
    }
    if (c == '\n' && g_after_cr) {  // CR LF from a terminal: one Enter
        g_after_cr = false;
        return;
    }
    g_after_cr = c == '\r';
    if (c == '\r' || c == '\n') {
        write("\n", 1);
        finish_line(false, false);
    } else if (c == 0x7f || c == 0x08) {  // erase a character, however many bytes it took
        while (g_editing.size && continuation(g_editing.text[g_editing.size - 1])) --g_editing.size;
        if (g_editing.size) {
            --g_editing.size;
            write("\b \b", 3);
        }
    } else if (c == 0x03 || (signal_key(c) && g_interrupt != kNoHandle)) {
        // Ctrl-C (and, with a program in the foreground, Ctrl-Z and Ctrl-\):
        // the line is dropped and the program signalled.
        g_editing.size = 0;
        finish_line(false, true);
        interrupt(c);
    } else if (c == 0x04) {  // Ctrl-D: end of input on an empty line
        if (g_editing.size == 0) finish_line(true, false);
    } else if (static_cast<uint8_t>(c) >= 0x20) {  // text, UTF-8 included
        if (g_editing.size == sizeof g_editing.text) {
            g_too_long = true;  // not echoed: the terminal shows what the line holds
            return;
        }
        g_editing.text[g_editing.size++] = c;
        write(&c, 1);
    }
}

// Input waiting for a reader: keys from the keyboard, and, while a program
// runs in the foreground (so that Ctrl-C is seen at once), what the UART got.
char g_keys[kLineMax + 1];
uint32_t g_key_head = 0, g_key_tail = 0;

// A byte with no reader waiting: Ctrl-C (Ctrl-Z, Ctrl-\) interrupts the
// foreground program (and drops what was typed ahead, as a terminal does);
// the rest waits.
bool type_ahead(char c) {
    if (signal_key(c) && g_interrupt != kNoHandle) {
        g_key_head = g_key_tail;
        interrupt(c);
        return true;
    }
    if (g_key_tail - g_key_head == sizeof g_keys) return false;
    g_keys[g_key_tail++ % sizeof g_keys] = c;
    return true;
}

// Takes what the UART (and the keyboard) hold while a reader waits (a
// finished line ends the wait), or while Ctrl-C must be seen.
bool taking() { return g_reader != kNoHandle && !(g_raw && g_raw_reply.size == sizeof g_raw_reply.data); }

void drain() {
    while (taking() && g_key_head != g_key_tail) input(g_keys[g_key_head++ % sizeof g_keys]);
    while ((taking() || g_interrupt != kNoHandle) && (in8(kBase + kLsr) & 0x01)) {
        char c = static_cast<char>(in8(kBase + kData));
        if (taking()) input(c);
        else if (!type_ahead(c)) break;
    }
    if (g_raw && g_raw_reply.size) finish_raw(false);  // a raw read takes what there is
}

int64_t keys(const proto::console::Input::Request& q, proto::console::Input::Reply&, rpc::Call&) {
    if (q.size > sizeof q.data) return kErrInvalidArgument;
    if (g_key_tail - g_key_head + q.size > sizeof g_keys) return kErrLimit;  // nobody reads: typed too far ahead
    for (uint32_t i = 0; i < q.size; ++i) type_ahead(q.data[i]);
    drain();
    return kOk;
}

int64_t interrupt_op(const proto::console::Interrupt::Request&, proto::console::Interrupt::Reply&, rpc::Call& c) {
    if (g_interrupt != kNoHandle) sys::handle_close(g_interrupt);
    g_interrupt = c.take_handle();
    drain();
    return kOk;
}

void on_interrupt(uint64_t) {
    drain();
    sys::irq_ack(g_irq);
    drain();  // what came while the line was masked raised no new edge
}

int64_t write_op(const proto::console::Write::Request& q, proto::console::Write::Reply&, rpc::Call&) {
    if (q.size > sizeof q.data) return kErrInvalidArgument;
    write(q.data, q.size);
    return kOk;
}

int64_t read_line(const proto::console::ReadLine::Request&, proto::console::ReadLine::Reply&, rpc::Call& c) {
    if (g_reader != kNoHandle) return kErrBadState;  // one reader at a time
    auto saved = c.defer();
    if (!saved.ok()) return saved.error();
    g_reader = saved.value();
    g_reader_badge = c.badge;
    drain();  // it may be typed already
    return kOk;
}

int64_t read_raw(const proto::console::ReadRaw::Request& q, proto::console::ReadRaw::Reply&, rpc::Call& c) {
    if (g_reader != kNoHandle) return kErrBadState;  // one reader at a time
    auto saved = c.defer();
    if (!saved.ok()) return saved.error();
    g_reader = saved.value();
    g_reader_badge = c.badge;
    g_raw = true, g_raw_echo = q.echo, g_raw_isig = q.isig;
    g_raw_reply.size = 0;
    drain();  // it may be typed already
    return kOk;
}

int64_t cancel(const proto::console::Cancel::Request&, proto::console::Cancel::Reply&, rpc::Call& c) {
    if (g_reader == kNoHandle || g_reader_badge != c.badge) return kOk;  // not the caller's to cancel
    if (g_raw) {
        finish_raw(true);
        return kOk;
    }
    static proto::console::ReadLine::Reply r;
    r = {};
    r.cancelled = 1;
    rpc::reply_later<proto::console::ReadLine>(g_reader, kOk, r, proto::console::ReadLine::kMinReply);
    g_reader = kNoHandle;  // the line being typed stays for the next reader
    return kOk;
}

}  // namespace

int main() {
    const Handle endpoint = service_endpoint("uart");
    g_irq = startup_handle(kSlotIrq);
    // The FIFOs stay off: switching them on empties them, losing what was
    // typed ahead; a byte at a time, each with its interrupt, is plenty for
    // a console.
    out8(kBase + kMcr, 0x0b);  // DTR, RTS, OUT2 (lets the UART's interrupt out)
    out8(kBase + kIer, 0x01);  // interrupt when a byte arrives
    rpc::Server server(endpoint);
    server.on<proto::console::Write>(write_op);
    server.on<proto::console::ReadLine>(read_line);
    server.on<proto::console::Input>(keys);
    server.on<proto::console::Interrupt>(interrupt_op);
    server.on<proto::console::Cancel>(cancel);
    server.on<proto::console::ReadRaw>(read_raw);
    server.on_notification(on_interrupt);
    server.run();
}
