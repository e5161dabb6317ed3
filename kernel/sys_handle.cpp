// Handle system calls: close, duplicate (with fewer rights), inspect, grant.
#include "process.h"
#include "syscalls.h"

using namespace mica;

int64_t sys_handle_close(Handle handle) { return current_process().handles().remove(handle); }

int64_t sys_handle_duplicate(Handle handle, uint32_t rights) {
    Process& self = current_process();
    Capability cap;
    if (int64_t e = self.check(handle, kRightDuplicate, ObjectType::none, &cap)) return e;
    if (int64_t e = narrow_rights(cap.rights, rights, &rights)) return e;
    return self.handles().add(cap.object, rights, self.quota(), cap.badge);  // the badge stays
}

int64_t sys_handle_info(Handle handle, UserPtr<HandleInfo> info) {
    Capability cap;
    if (int64_t e = current_process().check(handle, 0, ObjectType::none, &cap)) return e;
    return info.write(HandleInfo{cap.object->type(), cap.rights, cap.object->koid()});
}

int64_t sys_handle_grant(Handle process, Handle handle, uint32_t rights) {
    Process& self = current_process();
    Ref<Process> target;
    if (int64_t e = self.get(process, kRightManage, &target)) return e;
    Capability cap;
    if (int64_t e = self.check(handle, kRightTransfer | kRightDuplicate, ObjectType::none, &cap)) return e;
    if (int64_t e = narrow_rights(cap.rights, rights, &rights)) return e;
    if (!target->alive()) return kErrBadState;
    return target->handles().add(cap.object, rights, target->quota(), cap.badge);
}
