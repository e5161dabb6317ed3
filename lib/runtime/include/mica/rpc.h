// Typed protocols over IPC. An operation is declared once, as a struct both
// client and server include:
//
//   struct Read {
//       static constexpr uint64_t kLabel = 0x11;
//       struct Request { char path[256]; uint64_t offset; uint32_t length; };
//       struct Reply { uint32_t size; char data[4096]; };
//   };
//
// rpc::call<Read>(endpoint, request, &reply) sends the request as the message
// data and returns the status the server gave (>= 0) or an error. An
// operation that declares `static constexpr bool kIdempotent = true` is made
// again when it meets a restarting server (kErrPeerClosed): the endpoint
// outlives the server's incarnations, so the retry reaches the new one and
// the restart stays invisible to the caller. A reply that does not have the
// declared shape is kErrProtocol, and also made again if idempotent. A server is
// an rpc::Server with a handler per operation, and its main loop is run().
// The server checks every message against the declaration (known label,
// exact size) and answers kErrInvalidArgument to anything else.
//
// Bulk data rides in a variable tail: an operation that declares
// `kMinRequest` (or `kMinReply`) accepts a request (reply) of any size from
// that many bytes up to the full struct, so a 4 KiB read does not copy a
// 32 KiB buffer. The sender says how much it sends (the `request_size`
// argument of call, `Call::reply_size` in a handler); the receiver sees the
// size in Call::request_size (server) or the reply's own count fields. A
// handler must check a request's lengths against Call::request_size (the
// tail past it is not cleared) and set Call::reply_size for a variable
// reply (else only its fixed part is sent).
//
// An operation whose request fits the message's three words and whose
// reply carries no data (`static constexpr bool kInRegisters = true`, with
// `kMinReply = 0`) goes in registers, with no IpcBuffer: the kernel's fast
// path both ways. The server takes such a request from the words when it
// brings no data (one that brings its bytes as data is served as ever).
#pragma once

#include "mica/runtime.h"
#include "mica/startup.h"

namespace mica::rpc {

// Labels every server understands, from its supervisor only (the badge
// init keeps for itself): a liveness check, and a deliberate crash or hang
// for the restart tests.
constexpr uint64_t kPingLabel = 0x7000'0001;
constexpr uint64_t kCrashLabel = 0x7000'0002;
constexpr uint64_t kHangLabel = 0x7000'0003;  // stop answering (the liveness test)
constexpr uint64_t kCorruptRegisterLabel = 0x7000'0004;  // garble the stack pointer (it faults)
constexpr uint64_t kCorruptReplyLabel = 0x7000'0005;     // answer the next request with garbage
// Fault right after the Nth device write or flush from now (a uint32_t N in
// the request): an instant in the middle of an operation (crash_point).
constexpr uint64_t kCrashAfterLabel = 0x7000'0006;

// A server that writes to a device calls this after each write or flush it
// completed (the file server, the disk driver): it faults there when a
// kCrashAfterLabel request said so.
void crash_point();

// Extra parts of a call: one handle out, one handle back, a time limit.
struct Extras {
    Handle send_handle = kNoHandle;
    uint32_t send_rights = kRightsSame;
    Handle* received_handle = nullptr;
    uint64_t timeout_ns = kWaitForever;
};

int64_t call_raw(Handle endpoint, uint64_t label, const void* request, uint32_t request_size,
                 void* reply, uint32_t reply_size, const Extras& extras);

template <class Op>
constexpr uint32_t min_request() {
    if constexpr (requires { Op::kMinRequest; }) return Op::kMinRequest;
    else return sizeof(typename Op::Request);
}

template <class Op>
constexpr uint32_t min_reply() {
    if constexpr (requires { Op::kMinReply; }) return Op::kMinReply;
    else return sizeof(typename Op::Reply);
}

// Whether a reply has the shape the caller's protocol declares: a success
// (status >= 0) must carry from min_reply_size to reply_size bytes; an
// error carries nothing to check. call_sized answers kErrProtocol otherwise.
constexpr bool reply_shape_ok(int64_t status, uint32_t size, uint32_t min_reply_size, uint32_t reply_size) {
    return status < 0 || (size >= min_reply_size && size <= reply_size);
}

int64_t call_sized(Handle endpoint, uint64_t label, const void* request, uint32_t request_size, void* reply,
                   uint32_t min_reply_size, uint32_t reply_size, const Extras& extras);

template <class Op>
constexpr bool idempotent() {
    if constexpr (requires { Op::kIdempotent; }) return Op::kIdempotent;
    else return false;
}

constexpr int kRetries = 5;

template <class Op>
constexpr bool in_registers() {
    if constexpr (requires { Op::kInRegisters; }) {
        static_assert(sizeof(typename Op::Request) <= 3 * sizeof(uint64_t) && min_reply<Op>() == 0,
                      "an operation in registers: a request of at most three words, a reply of no data");
        return Op::kInRegisters;
    } else {
        return false;
    }
}

// A call with the request in the message's words and no IpcBuffer; a reply
// with data (it does not fit: the kernel says kErrOutOfRange) is kErrProtocol.
int64_t call_words(Handle endpoint, uint64_t label, const void* request, uint32_t request_size, bool idempotent);

template <class Op>
int64_t call(Handle endpoint, const typename Op::Request& request, typename Op::Reply* reply,
             const Extras& extras = {}, uint32_t request_size = sizeof(typename Op::Request)) {
    int64_t e;
    if constexpr (in_registers<Op>()) {
        if (extras.send_handle == kNoHandle && !extras.received_handle && extras.timeout_ns == kWaitForever &&
            request_size == sizeof request) {
            e = call_words(endpoint, Op::kLabel, &request, request_size, idempotent<Op>());
            if (e >= 0) *reply = {};
            return e;
        }
    }
    for (int i = 0; i < kRetries; ++i) {
        e = call_sized(endpoint, Op::kLabel, &request, request_size, reply, min_reply<Op>(), sizeof *reply, extras);
        if (!idempotent<Op>() || (e != kErrPeerClosed && e != kErrProtocol)) break;
    }
    return e;
}

// What a handler learns about the call it serves, and can do with it.
struct Call {
    uint64_t badge = 0;
    uint32_t request_size = 0;           // bytes the request carried
    uint32_t reply_size = 0;             // set to shorten a variable reply
    Handle received_handle = kNoHandle;  // a handle that came with the request (closed after the handler)
    Handle reply_handle = kNoHandle;     // set to send one back with the reply
    // Set (with reply_size) to answer with these bytes rather than the
    // reply's: data the server already holds goes out without a copy into
    // the reply, in the same system call that waits for the next request.
    // They must stay as they are until the server takes its next request
    // (the loop sends them at once instead when it has other work first).
    const void* reply_data = nullptr;
    bool deferred = false;
    bool postponed = false;
    bool background = false;
    bool quiet = false;
    Handle kept_reply = kNoHandle;  // a postponed request's saved reply, for defer()
    // The handler keeps the handle that came with the request (else the
    // server closes it once the handler returns, whatever it returned).
    Handle take_handle() {
        Handle h = received_handle;
        received_handle = kNoHandle;
        return h;
    }
    // Answer later: the call is kept as a saved reply (see reply_later).
    // If it cannot be kept, the call is still the server's to answer now:
    // the handler returns the error, and the caller gets it at once.
    HandleResult defer();
    // Serve this request later, as if it came again once the server's
    // background work is done (Server::on_background): the server keeps a
    // copy of it. At most kMaxPostponed wait at once (kMaxPostponedPerClient
    // from one client); beyond that the client gets kErrLimit.
    int64_t postpone() {
        postponed = true;
        return kOk;
    }
    // The handler started background work: the server runs its step
    // between requests until it is done.
    void start_background() { background = true; }
    // The handler kept its reply (defer) until work that may gather several
    // requests is done: the server runs its quiet work (Server::on_quiet) as
    // soon as no request waits.
    void after_quiet() { quiet = true; }
};

constexpr uint32_t kMaxPostponed = 8, kMaxPostponedPerClient = 4;

namespace detail {
extern bool g_corrupt_next_reply;  // kCorruptReplyLabel: the next answer is garbage
extern uint32_t g_crash_after;     // kCrashAfterLabel: device writes and flushes left, 0: none
}

template <class Op>
int64_t reply_later(Handle saved, int64_t status, const typename Op::Reply& reply,
                    uint32_t size = sizeof(typename Op::Reply)) {
    IpcBuffer b;
    b.send_data = &reply, b.send_size = status >= 0 ? size : 0;
    if (detail::g_corrupt_next_reply) {
        detail::g_corrupt_next_reply = false;
        status = 1, b.send_size = 3;
    }
    return sys::ipc_reply_to(saved, Message{static_cast<uint64_t>(status), 0, 0, 0}, &b);
}

// A server's dispatch loop (Server below holds its table of operations).
class Dispatcher {
public:
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    template <class Op>
    void on(int64_t (*handler)(const typename Op::Request&, typename Op::Reply&, Call&)) {
        static_assert(sizeof(typename Op::Request) <= kMaxMessageBytes && sizeof(typename Op::Reply) <= kMaxMessageBytes,
                      "a message IPC cannot carry");
        add(Op::kLabel, min_request<Op>(), sizeof(typename Op::Request), min_reply<Op>(),
            sizeof(typename Op::Reply), reinterpret_cast<Erased>(handler), invoke<Op>, in_registers<Op>());
    }
    // Called when the bound notification wakes the server.
    void on_notification(void (*handler)(uint64_t bits)) { notified_ = handler; }
    // Called when a receive waits longer than `period_ns` (0: never).
    void on_idle(void (*handler)(), uint64_t period_ns) {
        idle_ = handler;
        period_ns_ = period_ns;
    }
    // Called for messages with labels no operation has (e.g. fault
    // messages), with `reply` set to {kErrInvalidArgument}: the handler
    // fills in the whole answer (no data), or returns false when it has
    // kept the call (ipc_reply_save) to answer later.
    void on_other(bool (*handler)(const Message& m, uint64_t badge, Message& reply)) { other_ = handler; }
    // Long work in bounded steps (each well under the liveness probe's
    // patience): once a handler has started it (Call::start_background),
    // `step` runs whenever no request waits, and after each request served,
    // until it returns false; then postponed requests are served again.
    void on_background(bool (*step)()) { background_ = step; }
    // Work for when no request waits, once a handler asked (Call::after_quiet):
    // what several requests that came together can share (a group commit).
    void on_quiet(void (*work)()) { quiet_ = work; }

    [[noreturn]] void run();

protected:
    // A handler is kept with its type erased, and called back through the
    // function that knows its operation (a cast there and back is exact).
    using Erased = void (*)();
    using Invoke = int64_t (*)(Erased, const void*, void*, Call&);
    struct Entry {
        uint64_t label;
        uint32_t min_request, request_size, min_reply, reply_size;
        Erased handler;
        Invoke invoke;
        bool registers;  // its request may come in the message's words (kInRegisters)
    };
    Dispatcher(Handle endpoint, Entry* table, int capacity) : endpoint_(endpoint), entries_(table), capacity_(capacity) {}

private:
    template <class Op>
    static int64_t invoke(Erased handler, const void* request, void* reply, Call& call) {
        auto typed = reinterpret_cast<int64_t (*)(const typename Op::Request&, typename Op::Reply&, Call&)>(handler);
        return typed(*static_cast<const typename Op::Request*>(request), *static_cast<typename Op::Reply*>(reply), call);
    }
    void add(uint64_t label, uint32_t min_request, uint32_t request_size, uint32_t min_reply, uint32_t reply_size,
             Erased handler, Invoke invoke, bool registers);
    // The operation of `label` (the last added, if twice), or null.
    const Entry* find(uint64_t label) const;
    // Runs e's handler on `request` (kErrUnsupported without one); the reply's size in *reply_size.
    int64_t dispatch(const Entry* e, const uint8_t* request, uint32_t size, Call& call, uint8_t* reply,
                     uint32_t* reply_size);
    // Keeps a postponed request (or answers kErrLimit); serves them again.
    void keep(uint64_t label, const uint8_t* request, Call& call);
    // True if one of them started background work again.
    bool serve_postponed(uint8_t* reply);

    struct Postponed {
        uint64_t label = 0, badge = 0;
        uint32_t size = 0;
        uint8_t* data = nullptr;  // nullptr: a free entry
        Handle saved = kNoHandle, handle = kNoHandle;
    };

    Handle endpoint_;
    Entry* entries_;
    int capacity_;
    int count_ = 0;
    // By the label's low bits, 1 + the index of the last operation added
    // with them (0: none): find's first look, a scan only when two collide.
    static constexpr uint32_t kLookup = 64;
    uint8_t lookup_[kLookup] = {};
    bool shared_ = false;  // two labels share their low bits (or the table outgrew lookup_): scan on a miss
    void (*notified_)(uint64_t) = nullptr;
    void (*idle_)() = nullptr;
    bool (*other_)(const Message&, uint64_t, Message&) = nullptr;
    bool (*background_)() = nullptr;
    void (*quiet_)() = nullptr;
    bool quiet_due_ = false;  // a handler asked for the quiet work
    uint64_t period_ns_ = 0;
    Postponed postponed_[kMaxPostponed];
};

// A server with room for `kOperations` operations (registering more stops
// the program at once, with a message, rather than dropping one silently).
template <int kOperations = 16>
class Server final : public Dispatcher {
public:
    explicit Server(Handle endpoint) : Dispatcher(endpoint, table_, kOperations) {}

private:
    Entry table_[kOperations];
};

}  // namespace mica::rpc
