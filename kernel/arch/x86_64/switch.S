/*
 * Kernel context switch and the first steps of new threads.
 *
 * switch_context(uint64_t* save_rsp, uint64_t load_rsp): pushes the
 * callee-saved registers, saves RSP, loads the other thread's RSP and pops
 * its registers; `ret` continues wherever that thread switched out (or, for
 * a new thread, in one of the entry points below, through the frame that
 * arch::init_*_context built).
 */
        .text
        .globl switch_context
switch_context:
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        mov     %rsp, (%rdi)
        mov     %rsi, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret

/* New kernel thread: r12 = function, r13 = argument, r14 = FPU image. */
        .globl kernel_thread_entry
kernel_thread_entry:
        fxrstor64 (%r14)
        call    thread_first_run
        mov     %r13, %rdi
        call    *%r12
        call    thread_exit_kernel
        ud2

/* New user thread: r14 = FPU image; a TrapFrame for ring 3 sits above. */
        .globl user_thread_entry
user_thread_entry:
        fxrstor64 (%r14)
        call    user_thread_first_run
        jmp     trap_return

        .section .note.GNU-stack, "", @progbits
