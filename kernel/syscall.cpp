// System-call dispatch: number -> handler, through the table generated from
// abi/mica/syscalls.def. Handlers validate every argument themselves.
#include "syscalls.h"

#include "mica/syscall_numbers.h"

#include "kernel/syscall_table.inc"  // kSyscallTable (arch.h), one entry per call
