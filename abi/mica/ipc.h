// Synchronous IPC on endpoints, and notifications.
//
// A message is a label and three words, carried in registers, plus an
// optional extended part described by an IpcBuffer: up to 64 KiB of data
// (copied by the kernel from the sender's memory into the receiver's) and up
// to four handles, moved from sender to receiver.
//
//   call(endpoint, msg, buf)    send and wait for the reply (reply into msg)
//   recv(endpoint, msg, buf)    wait for a message (or a bound notification)
//   reply(msg, buf)             answer the caller this thread last received
//   reply_recv(endpoint, ...)   reply, then wait for the next message
//
// The receiver learns the badge of the handle the sender called through; the
// kernel keeps badges in handle tables, so a sender cannot forge one.
//
// Handles sent with a message are consumed once the call has been checked:
// on success they move to the receiver, on a later failure they are closed.
#pragma once

#include <stdint.h>

#include "mica/types.h"

namespace mica {

constexpr uint32_t kMaxMessageBytes = 64 * 1024;
constexpr uint32_t kMaxMessageHandles = 4;

// recv and reply_recv return this (not kOk) when a bound notification, not a
// message, woke them; msg.w0 then holds the notification's bits.
constexpr int64_t kIpcNotified = 1;

// The label a fault message carries (sent by the kernel on a thread's
// behalf): w0 = vector | error << 32, w1 = faulting address, w2 = pc.
// Reply with label 0 to resume the thread, kFaultExitThread to end it alone,
// anything else to end its process.
constexpr uint64_t kFaultLabel = 0xfa17'0000'0000'0000;

// Foreign processes (process_set_fault_handler with kFaultForeign) make no
// Mica system calls: each `syscall` instruction of theirs becomes a fault
// message with w0 = kFaultSyscall, w1 = RAX (the call's number), w2 = the
// pc after the instruction. The handler reads and writes the thread's
// registers (thread_regs_read/write) and replies kFaultReturn with w0 = the
// value RAX gets, or 0 to resume with the registers as they are. The thread
// returns by IRETQ, so every register written takes effect.
constexpr uint32_t kFaultForeign = 1;
constexpr uint64_t kFaultSyscall = 0x100;
constexpr uint64_t kFaultInterrupt = 0x101;  // thread_interrupt asked it to stop (w1, w2: 0)
constexpr uint64_t kFaultReturn = kFaultLabel | 1;
// Any fault's answer: the thread ends, its process goes on (a Linux thread's exit).
constexpr uint64_t kFaultExitThread = kFaultLabel | 2;

struct Message {
    uint64_t label = 0;
    uint64_t w0 = 0, w1 = 0, w2 = 0;
};

struct IpcBuffer {
    // Sent with the message.
    const void* send_data = nullptr;
    uint32_t send_size = 0;
    uint32_t send_handle_count = 0;
    Handle send_handles[kMaxMessageHandles] = {};
    uint32_t send_rights[kMaxMessageHandles] = {};  // what the receiver gets; kRightsSame keeps them
    // Where received data goes.
    void* recv_data = nullptr;
    uint32_t recv_capacity = 0;
    // Filled in on receipt.
    uint32_t recv_size = 0;
    uint32_t recv_handle_count = 0;
    Handle recv_handles[kMaxMessageHandles] = {};
    // Limit on the blocking part: 0 = never block, kWaitForever = no limit.
    uint64_t timeout_ns = kWaitForever;
};

}  // namespace mica
