/*
 * Exception entry. Each stub makes the stack look the same (a dummy error code
 * where the CPU pushes none, then the vector), the common path saves every
 * general register into a TrapFrame (trap.h) and calls trap_dispatch.
 */
        .text

.macro TRAP_STUB vector, has_error
        .balign 16
trap_stub_\vector:
.if \has_error == 0
        pushq   $0
.endif
        pushq   $\vector
        jmp     trap_common
.endm

.irp v, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
        TRAP_STUB \v, 0
.endr
.irp v, 8,10,11,12,13,14,17,21,29,30
        TRAP_STUB \v, 1
.endr

trap_common:
        testb   $3, 24(%rsp)            /* CS of the interrupted context */
        jz      1f
        swapgs
1:      pushq   %rax
        pushq   %rbx
        pushq   %rcx
        pushq   %rdx
        pushq   %rsi
        pushq   %rdi
        pushq   %rbp
        pushq   %r8
        pushq   %r9
        pushq   %r10
        pushq   %r11
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        cld
        mov     %rsp, %rdi
        call    trap_dispatch
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %r11
        popq    %r10
        popq    %r9
        popq    %r8
        popq    %rbp
        popq    %rdi
        popq    %rsi
        popq    %rdx
        popq    %rcx
        popq    %rbx
        popq    %rax
        testb   $3, 24(%rsp)
        jz      2f
        swapgs
2:      addq    $16, %rsp               /* vector and error code */
        iretq

        .section .rodata
        .balign 8
        .globl trap_stubs
trap_stubs:
.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        .quad trap_stub_\v
.endr

        .section .note.GNU-stack, "", @progbits
