/*
 * linux-hog: takes memory until it is refused, to show that one Linux
 * program cannot starve the others (each may hold a share of the
 * personality's memory). Allocates 1 MiB at a time with malloc and touches
 * every page, then prints "linux-hog: refused after N MiB", holds it all for
 * two seconds (while other programs show they still run), and, to prove the
 * refusal was clean, frees it and allocates 1 MiB again.
 *
 *   linux-hog [MIB]   stop at MIB even if not refused (default: no limit)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
    long limit = argc > 1 ? atol(argv[1]) : -1;
    static void* blocks[65536];
    long got = 0;
    while (got < 65536 && (limit < 0 || got < limit)) {
        char* b = malloc(1 << 20);
        if (!b) break;
        memset(b, 0x5a, 1 << 20);
        blocks[got++] = b;
    }
    printf("linux-hog: refused after %ld MiB\n", got);
    sleep(2);
    for (long i = 0; i < got; ++i) free(blocks[i]);
    char* again = malloc(1 << 20);
    if (again) memset(again, 1, 1 << 20);
    printf("linux-hog: %s\n", again ? "allocated again after freeing" : "FAILED to allocate after freeing");
    return again ? 0 : 1;
}
