// The end of a run. When the first process ends, every other process is
// ended too; once all are gone, the kernel checks that every frame and heap
// byte taken since boot came back, says so, and powers off. So each run that
// ends this way (the in-OS tests, the fuzzer, fault injection) is also a
// leak check of the whole kernel.
#pragma once

#include <stdint.h>

// At boot, just before the first process: the figures to come back to.
void shutdown_baseline();
// The first process has ended with `status`.
void shutdown_begin(int64_t status);
// From the idle loop: once no process is left, report and power off.
void shutdown_poll();
