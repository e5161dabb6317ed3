// Init's log lines: to the kernel's console always, and to the log server
// once it runs (so `dmesg` shows them too).
#include "format.h"
#include "mica/strings.h"
#include "proto/log.h"
#include "service.h"

namespace init {

namespace {

// Lines said while a restart is under way (RestartLog) reach the log server
// once it is over: init's call to the log server is answered through the
// run queue, behind whatever other service is ready at their priority
// (round robin, up to a 20 ms slice: the console and the screen drawing a
// shell's output, say), and a restart should not wait for that. The
// console has them at once; dmesg a moment later, in order.
struct HeldLines {
    proto::log::Append::Request lines[8];
    uint32_t count = 0;
    uint32_t depth = 0;  // RestartLogs open
} g_held;

void send(const proto::log::Append::Request& q) {
    if (!g_system.log || !g_system.log->run.running) return;
    proto::log::Append::Reply r;
    mica::rpc::call<proto::log::Append>(g_system.log->held.supervise, q, &r,
                                        mica::rpc::Extras{.timeout_ns = 100'000'000});
}

void send_held() {
    for (uint32_t i = 0; i < g_held.count; ++i) send(g_held.lines[i]);
    g_held.count = 0;
}

}  // namespace

RestartLog::RestartLog() { ++g_held.depth; }

RestartLog::~RestartLog() {
    if (--g_held.depth == 0) send_held();
}

void logf(const char* fmt, ...) {
    static proto::log::Append::Request q;
    va_list args;
    va_start(args, fmt);
    size_t n = vformat_to(q.text, sizeof q.text - 1, fmt, args);
    va_end(args);
    if (n > sizeof q.text - 2) n = sizeof q.text - 2;
    mica::sys::debug_write(q.text, n);
    mica::sys::debug_write("\n", 1);
    if (!g_held.depth) return send(q);
    if (g_held.count == sizeof g_held.lines / sizeof g_held.lines[0]) send_held();  // full: the oldest first
    mica::copy_string(g_held.lines[g_held.count++].text, sizeof q.text, q.text);
}

}  // namespace init
