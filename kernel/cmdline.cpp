#include "cmdline.h"

#include "fail_alloc.h"
#include "ipc.h"
#include "klog.h"
#include "lib/string.h"
#include "smp.h"

namespace {

bool value_is(const CmdlineWord& w, const char* text) {
    return w.value && str_equal(w.value, w.value_length, text);
}

void apply_loglevel(const CmdlineWord& w, KernelOptions&) {
    if (!w.value || !klog_set_level(w.value, w.value_length))
        log_warn("cmdline: loglevel wants debug, info, warn or error; ignored");
}

void apply_test_fault(const CmdlineWord& w, KernelOptions& o) {
    if (value_is(w, "page")) o.test_fault = KernelOptions::TestFault::page_fault;
    else if (value_is(w, "ud")) o.test_fault = KernelOptions::TestFault::invalid_opcode;
    else if (value_is(w, "panic")) o.test_fault = KernelOptions::TestFault::panic;
    else if (value_is(w, "smap")) o.test_fault = KernelOptions::TestFault::smap;
    else if (value_is(w, "smep")) o.test_fault = KernelOptions::TestFault::smep;
    else log_warn("cmdline: test.fault wants page, ud, panic, smap or smep; ignored");
}

void apply_init(const CmdlineWord& w, KernelOptions& o) {
    if (!w.value || w.value_length == 0 || w.value_length >= sizeof o.init) {
        log_warn("cmdline: init wants a boot module name of 1 to %zu characters; ignored", sizeof o.init - 1);
        return;
    }
    for (size_t i = 0; i < w.value_length; ++i) o.init[i] = w.value[i];
    o.init[w.value_length] = '\0';
}

void apply_fastpath(const CmdlineWord& w, KernelOptions&) {
    if (value_is(w, "on") || value_is(w, "off")) g_ipc_fastpath = value_is(w, "on");
    else log_warn("cmdline: ipc.fastpath wants on or off; ignored");
}

// fail.alloc=SITE:N, SITE in hex (0x optional), N in decimal.
void apply_fail_alloc(const CmdlineWord& w, KernelOptions&) {
    uint64_t site = 0, nth = 0;
    size_t i = 0, n = w.value ? w.value_length : 0;
    if (n > 2 && w.value[0] == '0' && w.value[1] == 'x') i = 2;
    for (; i < n && w.value[i] != ':'; ++i) {
        char c = w.value[i];
        int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (digit < 0) break;
        site = site * 16 + static_cast<uint64_t>(digit);
    }
    for (size_t j = i + 1; i < n && j < n && w.value[j] >= '0' && w.value[j] <= '9'; ++j)
        nth = nth * 10 + static_cast<uint64_t>(w.value[j] - '0');
    if (i >= n || w.value[i] != ':' || nth == 0) {
        log_warn("cmdline: fail.alloc wants SITE:N (a hex return address, a count from 1); ignored");
        return;
    }
    fail_alloc_arm(site, nth);
    log_info("fail.alloc: allocation %lu from %#lx will fail", nth, site);
}

void apply_lockdep(const CmdlineWord& w, KernelOptions&) {
    if (value_is(w, "on") || value_is(w, "off")) kernel_lock_checking(value_is(w, "on"));
    else log_warn("cmdline: lockdep wants on or off; ignored");
}

struct Option {
    const char* key;
    void (*apply)(const CmdlineWord&, KernelOptions&);
};

constexpr Option kOptions[] = {
    {"fail.alloc", apply_fail_alloc},
    {"init", apply_init},
    {"ipc.fastpath", apply_fastpath},
    {"lockdep", apply_lockdep},
    {"loglevel", apply_loglevel},
    {"test.fault", apply_test_fault},
};

}  // namespace

KernelOptions apply_cmdline(const char* text) {
    KernelOptions options;
    cmdline_for_each(text, [&](const CmdlineWord& w) {
        for (const Option& o : kOptions) {
            if (str_equal(w.key, w.key_length, o.key)) {
                o.apply(w, options);
                return;
            }
        }
        log_warn("cmdline: unknown option '%.*s' ignored", static_cast<int>(w.key_length), w.key);
    });
    return options;
}

const char* cmdline_user_part(const char* text) {
    return cmdline_for_each(text, [](const CmdlineWord&) {});
}
