/*
 * Kernel entry from exceptions, interrupts and SYSCALL. All three leave the
 * same TrapFrame (arch/context.h) on the kernel stack, so a thread's user state is
 * always found in one place, whichever way it entered.
 */
#define USER_CS (0x20 | 3)
#define USER_DS (0x18 | 3)
#define SYSCALL_VECTOR 0x100    /* not a CPU vector: marks a SYSCALL frame */
#define GS_KERNEL_STACK 8       /* Cpu::kernel_stack_top */
#define GS_USER_RSP 16          /* Cpu::user_rsp */
#define GS_FOREIGN 57           /* Cpu::foreign */
#define SYS_IPC_CALL 28         /* mica::kSysIpcCall */
#define SYS_IPC_REPLY_RECV 31   /* mica::kSysIpcReplyRecv */

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

/* Exceptions that push an error code: 8, 10-14, 17, 21, 29, 30. */
.altmacro
.macro STUB_FOR v
.if (\v == 8) || (\v >= 10 && \v <= 14) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30)
        TRAP_STUB \v, 1
.else
        TRAP_STUB \v, 0
.endif
.endm
.set i, 0
.rept 256
        STUB_FOR %i
.set i, i + 1
.endr

.macro SAVE_REGS
        pushq   %rax
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
.endm

.macro RESTORE_REGS
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
.endm

trap_common:
        testb   $3, 24(%rsp)            /* CS of the interrupted context */
        jz      1f
        swapgs
1:      SAVE_REGS
        cld                             /* DF and AC survive an interrupt from ring 3 */
        clac
        mov     %rsp, %rdi
        call    trap_dispatch

/* Returns to the context in the TrapFrame at RSP (also how new user threads start). */
        .globl trap_return
trap_return:
        RESTORE_REGS
        testb   $3, 24(%rsp)
        jz      2f
        swapgs
2:      addq    $16, %rsp               /* vector and error code */
        iretq

/*
 * SYSCALL: RCX = user RIP, R11 = user RFLAGS, interrupts off (FMASK), still
 * on the user stack. Switch to the thread's kernel stack and build a TrapFrame.
 * Two copies: syscall_entry with one CPU, syscall_entry_smp (the handler
 * takes the kernel lock) once several run, so one CPU pays nothing for it.
 */
.macro SYSCALL_ENTRY name, handler, fast_call, fast_reply_recv
        .globl \name
\name:
        swapgs
        mov     %rsp, %gs:GS_USER_RSP
        mov     %gs:GS_KERNEL_STACK, %rsp
        pushq   $USER_DS
        pushq   %gs:GS_USER_RSP
        pushq   %r11
        pushq   $USER_CS
        pushq   %rcx
        pushq   $0
        pushq   $SYSCALL_VECTOR
        SAVE_REGS                       /* DF: cleared by SYSCALL (FMASK) */
        cmpb    $0, %gs:GS_FOREIGN
        jne     foreign_syscall
        /* The IPC fast path (ipc_fastpath.h), with the call's registers as
         * arguments, for a call with no IpcBuffer from a canonical RIP (SYSRET
         * could not return it to another); it returns only to leave the call
         * to the general path. */
        cmp     $SYS_IPC_CALL, %eax
        je      2f
        cmp     $SYS_IPC_REPLY_RECV, %eax
        je      3f
1:      mov     %rsp, %rdi
        call    \handler
        SYSCALL_EXIT
2:      test    %r9, %r9                /* an IpcBuffer: not the fast path's case */
        jnz     1b
        bt      $47, %rcx
        jc      1b
        mov     %rsp, %rsi              /* (handle, frame) */
        call    \fast_call
        jmp     1b
3:      test    %r9, %r9
        jnz     1b
        bt      $47, %rcx
        jc      1b
        mov     %rsp, %rsi
        call    \fast_reply_recv
        jmp     1b
.endm

/* RIP is canonical here (syscall_handler sees to it): SYSRET would fault in ring 0 otherwise. */
.macro SYSCALL_EXIT
        RESTORE_REGS
        addq    $16, %rsp
        SYSRET_TAIL
.endm
.macro SYSRET_TAIL
        popq    %rcx                    /* RIP */
        addq    $8, %rsp                /* CS */
        popq    %r11                    /* RFLAGS */
        popq    %rsp                    /* user RSP; SS is implied by SYSRET */
        swapgs
        sysretq
.endm
        SYSCALL_ENTRY syscall_entry, syscall_handler, ipc_direct_call, ipc_direct_reply_recv
        SYSCALL_ENTRY syscall_entry_smp, syscall_handler_smp, ipc_direct_call_smp, ipc_direct_reply_recv_smp

/*
 * syscall_return(frame): the IPC fast path's way out (arch::switch_direct),
 * to another thread that made a system call: onto its kernel stack, then
 * the kernel lock (if taken) is let go, no longer on the stack of the
 * thread that came in.
 */
        .globl syscall_return
syscall_return:
        mov     %rdi, %rsp
        cmpb    $0, g_kernel_locking(%rip)
        je      1f
        call    kernel_unlock_now
1:      SYSCALL_EXIT

/*
 * syscall_return_message(frame, sent, badge): the same with one CPU, for a
 * thread that receives an IPC message: kOk, the message words straight from
 * the sender's TrapFrame `sent` into the registers, and the badge.
 */
        .globl syscall_return_message
syscall_return_message:
        mov     %rdi, %rsp
        mov     %rdx, %r9
        mov     40(%rsi), %r10          /* TrapFrame offsets: arch/context.h checks them */
        mov     56(%rsi), %r8
        mov     88(%rsi), %rdx
        mov     80(%rsi), %rsi
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        addq    $32, %rsp               /* r11 (RFLAGS below), r10, r9, r8 */
        popq    %rbp
        popq    %rdi
        addq    $24, %rsp               /* rsi, rdx, rcx (RIP below) */
        popq    %rbx
        xor     %eax, %eax
        addq    $24, %rsp               /* rax, vector, error */
        SYSRET_TAIL

/* A foreign process's syscall: its fault handler serves it, and may set any register. */
foreign_syscall:
        mov     %rsp, %rdi
        call    foreign_syscall_handler
        jmp     trap_return

        .section .rodata
        .balign 8
        .globl trap_stubs
trap_stubs:
.macro STUB_ADDRESS v
        .quad trap_stub_\v
.endm
.set i, 0
.rept 256
        STUB_ADDRESS %i
.set i, i + 1
.endr

        .section .note.GNU-stack, "", @progbits
