#include "manifest.h"

#ifdef MICA_HOST_TEST
#include <string.h>

#include "lib/format.h"
#else
#include "format.h"
#include "mica/strings.h"
#endif

namespace init {

namespace {

void copy(char* dst, size_t size, const char* src) {
    size_t n = strlen(src);
    if (n >= size) n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

// Digits of `base` at the start of `s` (stops at the first other character).
uint64_t number(const char* s, unsigned base) {
    uint64_t v = 0;
    for (;; ++s) {
        unsigned d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : 99;
        if (d >= base) return v;
        v = v * base + d;
    }
}

const char* after(const char* s, char c) {
    const char* p = strchr(s, c);
    return p ? p + 1 : nullptr;
}

struct Reporter {
    ManifestError error;
    void* context;
    int line;
    bool fail(const char* fmt, const char* arg = "") {
        char why[128];
        format_to(why, sizeof why, fmt, arg);
        error(context, line, why);
        return false;
    }
};

bool parse_resource(const char* value, Grant* g, Reporter& r) {
    const char* base = after(value, ':');
    const char* size = base ? after(base, ':') : nullptr;
    size_t kind_length = base ? static_cast<size_t>(base - 1 - value) : strlen(value);
    auto is = [&](const char* kind) { return strlen(kind) == kind_length && !strncmp(value, kind, kind_length); };
    g->kind = is("mmio") ? mica::kResourceMmio : is("ports") ? mica::kResourceIoPorts : is("irq") ? mica::kResourceIrq
                                                                                                : mica::kResourceRoot;
    if (g->kind == mica::kResourceRoot || !size) return r.fail("resource=mmio|ports|irq:BASE:SIZE (hexadecimal)");
    g->base = number(base, 16);
    g->size = number(size, 16);
    return true;
}

bool parse_ports(const char* value, ServiceSpec& s) {
    const char* range = value;
    for (auto& p : s.ports) {
        if (!range) break;
        p.base = static_cast<uint32_t>(number(range, 16));
        const char* colon = strchr(range, ':');
        const char* comma = strchr(range, ',');
        p.count = colon && (!comma || colon < comma) ? static_cast<uint32_t>(number(colon + 1, 16)) : 1;
        range = comma ? comma + 1 : nullptr;
    }
    return true;
}

bool set_service_key(ServiceSpec& s, const char* key, const char* value, Reporter& r) {
    if (!strcmp(key, "provides")) copy(s.provides, sizeof s.provides, value);
    else if (!strcmp(key, "uses")) copy(s.uses.text, sizeof s.uses.text, value);
    else if (!strcmp(key, "module")) copy(s.module, sizeof s.module, value);
    else if (!strcmp(key, "control")) s.control = !strcmp(value, "yes");
    else if (!strcmp(key, "quota") && !strncmp(value, "rest:", 5)) s.quota_rest = true, s.quota = number(value + 5, 10) * 1024;
    else if (!strcmp(key, "quota")) s.quota = number(value, 10) * 1024;
    else if (!strcmp(key, "irq")) s.irq = static_cast<int>(number(value, 10));
    else if (!strcmp(key, "restart")) s.restart = strcmp(value, "never") != 0;
    else if (!strcmp(key, "ports")) return parse_ports(value, s);
    else if (!strcmp(key, "mmio")) {
        s.mmio_base = number(value, 16);
        const char* size = after(value, ':');
        s.mmio_size = size ? number(size, 16) : 0x1000;
    } else if (!strcmp(key, "device")) {
        s.pci = true;
        s.pci_vendor = static_cast<uint16_t>(number(value, 16));
        const char* device = after(value, ':');
        s.pci_device = device ? static_cast<uint16_t>(number(device, 16)) : 0;
        const char* instance = device ? after(device, ':') : nullptr;
        s.pci_instance = instance ? static_cast<uint32_t>(number(instance, 10)) : 0;
    } else if (!strcmp(key, "dma") || !strcmp(key, "resource")) {
        // dma=KIB: physically contiguous memory, made once and kept by init,
        // so that a device still writing into it after its driver died
        // writes into memory nobody else has been given.
        Grant g{mica::kResourceDma, 0, number(value, 10) * 1024};
        if (!strcmp(key, "resource") && !parse_resource(value, &g, r)) return false;
        if (s.grant_count == kMaxGrants) return r.fail("at most 3 dma= and resource= per service");
        s.grants[s.grant_count++] = g;
    } else {
        return r.fail("unknown key '%s'", key);
    }
    return true;
}

bool set_program_key(ProgramSpec& p, const char* key, const char* value, Reporter& r) {
    if (!strcmp(key, "uses")) copy(p.uses.text, sizeof p.uses.text, value);
    else if (!strcmp(key, "control")) p.control = !strcmp(value, "yes");
    else return r.fail("unknown key '%s' for a program", key);
    return true;
}

// One line, split into words in place.
bool parse_line(char* line, Manifest& m, Reporter& r) {
    char* words[16];
    int n = 0;
    for (char* p = line; *p;) {
        while (*p == ' ' || *p == '\t') *p++ = '\0';
        if (!*p) break;
        if (n == 16) return r.fail("more than 16 words");
        words[n++] = p;
        while (*p && *p != ' ' && *p != '\t') ++p;
    }
    if (n == 0) return true;
    bool service = !strcmp(words[0], "service");
    if (!service && strcmp(words[0], "program") != 0)
        return r.fail("expected 'service NAME PROGRAM key=value...' or 'program NAME key=value...'");
    if (service ? n < 3 : n < 2) return r.fail("a %s line needs a name", words[0]);
    if (service ? m.service_count == Manifest::kMaxServices : m.program_count == Manifest::kMaxPrograms)
        return r.fail("too many %s lines", words[0]);
    ServiceSpec s;
    ProgramSpec p;
    copy(service ? s.name : p.name, sizeof s.name, words[1]);
    if (service) copy(s.program, sizeof s.program, words[2]);
    for (int i = service ? 3 : 2; i < n; ++i) {
        char* eq = strchr(words[i], '=');
        if (!eq) return r.fail("'%s' is not key=value", words[i]);
        *eq = '\0';
        if (!(service ? set_service_key(s, words[i], eq + 1, r) : set_program_key(p, words[i], eq + 1, r)))
            return false;
    }
    if (s.pci && s.mmio_size) return r.fail("device= and mmio= together");
    if (service) m.services[m.service_count++] = s;
    else m.programs[m.program_count++] = p;
    return true;
}

}  // namespace

bool SchemeList::contains(const char* scheme) const {
    bool found = false;
    for_each([&](const char* name, size_t length) {
        found |= strlen(scheme) == length && !strncmp(name, scheme, length);
    });
    return found;
}

int parse_manifest(const char* text, size_t size, Manifest* out, ManifestError error, void* context) {
    *out = Manifest{};
    int skipped = 0;
    char line[512];
    Reporter r{error, context, 0};
    for (size_t at = 0; at < size;) {
        size_t end = at;
        while (end < size && text[end] != '\n') ++end;
        ++r.line;
        size_t length = end - at;
        if (length >= sizeof line) {
            r.fail("longer than 511 characters");
            ++skipped;
        } else {
            memcpy(line, text + at, length);
            line[length] = '\0';
            if (char* hash = strchr(line, '#')) *hash = '\0';
            if (!parse_line(line, *out, r)) ++skipped;
        }
        at = end + 1;
    }
    return skipped;
}

}  // namespace init
