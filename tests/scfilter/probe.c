/* probe: make the system calls named on the command line and print, one
 * line each, NAME=OK or NAME=ERRNO (EPERM, ENOSYS...). Arguments are chosen
 * so that without a seccomp filter the kernel answers something other than
 * EPERM for root without CAP_SYS_ADMIN (an invalid pointer or flag, or a
 * call an unprivileged process may make), so EPERM means the filter.
 * Built by tests/scfilter.bats, static and dynamic. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A system call through the i386 ABI (int 0x80) from a 64-bit program. */
static long int80(long nr, long a, long b)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b) : "memory");
    return ret;
}

static void *thread_main(void *arg) { return arg; }

static long call(const char *name)
{
    if (!strcmp(name, "unshare")) return syscall(SYS_unshare, CLONE_NEWUSER);
    if (!strcmp(name, "mount")) return syscall(SYS_mount, (char *)1, (char *)1, (char *)1, 0, 0);
    if (!strcmp(name, "keyctl")) return syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0);
    if (!strcmp(name, "add_key")) return syscall(SYS_add_key, "user", "scfilter-probe", "x", 1, -2 /* process */);
    if (!strcmp(name, "bpf")) return syscall(SYS_bpf, 0 /* MAP_CREATE */, (void *)1, 8);
    if (!strcmp(name, "perf_event_open")) return syscall(SYS_perf_event_open, (void *)1, 0, -1, -1, 0);
    if (!strcmp(name, "userfaultfd")) return syscall(SYS_userfaultfd, 1 /* UFFD_USER_MODE_ONLY */);
    if (!strcmp(name, "kexec_load")) return syscall(SYS_kexec_load, 0, 0, (void *)0, 0xdead0000UL);
    if (!strcmp(name, "clone3")) return syscall(SYS_clone3, (void *)0, 0);
    if (!strcmp(name, "getpid")) return syscall(SYS_getpid);
    if (!strcmp(name, "mkdir")) return syscall(SYS_mkdir, "/nonexistent-dir/x", 0700);
    if (!strcmp(name, "i386_getpid")) return int80(20, 0, 0);
    if (!strcmp(name, "i386_unshare")) return int80(310, CLONE_NEWUSER, 0);
    if (!strcmp(name, "x32_unshare")) return syscall(0x40000000 | SYS_unshare, CLONE_NEWUSER);
    if (!strcmp(name, "thread")) {
        pthread_t t;
        int err = pthread_create(&t, 0, thread_main, 0);
        if (err) { errno = err; return -1; }
        return pthread_join(t, 0) ? -1 : 0;
    }
    fprintf(stderr, "probe: unknown call '%s'\n", name);
    _exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        errno = 0;
        long ret = call(argv[i]);
        /* int 0x80 returns -errno itself instead of setting errno */
        if (!strncmp(argv[i], "i386_", 5) && ret < 0 && ret > -4096) { errno = -ret; ret = -1; }
        if (ret == -1) printf("%s=%s\n", argv[i], strerrorname_np(errno));
        else printf("%s=OK\n", argv[i]);
        fflush(stdout);
    }
    return 0;
}
