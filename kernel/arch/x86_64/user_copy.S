/*
 * int64_t arch::copy_user(void* dst, const void* src, size_t n)
 *
 * The only code that touches user memory. SMAP is lifted (stac) for the copy
 * alone. If the copy faults, the page-fault handler sees RIP at one of the
 * two copying instructions and resumes at user_copy_fault, which returns
 * kErrBadAddress.
 */
        .text
        .globl _ZN4arch9copy_userEPvPKvm
        .globl user_copy_insn, user_copy_tail, user_copy_fault
_ZN4arch9copy_userEPvPKvm:
        mov     %rdx, %rcx
        shr     $3, %rcx
        and     $7, %edx
        stac
user_copy_insn:
        rep movsq                       /* eight bytes at a time, */
        mov     %rdx, %rcx
user_copy_tail:
        rep movsb                       /* then the rest */
        clac
        xor     %eax, %eax
        ret
user_copy_fault:
        clac
        mov     $-5, %rax               /* mica::kErrBadAddress */
        ret

        .section .note.GNU-stack, "", @progbits
