// What the shell's parts share: output (to the console, or to a file when a
// command's output is redirected), the services it talks to, and names
// resolved against the current directory.
#pragma once

#include "mica/files.h"
#include "mica/rpc.h"
#include "proto/fs.h"

namespace shell {

using mica::Handle;

extern Handle g_init, g_ns, g_log, g_console;
extern const char* g_command;  // the command running, for messages

// A command's output: the console, or the file `> FILE` named.
void out(const char* text, size_t n);
void print(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Errors always go to the console.
void error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

using mica::files::scheme_endpoint;

// A name resolved against the current directory (mica/files.h).
using Name = mica::files::Name;
bool resolve(const char* name, Name* out);  // false: an error was printed
const char* cwd();

// Redirection: output to `path` from `offset` (0 truncates), until ended.
bool redirect_begin(const char* name, bool append);
void redirect_end();

struct Command {
    const char* name;
    void (*run)(int argc, char** argv);
    const char* usage;
};
extern const Command kFileCommands[];
extern const Command kSystemCommands[];

}  // namespace shell
