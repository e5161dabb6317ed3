// What every Mica program gets from the runtime: its start-up information,
// formatted output on the debug console, and exit.
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "mica/errors.h"
#include "mica/ipc_stubs.h"
#include "mica/startup.h"
#include "mica/syscalls.h"
#include "mica/types.h"

#ifdef MICA_HOST_TEST
#include <stdlib.h>  // runtime code under the host unit tests: the C library's
#else
extern "C" {
void* malloc(size_t size);  // null when memory (or the quota) is out
void free(void* p);
}
#endif

namespace mica {

// A lock for the runtime's shared state (the heap, the address-range
// allocator): threads of one process run on several CPUs at once, and are
// preempted anywhere, so a waiter gives its time slice away rather than spin.
class SpinLock {
public:
    void lock() {
        while (__atomic_exchange_n(&held_, 1, __ATOMIC_ACQUIRE)) sys::thread_yield();
    }
    void unlock() { __atomic_store_n(&held_, 0, __ATOMIC_RELEASE); }

private:
    int held_ = 0;
};

class SpinLockGuard {
public:
    explicit SpinLockGuard(SpinLock& lock) : lock_(lock) { lock_.lock(); }
    ~SpinLockGuard() { lock_.unlock(); }
    SpinLockGuard(const SpinLockGuard&) = delete;
    SpinLockGuard& operator=(const SpinLockGuard&) = delete;

private:
    SpinLock& lock_;
};

// The block the creator passed in RDI (for the first process: the kernel's).
const StartupInfo& startup();
// The handle in startup slot `slot` (abi/mica/startup.h), or kNoHandle.
inline Handle startup_handle(StartupSlot slot) {
    return slot < startup().handle_count ? startup().handles[slot] : kNoHandle;
}
// A service's endpoint (kSlotEndpoint). A service's program run as a
// command has none: it says that init starts it from the manifest, and
// ends with status 2.
Handle service_endpoint(const char* name);

// printf-style output to the debug console (see kernel/lib/format.h).
void print(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void vprint(const char* fmt, va_list args);

// The value of `key=` in the startup command line, copied into `out`;
// false if absent.
bool cmdline_value(const char* key, char* out, size_t size);

[[noreturn]] inline void exit(int64_t status) { sys::process_exit(status); }

}  // namespace mica
