// Handles and memory through the paths programs use: rights shrink and never
// grow, a memory object's bytes survive mapping and unmapping, mappings split
// correctly, and W^X holds for protect as for map.
#include "ktest.h"
#include "mica/process.h"
#include "string.h"

using namespace mica;
using namespace ktest;

KTEST(handles, basics) {
    Handle memory = EXPECT_HANDLE(sys::memory_create(kPageSize));
    HandleInfo a{}, b{};
    EXPECT_EQ(sys::handle_info(memory, &a), kOk);
    Handle dup = EXPECT_HANDLE(sys::handle_duplicate(memory, kRightsSame));
    EXPECT_EQ(sys::handle_info(dup, &b), kOk);
    EXPECT_EQ(a.koid, b.koid);  // the same object through both
    EXPECT_EQ(a.rights, b.rights);
    // A read-only duplicate cannot write, even through memory_write.
    Handle ro = EXPECT_HANDLE(sys::handle_duplicate(memory, kRightRead | kRightMap));
    char byte = 1;
    EXPECT_EQ(sys::memory_write(ro, 0, &byte, 1), kErrAccessDenied);
    EXPECT_EQ(sys::memory_read(ro, 0, &byte, 1), kOk);
    // Closing one handle leaves the object reachable through the other.
    EXPECT_EQ(sys::handle_close(memory), kOk);
    EXPECT_EQ(sys::memory_write(dup, 0, "z", 1), kOk);
    EXPECT_EQ(sys::memory_read(ro, 0, &byte, 1), kOk);
    EXPECT_EQ(byte, 'z');
    sys::handle_close(dup);
    sys::handle_close(ro);

    // Thousands of handles, all distinct and all closable.
    static Handle many[2000];
    for (auto& h : many) h = EXPECT_HANDLE(sys::handle_duplicate(startup().self_process, kRightRead));
    for (int i = 1; i < 2000; ++i) EXPECT(many[i] != many[i - 1] && many[i] > 0);
    for (auto h : many) EXPECT_EQ(sys::handle_close(h), kOk);
}

KTEST(memory, basics) {
    const Handle self = startup().self_process;
    Handle memory = EXPECT_HANDLE(sys::memory_create(4 * kPageSize));
    uintptr_t at = reserve_address_range(4 * kPageSize);
    EXPECT_EQ(sys::vm_map(self, at, memory, 0, 4 * kPageSize, kVmRead | kVmWrite), kOk);
    auto* bytes = reinterpret_cast<volatile uint8_t*>(at);
    for (size_t i = 0; i < 4 * kPageSize; ++i) EXPECT_EQ(bytes[i], 0);  // fresh memory is zeroed
    for (size_t i = 0; i < 4 * kPageSize; ++i) bytes[i] = static_cast<uint8_t>(i * 7);
    // Unmapping the middle two pages splits the mapping; the ends stay usable.
    EXPECT_EQ(sys::vm_unmap(self, at + kPageSize, 2 * kPageSize), kOk);
    EXPECT_EQ(bytes[0], 0);
    EXPECT_EQ(bytes[3 * kPageSize + 5], static_cast<uint8_t>((3 * kPageSize + 5) * 7));
    // The object keeps its contents while unmapped: map page 1 elsewhere.
    uintptr_t again = reserve_address_range(kPageSize);
    EXPECT_EQ(sys::vm_map(self, again, memory, kPageSize, kPageSize, kVmRead), kOk);
    EXPECT_EQ(reinterpret_cast<volatile uint8_t*>(again)[3], static_cast<uint8_t>((kPageSize + 3) * 7));
    // Protect the last page read-only; W^X is refused for protect too.
    EXPECT_EQ(sys::vm_protect(self, at + 3 * kPageSize, kPageSize, kVmRead), kOk);
    EXPECT_EQ(sys::vm_protect(self, at, kPageSize, kVmRead | kVmWrite | kVmExec), kErrInvalidArgument);
    EXPECT_EQ(sys::vm_unmap(self, at, 4 * kPageSize), kOk);
    EXPECT_EQ(sys::vm_unmap(self, again, kPageSize), kOk);
    sys::handle_close(memory);

    // The runtime's heap: many blocks, all distinct, all freed.
    static void* blocks[500];
    for (int i = 0; i < 500; ++i) {
        blocks[i] = malloc(static_cast<size_t>(16 + i * 37));
        EXPECT(blocks[i] != nullptr);
        memset(blocks[i], i & 0xff, static_cast<size_t>(16 + i * 37));
    }
    for (int i = 0; i < 500; ++i) EXPECT_EQ(static_cast<uint8_t*>(blocks[i])[15], i & 0xff);
    for (void* b : blocks) free(b);
    auto* object = new int[1000];
    object[999] = 5;
    EXPECT_EQ(object[999], 5);
    delete[] object;

    // A process's own quota bounds what it can allocate: a child with 1 MiB
    // cannot get 2 MiB and says so (checked inside the child).
    EXPECT_EQ(run_child("quota", 1 << 20), 0);
}

// Quotas: a process that spends all it was given gets kErrQuotaExceeded from
// every kind of allocation, and nothing else notices.
KTEST(memory, quota) {
    SystemInfo before{}, after{};
    sys::system_info(&before);
    EXPECT_EQ(run_child("exhaust", 1 << 20), 0);
    EXPECT_EQ(run_child("exhaust", 256 << 10), 0);
    sys::system_info(&after);
    EXPECT_EQ(after.processes, before.processes);
    EXPECT_EQ(run_child("exit42"), 42);  // and life goes on
}

// Regression: closing the head of a long chain of never-started processes,
// each holding the only handle to the next, ended them by recursion — one
// kernel stack frame chain per process, enough to overflow the kernel stack.
namespace {
void chain_once(int length);
}

KTEST(handles, chain) {
    chain_once(1500);  // the first time the kernel heap grows to hold them all
    chain_once(1500);
}

namespace {
void chain_once(int kLength) {
    SystemInfo before{}, after{};
    sys::system_info(&before);
    Handle head = EXPECT_HANDLE(sys::process_create("chain", 5, 64 * 1024));
    if (head == kNoHandle) return;
    Handle tail = head;
    for (int i = 1; i < kLength; ++i) {
        Handle next = EXPECT_HANDLE(sys::process_create("chain", 5, 64 * 1024));
        if (next == kNoHandle) break;
        // The tail gets a handle to the next; then ours to the tail goes, so
        // only its predecessor names it.
        EXPECT(sys::handle_grant(tail, next, kRightsSame).ok());
        if (tail != head) EXPECT_EQ(sys::handle_close(tail), kOk);
        tail = next;
    }
    if (tail != head) EXPECT_EQ(sys::handle_close(tail), kOk);
    SystemInfo middle{};
    sys::system_info(&middle);
    EXPECT_EQ(middle.processes, before.processes + kLength);  // all alive, through the chain
    EXPECT_EQ(sys::handle_close(head), kOk);  // and now all end
    sys::system_info(&after);
    EXPECT_EQ(after.processes, before.processes);
    EXPECT_EQ(after.heap_bytes_used, before.heap_bytes_used);
    EXPECT(after.free_frames + 16 * 16 >= before.free_frames);  // heap growth at most
}
}  // namespace

// Regression (found by the fuzzer, seed 12345): a never-started process
// holding a handle to itself was never reclaimed — its page tables and its
// quota reservation leaked. It now ends with its creator.
KTEST(handles, self_reference) {
    EXPECT_EQ(run_child("exit0"), 0);  // maps ktest_child's module once, for good
    SystemInfo before{}, after{};
    sys::system_info(&before);
    EXPECT_EQ(run_child("self_reference"), 0);
    sys::system_info(&after);
    EXPECT_EQ(after.processes, before.processes);
    EXPECT_EQ(after.free_frames, before.free_frames);
}
