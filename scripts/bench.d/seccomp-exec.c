/*
 * seccomp-exec FILE PROG [ARGS...]: the kernel's share of scfilter's link,
 * for scripts/bench (issue 14). Loads the BPF program in FILE (struct
 * sock_filter entries, as `scfilter --emit-bpf FILE` writes the very
 * program scfilter would load) with seccomp(2), then execs PROG. No libc
 * (like nolibc-true: no start-up), no profile, no parsing: an exec, one
 * read and the filter load (which the kernel JIT-compiles). scfilter's
 * link minus this one is scfilter's own work.
 * Exit 125 if the file or the load fails, 127 if the exec does.
 * x86-64 only, as the rest of the bench's helpers.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>

#define SYS_read 0
#define SYS_open 2
#define SYS_close 3
#define SYS_execve 59
#define SYS_exit 60
#define SYS_prctl 157
#define SYS_seccomp 317
#define PR_SET_NO_NEW_PRIVS 38
#define O_RDONLY_CLOEXEC 02000000

/* A system call with three arguments; the fourth and fifth are zero
 * (prctl(2) refuses PR_SET_NO_NEW_PRIVS with anything else there). */
static long sys3(long n, long a, long b, long c)
{
    long ret;
    register long r10 __asm__("r10") = 0;
    register long r8 __asm__("r8") = 0;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8) : "rcx", "r11", "memory");
    return ret;
}

/* The largest filter the kernel takes (BPF_MAXINSNS). */
static struct sock_filter insns[4096];

__attribute__((used)) static void start(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    char **envp = argv + argc + 1;
    if (argc < 3)
        sys3(SYS_exit, 125, 0, 0);
    long fd = sys3(SYS_open, (long)argv[1], O_RDONLY_CLOEXEC, 0);
    if (fd < 0)
        sys3(SYS_exit, 125, 0, 0);
    long len = sys3(SYS_read, fd, (long)insns, sizeof(insns));
    sys3(SYS_close, fd, 0, 0);
    if (len <= 0 || len % sizeof(insns[0]) != 0)
        sys3(SYS_exit, 125, 0, 0);
    struct sock_fprog prog = { .len = (unsigned short)(len / sizeof(insns[0])), .filter = insns };
    /* capdrop set it already in the bench's chain; needed without CAP_SYS_ADMIN. */
    if (sys3(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0) != 0 ||
        sys3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (long)&prog) != 0)
        sys3(SYS_exit, 125, 0, 0);
    sys3(SYS_execve, (long)argv[2], (long)(argv + 2), (long)envp);
    sys3(SYS_exit, 127, 0, 0);
}

/* The kernel starts here with argc, argv and envp on the stack. */
__asm__(".globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall start\n\thlt\n");
