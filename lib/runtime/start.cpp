// C++ start-up for ring-3 programs: run global constructors, call main.
#include <stdint.h>

extern "C" {
using Constructor = void (*)();
extern Constructor __init_array_start[] __attribute__((weak));
extern Constructor __init_array_end[] __attribute__((weak));
void* __dso_handle = nullptr;
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }
}

int main();

extern "C" [[noreturn]] void mica_start() {
    for (Constructor* c = __init_array_start; c != __init_array_end; ++c) (*c)();
    main();
    // Process exit arrives with the system-call layer (kernel core); until
    // then a program that returns stops on an invalid opcode.
    __builtin_trap();
}
