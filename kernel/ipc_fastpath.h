#pragma once

#include <stdint.h>

class Endpoint;
struct IpcRequest;

// The IPC fast path: call and reply_recv with register-only messages,
// switching straight from one thread to the other. Each returns false,
// having changed nothing, whenever its case is not the simple one; the
// general path in sys_ipc.cpp then does the work under the same rules.
bool ipc_fastpath_call(Endpoint& ep, uint64_t badge, int64_t* result);
bool ipc_fastpath_reply_recv(Endpoint& ep, int64_t* result);
// The same with the server's IpcBuffer (checked by ipc_read_request): a
// server loop's receive area and time limit. A buffer that sends data or
// handles, or asks not to wait, is not the simple case.
bool ipc_fastpath_reply_recv(Endpoint& ep, const IpcRequest& req, int64_t* result);
