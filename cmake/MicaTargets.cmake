# Compile and link settings for kernel and user-space targets.

set(MICA_VERSION ${PROJECT_VERSION})

# Freestanding C++ for the kernel (see shared/TOOLCHAIN.md for why each flag).
add_library(mica_kernel_flags INTERFACE)
target_compile_options(mica_kernel_flags INTERFACE
    -O2 -g -flto=auto -ffreestanding -fno-pic -fno-pie -mcmodel=kernel -mno-red-zone -ffunction-sections -fdata-sections
    -mgeneral-regs-only -fno-stack-protector -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -fno-optimize-sibling-calls
    -fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns
    -Wall -Wextra -Werror=return-type
    $<$<COMPILE_LANGUAGE:CXX>:-fno-exceptions -fno-rtti -fno-threadsafe-statics>)
target_compile_definitions(mica_kernel_flags INTERFACE MICA_VERSION="${MICA_VERSION}")

# Ring-3 programs: static, non-PIE ELF with no host C library.
add_library(mica_user_flags INTERFACE)
target_compile_options(mica_user_flags INTERFACE
    -O2 -g -ffreestanding -fno-pic -fno-pie -fno-stack-protector
    -fno-omit-frame-pointer -fno-asynchronous-unwind-tables
    -fno-tree-loop-distribute-patterns -Wall -Wextra -Werror=return-type
    $<$<COMPILE_LANGUAGE:CXX>:-fno-exceptions -fno-rtti -fno-threadsafe-statics>)
target_link_options(mica_user_flags INTERFACE
    -nostdlib -static -no-pie -Wl,-z,max-page-size=0x1000 -Wl,--build-id=none)

# mica_program(NAME SOURCES...): a ring-3 program linked with the runtime,
# carried as a boot module (the kernel can start it as the first process).
function(mica_program name)
    add_executable(${name} ${ARGN})
    target_link_libraries(${name} PRIVATE mica_runtime mica_user_flags gcc)
    set_property(GLOBAL APPEND PROPERTY MICA_PROGRAMS ${name})
endfunction()

# mica_initfs_program(NAME SOURCES...): a program that lives in the boot file
# system as bin/NAME (init starts services from there; the shell runs them).
function(mica_initfs_program name)
    add_executable(${name} ${ARGN})
    target_link_libraries(${name} PRIVATE mica_runtime mica_user_flags gcc)
    set_property(GLOBAL APPEND PROPERTY MICA_INITFS_PROGRAMS ${name})
endfunction()
