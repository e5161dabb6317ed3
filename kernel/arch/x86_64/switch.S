/*
 * Kernel context switch and the first steps of new threads.
 *
 * switch_context(uint64_t* save_rsp, uint64_t load_rsp): pushes the
 * callee-saved registers, saves RSP, loads the other thread's RSP and pops
 * its registers; `ret` continues wherever that thread switched out (or, for
 * a new thread, in the entry point below, through the frame that
 * arch::init_user_context built).
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

/* New user thread: r14 = FPU image; a TrapFrame for ring 3 sits above. */
        .globl user_thread_entry
user_thread_entry:
        fxrstor64 (%r14)
        call    user_thread_first_run
        jmp     trap_return

/*
 * A thread that waits as arch::switch_direct left it, resumed by a switch:
 * r15 = its user state (TrapFrame), r14 = its FPU image. The IPC engine
 * puts what woke it in its registers, as the general path would.
 */
        .globl ipc_resume_entry
ipc_resume_entry:
        mov     %r15, %rsp
        fxrstor64 (%r14)
        call    ipc_fast_resumed
        call    user_thread_first_run
        jmp     trap_return

        .section .note.GNU-stack, "", @progbits
