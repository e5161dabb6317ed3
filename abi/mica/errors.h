// Error codes: every system call returns a value >= 0 on success or one of
// these (negative) on failure. Shared as-is by kernel and user space.
#pragma once

#include <stdint.h>

namespace mica {

enum Error : int64_t {
    kOk = 0,
    kErrBadHandle = -1,        // not a handle of this process: invalid, closed or stale
    kErrWrongType = -2,        // a handle to the wrong kind of object
    kErrAccessDenied = -3,     // the handle lacks a right the call needs
    kErrInvalidArgument = -4,  // a value outside what the call accepts
    kErrBadAddress = -5,       // a user pointer that is not mapped or not in user space
    kErrNoMemory = -6,         // the kernel could not get memory
    kErrQuotaExceeded = -7,    // the process's memory quota is spent
    kErrOutOfRange = -8,       // an offset or size past an object's end
    kErrAlignment = -9,        // an address or size that is not page-aligned
    kErrNoSyscall = -10,       // no system call has that number
    kErrAlreadyExists = -11,   // e.g. a mapping where one already is
    kErrNotFound = -12,        // e.g. no mapping where one was expected
    kErrBadState = -13,        // the object is not in a state that allows the call
    kErrTimedOut = -14,
    kErrPeerClosed = -15,      // the other side is gone
    kErrWouldBlock = -16,      // a non-blocking call found nothing to do
    kErrLimit = -17,           // a fixed limit was reached (e.g. handle table full)
    // File systems and devices.
    kErrNotDirectory = -18,    // a path component that is not a directory
    kErrIsDirectory = -19,     // a file operation on a directory
    kErrNotEmpty = -20,        // removing a directory that still has entries
    kErrNoSpace = -21,         // no free blocks or inodes left
    kErrIo = -22,              // the device failed the transfer
    kErrCorrupt = -23,         // on-disk data that breaks the format's rules
    kErrNameTooLong = -24,     // a path or name longer than the format allows
    kErrReadOnly = -25,        // the file system or device is read-only
    // Protocols.
    kErrProtocol = -26,        // a reply whose shape is not what the protocol declares
    kErrUnsupported = -27,     // a format or feature this system does not implement
    // Networks.
    kErrConnectionReset = -28,    // the peer reset the connection, or the stack restarted under it
    kErrConnectionRefused = -29,  // nothing listens at the address
    kErrAddressInUse = -30,       // the local address and port are taken
    kErrNotConnected = -31,       // a stream socket with no connection
    kErrInProgress = -32,         // a non-blocking connect goes on in the background
    kErrUnreachable = -33,        // no route to the address, or no answer to ARP
    kErrStale = -34,              // a server's object from before its restart: open it again
};

constexpr const char* error_name(int64_t e) {
    switch (e) {
        case kOk: return "ok";
        case kErrBadHandle: return "bad handle";
        case kErrWrongType: return "wrong object type";
        case kErrAccessDenied: return "access denied";
        case kErrInvalidArgument: return "invalid argument";
        case kErrBadAddress: return "bad address";
        case kErrNoMemory: return "out of memory";
        case kErrQuotaExceeded: return "quota exceeded";
        case kErrOutOfRange: return "out of range";
        case kErrAlignment: return "misaligned";
        case kErrNoSyscall: return "no such system call";
        case kErrAlreadyExists: return "already exists";
        case kErrNotFound: return "not found";
        case kErrBadState: return "bad state";
        case kErrTimedOut: return "timed out";
        case kErrPeerClosed: return "peer closed";
        case kErrWouldBlock: return "would block";
        case kErrLimit: return "limit reached";
        case kErrNotDirectory: return "not a directory";
        case kErrIsDirectory: return "is a directory";
        case kErrNotEmpty: return "directory not empty";
        case kErrNoSpace: return "no space left";
        case kErrIo: return "I/O error";
        case kErrCorrupt: return "corrupt file system";
        case kErrNameTooLong: return "name too long";
        case kErrReadOnly: return "read-only";
        case kErrProtocol: return "malformed reply";
        case kErrUnsupported: return "not supported";
        case kErrConnectionReset: return "connection reset";
        case kErrConnectionRefused: return "connection refused";
        case kErrAddressInUse: return "address in use";
        case kErrNotConnected: return "not connected";
        case kErrInProgress: return "in progress";
        case kErrUnreachable: return "unreachable";
        case kErrStale: return "stale (server restarted)";
        default: return "unknown error";
    }
}

}  // namespace mica
