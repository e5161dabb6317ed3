// What the file-system host tests share: running an e2fsprogs command and
// deterministic file contents.
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>

#include <string>

namespace host {

struct Shell {
    int status;
    std::string out;
};

// Runs `cmd` in a shell: its exit status and standard output.
inline Shell run(const std::string& cmd) {
    Shell r{0, ""};
    FILE* p = popen(cmd.c_str(), "r");
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

// n bytes that depend only on seed.
inline std::string pattern(size_t n, uint32_t seed) {
    std::string s(n, '\0');
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; ++i) {
        x = x * 1103515245u + 12345u;
        s[i] = static_cast<char>(x >> 16);
    }
    return s;
}

}  // namespace host
