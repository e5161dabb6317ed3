/*
 * Boot stub: from GRUB's Multiboot2 hand-off to 64-bit C++.
 *
 * GRUB enters _start in 32-bit protected mode with paging off, EAX holding the
 * Multiboot2 magic and EBX the physical address of the boot information. This
 * file checks both, builds boot page tables, enters long mode and jumps to the
 * higher half. The boot tables map, with 2 MiB pages:
 *   - 0..4 GiB identity (GRUB may put boot info and modules anywhere below 4 GiB;
 *     under UEFI it puts them below the kernel),
 *   - 0..4 GiB again at the direct-map base 0xffff800000000000,
 *   - 0..2 GiB at 0xffffffff80000000, where the kernel is linked.
 * The kernel replaces these tables with its own as soon as it can.
 */

#define KERNEL_VMA 0xffffffff80000000
#define MB2_MAGIC_HEADER 0xe85250d6
#define MB2_MAGIC_LOADER 0x36d76289

        .section .multiboot2, "a"
        .balign 8
mb2_header:
        .long MB2_MAGIC_HEADER
        .long 0                                 /* architecture: i386 protected mode */
        .long mb2_header_end - mb2_header
        .long 0x100000000 - (MB2_MAGIC_HEADER + (mb2_header_end - mb2_header))
        .balign 8                               /* end tag */
        .short 0, 0
        .long 8
mb2_header_end:

        .section .boot.text, "ax"
        .code32
        .globl _start
_start:
        cli
        cld
        mov     $boot_stack32_top, %esp
        mov     %ebx, boot_info

        cmp     $MB2_MAGIC_LOADER, %eax
        mov     $msg_no_multiboot, %esi
        jne     boot_fail

        /* Long mode needs extended CPUID leaf 0x80000001, EDX bit 29. */
        mov     $0x80000000, %eax
        cpuid
        mov     $msg_no_long_mode, %esi
        cmp     $0x80000001, %eax
        jb      boot_fail
        mov     $0x80000001, %eax
        cpuid
        test    $(1 << 29), %edx
        jz      boot_fail

        /* Four page directories: entry i maps i * 2 MiB (present, writable, large). */
        mov     $boot_pd, %edi
        xor     %ecx, %ecx
1:      mov     %ecx, %eax
        shl     $21, %eax
        or      $0x83, %eax
        mov     %eax, (%edi, %ecx, 8)
        movl    $0, 4(%edi, %ecx, 8)
        inc     %ecx
        cmp     $2048, %ecx
        jne     1b

        /* Low PDPT: entries 0..3 -> the four page directories. */
        mov     $boot_pdpt_low, %edi
        mov     $boot_pd + 3, %eax
        xor     %ecx, %ecx
2:      mov     %eax, (%edi, %ecx, 8)
        movl    $0, 4(%edi, %ecx, 8)
        add     $4096, %eax
        inc     %ecx
        cmp     $4, %ecx
        jne     2b

        /* High PDPT: entries 510, 511 -> first two GiB (kernel image at -2 GiB). */
        mov     $boot_pdpt_high, %edi
        movl    $boot_pd + 3, 510 * 8(%edi)
        movl    $boot_pd + 4096 + 3, 511 * 8(%edi)

        mov     $boot_pml4, %edi
        movl    $boot_pdpt_low + 3, 0(%edi)             /* identity */
        movl    $boot_pdpt_low + 3, 256 * 8(%edi)       /* direct map */
        movl    $boot_pdpt_high + 3, 511 * 8(%edi)      /* kernel image */
        mov     %edi, %cr3

        mov     %cr4, %eax
        or      $(1 << 5), %eax                 /* PAE */
        mov     %eax, %cr4

        mov     $0xc0000080, %ecx               /* EFER */
        rdmsr
        or      $(1 << 8), %eax                 /* LME */
        wrmsr

        mov     %cr0, %eax
        or      $0x80000001, %eax               /* PG | PE */
        mov     %eax, %cr0

        lgdt    boot_gdt_ptr
        ljmp    $0x08, $long_mode_entry

/* Print the NUL-terminated string at ESI on COM1, then stop. */
boot_fail:
        mov     $0x3f8, %dx
1:      lodsb
        test    %al, %al
        jz      2f
        out     %al, %dx
        jmp     1b
2:      hlt
        jmp     2b

        .code64
long_mode_entry:
        mov     $0x10, %ax
        mov     %ax, %ds
        mov     %ax, %es
        mov     %ax, %ss
        xor     %ax, %ax
        mov     %ax, %fs
        mov     %ax, %gs
        movabs  $boot_stack_top, %rsp
        xor     %ebp, %ebp                      /* ends the backtrace walk */
        mov     boot_info, %edi
        movabs  $arch_boot, %rax
        call    *%rax
3:      hlt
        jmp     3b

        .section .boot.data, "aw"
        .balign 8
boot_gdt:
        .quad 0
        .quad 0x00af9a000000ffff                /* 0x08: 64-bit code */
        .quad 0x00cf92000000ffff                /* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
        .short boot_gdt_end - boot_gdt - 1
        .long boot_gdt
boot_info:      .long 0
msg_no_multiboot: .asciz "Mica: not started by a Multiboot2 loader\r\n"
msg_no_long_mode: .asciz "Mica: this CPU has no 64-bit long mode\r\n"

        .section .boot.bss, "aw", @nobits
        .balign 4096
        .globl boot_pml4                        /* kept: the APs start on these tables too */
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pdpt_high: .skip 4096
boot_pd:        .skip 4 * 4096
boot_stack32:   .skip 1024
boot_stack32_top:

        .section .bss, "aw", @nobits
        .balign 16
        .globl boot_stack_top
boot_stack:     .skip 16384
boot_stack_top:

        .section .note.GNU-stack, "", @progbits
