#include "mica/rpc.h"

#include "string.h"

namespace mica::rpc {

bool detail::g_corrupt_next_reply = false;

namespace {
// The largest message IPC carries; a server's buffers are sized by the
// largest operation it declares.
constexpr uint32_t kMaxPayload = 65536;
}  // namespace

int64_t call_raw(Handle endpoint, uint64_t label, const void* request, uint32_t request_size,
                 void* reply, uint32_t reply_size, const Extras& extras) {
    return call_sized(endpoint, label, request, request_size, reply, reply_size, reply_size, extras);
}

int64_t call_sized(Handle endpoint, uint64_t label, const void* request, uint32_t request_size, void* reply,
                   uint32_t min_reply_size, uint32_t reply_size, const Extras& extras) {
    IpcBuffer b;
    b.send_data = request, b.send_size = request_size;
    b.recv_data = reply, b.recv_capacity = reply_size;
    b.timeout_ns = extras.timeout_ns;
    if (extras.send_handle != kNoHandle) {
        b.send_handle_count = 1;
        b.send_handles[0] = extras.send_handle;
        b.send_rights[0] = extras.send_rights;
    }
    Message m{label, 0, 0, 0};
    int64_t e = sys::ipc_call(endpoint, m, &b);
    if (e < 0) return e;
    auto status = static_cast<int64_t>(m.label);
    if (status >= 0 && (b.recv_size < min_reply_size || b.recv_size > reply_size))
        return kErrProtocol;  // not what the protocol declares
    if (extras.received_handle) *extras.received_handle = b.recv_handle_count ? b.recv_handles[0] : kNoHandle;
    else if (b.recv_handle_count) sys::handle_close(b.recv_handles[0]);
    return status;
}

HandleResult Call::defer() {
    auto saved = sys::ipc_reply_save();
    deferred = saved.ok();
    return saved;
}

void Server::add(uint64_t label, uint32_t min_request, uint32_t request_size, uint32_t min_reply,
                 uint32_t reply_size, Erased handler, Invoke invoke) {
    constexpr int kMax = sizeof entries_ / sizeof entries_[0];
    if (count_ < kMax && request_size <= kMaxPayload && reply_size <= kMaxPayload)
        entries_[count_++] = Entry{label, min_request, request_size, min_reply, reply_size, handler, invoke};
}

void Server::run() {
    // One request and one reply buffer, as large as the largest operation
    // (and never smaller than a page, for unknown messages' sake).
    uint32_t request_capacity = 4096, reply_capacity = 4096;
    for (int i = 0; i < count_; ++i) {
        if (entries_[i].request_size > request_capacity) request_capacity = entries_[i].request_size;
        if (entries_[i].reply_size > reply_capacity) reply_capacity = entries_[i].reply_size;
    }
    auto* g_request = static_cast<uint8_t*>(malloc(request_capacity));
    auto* g_reply = static_cast<uint8_t*>(malloc(reply_capacity));
    if (!g_request || !g_reply) {
        print("rpc: no memory for the server's buffers\n");
        exit(1);
    }
    IpcBuffer in;
    in.recv_data = g_request, in.recv_capacity = request_capacity;
    in.timeout_ns = period_ns_ ? period_ns_ : kWaitForever;
    Message m;
    uint64_t badge = 0;
    bool have_reply = false;
    IpcBuffer out;
    uint64_t next_idle = period_ns_ ? static_cast<uint64_t>(sys::clock_monotonic()) + period_ns_ : 0;
    for (;;) {
        // Periodic work runs on time even when messages never stop coming.
        if (idle_ && next_idle && static_cast<uint64_t>(sys::clock_monotonic()) >= next_idle) {
            next_idle += period_ns_;
            idle_();
        }
        IpcBuffer exchange = in;
        if (have_reply) {
            exchange.send_data = out.send_data, exchange.send_size = out.send_size;
            exchange.send_handle_count = out.send_handle_count;
            exchange.send_handles[0] = out.send_handles[0];
            exchange.send_rights[0] = kRightsSame;
        }
        int64_t r = have_reply ? sys::ipc_reply_recv(endpoint_, m, &exchange, &badge)
                               : sys::ipc_recv(endpoint_, m, &exchange, &badge);
        have_reply = false;
        if (r == kIpcNotified) {
            if (notified_) notified_(m.w0);
            continue;
        }
        if (r == kErrTimedOut) continue;  // the idle work runs at the top
        if (r != kOk) continue;
        // Handles that came with the message belong to the handler's Call.
        Call call;
        call.badge = badge;
        if (exchange.recv_handle_count) call.received_handle = exchange.recv_handles[0];
        for (uint32_t i = 1; i < exchange.recv_handle_count; ++i) sys::handle_close(exchange.recv_handles[i]);

        int64_t status = kErrInvalidArgument;
        uint32_t reply_size = 0;
        if (m.label == kPingLabel && badge == kSupervisorBadge) {
            status = kOk;
        } else if (m.label == kCrashLabel && badge == kSupervisorBadge) {
            asm volatile("movl $1, 0x8" ::: "memory");  // a real fault, as asked
        } else if (m.label == kHangLabel && badge == kSupervisorBadge) {
            for (;;) {
            }  // never answer again, as asked
        } else if (m.label == kCorruptRegisterLabel && badge == kSupervisorBadge) {
            // A flipped bit in the stack pointer: the next push faults.
            asm volatile("xor $0x40000000, %%rsp; push %%rax" ::: "memory");
        } else if (m.label == kCorruptReplyLabel && badge == kSupervisorBadge) {
            detail::g_corrupt_next_reply = true;
            status = kOk;
        } else {
            const Entry* e = nullptr;
            for (int i = 0; i < count_; ++i)
                if (entries_[i].label == m.label) e = &entries_[i];
            if (e && exchange.recv_size >= e->min_request && exchange.recv_size <= e->request_size) {
                // A variable tail (up to 32 KiB) is not cleared for every
                // message: a handler checks what a request carried against
                // Call::request_size, and a reply sends only the part its
                // handler filled (Call::reply_size; the fixed part alone if
                // it said nothing), so no stale bytes of an earlier message
                // can leave. The fixed part of a reply starts as zeros.
                bool variable = e->min_reply < e->reply_size;
                memset(g_reply, 0, variable ? e->min_reply : e->reply_size);
                call.request_size = exchange.recv_size;
                status = e->invoke(e->handler, g_request, g_reply, call);
                reply_size = variable ? e->min_reply : e->reply_size;
                if (call.reply_size >= e->min_reply && call.reply_size <= e->reply_size) reply_size = call.reply_size;
            } else if (!e && other_) {
                status = static_cast<int64_t>(other_(m, badge));
            }
        }
        // A handle that came with the request and that the handler did not
        // take (Call::take_handle) is closed, whatever the outcome: a server
        // never keeps what a client chose to send it.
        if (call.received_handle != kNoHandle) sys::handle_close(call.received_handle);
        if (call.deferred) continue;
        out = IpcBuffer{};
        out.send_data = g_reply;
        out.send_size = status >= 0 ? reply_size : 0;
        if (detail::g_corrupt_next_reply && m.label != kCorruptReplyLabel) {
            // As asked: a "success" with three bytes of noise, a shape no
            // operation declares.
            detail::g_corrupt_next_reply = false;
            status = static_cast<int64_t>(sys::clock_monotonic() & 0x7fff'ffff);
            out.send_size = 3;
        }
        if (call.reply_handle != kNoHandle) {
            out.send_handle_count = 1;
            out.send_handles[0] = call.reply_handle;
        }
        m = Message{static_cast<uint64_t>(status), 0, 0, 0};
        have_reply = true;
    }
}

}  // namespace mica::rpc
