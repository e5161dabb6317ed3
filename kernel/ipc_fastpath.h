#pragma once

#include <stdint.h>

class Endpoint;

// The IPC fast path: call and reply_recv with register-only messages,
// switching straight from one thread to the other. Each returns false,
// having changed nothing, whenever its case is not the simple one; the
// general path in sys_ipc.cpp then does the work under the same rules.
bool ipc_fastpath_call(Endpoint& ep, uint64_t badge, int64_t* result);
bool ipc_fastpath_reply_recv(Endpoint& ep, int64_t* result);
