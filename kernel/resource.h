// Resources: the privilege to name physical device memory, I/O ports and
// interrupts, to allocate DMA memory, and (the root only) to power the
// machine off. The kernel gives the one root resource to the first process;
// narrower ones are carved out of it (resource_create) so that each driver,
// or the PCI server that hands out devices, holds exactly its ranges.
#pragma once

#include "lib/checked.h"
#include "object.h"

class Resource final : public KObject {
public:
    static constexpr ObjectType kType = ObjectType::resource;
    static constexpr uint32_t kDefaultRights = mica::kRightManage | mica::kRightDuplicate | mica::kRightTransfer;
    Resource(mica::ResourceKind kind, uint64_t base, uint64_t size)
        : KObject(kType), kind(kind), base(base), size(size) {}

    // True if this resource covers [first, first + count) of `wanted`.
    bool allows(mica::ResourceKind wanted, uint64_t first, uint64_t count) const {
        if (kind == mica::kResourceRoot) return true;
        if (kind != wanted) return false;
        if (wanted == mica::kResourceDma) return true;
        return first >= base && range_within(first - base, count, size);
    }

    const mica::ResourceKind kind;
    const uint64_t base, size;
};
