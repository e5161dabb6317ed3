#include "thread.h"

#include <new>

#include "endpoint.h"
#include "memory.h"
#include "mica/errors.h"
#include "panic.h"
#include "process.h"
#include "scheduler.h"

using namespace mica;

namespace {
uint64_t g_next_tid = 1;
constexpr size_t kStackBytes = Thread::kStackPages * arch::kPageSize;
}  // namespace

Thread::Thread(int priority)
    : KObject(kType), priority(static_cast<uint8_t>(priority)), tid(g_next_tid++) {}

Thread::~Thread() {
    release_stack();
    if (process_) {
        process_->quota().release(sizeof(Thread));
        process_->unref();
    }
}

Thread* Thread::adopt_boot_context() {
    auto* t = new (std::nothrow) Thread(0);
    if (t) t->state = State::running;
    return t;
}

int64_t Thread::create_user(Process& process, uintptr_t entry, uintptr_t user_stack, uintptr_t arg,
                            int priority, Ref<Thread>* out) {
    Charge charge(process.quota(), sizeof(Thread) + kStackBytes);
    if (!charge) return kErrQuotaExceeded;
    Ref<Thread> t(new (std::nothrow) Thread(priority));
    if (!t) return kErrNoMemory;
    uint64_t stack = allocate_frames(kStackPages);
    if (stack == FrameAllocator::kNone) return kErrNoMemory;
    t->stack_phys_ = stack;
    t->affinity = current_thread()->affinity;
    charge.commit();
    t->process_ = &process;
    process.ref();
    arch::init_user_context(t->context, t->stack_top(), entry, user_stack, arg);
    *out = t;
    return kOk;
}

Endpoint* Thread::fault_handler(uint64_t* badge) const {
    if (!fault_handler_) return process_->fault_handler(badge);
    *badge = fault_badge_;
    return fault_handler_.get();
}

void Thread::set_fault_handler(Endpoint* endpoint, uint64_t badge) {
    fault_handler_ = Ref<Endpoint>(endpoint);
    fault_badge_ = badge;
}

void Thread::release_stack() {
    if (!stack_phys_) return;
    if (!frames().free(stack_phys_, kStackPages)) panic("thread: kernel stack freed twice");
    stack_phys_ = 0;
    if (process_) process_->quota().release(kStackBytes);
}

