#include "process.h"

#include <new>

#include "klog.h"
#include "lib/string.h"
#include "panic.h"
#include "scheduler.h"
#include "shutdown.h"

using namespace mica;

namespace {
List<Process, &Process::all_node> g_all;  // each holds a reference
uint64_t g_next_pid = 1;
}  // namespace

List<Process, &Process::all_node>& all_processes() { return g_all; }
uint64_t Process::live_count() { return g_all.size(); }

Process::Process(Quota* quota, uint64_t pid) : KObject(kType), quota_(quota), pid_(pid) {
    quota->ref();
}

Process::~Process() {
    KASSERT(state_ == State::dead && threads_.empty());
    quota_->release(sizeof(Process));
    quota_->unref();
}

int64_t Process::create(const char* name, size_t name_length, Quota* parent, uint64_t quota_bytes,
                        Ref<Process>* out, Process* creator) {
    if (quota_bytes < kMinQuota || name_length >= kNameBytes) return kErrInvalidArgument;
    Ref<Quota> quota(parent ? Quota::create_child(*parent, quota_bytes) : Quota::create_root(quota_bytes));
    if (!quota) return parent && parent->limit() - parent->used() < quota_bytes ? kErrQuotaExceeded : kErrNoMemory;
    Charge charge(*quota, sizeof(Process));
    if (!charge) return kErrQuotaExceeded;
    Ref<Process> p(new (std::nothrow) Process(quota.get(), g_next_pid++));
    if (!p) return kErrNoMemory;
    charge.commit();  // ~Process gives it back
    p->creator_pid_ = creator ? creator->pid_ : 0;
    for (size_t i = 0; i < name_length; ++i) p->name_[i] = name[i];
    p->name_[name_length] = '\0';
    if (int64_t e = p->address_space_.init(*quota)) {
        p->state_ = State::dead;  // never listed: the last reference frees it
        return e;
    }
    p->ref();
    g_all.push_back(p.get());
    *out = p;
    return kOk;
}

void Process::add_thread(Thread* t) {
    t->ref();
    threads_.push_back(t);
}

void Process::start_thread(Thread* t) {
    KASSERT(t->process() == this && t->state == Thread::State::created);
    state_ = State::running;
    sched_make_ready(t);
}

// Ending a never-started process closes its handles, which may end others
// the same way: they queue here and are ended one after another, so a long
// chain of them cannot exhaust the kernel stack.
void Process::end_unstarted(Process* p) {
    static List<Process, &Process::reap_node> pending;
    static bool draining = false;
    if (p->state_ != State::created || p->reap_node.linked()) return;
    p->ref();
    pending.push_back(p);
    if (draining) return;
    draining = true;
    while (Process* next = pending.pop_front()) {
        next->terminate(0);
        next->unref();
    }
    draining = false;
}

// A process that was never started ends when no handle names it.
void Process::on_zero_handles() { end_unstarted(this); }

void Process::terminate(int64_t status) {
    if (!alive()) return;
    Ref<Process> self(this);  // teardown may drop every other reference
    state_ = State::dying;
    exit_status_ = status;

    Thread* me = current_thread();
    bool elsewhere = false;  // a thread runs on another CPU: the memory goes when it has left
    threads_.for_each([&](Thread* t) {
        t->kill_pending = true;
        if (t == me) return;  // ends on its way back to user mode
        if (t->state == Thread::State::running) {
            elsewhere = true;
            sched_kick(t);
        }
        if (t->state == Thread::State::created) {
            threads_.remove(t);
            t->state = Thread::State::dead;
            t->unref();
        } else if (t->state == Thread::State::blocked) {
            sched_wake(t, kErrPeerClosed);  // unwinds its call, then exits
        }
    });
    handles_.clear(*quota_);
    // What it created and never started goes with it: nothing else could
    // start it, and a handle it holds to itself would keep it for ever.
    all_processes().for_each([&](Process* p) {
        if (p->creator_pid_ == pid_ && p->state_ == State::created) end_unstarted(p);
    });
    if (!elsewhere) address_space_.destroy();
    fault_handler_.reset();
    if (io_bitmap_) {
        delete[] io_bitmap_;
        io_bitmap_ = nullptr;
        quota_->release(arch::kIoPortCount / 8);
    }
    if (threads_.empty()) finish();
}

// The last thread is gone: now the process is dead for everyone.
void Process::finish() {
    state_ = State::dead;
    address_space_.destroy();  // if terminate left it to the last thread
    sched_wake_all(exit_waiters_, kOk);
    log_debug("process %lu (%s) ended with status %ld", pid_, name_, exit_status_);
    g_all.remove(this);
    if (pid_ == 1) shutdown_begin(exit_status_);
    unref();  // the list's reference (callers hold their own while this runs)
}

int64_t Process::allow_io_ports(uint32_t base, uint32_t count) {
    static uint64_t next_owner_id = 1;
    constexpr size_t kBytes = arch::kIoPortCount / 8;
    if (!io_bitmap_) {
        Charge charge(*quota_, kBytes);
        if (!charge) return kErrQuotaExceeded;
        io_bitmap_ = new (std::nothrow) uint8_t[kBytes];
        if (!io_bitmap_) return kErrNoMemory;
        memset(io_bitmap_, 0xff, kBytes);
        charge.commit();
    }
    for (uint32_t port = base; port < base + count; ++port) io_bitmap_[port / 8] &= ~(1u << (port % 8));
    io_owner_id_ = next_owner_id++;
    return kOk;
}

void Process::set_fault_handler(Endpoint* endpoint, uint64_t badge) {
    fault_handler_ = Ref<Endpoint>(endpoint);
    fault_badge_ = badge;
}

void Process::thread_exited(Thread* t) {
    threads_.remove(t);
    Ref<Process> self(this);
    t->unref();  // the process list's reference (the reaper holds another)
    if (!threads_.empty()) return;
    if (state_ == State::running) terminate(0);  // ends in finish()
    else if (state_ == State::dying) finish();
}
