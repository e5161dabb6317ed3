// Every system call, given bad arguments, fails with exactly the error the
// ABI promises, and the kernel lives on: invalid, closed and stale handles;
// handles of the wrong type or without the right; null, kernel-half,
// unmapped and misaligned pointers and addresses; sizes too large.
#include "ktest.h"
#include "mica/syscall_numbers.h"

using namespace mica;
using namespace ktest;

namespace {

constexpr uintptr_t kKernelPointer = 0xffff'8000'0000'1000;
constexpr uintptr_t kUnmapped = 0x0000'1000'0000'0000;
template <typename T = void>
T* ptr(uintptr_t a) { return reinterpret_cast<T*>(a); }

Handle make_memory(size_t size = kPageSize) { return EXPECT_HANDLE(sys::memory_create(size)); }

// What the tests below call with (made once, when ktest starts).
const Handle self = startup().self_process;
const Handle resource = startup().resource;
const Handle memory = make_memory(2 * kPageSize);
const Handle module = startup().modules[0].memory;  // read-only
const Handle no_such = 0x7777'0001;

}  // namespace


KTEST(syscall_errors, numbers) {
    EXPECT_EQ(detail::raw_syscall(kSyscallCount), kErrNoSyscall);
    EXPECT_EQ(detail::raw_syscall(~0ULL), kErrNoSyscall);
    EXPECT_EQ(detail::raw_syscall(0x1'0000'0000ULL), kErrNoSyscall);
}

KTEST(syscall_errors, debug_write) {
    EXPECT_EQ(sys::debug_write(nullptr, 10), kErrBadAddress);
    EXPECT_EQ(sys::debug_write(ptr<char>(kKernelPointer), 10), kErrBadAddress);
    EXPECT_EQ(sys::debug_write(ptr<char>(kUnmapped), 10), kErrBadAddress);
    EXPECT_EQ(sys::debug_write(ptr<char>(kUserTop - 4), 10), kErrBadAddress);  // runs into the kernel half
    EXPECT_EQ(sys::debug_write("x", 5000), kErrInvalidArgument);
    EXPECT_EQ(sys::debug_write("", 0), kOk);
}

KTEST(syscall_errors, handles) {
    EXPECT_EQ(sys::handle_close(kNoHandle), kErrBadHandle);
    EXPECT_EQ(sys::handle_close(no_such), kErrBadHandle);
    Handle closed = make_memory();
    EXPECT_EQ(sys::handle_close(closed), kOk);
    EXPECT_EQ(sys::handle_close(closed), kErrBadHandle);
    Handle reused = make_memory();  // likely the same slot, surely another value
    EXPECT((reused & 0xffff) != (closed & 0xffff) || reused != closed);
    HandleInfo info{};
    EXPECT_EQ(sys::handle_info(closed, &info), kErrBadHandle);
    EXPECT_EQ(sys::handle_info(reused, &info), kOk);
    sys::handle_close(reused);
}

KTEST(syscall_errors, handle_rights) {
    HandleInfo info{};
    EXPECT_EQ(sys::handle_duplicate(no_such, kRightsSame), kErrBadHandle);
    Handle weak = EXPECT_HANDLE(sys::handle_duplicate(memory, kRightRead | kRightDuplicate));
    EXPECT_EQ(sys::handle_duplicate(weak, kRightRead | kRightWrite), kErrAccessDenied);
    Handle weaker = EXPECT_HANDLE(sys::handle_duplicate(weak, kRightRead));
    EXPECT_EQ(sys::handle_duplicate(weaker, kRightRead), kErrAccessDenied);  // no duplicate right
    EXPECT_EQ(sys::handle_info(weaker, &info), kOk);
    EXPECT_EQ(info.rights, kRightRead);
    EXPECT_EQ(static_cast<uint32_t>(info.type), static_cast<uint32_t>(ObjectType::memory));
    EXPECT_EQ(sys::handle_info(memory, nullptr), kErrBadAddress);
    EXPECT_EQ(sys::handle_info(memory, ptr<HandleInfo>(kKernelPointer)), kErrBadAddress);
    EXPECT_EQ(sys::handle_info(memory, ptr<HandleInfo>(kUnmapped)), kErrBadAddress);
    alignas(16) char odd[sizeof(HandleInfo) + 1];
    EXPECT_EQ(sys::handle_info(memory, ptr<HandleInfo>(reinterpret_cast<uintptr_t>(odd) + 1)), kOk);
    EXPECT_EQ(sys::handle_grant(memory, memory, kRightsSame), kErrWrongType);
    EXPECT_EQ(sys::handle_grant(self, weaker, kRightsSame), kErrAccessDenied);
    EXPECT_EQ(sys::handle_grant(self, no_such, kRightsSame), kErrBadHandle);
    sys::handle_close(weak);
    sys::handle_close(weaker);
}

KTEST(syscall_errors, memory_create) {
    EXPECT_EQ(sys::memory_create(0), kErrInvalidArgument);
    EXPECT_EQ(sys::memory_create(1ULL << 40), kErrInvalidArgument);
    EXPECT_EQ(sys::memory_create(~0ULL), kErrInvalidArgument);
    EXPECT_EQ(sys::memory_create_physical(memory, 0xfee00000, kPageSize), kErrWrongType);
    EXPECT_EQ(sys::memory_create_physical(resource, 0x100000, kPageSize), kErrAccessDenied);  // RAM
    EXPECT_EQ(sys::memory_create_physical(resource, 0xfee00001, kPageSize), kErrAlignment);
    EXPECT_EQ(sys::memory_create_physical(resource, 0xfee00000, 0), kErrInvalidArgument);
    EXPECT_EQ(sys::memory_create_physical(resource, ~0ULL & ~0xfffULL, 2 * kPageSize), kErrInvalidArgument);
    Handle weak_resource = EXPECT_HANDLE(sys::handle_duplicate(resource, kRightRead));
    EXPECT_EQ(sys::memory_create_physical(weak_resource, 0xfee00000, kPageSize), kErrAccessDenied);
    sys::handle_close(weak_resource);
    uint64_t phys = 0;
    EXPECT_EQ(sys::memory_create_contiguous(resource, kPageSize, ptr<uint64_t>(kKernelPointer)), kErrBadAddress);
    EXPECT_EQ(sys::memory_create_contiguous(resource, 0, &phys), kErrInvalidArgument);
    Handle dma = EXPECT_HANDLE(sys::memory_create_contiguous(resource, 4 * kPageSize, &phys));
    EXPECT(phys != 0 && phys % kPageSize == 0);
    sys::handle_close(dma);
}

KTEST(syscall_errors, memory_rw) {
    char buffer[64];
    EXPECT_EQ(sys::memory_read(memory, 2 * kPageSize, buffer, 1), kErrOutOfRange);
    EXPECT_EQ(sys::memory_read(memory, ~0ULL, buffer, 2), kErrOutOfRange);
    EXPECT_EQ(sys::memory_read(memory, 0, ptr(kKernelPointer), 8), kErrBadAddress);
    EXPECT_EQ(sys::memory_read(memory, 0, ptr(kUnmapped), 8), kErrBadAddress);
    EXPECT_EQ(sys::memory_write(memory, 0, nullptr, 8), kErrBadAddress);
    EXPECT_EQ(sys::memory_write(module, 0, buffer, 8), kErrAccessDenied);
    EXPECT_EQ(sys::memory_write(self, 0, buffer, 8), kErrWrongType);
    EXPECT_EQ(sys::memory_write(memory, kPageSize - 2, "abcd", 4), kOk);  // across a page boundary
    EXPECT_EQ(sys::memory_read(memory, kPageSize - 2, buffer, 4), kOk);
    EXPECT(buffer[0] == 'a' && buffer[3] == 'd');
}

KTEST(syscall_errors, vm) {
    const uintptr_t at = 0x0000'3000'0000'0000;
    EXPECT_EQ(sys::vm_map(self, at + 1, memory, 0, kPageSize, kVmRead), kErrAlignment);
    EXPECT_EQ(sys::vm_map(self, at, memory, 1, kPageSize, kVmRead), kErrAlignment);
    EXPECT_EQ(sys::vm_map(self, at, memory, 0, 100, kVmRead), kErrAlignment);
    EXPECT_EQ(sys::vm_map(self, 0, memory, 0, kPageSize, kVmRead), kErrInvalidArgument);
    EXPECT_EQ(sys::vm_map(self, kKernelPointer & ~0xfffULL, memory, 0, kPageSize, kVmRead), kErrInvalidArgument);
    EXPECT_EQ(sys::vm_map(self, kUserTop - kPageSize, memory, 0, 2 * kPageSize, kVmRead), kErrInvalidArgument);
    EXPECT_EQ(sys::vm_map(self, at, memory, 0, kPageSize, kVmWrite | kVmExec), kErrInvalidArgument);
    EXPECT_EQ(sys::vm_map(self, at, memory, 0, kPageSize, 0), kErrInvalidArgument);
    EXPECT_EQ(sys::vm_map(self, at, memory, 0, kPageSize, 8), kErrInvalidArgument);
    EXPECT_EQ(sys::vm_map(self, at, memory, kPageSize, 2 * kPageSize, kVmRead), kErrOutOfRange);
    EXPECT_EQ(sys::vm_map(self, at, module, 0, kPageSize, kVmRead | kVmWrite), kErrAccessDenied);
    EXPECT_EQ(sys::vm_map(memory, at, memory, 0, kPageSize, kVmRead), kErrWrongType);
    EXPECT_EQ(sys::vm_map(self, at, self, 0, kPageSize, kVmRead), kErrWrongType);
    EXPECT_EQ(sys::vm_map(self, at, memory, 0, 2 * kPageSize, kVmRead | kVmWrite), kOk);
    EXPECT_EQ(sys::vm_map(self, at + kPageSize, memory, 0, kPageSize, kVmRead), kErrAlreadyExists);
    EXPECT_EQ(sys::vm_unmap(self, at + 7, kPageSize), kErrAlignment);
    EXPECT_EQ(sys::vm_unmap(self, at + 16 * kPageSize, kPageSize), kErrNotFound);
    EXPECT_EQ(sys::vm_protect(self, at, kPageSize, kVmWrite | kVmExec), kErrInvalidArgument);
    EXPECT_EQ(sys::vm_protect(self, at, 3 * kPageSize, kVmRead), kErrNotFound);  // runs past the mapping
    EXPECT_EQ(sys::vm_protect(self, at, kPageSize, kVmRead), kOk);
    EXPECT_EQ(sys::vm_unmap(self, at, 2 * kPageSize), kOk);
    EXPECT_EQ(sys::vm_unmap(self, at, 2 * kPageSize), kErrNotFound);
}

KTEST(syscall_errors, process) {
    EXPECT_EQ(sys::process_create(nullptr, 4, 1 << 20), kErrBadAddress);
    EXPECT_EQ(sys::process_create(ptr<char>(kKernelPointer), 4, 1 << 20), kErrBadAddress);
    EXPECT_EQ(sys::process_create("a-name-far-too-long-for-a-process", 33, 1 << 20), kErrInvalidArgument);
    EXPECT_EQ(sys::process_create("tiny", 4, 4096), kErrInvalidArgument);
    EXPECT_EQ(sys::process_create("huge", 4, 1ULL << 50), kErrQuotaExceeded);
    EXPECT_EQ(sys::process_kill(memory, 0), kErrWrongType);
    EXPECT_EQ(sys::process_wait(no_such, 0, nullptr), kErrBadHandle);
    EXPECT_EQ(sys::process_wait(self, 0, nullptr), kErrWouldBlock);  // running: a zero timeout polls
    EXPECT_EQ(sys::process_info(self, nullptr), kErrBadAddress);
    EXPECT_EQ(sys::process_info(self, ptr<ProcessInfo>(kKernelPointer)), kErrBadAddress);
}

KTEST(syscall_errors, thread) {
    EXPECT_EQ(sys::thread_create(memory, 0x401000, 0x10000, 0, 1), kErrWrongType);
    EXPECT_EQ(sys::thread_create(self, kKernelPointer, 0x10000, 0, 1), kErrInvalidArgument);
    EXPECT_EQ(sys::thread_create(self, 0x401000, 0x10008, 0, 1), kErrAlignment);
    EXPECT_EQ(sys::thread_create(self, 0x401000, 0x10000, 0, 32), kErrInvalidArgument);
    EXPECT_EQ(sys::thread_create(self, 0x401000, 0x10000, 0, 17), kErrAccessDenied);  // above our own
    EXPECT_EQ(sys::thread_start(memory), kErrWrongType);
    EXPECT_EQ(sys::thread_start(startup().self_thread), kErrBadState);  // already running
}

KTEST(syscall_errors, system) {
    EXPECT_EQ(sys::system_info(nullptr), kErrBadAddress);
    EXPECT_EQ(sys::system_info(ptr<SystemInfo>(kUnmapped)), kErrBadAddress);
    EXPECT_EQ(sys::system_poweroff(memory, 0), kErrWrongType);
    EXPECT_EQ(sys::system_poweroff(no_such, 0), kErrBadHandle);
}
