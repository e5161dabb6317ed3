#include "memory_object.h"

#include <new>

#include "arch.h"
#include "lib/string.h"
#include "memory.h"
#include "mica/errors.h"
#include "panic.h"

using namespace mica;

namespace {
constexpr size_t kPage = arch::kPageSize;
}  // namespace

MemoryObject::MemoryObject(Kind kind, size_t pages, Quota& quota)
    : KObject(kType), kind_(kind), pages_(pages), quota_(&quota) {
    quota.ref();
}

MemoryObject::~MemoryObject() {
    if (kind_ == Kind::anonymous && frames_) {
        for (size_t i = 0; i < pages_; ++i)
            if (frames_[i] != FrameAllocator::kNone && !frames().free(frames_[i]))
                panic("memory object: frame %#lx freed twice", frames_[i]);
        delete[] frames_;
    } else if (kind_ == Kind::contiguous && base_) {
        if (!frames().free(base_, pages_)) panic("memory object: contiguous run freed twice");
    }
    quota_->release(charged_);
    quota_->unref();
}

int64_t MemoryObject::create(Kind kind, size_t size, Quota& quota, Ref<MemoryObject>* out, uint64_t phys,
                             bool cached) {
    if (size == 0 || size > kMaxBytes) return kErrInvalidArgument;
    size_t pages = (size + kPage - 1) / kPage;
    if (phys % kPage) return kErrAlignment;
    size_t bytes = sizeof(MemoryObject);  // and the frames it owns, with their list if anonymous
    if (kind == Kind::anonymous) bytes += pages * sizeof(uint64_t) + pages * kPage;
    if (kind == Kind::contiguous) bytes += pages * kPage;
    Charge charge(quota, bytes);
    if (!charge) return kErrQuotaExceeded;
    Ref<MemoryObject> m(new (std::nothrow) MemoryObject(kind, pages, quota));
    if (!m) return kErrNoMemory;
    m->base_ = phys;
    m->cached_ = cached;
    if (kind == Kind::anonymous) {
        m->frames_ = new (std::nothrow) uint64_t[pages];
        if (!m->frames_) return kErrNoMemory;
        for (size_t i = 0; i < pages; ++i) m->frames_[i] = FrameAllocator::kNone;
        for (size_t i = 0; i < pages; ++i) {
            m->frames_[i] = allocate_zeroed_frame();
            if (m->frames_[i] == FrameAllocator::kNone) return kErrNoMemory;  // ~MemoryObject frees the rest
        }
    } else if (kind == Kind::contiguous) {
        uint64_t base = allocate_frames(pages);
        if (base == FrameAllocator::kNone) return kErrNoMemory;
        memset(phys_to_virt(base), 0, pages * kPage);
        m->base_ = base;
    }
    charge.commit();
    m->charged_ = bytes;
    *out = m;
    return kOk;
}

uint64_t MemoryObject::frame_at(size_t offset) const {
    size_t page = offset / kPage;
    KASSERT(page < pages_);
    return kind_ == Kind::anonymous ? frames_[page] : base_ + page * kPage;
}

namespace {
// Calls `copy(piece, done, n)` for each part of [offset, offset + length) of
// `m` that lies in one page, in order (`piece`: its kernel address, `done`:
// how far into the range it starts); stops at the first error.
template <typename Copy>
int64_t for_each_piece(const MemoryObject& m, size_t offset, size_t length, Copy copy) {
    for (size_t done = 0; done < length;) {
        size_t in_page = (offset + done) % kPage, n = kPage - in_page;
        if (n > length - done) n = length - done;
        if (int64_t e = copy(phys_to_virt<char>(m.frame_at(offset + done)) + in_page, done, n)) return e;
        done += n;
    }
    return kOk;
}
}  // namespace

int64_t MemoryObject::read_to_user(size_t offset, uintptr_t user_dst, size_t length) const {
    return for_each_piece(*this, offset, length, [&](char* piece, size_t done, size_t n) {
        return arch::copy_user(reinterpret_cast<void*>(user_dst + done), piece, n);
    });
}

int64_t MemoryObject::write_from_user(size_t offset, uintptr_t user_src, size_t length) {
    return for_each_piece(*this, offset, length, [&](char* piece, size_t done, size_t n) {
        return arch::copy_user(piece, reinterpret_cast<const void*>(user_src + done), n);
    });
}

void MemoryObject::write(size_t offset, const void* src, size_t length) {
    for_each_piece(*this, offset, length, [&](char* piece, size_t done, size_t n) {
        memcpy(piece, static_cast<const char*>(src) + done, n);
        return kOk;
    });
}
