// The interface every architecture implements for the generic kernel. Generic
// code includes this header, never anything under arch/; an architecture
// provides these functions (and nothing else is visible outside arch/).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arch/context.h"  // from arch/<name>/include: this arch's Context
#include "mica/errors.h"
#include "mica/syscall_numbers.h"

struct Cpu;
namespace mica {
struct ThreadRegs;
}

namespace arch {

// Virtual memory layout: user space below kUserTop, all physical memory
// mapped at kDirectMapBase, the kernel image in the top 2 GiB.
constexpr uintptr_t kUserTop = 0x0000'8000'0000'0000;
constexpr uintptr_t kDirectMapBase = 0xffff'8000'0000'0000;
constexpr uintptr_t kKernelImageBase = 0xffff'ffff'8000'0000;
constexpr size_t kPageSize = 4096;

// Writes raw bytes to the kernel's debug console (the serial port on x86).
void console_write(const char* text, size_t length);

// Stops this CPU for good, interrupts off.
[[noreturn]] void halt_forever();

// Ends the machine. Under QEMU the exit status tells the host runner whether
// the kernel considered the run a success; on real hardware it powers off or halts.
[[noreturn]] void poweroff(bool success);

// Follows a frame-pointer chain from `frame_pointer`, storing return
// addresses; stops at a null or implausible frame. Returns how many it stored.
size_t walk_frames(uintptr_t frame_pointer, uintptr_t* out, size_t max);

// Page-table operations on one address space, in terms the generic kernel
// uses. Tables are frames the caller supplies through `TableFrames`, so the
// memory an address space's tables take is charged where the caller decides.
enum MapFlags : unsigned {
    kMapWrite = 1,     // readable always; writable with this
    kMapExec = 2,      // executable (never together with kMapWrite: W^X)
    kMapUser = 4,      // reachable from user mode
    kMapUncached = 8,  // device memory
};

struct TableFrames {
    // A zeroed frame for a page table, or ~0 when none can be had.
    virtual uint64_t take() = 0;
    virtual void give_back(uint64_t phys) = 0;
};

class PageTables {
public:
    explicit PageTables(uint64_t root = 0) : root_(root) {}

    // A new address space: empty user half, the kernel half shared.
    bool create(TableFrames& frames);
    // Frees every user-half table (not the pages they map) and the root.
    void destroy(TableFrames& frames);

    // Maps one page. False if a table could not be had, or if `virt` is
    // already mapped (the caller unmaps first).
    bool map(uintptr_t virt, uint64_t phys, unsigned flags, TableFrames& frames);
    // Unmaps one page; false if it was not mapped.
    bool unmap(uintptr_t virt);
    // Changes the flags of a mapped page; false if it is not mapped.
    bool protect(uintptr_t virt, unsigned flags);
    // The frame and flags of a mapped page; false if not mapped.
    bool query(uintptr_t virt, uint64_t* phys, unsigned* flags) const;

    uint64_t root() const { return root_; }

private:
    // The leaf entry of `virt` (tables made on the way when `frames` is given;
    // null if missing), through the leaf table of the 2 MiB region last looked
    // at: a mapping's pages, and IPC buffers used again, cost one walk. Kept
    // (only destroy frees tables); the kernel lock serializes its users.
    uint64_t* leaf(uintptr_t virt, TableFrames* frames) const;
    uint64_t root_ = 0;
    mutable uint64_t* last_leaf_ = nullptr;  // the leaf table of the region last_region_
    mutable uintptr_t last_region_ = ~0ULL;
};

// --- devices ------------------------------------------------------------------

constexpr unsigned kIrqLines = 16;   // legacy (ISA) interrupt lines
constexpr size_t kIoPortCount = 65536;

// Routes legacy interrupt `irq` to the kernel (masked until unmasked);
// `level`: level-triggered (PCI) rather than edge-triggered (ISA).
bool irq_route(unsigned irq, bool level);
void irq_set_masked(unsigned irq, bool masked);
// True if [phys, phys + size) touches the interrupt controllers' registers,
// which no process may map.
bool is_kernel_device(uint64_t phys, uint64_t size);

// The I/O ports ring 3 may use from now on: a bitmap of kIoPortCount bits
// (0 = allowed), or null for none. `owner` identifies whose map it is, so
// switching back and forth between the same two costs no copying.
void set_io_permissions(const uint8_t* bitmap, uint64_t owner);
// The same for the current thread's process, if this CPU's map is not its
// (ports granted on another CPU since the switch here); true if it changed.
bool refresh_io_permissions(const uint8_t* bitmap, uint64_t owner);

// --- CPUs, threads, time ---------------------------------------------------

// Per-CPU set-up on the calling CPU: makes `cpu` what this_cpu() returns,
// enables SYSCALL and the FPU.
void init_cpu(Cpu& cpu);

// Starts the other CPUs the firmware lists. `prepare(index)` gives each
// its per-CPU block (null: leave it off); each then runs cpu_main(). Returns
// how many CPUs run, this one included.
unsigned start_cpus(Cpu* (*prepare)(unsigned index));

// Called by each CPU once several run: system calls take the kernel lock.
void enter_smp();
// Interrupts another CPU (by index): to reschedule at its next return to
// user mode, or to flush its TLB (tlb_flush_if_asked; served without the lock).
void send_reschedule(unsigned cpu);
void send_tlb_flush(unsigned cpu);
// Drops this CPU's user TLB entries.
void flush_user_tlb();
// Every other CPU stops for good (for a panic).
void stop_other_cpus();
// A pause in a spin loop.
inline void relax() { asm volatile("pause" ::: "memory"); }

// A new user thread enters ring 3 at `entry` with stack `user_stack` and
// `arg` as its first argument.
void init_user_context(Context& c, uintptr_t stack_top, uintptr_t entry, uintptr_t user_stack,
                       uintptr_t arg);
// Saves the running thread into `from` and resumes `to`. Returns when
// something switches back to `from`.
void switch_to(Context& from, Context& to);
// The IPC fast path's switch, from a system call: enter_process for `to`,
// then `from` keeps nothing on its kernel stack but its user state
// (resumes_in_user), and `to` resumes; one that waits the same way
// (`to_in_user`) goes straight back to user mode (the kernel lock, if taken,
// let go once off `from`'s stack; `smp`: it may be), its IPC call returning
// kOk with the message registers of `from`'s system call and `badge`.
[[noreturn]] void switch_direct(Cpu& cpu, const PageTables& tables, uintptr_t to_stack_top, const uint8_t* io_bitmap,
                               uint64_t io_owner, Context& from, Context& to, bool to_in_user, uint64_t badge,
                               bool smp);
// A stopped user thread's registers (its saved user state and its context).
// write_user_regs refuses (false) a non-canonical RIP, RSP or FS base and an
// invalid MXCSR, and keeps RFLAGS to the bits ring 3 may set.
void read_user_regs(const Context& c, uintptr_t stack_top, mica::ThreadRegs& out);
bool write_user_regs(Context& c, uintptr_t stack_top, const mica::ThreadRegs& in);
// `cpu` (this one) goes on with a thread of a process: its page tables, the
// kernel stack its entries from user mode use, its I/O ports (as
// set_io_permissions). One call on the switch path.
void enter_process(Cpu& cpu, const PageTables& tables, uintptr_t kernel_stack_top,
                   const uint8_t* io_bitmap, uint64_t io_owner);

// A periodic interrupt at `hz` that calls timer_tick(); calibrates the clock.
void timer_init(unsigned hz);
// Nanoseconds since timer_init.
uint64_t clock_ns();
// The rate of the cycle counter user space reads (rdtsc), in Hz; its value.
uint64_t counter_hz();
uint64_t counter();

// With interrupts enabled, sleeps until one arrives; returns with them off.
void wait_for_interrupt();

// Copies between kernel and user memory; the generic kernel has checked
// that the user range lies in user space. A fault on the user side gives
// kErrBadAddress instead of a kernel fault.
int64_t copy_user(void* dst, const void* src, size_t n);

// Makes `tables` the current address space of this CPU.
void activate(const PageTables& tables);

// The kernel's own tables (only the kernel half is ever used). Kernel
// mappings live under two top-level entries made at boot, the direct map and
// the image, so every address space shares them by copying those entries.
PageTables& kernel_page_tables();

// Builds the kernel's tables (image with per-section permissions, all RAM
// below `memory_top` in the direct map, nothing else), switches to them and
// turns on the protections that depend on them (NX, SMEP, SMAP, UMIP, WP).
void init_kernel_address_space(uint64_t memory_top, TableFrames& frames);

}  // namespace arch

// Called by arch code, provided by the generic kernel.
[[noreturn]] void cpu_main();  // a CPU start_cpus started, set up, on its own stack
void timer_tick();
void irq_fired(unsigned irq);  // a routed legacy interrupt arrived (and is now masked)
// The system calls (syscall.cpp, generated from abi/mica/syscalls.def), each
// reading its arguments from the caller's saved user state `regs`, argument
// i at arch::kSyscallArgs[i].
using SyscallHandler = int64_t (*)(const uint64_t* regs);
extern const SyscallHandler kSyscallTable[mica::kSyscallCount];
inline int64_t syscall_dispatch(uint64_t number, const uint64_t* regs) {
    return number < mica::kSyscallCount ? kSyscallTable[number](regs) : mica::kErrNoSyscall;
}
// A user thread caused CPU exception `vector` (for a page fault, `address`
// is the faulting address). True if its fault handler repaired it and it may
// continue; false if its process was ended.
bool user_exception(unsigned vector, uint64_t error, uintptr_t address, uintptr_t pc);
// A foreign thread's `syscall` (number in *rax, pc after it; Cpu::foreign
// says which threads are) goes to its fault handler, which may set *rax.
void foreign_syscall(uint64_t* rax, uintptr_t pc);
void foreign_interrupt();  // thread_interrupt's stop, on the current thread's way to user mode
// The last step before any return to user mode: reschedules if asked, and
// never returns if the thread has been killed.
void before_user_return();
void before_user_return_from_trap();  // and a stop that thread_interrupt asked for
