#include "object.h"

#include "quota.h"

uint64_t KObject::next_koid_ = 1;

KObject::KObject(ObjectType type) : type_(type), koid_(next_koid_++) {}

KObject::~KObject() {
    if (charged_quota_) {
        charged_quota_->release(charged_bytes_);
        charged_quota_->unref();
    }
}

void KObject::charge_to(Quota& quota, uint64_t bytes) {
    quota.ref();
    charged_quota_ = &quota;
    charged_bytes_ = bytes;
}
