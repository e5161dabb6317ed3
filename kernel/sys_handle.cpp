// Handle system calls: close, duplicate (with fewer rights), inspect, grant.
#include "process.h"
#include "syscalls.h"

using namespace mica;

int64_t sys_handle_close(Handle handle) { return current_process().handles().remove(handle); }

int64_t sys_handle_duplicate(Handle handle, uint32_t rights) {
    Process& self = current_process();
    const HandleTable::Entry* e = self.handles().find(handle);
    if (!e) return kErrBadHandle;
    if (!(e->rights & kRightDuplicate)) return kErrAccessDenied;
    if (rights == kRightsSame) rights = e->rights;
    if (rights & ~e->rights) return kErrAccessDenied;  // rights never grow
    return self.handles().add(e->object, rights, self.quota(), e->badge);  // the badge stays
}

int64_t sys_handle_info(Handle handle, UserPtr<HandleInfo> info) {
    const HandleTable::Entry* e = current_process().handles().find(handle);
    if (!e) return kErrBadHandle;
    return info.write(HandleInfo{e->object->type(), e->rights, e->object->koid()});
}

int64_t sys_handle_grant(Handle process, Handle handle, uint32_t rights) {
    Process& self = current_process();
    Ref<Process> target;
    if (int64_t e = self.get(process, kRightManage, &target)) return e;
    const HandleTable::Entry* e = self.handles().find(handle);
    if (!e) return kErrBadHandle;
    if ((e->rights & (kRightTransfer | kRightDuplicate)) != (kRightTransfer | kRightDuplicate))
        return kErrAccessDenied;
    if (rights == kRightsSame) rights = e->rights;
    if (rights & ~e->rights) return kErrAccessDenied;
    if (!target->alive()) return kErrBadState;
    return target->handles().add(e->object, rights, target->quota(), e->badge);
}
