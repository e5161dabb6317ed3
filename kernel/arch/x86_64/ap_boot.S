/*
 * The application processors' way from real mode to the kernel.
 *
 * smp.cpp copies ap_trampoline..ap_trampoline_end to TRAMPOLINE (a page in
 * the first MiB, which the frame allocator never hands out) and fills in
 * ap_params; a STARTUP IPI with vector TRAMPOLINE >> 12 starts the CPU there
 * in 16-bit real mode. It goes through 32-bit protected mode into long mode
 * on the boot page tables (boot.S: the first 4 GiB identity-mapped, the
 * kernel image at -2 GiB), jumps to the kernel image, and only there loads
 * the kernel's own tables and its stack, since neither need lie below 4 GiB.
 */
#define TRAMPOLINE 0x8000
#define AT(label) (TRAMPOLINE + (label) - ap_trampoline)

        .section .rodata
        .code16
        .globl ap_trampoline, ap_trampoline_end, ap_params
ap_trampoline:
        cli
        cld
        xor     %ax, %ax
        mov     %ax, %ds
        lgdtl   AT(ap_gdt_ptr)
        mov     %cr0, %eax
        or      $1, %eax                        /* PE */
        mov     %eax, %cr0
        ljmpl   $0x08, $AT(ap_protected)

        .code32
ap_protected:
        mov     $0x10, %ax
        mov     %ax, %ds
        mov     %ax, %es
        mov     %ax, %ss
        mov     %cr4, %eax
        or      $(1 << 5), %eax                 /* PAE */
        mov     %eax, %cr4
        mov     AT(ap_boot_tables), %eax
        mov     %eax, %cr3
        mov     $0xc0000080, %ecx               /* EFER: LME, and NXE for the kernel's tables */
        rdmsr
        or      $((1 << 8) | (1 << 11)), %eax
        wrmsr
        mov     %cr0, %eax
        or      $0x80000000, %eax               /* PG */
        mov     %eax, %cr0
        ljmp    $0x18, $AT(ap_long)

        .code64
ap_long:
        mov     AT(ap_kernel_tables), %rbx
        mov     AT(ap_stack), %rcx
        mov     AT(ap_cpu), %rdi
        movabs  $ap_enter_kernel, %rax
        jmp     *%rax

        .balign 8
ap_gdt:
        .quad 0
        .quad 0x00cf9a000000ffff                /* 0x08: 32-bit code */
        .quad 0x00cf92000000ffff                /* 0x10: data */
        .quad 0x00af9a000000ffff                /* 0x18: 64-bit code */
ap_gdt_ptr:
        .short ap_gdt_ptr - ap_gdt - 1
        .long AT(ap_gdt)
        .balign 8
ap_params:                                      /* struct ApParams in smp.cpp */
ap_boot_tables:   .quad 0
ap_kernel_tables: .quad 0
ap_stack:         .quad 0
ap_cpu:           .quad 0
ap_trampoline_end:

/* In the kernel image, still on the boot tables: RBX = the kernel's tables, RCX = stack, RDI = Cpu. */
        .text
ap_enter_kernel:
        mov     %rbx, %cr3
        mov     %rcx, %rsp
        xor     %ebp, %ebp                      /* ends the backtrace walk */
        call    ap_main
1:      cli
        hlt
        jmp     1b

        .section .note.GNU-stack, "", @progbits
