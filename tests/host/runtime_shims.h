// What user-space runtime code compiled for the host prints
// (runtime_shims.cpp keeps it for the tests).
#pragma once

#include <string>

// Everything mica::print wrote since the last call, and forgets it.
std::string take_printed();
