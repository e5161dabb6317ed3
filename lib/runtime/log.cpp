#include "mica/log.h"

#include "format.h"
#include "mica/rpc.h"
#include "proto/log.h"

namespace mica {

void logf(const char* fmt, ...) {
    proto::log::Append::Request q{};
    va_list args;
    va_start(args, fmt);
    size_t n = vformat_to(q.text, sizeof q.text, fmt, args);
    va_end(args);
    Handle log = startup_handle(kSlotLog);
    proto::log::Append::Reply r;
    if (log == kNoHandle ||
        rpc::call<proto::log::Append>(log, q, &r, rpc::Extras{.timeout_ns = 100'000'000}) < 0) {
        if (n > sizeof q.text - 1) n = sizeof q.text - 1;
        sys::debug_write(q.text, n);
        sys::debug_write("\n", 1);
    }
}

}  // namespace mica
