#pragma once

#include <stdint.h>

class Endpoint;
struct IpcRequest;

// The IPC fast path: call and reply_recv with register-only messages,
// switching straight from one thread to the other, under the general path's
// rules. Each returns false (or, from the entry, returns at all) having
// changed nothing whenever its case is not the simple one; the general path
// in sys_ipc.cpp then does the work.
//
// The direct path serves ipc_call and ipc_reply_recv with no IpcBuffer
// straight from the system-call entry: trap_entry.S calls ipc_direct_call
// and ipc_direct_reply_recv (or their _smp forms) with the handle and the
// TrapFrame. The thread that waits keeps nothing on its kernel stack (its
// registers and FPU state are saved), and one that waited so goes back to
// user mode at once with the message in its registers (arch::switch_direct);
// anything else resumes it through ipc_resume_entry (switch.S).
//
// The kernel's own calls (fault messages): registers only.
bool ipc_fastpath_call(Endpoint& ep, uint64_t badge, int64_t* result);
// A server loop's reply_recv with an IpcBuffer (checked by ipc_read_request):
// its receive area and time limit. A buffer that sends data or handles, or
// asks not to wait, is not the simple case.
bool ipc_fastpath_reply_recv(Endpoint& ep, const IpcRequest& req, int64_t* result);
