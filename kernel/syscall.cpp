// System-call dispatch: number -> handler, through the table generated from
// abi/mica/syscalls.def. Handlers validate every argument themselves.
#include "syscalls.h"

#include "mica/syscall_numbers.h"

using SyscallHandler = int64_t (*)(const uint64_t*);

#include "kernel/syscall_table.inc"

static_assert(sizeof(kSyscallTable) / sizeof(kSyscallTable[0]) == mica::kSyscallCount);

int64_t syscall_dispatch(uint64_t number, const uint64_t* args) {
    if (number >= mica::kSyscallCount) return mica::kErrNoSyscall;
    return kSyscallTable[number](args);
}
