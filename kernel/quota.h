// Memory quotas. Every byte the kernel spends on a process's behalf — kernel
// objects, handle-table growth, page tables, kernel stacks, the pages of its
// memory objects — is charged to a quota first; a charge that does not fit
// fails with kErrQuotaExceeded for that process, and nothing else notices.
// Quotas nest: creating a process reserves the child's whole limit from the
// creator's quota, and returns it when the child's quota is gone.
#pragma once

#include <stdint.h>

class Quota {
public:
    // Both return a quota with no references yet: wrap it in a Ref at once.
    // A top-level quota (the first process's).
    static Quota* create_root(uint64_t limit);
    // A quota of `limit` bytes carved out of `parent`; null if it does not fit
    // (or the kernel has no memory for it).
    static Quota* create_child(Quota& parent, uint64_t limit);

    [[nodiscard]] bool charge(uint64_t bytes);
    void release(uint64_t bytes);

    uint64_t limit() const { return limit_; }
    uint64_t used() const { return used_; }

    void ref() { ++refs_; }
    void unref();

private:
    Quota(Quota* parent, uint64_t limit) : parent_(parent), limit_(limit) {}
    Quota* parent_;  // holds a reference while this quota exists
    uint64_t limit_;
    uint64_t used_ = 0;
    uint32_t refs_ = 0;
};

// A charge that is given back unless committed: lets a system call charge
// first and fail cleanly later without undoing by hand.
class Charge {
public:
    Charge(Quota& quota, uint64_t bytes) : quota_(&quota), bytes_(bytes), ok_(quota.charge(bytes)) {}
    ~Charge() {
        if (ok_ && !committed_) quota_->release(bytes_);
    }
    Charge(const Charge&) = delete;
    Charge& operator=(const Charge&) = delete;
    explicit operator bool() const { return ok_; }
    void commit() { committed_ = true; }

private:
    Quota* quota_;
    uint64_t bytes_;
    bool ok_;
    bool committed_ = false;
};
