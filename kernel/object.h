// Kernel objects: everything a handle can name. Reference-counted; an object
// is freed when the last reference goes, whether held by a handle or by the
// kernel itself. A separate count of handles lets an object react when no
// process can reach it any more (on_zero_handles), which is how, e.g., a
// process that was never started is torn down.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "mica/types.h"

using mica::ObjectType;

class Quota;

class KObject {
public:
    KObject(const KObject&) = delete;
    KObject& operator=(const KObject&) = delete;
    virtual ~KObject();

    ObjectType type() const { return type_; }
    uint64_t koid() const { return koid_; }

    void ref() { ++refs_; }
    void unref() {
        if (--refs_ == 0) delete this;
    }
    uint32_t refs() const { return refs_; }

    void handle_added(uint32_t rights) {
        ++handles_;
        on_handle_added(rights);
    }
    void handle_removed(uint32_t rights) {
        on_handle_removed(rights);
        if (--handles_ == 0) on_zero_handles();
    }

    // Records that `bytes` were charged to `quota` for this object; they are
    // given back when it is destroyed.
    void charge_to(Quota& quota, uint64_t bytes);

protected:
    explicit KObject(ObjectType type);
    virtual void on_zero_handles() {}
    virtual void on_handle_added(uint32_t) {}
    virtual void on_handle_removed(uint32_t) {}

private:
    ObjectType type_;
    uint32_t refs_ = 0;
    uint32_t handles_ = 0;
    uint64_t koid_;
    Quota* charged_quota_ = nullptr;  // holds a reference
    uint64_t charged_bytes_ = 0;
    static uint64_t next_koid_;
};

// An owning reference: Ref<Thread> keeps the thread alive while it exists.
template <typename T>
class Ref {
public:
    Ref() = default;
    Ref(T* p) : p_(p) {  // NOLINT: implicit from a raw pointer is the point
        if (p_) p_->ref();
    }
    Ref(const Ref& o) : Ref(o.p_) {}
    Ref(Ref&& o) : p_(o.p_) { o.p_ = nullptr; }
    ~Ref() { reset(); }

    Ref& operator=(Ref o) {
        T* old = p_;
        p_ = o.p_;
        o.p_ = old;
        return *this;
    }
    void reset() {
        T* old = p_;
        p_ = nullptr;
        if (old) old->unref();
    }

    T* get() const { return p_; }
    T* operator->() const { return p_; }
    T& operator*() const { return *p_; }
    explicit operator bool() const { return p_ != nullptr; }

private:
    T* p_ = nullptr;
};
