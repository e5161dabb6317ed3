#include "mica/words.h"

#include "mica/runtime.h"
#include "mica/strings.h"

namespace mica {

Words::Words(const char* line) {
    copy_string(text_, sizeof text_, line);
    for (char* p = text_; *p;) {
        while (*p == ' ') *p++ = '\0';
        if (!*p) break;
        char* end = p;
        bool option = false;
        for (; *end && *end != ' '; ++end) option |= *end == '=';
        if (option) {
            if (option_count_ < sizeof options_ / sizeof options_[0]) options_[option_count_++] = p;
            else ++dropped_;
        } else if (count_ < sizeof args_ / sizeof args_[0]) {
            args_[count_++] = p;
        } else {
            ++dropped_;
        }
        p = end;
    }
}

bool Words::accepts(const char* keys, size_t min, size_t max, const char* usage) const {
    bool ok = count_ >= min && count_ <= max && !dropped_;
    for (size_t i = 0; i < count_ && ok; ++i) ok = args_[i][0] != '-' || !args_[i][1];
    for (size_t i = 0; i < option_count_ && ok; ++i) {
        size_t n = strchr(options_[i], '=') - options_[i];
        bool known = n == 3 && !strncmp(options_[i], "cwd", 3);
        for (const char* k = keys; *k && !known;) {
            const char* end = k;
            while (*end && *end != ' ') ++end;
            known = static_cast<size_t>(end - k) == n && !strncmp(k, options_[i], n);
            k = *end ? end + 1 : end;
        }
        ok = known;
    }
    if (!ok) print("usage: %s\n", usage);
    return ok;
}

const char* Words::value(const char* key, const char* fallback) const {
    size_t n = strlen(key);
    for (size_t i = 0; i < option_count_; ++i)
        if (!strncmp(options_[i], key, n) && options_[i][n] == '=') return options_[i] + n + 1;
    return fallback;
}

uint64_t Words::parse(const char* s) {
    uint64_t v = 0;
    unsigned base = 10;
    if (s[0] == '0' && s[1] == 'x') base = 16, s += 2;
    for (;; ++s) {
        unsigned d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : 99;
        if (d >= base) break;
        v = v * base + d;
    }
    if (*s == 'K' || *s == 'k') v <<= 10;
    else if (*s == 'M' || *s == 'm') v <<= 20;
    return v;
}


void Random::fill(void* buffer, size_t n) {
    auto* p = static_cast<uint8_t*>(buffer);
    while (n >= 8) {
        uint64_t v = next();
        memcpy(p, &v, 8);
        p += 8, n -= 8;
    }
    if (n) {
        uint64_t v = next();
        memcpy(p, &v, n);
    }
}

}  // namespace mica
