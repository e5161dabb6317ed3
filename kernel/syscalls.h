// Declarations of every sys_* function, generated from abi/mica/syscalls.def
// (tools/gen_syscalls.py). Each syscall family lives in its own sys_*.cpp.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "mica/errors.h"
#include "mica/ipc.h"
#include "mica/types.h"
#include "user_ptr.h"

using mica::Handle;
using mica::HandleInfo;
using mica::IpcBuffer;
using mica::ProcessInfo;
using mica::SystemInfo;
using mica::ThreadInfo;
using mica::ThreadRegs;

#include "kernel/syscall_decls.inc"
