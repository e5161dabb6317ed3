// Memory system calls: memory objects (anonymous, contiguous, physical) and
// mapping them into address spaces.
#include "lib/checked.h"
#include "memory.h"
#include "memory_object.h"
#include "process.h"
#include "resource.h"
#include "syscalls.h"

using namespace mica;

namespace {
int64_t give(Process& self, Ref<MemoryObject>& m) { return self.handles().add(m.get(), m->default_rights(), self.quota()); }

// Memory the kernel reaches through the direct map (not device registers).
bool kernel_can_copy(const MemoryObject& m) { return !m.device(); }
}  // namespace

int64_t sys_memory_create(size_t size) {
    Process& self = current_process();
    Ref<MemoryObject> m;
    if (int64_t e = MemoryObject::create(MemoryObject::Kind::anonymous, size, self.quota(), &m)) return e;
    return give(self, m);
}

int64_t sys_memory_create_physical(Handle resource, uint64_t phys, size_t size) {
    Process& self = current_process();
    Ref<Resource> r;
    if (int64_t e = self.get(resource, kRightManage, &r)) return e;
    if (phys % kPageSize || size % kPageSize) return kErrAlignment;
    uint64_t end;
    if (size == 0 || size > MemoryObject::kMaxBytes || !checked_add(phys, size, &end)) return kErrInvalidArgument;
    if (!r->allows(kResourceMmio, phys, size)) return kErrAccessDenied;
    // Device memory only, and never the interrupt controllers the kernel drives.
    if (range_overlaps_ram(phys, size) || arch::is_kernel_device(phys, size)) return kErrAccessDenied;
    Ref<MemoryObject> m;
    if (int64_t e = MemoryObject::create(MemoryObject::Kind::physical, size, self.quota(), &m, phys, false))
        return e;
    return give(self, m);
}

int64_t sys_memory_create_contiguous(Handle resource, size_t size, UserPtr<uint64_t> phys) {
    Process& self = current_process();
    Ref<Resource> r;
    if (int64_t e = self.get(resource, kRightManage, &r)) return e;
    if (!r->allows(kResourceDma, 0, 0)) return kErrAccessDenied;
    Ref<MemoryObject> m;
    if (int64_t e = MemoryObject::create(MemoryObject::Kind::contiguous, size, self.quota(), &m)) return e;
    if (int64_t e = phys.write(m->frame_at(0))) return e;
    return give(self, m);
}

int64_t sys_memory_read(Handle memory, size_t offset, UserPtr<void> buffer, size_t length) {
    Ref<MemoryObject> m;
    if (int64_t e = current_process().get(memory, kRightRead, &m)) return e;
    if (!kernel_can_copy(*m)) return kErrBadState;
    if (!range_within(offset, length, m->size())) return kErrOutOfRange;
    if (!user_range_ok(buffer.address(), length)) return kErrBadAddress;
    return m->read_to_user(offset, buffer.address(), length);
}

int64_t sys_memory_write(Handle memory, size_t offset, UserPtr<const void> buffer, size_t length) {
    Ref<MemoryObject> m;
    if (int64_t e = current_process().get(memory, kRightWrite, &m)) return e;
    if (!kernel_can_copy(*m) || m->executable_mappings) return kErrBadState;  // W^X
    if (!range_within(offset, length, m->size())) return kErrOutOfRange;
    if (!user_range_ok(buffer.address(), length)) return kErrBadAddress;
    return m->write_from_user(offset, buffer.address(), length);
}

int64_t sys_vm_map(Handle process, uintptr_t address, Handle memory, size_t offset, size_t size,
                   uint32_t perms) {
    Process& self = current_process();
    Ref<Process> target;
    if (int64_t e = self.get(process, kRightMap, &target)) return e;
    Ref<MemoryObject> m;
    Capability cap;
    if (int64_t e = self.get(memory, kRightMap, &m, &cap)) return e;
    uint32_t max_perms = 0;
    if (cap.rights & kRightRead) max_perms |= kVmRead;
    if (cap.rights & kRightWrite) max_perms |= kVmWrite;
    if (cap.rights & kRightExecute) max_perms |= kVmExec;
    return target->address_space().map(address, m, offset, size, perms, max_perms);
}

int64_t sys_vm_unmap(Handle process, uintptr_t address, size_t size) {
    Ref<Process> target;
    if (int64_t e = current_process().get(process, kRightMap, &target)) return e;
    return target->address_space().unmap(address, size);
}

int64_t sys_vm_protect(Handle process, uintptr_t address, size_t size, uint32_t perms) {
    Ref<Process> target;
    if (int64_t e = current_process().get(process, kRightMap, &target)) return e;
    return target->address_space().protect(address, size, perms);
}
