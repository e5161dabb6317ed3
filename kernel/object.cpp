#include "object.h"

uint64_t KObject::next_koid_ = 1;
uint64_t KObject::live_ = 0;

KObject::KObject(ObjectType type) : type_(type), koid_(next_koid_++) { ++live_; }

KObject::~KObject() { --live_; }
