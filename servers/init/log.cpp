// Init's log lines: to the kernel's console always, and to the log server
// once it runs (so `dmesg` shows them too).
#include "format.h"
#include "proto/log.h"
#include "service.h"

namespace init {

void logf(const char* fmt, ...) {
    static proto::log::Append::Request q;
    va_list args;
    va_start(args, fmt);
    size_t n = vformat_to(q.text, sizeof q.text - 1, fmt, args);
    va_end(args);
    if (n > sizeof q.text - 2) n = sizeof q.text - 2;
    mica::sys::debug_write(q.text, n);
    mica::sys::debug_write("\n", 1);
    if (g_system.log && g_system.log->run.running) {
        proto::log::Append::Reply r;
        mica::rpc::call<proto::log::Append>(g_system.log->held.supervise, q, &r,
                                            mica::rpc::Extras{.timeout_ns = 100'000'000});
    }
}

}  // namespace init
