// The smallest program: prints a line and exits.
#include "mica/runtime.h"
#include "mica/words.h"

int main() {
    if (!mica::Words(mica::startup().cmdline).accepts("", 0, 0, "hello")) return 2;
    mica::print("hello from user space\n");
    return 0;
}
