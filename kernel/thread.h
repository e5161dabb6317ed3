// Threads: a kernel stack, a saved context, a priority, and the lists a
// thread can be on (run queue or a wait queue; the sleep list; its process's
// thread list). User threads belong to a process; kernel threads do not.
#pragma once

#include <stdint.h>

#include "arch.h"
#include "ipc.h"
#include "lib/list.h"
#include "object.h"

class Endpoint;
class Process;

class Thread final : public KObject {
public:
    static constexpr ObjectType kType = ObjectType::thread;
    static constexpr uint32_t kDefaultRights = mica::kRightsAll;
    static constexpr size_t kStackPages = 4;
    static constexpr int kPriorities = 32;  // 0 lowest .. 31 highest

    enum class State : uint8_t { created, ready, running, blocked, dead };

    // The thread already running on the boot stack (becomes the boot CPU's idle thread).
    static Thread* adopt_boot_context();
    // A user thread of `process`, created but not started.
    static int64_t create_user(Process& process, uintptr_t entry, uintptr_t user_stack,
                               uintptr_t arg, int priority, Ref<Thread>* out);

    ~Thread() override;

    // Frees the kernel stack of a dead thread (called once it is switched away from).
    void release_stack();
    uintptr_t stack_top() const {
        return arch::kDirectMapBase + stack_phys_ + kStackPages * arch::kPageSize;
    }

    Process* process() const { return process_; }
    // Where its faults go: its own handler if it has one, else its process's.
    Endpoint* fault_handler(uint64_t* badge) const;
    void set_fault_handler(Endpoint* endpoint, uint64_t badge);

    arch::Context context;
    State state = State::created;
    uint8_t priority = 0;
    uint8_t cpu = 0;            // the CPU it runs on, or whose run queue it waits in
    static constexpr uint16_t kAnyCpu = 0xffff;
    uint16_t affinity = kAnyCpu;  // bit n: it may run on CPU n (inherited from its creator)
    uint64_t ready_since = 0;   // which time it was made ready (a count: the scheduler's)
    bool kill_pending = false;  // exits at its next return toward user mode
    bool stopped = false;       // waits for its fault handler: its registers may be read and written
    bool interrupt_pending = false;  // thread_interrupt: stops for its fault handler before user mode
    int64_t wake_result = 0;    // what a blocking call returns after waking
    uint64_t deadline = 0;      // for timed waits: clock_ns() value, 0 = none
    uint64_t tid;

    ListNode queue_node;    // run queue or a wait queue
    ListNode timer_node;    // the sleep list
    ListNode process_node;  // the process's thread list
    List<Thread, &Thread::queue_node>* queue = nullptr;  // which wait queue, if any
    ThreadIpc ipc;

private:
    explicit Thread(int priority);

    Process* process_ = nullptr;  // holds a reference (taken in create_user)
    Ref<Endpoint> fault_handler_;
    uint64_t fault_badge_ = 0;
    uint64_t stack_phys_ = 0;     // 0 for the boot thread, whose stack is the image's
};

using WaitQueue = List<Thread, &Thread::queue_node>;
