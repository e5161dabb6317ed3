// A process's address space: its page tables and the list of mappings
// (ranges of memory objects) that the tables mirror. User space chooses the
// addresses; the kernel checks them and keeps W^X. Mapping records and page
// tables are charged to the owning process's quota.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "lib/list.h"
#include "memory_object.h"
#include "quota.h"

struct Mapping {
    ListNode node;
    uintptr_t base;
    size_t size;
    Ref<MemoryObject> memory;
    size_t offset;       // into the memory object
    uint32_t perms;      // mica::VmPerms
    uint32_t max_perms;  // what the handle used to map allowed
};

class AddressSpace {
public:
    static constexpr uintptr_t kLowest = 0x10000;  // nothing maps below: null stays a fault
    // Nothing maps in the top page of user space either: a system call in its
    // last bytes would return to a non-canonical address (Linux keeps it free too).
    static constexpr uintptr_t kHighest = mica::kUserTop - arch::kPageSize;

    AddressSpace() = default;
    AddressSpace(const AddressSpace&) = delete;
    AddressSpace& operator=(const AddressSpace&) = delete;

    int64_t init(Quota& quota);
    // Removes every mapping and frees the tables. The space is unusable after.
    void destroy();
    bool alive() const { return tables_.root() != 0; }

    int64_t map(uintptr_t base, Ref<MemoryObject> memory, size_t offset, size_t size,
                uint32_t perms, uint32_t max_perms);
    int64_t unmap(uintptr_t base, size_t size);
    int64_t protect(uintptr_t base, size_t size, uint32_t perms);

    const arch::PageTables& tables() const { return alive() ? tables_ : arch::kernel_page_tables(); }

private:
    struct TableFrames final : arch::TableFrames {
        Quota* quota = nullptr;
        int64_t last_error = 0;
        uint64_t take() override;
        void give_back(uint64_t phys) override;
    };

    int64_t check_range(uintptr_t base, size_t size) const;
    bool wx_allows(uintptr_t base, uintptr_t end, uint32_t perms) const;
    int64_t split_at(uintptr_t address);
    void remove_pages(uintptr_t base, size_t size);
    void free_mapping(Mapping* m);
    void shootdown();

    arch::PageTables tables_;
    TableFrames frames_;
    List<Mapping, &Mapping::node> mappings_;  // sorted by base, never overlapping
};
