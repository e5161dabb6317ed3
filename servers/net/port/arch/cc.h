/* lwIP's compiler and platform layer for Mica: lwIP is compiled as
   published, freestanding, and reaches the runtime only through the
   functions below (servers/net/sys_arch.cpp). */
#ifndef MICA_LWIP_ARCH_CC_H
#define MICA_LWIP_ARCH_CC_H

#ifdef __cplusplus
extern "C" {
#endif

void mica_lwip_diag(const char* format, ...) __attribute__((format(printf, 1, 2)));
void mica_lwip_assert(const char* message, const char* file, int line) __attribute__((noreturn));
unsigned int mica_lwip_rand(void);

#ifdef __cplusplus
}
#endif

#define LWIP_NO_CTYPE_H 1
#define LWIP_PLATFORM_DIAG(x) do { mica_lwip_diag x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) mica_lwip_assert(x, __FILE__, __LINE__)
#define LWIP_RAND() ((u32_t)mica_lwip_rand())

#endif
