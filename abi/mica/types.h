// Types that cross the system-call boundary.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica {

// A handle names a kernel object in one process's handle table. The low 16
// bits index the table, the next 15 carry a generation, so a closed handle's
// value never names a later object: a slot whose generations are used up
// (32,767 handles) is retired, not reused. 0 is never a handle.
using Handle = uint32_t;
constexpr Handle kNoHandle = 0;

// Rights a handle carries. A duplicate can have fewer, never more.
enum Rights : uint32_t {
    kRightRead = 1 << 0,       // read state or contents
    kRightWrite = 1 << 1,      // change state or contents
    kRightMap = 1 << 2,        // map a memory object; map into a process
    kRightTransfer = 1 << 3,   // give the handle to another process
    kRightDuplicate = 1 << 4,  // make more handles to the object
    kRightSignal = 1 << 5,
    kRightWait = 1 << 6,       // wait for the object (e.g. a process's exit)
    kRightManage = 1 << 7,     // start, kill, create threads in; privileged creation
    kRightExecute = 1 << 8,    // map a memory object executable
    kRightsAll = 0x1ff,
    kRightsSame = 0x8000'0000,  // handle_duplicate: keep the rights the handle has
};

enum class ObjectType : uint32_t {
    none = 0,
    process = 1,
    thread = 2,
    memory = 3,
    resource = 4,  // the root of privilege: physical memory, I/O ports, IRQs
    endpoint = 5,
    notification = 6,
    irq_line = 7,
    io_ports = 8,
    reply = 9,  // a saved reply: answers one caller, once
};

// What a resource lets its holder create (resource_create): the root resource
// allows everything; a narrower one only objects inside its range.
enum ResourceKind : uint32_t {
    kResourceRoot = 0,
    kResourceMmio = 1,     // memory_create_physical inside [base, base + size)
    kResourceIoPorts = 2,  // io_ports_create inside the range
    kResourceIrq = 3,      // irq_create for lines inside the range
    kResourceDma = 4,      // memory_create_contiguous (no range)
};

// irq_create flags: how the line signals. ISA lines are edge-triggered and
// active high; PCI INTx lines are level-triggered (active high on the PC's
// I/O APIC pins 5, 9, 10, 11 through which the chipset routes them).
enum IrqFlags : uint32_t { kIrqEdge = 0, kIrqLevel = 1 };

// Permissions for vm_map and vm_protect. Writable and executable together is refused.
enum VmPerms : uint32_t { kVmRead = 1, kVmWrite = 2, kVmExec = 4 };

constexpr size_t kPageSize = 4096;

// The exit status of a process ended by a CPU exception it caused (with no
// fault handler): kExitFaultBase - vector, e.g. -1014 for a page fault.
constexpr int64_t kExitFaultBase = -1000;

// process_wait and similar: wait without a time limit.
constexpr uint64_t kWaitForever = ~0ULL;
constexpr uintptr_t kUserTop = 0x0000'8000'0000'0000;  // user addresses are below

struct HandleInfo {
    ObjectType type;
    uint32_t rights;
    uint64_t koid;  // the object's id, the same through every handle to it
};

enum ProcessState : uint32_t {
    kProcessCreated = 0,  // no thread started yet
    kProcessRunning = 1,
    kProcessDying = 2,    // terminated; threads still on their way out
    kProcessDead = 3,     // gone; exit_status is final
};

struct ProcessInfo {
    uint64_t pid;
    uint64_t quota_bytes;  // what the process may use
    uint64_t used_bytes;   // what it uses now (objects, page tables, memory)
    uint32_t threads;
    uint32_t handles;
    int64_t exit_status;
    uint32_t state;  // a ProcessState
    char name[32];
};

// A stopped thread's user state (thread_regs_read/write): what a debugger or
// a personality server needs to run a thread on, or to start one from a
// given state. `fpu` is the FXSAVE image (x87, SSE, MXCSR).
struct ThreadRegs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags, fs_base, reserved;
    alignas(16) uint8_t fpu[512];
};

struct SystemInfo {
    uint64_t total_frames;
    uint64_t free_frames;
    uint64_t heap_bytes_used;
    uint64_t processes;
    uint64_t threads;
    uint64_t uptime_ns;
    uint64_t tsc_hz;  // the timestamp counter's rate, as the kernel calibrated it
    uint64_t idle_ticks;  // timestamp-counter ticks the CPU spent halted, waiting for work
    uint64_t cpus;        // CPUs running
    // Ticks (kTickHz a second) in which a CPU ran a thread of lower priority
    // than one that had waited, ready and allowed there, for over a tick:
    // 0 while the scheduler keeps priorities system-wide.
    uint64_t priority_inversions;
    uint64_t cpu_busy_ticks[16];  // per CPU: timer ticks that found a thread running
    uint64_t cpu_idle_ticks[16];  // and that found the CPU idle
};

// thread_info: where a thread is and what it may use.
enum ThreadState : uint32_t {
    kThreadCreated = 0, kThreadReady = 1, kThreadRunning = 2, kThreadBlocked = 3, kThreadDead = 4,
};

struct ThreadInfo {
    uint64_t tid;
    uint32_t state;     // a ThreadState
    uint32_t priority;
    uint32_t cpu;       // the CPU it runs on, or last ran on or waits for
    uint32_t reserved;
    uint64_t affinity;  // bit n: it may run on CPU n
};

}  // namespace mica
