// The root resource: the privilege to name physical memory, I/O ports and
// interrupts, and to power the machine off. The kernel gives the one handle
// to it to the first process, which passes it on only where the boot
// manifest says.
#pragma once

#include "object.h"

class Resource final : public KObject {
public:
    static constexpr ObjectType kType = ObjectType::resource;
    Resource() : KObject(kType) {}
};
