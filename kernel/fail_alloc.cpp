#include "fail_alloc.h"

#include "klog.h"

namespace {
uintptr_t g_site = 0;
uint64_t g_nth = 0, g_hits = 0;
}  // namespace

void fail_alloc_arm(uintptr_t site, uint64_t nth) {
    g_site = site;
    g_nth = nth;
    g_hits = 0;
}

bool fail_alloc_now(uintptr_t site) {
    if (site != g_site || ++g_hits != g_nth) return false;
    log_info("fail.alloc: allocation %lu from %#lx fails, as asked", g_hits, site);
    return true;
}
