// What a program with init's control (a `control=yes` manifest line: startup
// slot kSlotControl) asks init about the services it supervises. The test
// programs that kill services use it to see the new incarnation come.
#pragma once

#include <stdint.h>

#include "proto/init.h"

namespace mica {

// Service `name`'s entry in init's process list (valid until the next
// call), or nullptr: no such service, or no answer.
const proto::init::ServiceInfo* service_info(const char* name);

// The pid of service `name`'s running incarnation; 0 when none runs.
uint64_t running_pid(const char* name);

}  // namespace mica
