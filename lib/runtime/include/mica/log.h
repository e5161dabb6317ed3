// Writing to the system log from a service: printf-style lines sent to the
// log server through the handle init gives every service (kSlotLog); the
// log server prefixes each with the service's name. Without a log handle
// (a program the shell started) the line goes to the debug console.
#pragma once

namespace mica {

void logf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace mica
