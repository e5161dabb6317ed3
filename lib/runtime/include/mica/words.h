// A program's command line as words: the shell passes "cwd=DIR" and then
// what was typed after the program's name. key=value words are options
// (value()); the others are the positional arguments ([i], count()).
// Also the small pseudo-random generator the test programs share, so that
// runs are reproducible from their seed.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "mica/startup.h"

namespace mica {

class Words {
public:
    explicit Words(const char* line);
    size_t count() const { return count_; }
    const char* operator[](size_t i) const { return i < count_ ? args_[i] : ""; }
    // The value of key=..., or `fallback`.
    const char* value(const char* key, const char* fallback) const;
    // Decimal or 0x hexadecimal, with an optional K or M suffix (KiB, MiB).
    uint64_t number(size_t i) const { return parse((*this)[i]); }
    // Whether the line is one the program takes: every key=value among
    // `keys` (a space-separated list; cwd, which the shell always passes,
    // too), no word like an option (-x, --x), and between `min` and `max`
    // positional arguments, and no word left out (more than the tables
    // hold: 64 arguments, 16 options). If not, prints `usage` and the
    // program should end with status 2.
    bool accepts(const char* keys, size_t min, size_t max, const char* usage) const;
    static uint64_t parse(const char* s);

private:
    char text_[kCmdlineBytes];  // the whole command line fits, never cut
    const char* args_[64];
    const char* options_[16];
    size_t count_ = 0, option_count_ = 0;
    size_t dropped_ = 0;  // words beyond the tables: refused by accepts()
};

// xorshift64*: fast, and the same bytes on every machine.
class Random {
public:
    explicit Random(uint64_t seed) : state_(seed * 0x9e3779b97f4a7c15ULL + 1) {}
    uint64_t next() {
        state_ ^= state_ >> 12, state_ ^= state_ << 25, state_ ^= state_ >> 27;
        return state_ * 0x2545f4914f6cdd1dULL;
    }
    uint64_t below(uint64_t n) { return n ? next() % n : 0; }
    void fill(void* buffer, size_t n);

private:
    uint64_t state_;
};

}  // namespace mica
