/*
 * int64_t arch::copy_user(void* dst, const void* src, size_t n)
 *
 * The only code that touches user memory. SMAP is lifted (stac) for the copy
 * alone. If the copy faults, the page-fault handler sees RIP at
 * user_copy_insn and resumes at user_copy_fault, which returns kErrBadAddress.
 */
        .text
        .globl _ZN4arch9copy_userEPvPKvm
        .globl user_copy_insn, user_copy_fault
_ZN4arch9copy_userEPvPKvm:
        mov     %rdx, %rcx
        stac
user_copy_insn:
        rep movsb
        clac
        xor     %eax, %eax
        ret
user_copy_fault:
        clac
        mov     $-5, %rax               /* mica::kErrBadAddress */
        ret

        .section .note.GNU-stack, "", @progbits
