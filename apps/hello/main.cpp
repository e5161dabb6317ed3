// The smallest ring-3 program: proves the user-space target builds a static
// ELF that travels to the kernel as a boot module.
int main() { return 0; }
