/* Program entry: the creator starts the first thread here with a 16-byte
 * aligned stack. A zero frame pointer ends backtraces. */
        .text
        .globl _start
_start:
        xor     %ebp, %ebp
        and     $-16, %rsp
        call    mica_start              /* RDI: the StartupInfo, as the creator set it */
        ud2


/* Entry of threads made by mica::start_thread: RDI = their start block. */
        .text
        .globl mica_thread_entry
mica_thread_entry:
        xor     %ebp, %ebp
        and     $-16, %rsp
        call    mica_thread_main
        ud2

        .section .note.GNU-stack, "", @progbits
