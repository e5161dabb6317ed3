#include "mica/rpc.h"

#include "string.h"

namespace mica::rpc {

bool detail::g_corrupt_next_reply = false;
uint32_t detail::g_crash_after = 0;

void crash_point() {
    if (detail::g_crash_after && --detail::g_crash_after == 0) asm volatile("movl $1, 0x8" ::: "memory");
}

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
    if (!reply_shape_ok(status, b.recv_size, min_reply_size, reply_size)) return kErrProtocol;
    if (extras.received_handle) *extras.received_handle = b.recv_handle_count ? b.recv_handles[0] : kNoHandle;
    else if (b.recv_handle_count) sys::handle_close(b.recv_handles[0]);
    return status;
}

int64_t call_words(Handle endpoint, uint64_t label, const void* request, uint32_t request_size, bool idempotent) {
    uint64_t words[3] = {};
    memcpy(words, request, request_size);
    int64_t e = kErrProtocol;
    for (int i = 0; i < kRetries; ++i) {
        Message m{label, words[0], words[1], words[2]};
        e = sys::ipc_call(endpoint, m);
        if (e == kErrOutOfRange) e = kErrProtocol;  // an answer with data: not this operation's shape
        else if (e >= 0) e = static_cast<int64_t>(m.label);
        if (!idempotent || (e != kErrPeerClosed && e != kErrProtocol)) break;
    }
    return e;
}

HandleResult Call::defer() {
    if (kept_reply != kNoHandle) {  // a postponed request: its reply is saved already
        deferred = true;
        Handle h = kept_reply;
        kept_reply = kNoHandle;
        return HandleResult(h);
    }
    auto saved = sys::ipc_reply_save();
    deferred = saved.ok();
    return saved;
}

void Dispatcher::add(uint64_t label, uint32_t min_request, uint32_t request_size, uint32_t min_reply,
                     uint32_t reply_size, Erased handler, Invoke invoke, bool registers) {
    if (count_ == capacity_) {
        print("rpc: more operations than the server's table holds (%d): give Server a larger size\n", capacity_);
        exit(2);
    }
    uint8_t& slot = lookup_[label % kLookup];
    if ((slot && entries_[slot - 1].label != label) || count_ >= 255) shared_ = true;
    if (count_ < 255) slot = static_cast<uint8_t>(count_ + 1);
    entries_[count_++] = Entry{label, min_request, request_size, min_reply, reply_size, handler, invoke, registers};
}

const Dispatcher::Entry* Dispatcher::find(uint64_t label) const {
    uint8_t i = lookup_[label % kLookup];
    if (i && entries_[i - 1].label == label) return &entries_[i - 1];
    if (!shared_) return nullptr;  // no two labels share their low bits: not there
    for (int j = count_ - 1; j >= 0; --j)  // the last one added wins
        if (entries_[j].label == label) return &entries_[j];
    return nullptr;
}

int64_t Dispatcher::dispatch(const Entry* e, const uint8_t* request, uint32_t size, Call& call, uint8_t* reply,
                             uint32_t* reply_size) {
    if (!e) return kErrUnsupported;  // an operation this server does not have
    if (size < e->min_request || size > e->request_size) return kErrInvalidArgument;
    // A variable tail (up to 32 KiB) is not cleared for every message: a
    // handler checks what a request carried against Call::request_size, and
    // a reply sends only the part its handler filled (Call::reply_size; the
    // fixed part alone if it said nothing), so no stale bytes of an earlier
    // message can leave. The fixed part of a reply starts as zeros.
    bool variable = e->min_reply < e->reply_size;
    memset(reply, 0, variable ? e->min_reply : e->reply_size);
    call.request_size = size;
    int64_t status = e->invoke(e->handler, request, reply, call);
    *reply_size = variable ? e->min_reply : e->reply_size;
    if (call.reply_size >= e->min_reply && call.reply_size <= e->reply_size) *reply_size = call.reply_size;
    return status;
}

void Dispatcher::keep(uint64_t label, const uint8_t* request, Call& call) {
    uint32_t mine = 0;
    Postponed* slot = nullptr;
    for (Postponed& p : postponed_) {
        if (!p.data && !slot) slot = &p;
        mine += p.data && p.badge == call.badge;
    }
    auto* copy = slot && mine < kMaxPostponedPerClient ? static_cast<uint8_t*>(malloc(call.request_size)) : nullptr;
    HandleResult saved = copy ? sys::ipc_reply_save() : HandleResult(kErrLimit);
    if (!saved.ok()) {
        free(copy);
        // Still the server's to answer now: no room to keep it.
        sys::ipc_reply(Message{static_cast<uint64_t>(kErrLimit), 0, 0, 0});
        return;
    }
    memcpy(copy, request, call.request_size);
    *slot = Postponed{label, call.badge, call.request_size, copy, saved.value(), call.take_handle()};
}

bool Dispatcher::serve_postponed(uint8_t* reply) {
    bool started = false;
    for (Postponed& p : postponed_) {
        if (!p.data) continue;
        Postponed kept = p;
        p = Postponed{};
        Call call;
        call.badge = kept.badge;
        call.received_handle = kept.handle;
        call.kept_reply = kept.saved;  // what defer() gives (this thread holds another call now)
        uint32_t reply_size = 0;
        int64_t status = dispatch(find(kept.label), kept.data, kept.size, call, reply, &reply_size);
        started |= call.background;
        if (call.quiet && quiet_) quiet_due_ = true;
        if (call.postponed && !call.deferred) {  // not yet: it waits again, in its place
            p = kept;
            p.handle = call.received_handle;
            continue;
        }
        if (call.received_handle != kNoHandle) sys::handle_close(call.received_handle);
        free(kept.data);
        if (call.deferred) continue;  // the handler took the saved reply
        IpcBuffer b;
        b.send_data = call.reply_data ? call.reply_data : reply, b.send_size = status >= 0 ? reply_size : 0;
        if (call.reply_handle != kNoHandle) {
            b.send_handle_count = 1;
            b.send_handles[0] = call.reply_handle;
            b.send_rights[0] = kRightsSame;
        }
        sys::ipc_reply_to(kept.saved, Message{static_cast<uint64_t>(status), 0, 0, 0}, &b);
    }
    return started;
}

namespace {
uint64_t cycle_counter() {
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return uint64_t{hi} << 32 | lo;
}
}  // namespace

void Dispatcher::run() {
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
    Message m;
    uint64_t badge = 0;
    bool have_reply = false, busy = false;
    // Kept from one message to the next (the kernel fills in the received
    // part): a request costs no copy of the whole buffer.
    IpcBuffer exchange;
    exchange.recv_data = g_request, exchange.recv_capacity = request_capacity;
    uint32_t reply_bytes = 0;
    Handle reply_handle = kNoHandle;
    const void* reply_from = g_reply;  // the answer's bytes: the reply buffer, or a handler's (Call::reply_data)
    // The answer now, on its own (ipc_reply), when work must run before the
    // next receive: a handler's bytes need not outlive that work.
    auto answer_now = [&] {
        IpcBuffer b;
        b.send_data = reply_from, b.send_size = reply_bytes;
        b.send_handle_count = reply_handle != kNoHandle;
        b.send_handles[0] = reply_handle;
        b.send_rights[0] = kRightsSame;
        sys::ipc_reply(m, &b);
        have_reply = false;
        reply_from = g_reply;
    };
    // The periodic work's clock is the cycle counter, read without a system
    // call (one per request would cost as much as a short request itself).
    // Without the counter's rate, the kernel's clock.
    SystemInfo system{};
    uint64_t per_period = 0;  // counter ticks in period_ns_
    if (period_ns_ && sys::system_info(&system) == kOk && system.tsc_hz)
        per_period = period_ns_ / 1000 * (system.tsc_hz / 1'000'000);
    auto now = [&] { return per_period ? cycle_counter() : static_cast<uint64_t>(sys::clock_monotonic()); };
    uint64_t period = per_period ? per_period : period_ns_;
    uint64_t next_idle = period_ns_ ? now() + period : 0;
    // One step of background work; when it is done, what waited for it is served.
    auto step = [&] {
        busy = background_ && background_();
        if (!busy) busy = serve_postponed(g_reply) && background_;
    };
    for (;;) {
        // Periodic work runs on time even when messages never stop coming.
        if (idle_ && next_idle && now() >= next_idle) {
            if (have_reply && reply_from != g_reply) answer_now();
            next_idle += period;
            idle_();
        }
        exchange.timeout_ns = busy || quiet_due_ ? 0 : period_ns_ ? period_ns_ : kWaitForever;
        exchange.send_data = reply_from;
        exchange.send_size = have_reply ? reply_bytes : 0;
        exchange.send_handle_count = have_reply && reply_handle != kNoHandle;
        exchange.send_handles[0] = reply_handle;
        exchange.send_rights[0] = kRightsSame;
        int64_t r = have_reply ? sys::ipc_reply_recv(endpoint_, m, &exchange, &badge)
                               : sys::ipc_recv(endpoint_, m, &exchange, &badge);
        if (have_reply && (r == kErrInvalidArgument || r == kErrBadAddress)) {
            // Refused before the answer went (only a handler's bad bytes
            // would do that): the caller is not left waiting.
            sys::ipc_reply(Message{static_cast<uint64_t>(kErrIo), 0, 0, 0});
        }
        have_reply = false;
        reply_from = g_reply;
        if (r == kIpcNotified) {
            if (notified_) notified_(m.w0);
            continue;
        }
        if (r == kErrWouldBlock && quiet_due_) {  // nobody waiting: what the last requests left
            quiet_due_ = false;
            quiet_();
        } else if (r == kErrWouldBlock && busy) {
            step();  // nobody waiting: a step of the long work
        }
        if (r != kOk) continue;  // (a timeout: the idle work runs at the top)
        // Handles that came with the message belong to the handler's Call.
        Call call;
        call.badge = badge;
        if (exchange.recv_handle_count) call.received_handle = exchange.recv_handles[0];
        for (uint32_t i = 1; i < exchange.recv_handle_count; ++i) sys::handle_close(exchange.recv_handles[i]);

        int64_t status = kErrInvalidArgument;
        uint32_t reply_size = 0;
        Message answer{static_cast<uint64_t>(kErrInvalidArgument), 0, 0, 0};
        bool whole_answer = false;  // on_other's: every word of it
        bool supervisor = badge == kSupervisorBadge;  // init's requests (one test for everyone else's)
        if (supervisor && m.label == kPingLabel) {
            status = kOk;
        } else if (supervisor && m.label == kCrashLabel) {
            // Answered first, so that the supervisor is free to take the
            // fault message at once (it is the fault handler).
            sys::ipc_reply(Message{kOk, 0, 0, 0});
            asm volatile("movl $1, 0x8" ::: "memory");  // a real fault, as asked
        } else if (supervisor && m.label == kHangLabel) {
            sys::ipc_reply(Message{kOk, 0, 0, 0});
            for (;;) {
            }  // never answer again, as asked
        } else if (supervisor && m.label == kCorruptRegisterLabel) {
            sys::ipc_reply(Message{kOk, 0, 0, 0});
            // A flipped bit in the stack pointer: the next push faults.
            asm volatile("xor $0x40000000, %%rsp; push %%rax" ::: "memory");
        } else if (supervisor && m.label == kCorruptReplyLabel) {
            detail::g_corrupt_next_reply = true;
            status = kOk;
        } else if (supervisor && m.label == kCrashAfterLabel && exchange.recv_size >= 4) {
            memcpy(&detail::g_crash_after, g_request, 4);
            status = kOk;
        } else {
            const Entry* known = find(m.label);
            uint32_t size = exchange.recv_size;
            if (known && known->registers && size == 0) {  // the request in the message's words
                uint64_t words[3] = {m.w0, m.w1, m.w2};
                memcpy(g_request, words, known->request_size);
                size = known->request_size;
            }
            if (known) status = dispatch(known, g_request, size, call, g_reply, &reply_size);
            else if (other_) {
                whole_answer = true;
                if (!other_(m, badge, answer)) call.deferred = true;
            }
        }
        if (call.background) busy = background_ != nullptr;
        if (call.quiet && quiet_) quiet_due_ = true;
        if (call.postponed && !call.deferred) keep(m.label, g_request, call);
        // A handle that came with the request and that the handler did not
        // take (Call::take_handle) is closed, whatever the outcome: a server
        // never keeps what a client chose to send it.
        if (call.received_handle != kNoHandle) sys::handle_close(call.received_handle);
        if (!call.deferred && !call.postponed) {
            reply_bytes = status >= 0 ? reply_size : 0;
            reply_from = call.reply_data && reply_bytes ? call.reply_data : g_reply;
            if (detail::g_corrupt_next_reply && m.label != kCorruptReplyLabel) {
                // As asked: a "success" with three bytes of noise, a shape no
                // operation declares.
                detail::g_corrupt_next_reply = false;
                status = static_cast<int64_t>(sys::clock_monotonic() & 0x7fff'ffff);
                reply_bytes = 3;
                reply_from = g_reply;
            }
            reply_handle = call.reply_handle;
            m = Message{static_cast<uint64_t>(status), 0, 0, 0};
            if (whole_answer) m = answer, reply_bytes = 0;
            have_reply = true;
        }
        if (busy) {  // a flood of requests does not starve the long work
            // Answered first: the step may change a handler's bytes, and
            // serves what it postponed into the reply buffer.
            if (have_reply) answer_now();
            step();
        }
    }
}

}  // namespace mica::rpc
