// The register state trap_entry.S saves (defined in arch/context.h).
#pragma once

#include <stdint.h>

#include "arch/context.h"  // TrapFrame
