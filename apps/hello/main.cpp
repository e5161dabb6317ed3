// The smallest program: prints a line and exits.
#include "mica/runtime.h"

int main() {
    mica::print("hello from user space\n");
    return 0;
}
