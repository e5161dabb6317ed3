// Processes: an address space, a handle table, threads, and the quota all
// of it is charged to. A process runs until it exits, is killed, faults
// with no one to handle it, or its last thread ends; then everything it held
// is released at once, and waiters learn its exit status. A process that was
// never started is torn down when its last handle is closed.
#pragma once

#include <stdint.h>

#include <new>

#include "address_space.h"
#include "endpoint.h"
#include "handle_table.h"
#include "lib/list.h"
#include "mica/errors.h"
#include "cpu.h"
#include "object.h"
#include "quota.h"
#include "thread.h"

// What a handle grants, as the checkpoint found it: the object (no
// reference taken), every right the handle carries, and its badge.
struct Capability {
    KObject* object;
    uint32_t rights;
    uint64_t badge;
};

class Process final : public KObject {
public:
    static constexpr ObjectType kType = ObjectType::process;
    static constexpr uint32_t kDefaultRights = mica::kRightsAll;
    static constexpr size_t kNameBytes = 32;
    static constexpr uint64_t kMinQuota = 64 * 1024;

    // dying: terminated, resources released, some thread not yet gone.
    // dead: every thread gone; waiters have been told.
    enum class State : uint8_t { created, running, dying, dead };  // = mica::ProcessState

    // A new process with its own quota of `quota_bytes`, carved from `parent`
    // (or a root quota when `parent` is null: the first process).
    // `creator`: the process making it (null for the first); a process that
    // was never started ends with its creator.
    static int64_t create(const char* name, size_t name_length, Quota* parent,
                          uint64_t quota_bytes, Ref<Process>* out, Process* creator = nullptr);

    ~Process() override;

    // The authority checkpoint: the one way from a handle value to an
    // object, for system calls, IPC and the fast path alike. The handle must
    // be live in this process's table, name an object of `type` (unless
    // none) and carry every right in `rights`. Errors, in this order:
    // kErrBadHandle, kErrWrongType, kErrAccessDenied. `cap` gets the object
    // (no reference taken), all the rights the handle carries, and its badge.
    int64_t check(mica::Handle handle, uint32_t rights, ObjectType type, Capability* cap) const {
        const HandleTable::Entry* e = handles_.find(handle);
        if (!e) return mica::kErrBadHandle;
        if (type != ObjectType::none && e->object->type() != type) return mica::kErrWrongType;
        if ((e->rights & rights) != rights) return mica::kErrAccessDenied;
        *cap = Capability{e->object, e->rights, e->badge};
        return mica::kOk;
    }
    // Typed, without a reference: for paths that are done with the object
    // before anything can close the handle (the IPC fast path).
    template <typename T>
    int64_t check(mica::Handle handle, uint32_t rights, T** out, Capability* cap = nullptr) const {
        Capability found;
        if (int64_t e = check(handle, rights, T::kType, &found)) return e;
        *out = static_cast<T*>(found.object);
        if (cap) *cap = found;
        return mica::kOk;
    }
    // Typed, holding a reference (the usual form).
    template <typename T>
    int64_t get(mica::Handle handle, uint32_t rights, Ref<T>* out, Capability* cap = nullptr) const {
        T* object;
        if (int64_t e = check(handle, rights, &object, cap)) return e;
        *out = Ref<T>(object);
        return mica::kOk;
    }

    // A new kernel object of type T (made from `args`), charged to this
    // process's quota for as long as it lives, and a handle to it here with
    // the type's default rights. Returns the handle or an error.
    template <typename T, typename... Args>
    int64_t create_object(Args... args);

    HandleTable& handles() { return handles_; }
    AddressSpace& address_space() { return address_space_; }
    Quota& quota() const { return *quota_; }
    const char* name() const { return name_; }
    uint64_t pid() const { return pid_; }
    State state() const { return state_; }
    bool alive() const { return state_ == State::created || state_ == State::running; }
    int64_t exit_status() const { return exit_status_; }
    WaitQueue& exit_waiters() { return exit_waiters_; }
    uint32_t thread_count() const { return static_cast<uint32_t>(threads_.size()); }

    // Adds a created thread; it runs once started.
    void add_thread(Thread* t);
    // Makes a created thread of this process runnable (first start: running).
    void start_thread(Thread* t);
    // Ends the process: kills its threads, closes its handles, unmaps its
    // memory; once the last thread is gone, wakes waiters. Idempotent.
    void terminate(int64_t status);
    // Where faults of this process's threads are sent (null: nowhere).
    void set_fault_handler(Endpoint* endpoint, uint64_t badge);
    Endpoint* fault_handler(uint64_t* badge) const {
        *badge = fault_badge_;
        return fault_handler_.get();
    }
    // A foreign process (a personality's program) makes no Mica system
    // calls: its `syscall` instructions go to its fault handler. Set before
    // it starts, for good.
    bool foreign() const { return foreign_; }
    void make_foreign() { foreign_ = true; }

    // I/O ports this process's threads may use directly (null: none).
    int64_t allow_io_ports(uint32_t base, uint32_t count);
    const uint8_t* io_bitmap() const { return io_bitmap_; }
    uint64_t io_owner_id() const { return io_owner_id_; }

    // Called by the scheduler when one of its threads has ended.
    void thread_exited(Thread* t);

    static uint64_t live_count();

    ListNode all_node;
    ListNode reap_node;  // waiting to be terminated (see on_zero_handles)

protected:
    void on_zero_handles() override;

private:
    Process(Quota* quota, uint64_t pid);
    void finish();
    // Ends `p` (a never-started process) without growing the kernel stack
    // with chains of them.
    static void end_unstarted(Process* p);

    HandleTable handles_;
    AddressSpace address_space_;
    List<Thread, &Thread::process_node> threads_;
    WaitQueue exit_waiters_;
    Quota* quota_;  // holds a reference
    uint64_t creator_pid_ = 0;
    Ref<Endpoint> fault_handler_;
    uint8_t* io_bitmap_ = nullptr;  // kIoPortCount bits, 0 = allowed; charged to the quota
    uint64_t io_owner_id_ = 0;      // changes whenever the bitmap does
    uint64_t fault_badge_ = 0;
    uint64_t pid_;
    State state_ = State::created;
    bool foreign_ = false;
    int64_t exit_status_ = 0;
    char name_[kNameBytes];
};

template <typename T, typename... Args>
int64_t Process::create_object(Args... args) {
    Charge charge(*quota_, sizeof(T));
    if (!charge) return mica::kErrQuotaExceeded;
    Ref<T> object(new (std::nothrow) T(args...));
    if (!object) return mica::kErrNoMemory;
    int64_t handle = handles_.add(object.get(), T::kDefaultRights, *quota_);
    if (handle < 0) return handle;
    object->charge_to(*quota_, sizeof(T));
    charge.commit();
    return handle;
}

List<Process, &Process::all_node>& all_processes();

// The process of the running thread (the one making the current system call).
inline Process& current_process() { return *this_cpu().current->process(); }
