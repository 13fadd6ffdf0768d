/*
 * floor: what the kernel alone costs for a launch, for scripts/bench.
 *
 *   floor PROG [ARGS]            clone(2) into new mnt, uts, ipc, net, pid and
 *                                cgroup namespaces, exec PROG, wait for it
 *   floor -r IMAGE PROG [ARGS]   the same, and in the child also what a root
 *                                switch needs: / made private, IMAGE bound on
 *                                itself, a fresh /proc, pivot_root, old root
 *                                detached
 *
 * Nothing else: no init, no signal relay, no checks. Static, no allocation.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char stack[64 * 1024] __attribute__((aligned(16)));
static char **command;
static const char *image;

static int fail(const char *what)
{
    perror(what);
    return 125;
}

static int child(void *unused)
{
    (void)unused;
    if (image) {
        char proc[4096];
        snprintf(proc, sizeof proc, "%s/proc", image);
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            return fail("make / private");
        if (mount(image, image, NULL, MS_BIND | MS_REC, NULL) < 0)
            return fail("bind image");
        if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
            return fail("mount proc");
        if (chdir(image) < 0)
            return fail("chdir image");
        if (syscall(SYS_pivot_root, ".", ".") < 0)
            return fail("pivot_root");
        if (umount2(".", MNT_DETACH) < 0)
            return fail("detach old root");
        if (chdir("/") < 0)
            return fail("chdir /");
    }
    execv(command[0], command);
    return fail(command[0]);
}

int main(int argc, char **argv)
{
    int first = 1;
    if (argc > 3 && strcmp(argv[1], "-r") == 0) {
        image = argv[2];
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: floor [-r IMAGE] PROG [ARGS...]\n");
        return 125;
    }
    command = argv + first;
    int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWCGROUP;
    pid_t pid = clone(child, stack + sizeof stack, flags | SIGCHLD, NULL);
    if (pid < 0)
        return fail("clone");
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return fail("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
