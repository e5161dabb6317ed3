// Replies: how a call becomes a pending reply and is answered, once. The
// thread that received a call holds its reply (ThreadIpc::reply_to) until
// it answers, receives again, or saves it as a SavedReply object (a one-shot
// reply capability, answered later through a handle). Each call has an id;
// a reply answers that call only, never a later one of the same caller. The
// general path and the fast path link and check replies through these same
// functions.
#pragma once

#include <stdint.h>

#include "object.h"
#include "thread.h"

// The one place a call becomes a pending reply: `caller` (blocked, or about
// to block) awaits the answer `server` now holds, as a new call.
inline void reply_link(Thread& server, Thread& caller) {
    extern uint64_t g_next_call_id;
    caller.ref();
    caller.ipc.state = ThreadIpc::State::awaiting_reply;
    caller.ipc.reply_from = &server;
    caller.ipc.call_id = g_next_call_id++;
    server.ipc.reply_to = &caller;
    server.ipc.reply_id = caller.ipc.call_id;
}

// Answers call `id` of `caller` (held by `server`) with the current thread's
// message and payload; a payload not delivered is closed. kErrPeerClosed if
// the caller no longer awaits it (it gave up, was killed, or called again).
// Consumes the reference to `caller`.
int64_t reply_answer(Thread* caller, Thread* server, uint64_t id);

// Answers the call the current thread holds (kErrBadState if none).
int64_t reply_current();

// The caller of the call `server` holds (if any) learns it will not be answered.
void reply_abandon(Thread& server);

// A saved reply: the caller, its call, and the thread that received it.
class SavedReply final : public KObject {
public:
    static constexpr ObjectType kType = ObjectType::reply;
    static constexpr uint32_t kDefaultRights = mica::kRightWrite | mica::kRightTransfer;

    SavedReply(Thread* caller, Thread* server, uint64_t id);
    ~SavedReply() override;

    // The current thread's pending reply becomes a SavedReply with a handle
    // in `p`; returns the handle or an error (then the thread keeps it).
    static int64_t save(Process& p);
    // Answers through it, once: the handle `h` that names it is removed.
    int64_t answer(Process& p, mica::Handle h);

    Thread* caller;  // holds a reference until used
    Thread* server;  // holds a reference (identity only)
    uint64_t id;
};
