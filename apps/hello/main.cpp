// The smallest program: prints a line and exits. Words after its name are
// printed too, as received: the shell's tests use it to see that a long
// command line reaches a program whole.
#include "mica/runtime.h"
#include "mica/words.h"

int main() {
    mica::Words words(mica::startup().cmdline);
    if (!words.accepts("", 0, 64, "hello [WORDS...]")) return 2;
    mica::print("hello from user space");
    for (size_t i = 0; i < words.count(); ++i) mica::print("%s%s", i ? " " : ": ", words[i]);
    mica::print("\n");
    return 0;
}
