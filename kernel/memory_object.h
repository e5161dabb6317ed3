// Memory objects: pages that can be mapped into address spaces. Anonymous
// objects own zeroed frames; contiguous objects own one physically contiguous
// run (for DMA); physical objects name a fixed range they do not own (device
// registers, or the boot modules). Frames are allocated at creation, so a
// mapped page never has to be found later, and charged to the creator's quota.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "object.h"
#include "quota.h"

class MemoryObject final : public KObject {
public:
    static constexpr ObjectType kType = ObjectType::memory;
    // Anonymous memory may be mapped executable (W^X holds per object);
    // device registers and DMA memory never.
    uint32_t default_rights() const {
        uint32_t rights = mica::kRightRead | mica::kRightWrite | mica::kRightMap | mica::kRightTransfer |
                          mica::kRightDuplicate;
        return kind_ == Kind::anonymous ? rights | mica::kRightExecute : rights;
    }
    static constexpr size_t kMaxBytes = 1ULL << 30;

    enum class Kind : uint8_t { anonymous, contiguous, physical };

    // Size is rounded up to whole pages. A physical object names the range at
    // `phys`; `cached`: ordinary memory (boot modules) rather than device
    // registers. Errors: kErrInvalidArgument (0 or too large), kErrAlignment
    // (phys), kErrQuotaExceeded, kErrNoMemory.
    static int64_t create(Kind kind, size_t size, Quota& quota, Ref<MemoryObject>* out, uint64_t phys = 0,
                          bool cached = true);

    ~MemoryObject() override;

    size_t size() const { return pages_ * 4096; }
    bool device() const { return kind_ == Kind::physical && !cached_; }
    // Physical address of the page at byte `offset` (< size()).
    uint64_t frame_at(size_t offset) const;

    // Copies between the object and user memory; the range must lie inside.
    int64_t read_to_user(size_t offset, uintptr_t user_dst, size_t length) const;
    int64_t write_from_user(size_t offset, uintptr_t user_src, size_t length);
    // Kernel-side copy into the object (the kernel's own loader).
    void write(size_t offset, const void* src, size_t length);

    // Its mappings in every address space, by what they allow (kept by
    // AddressSpace): an object is never writable and executable at once.
    uint32_t writable_mappings = 0, executable_mappings = 0;

private:
    MemoryObject(Kind kind, size_t pages, Quota& quota);

    Kind kind_;
    bool cached_ = true;
    size_t pages_;
    uint64_t base_ = 0;          // contiguous and physical
    uint64_t* frames_ = nullptr;  // anonymous: one frame per page
    Quota* quota_;                // holds a reference
    size_t charged_ = 0;
};
