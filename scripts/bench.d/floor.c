/*
 * floor: what the kernel alone costs for a launch, for scripts/bench.
 *
 *   floor PROG [ARGS]            clone(2) into new mnt, uts, ipc, net, pid and
 *                                cgroup namespaces, exec PROG, wait for it
 *   floor -r IMAGE PROG [ARGS]   the same, and in the child also what a root
 *                                switch needs: / made private, IMAGE bound on
 *                                itself, a fresh /proc, pivot_root, old root
 *                                detached
 *   floor -R IMAGE PROG [ARGS]   -r and every other mount pivot makes by
 *                                default: Docker's masked and read-only /proc
 *                                paths, /dev (tmpfs, six nodes, links, devpts,
 *                                shm), a read-only sysfs and its masks; with
 *                                mount(2), the kernel's cost of pivot's step
 *
 * Nothing else: no init, no signal relay, no checks. Static, no allocation.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char stack[64 * 1024] __attribute__((aligned(16)));
static char **command;
static const char *image;
static int everything;

static int fail(const char *what)
{
    perror(what);
    return 125;
}

static const char *proc_masked[] = {"acpi", "asound", "interrupts", "kcore", "keys", "latency_stats",
                                    "timer_list", "timer_stats", "sched_debug", "scsi", NULL};
static const char *proc_read_only[] = {"bus", "fs", "irq", "sys", "sysrq-trigger", NULL};
static const char *sys_masked[] = {"firmware", "devices/virtual/powercap", NULL};

/* Cover each existing BASE/NAME: a directory with an empty read-only
 * tmpfs, a file with /dev/null. */
static int mask(const char *base, const char **names)
{
    char path[4096];
    struct stat st;
    for (; *names; names++) {
        snprintf(path, sizeof path, "%s/%s", base, *names);
        if (lstat(path, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=4096") < 0
                                : mount("/dev/null", path, NULL, MS_BIND, NULL) < 0)
            return fail(path);
    }
    return 0;
}

/* Everything pivot adds to the root switch, inside IMAGE (before it). */
static int the_rest(void)
{
    char path[4096], dev[2048];
    struct stat st;
    snprintf(path, sizeof path, "%s/proc", image);
    if (mask(path, proc_masked))
        return 125;
    for (const char **name = proc_read_only; *name; name++) {
        snprintf(path, sizeof path, "%s/proc/%s", image, *name);
        if (lstat(path, &st) < 0)
            continue;
        if (mount(path, path, NULL, MS_BIND, NULL) < 0 ||
            mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
            return fail(path);
    }
    snprintf(dev, sizeof dev, "%s/dev", image);
    if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=65536k") < 0)
        return fail("mount /dev");
    static const struct { const char *name; int major, minor; } nodes[] = {
        {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
    for (unsigned i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dev, nodes[i].name);
        if (mknod(path, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0)
            return fail(path);
    }
    static const char *links[][2] = {{"ptmx", "pts/ptmx"}, {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
                                     {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}};
    for (unsigned i = 0; i < sizeof links / sizeof links[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dev, links[i][0]);
        if (symlink(links[i][1], path) < 0)
            return fail(path);
    }
    snprintf(path, sizeof path, "%s/pts", dev);
    if (mkdir(path, 0755) < 0 || mount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0)
        return fail("mount /dev/pts");
    snprintf(path, sizeof path, "%s/shm", dev);
    if (mkdir(path, 01777) < 0 || mount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k") < 0)
        return fail("mount /dev/shm");
    snprintf(path, sizeof path, "%s/sys", image);
    if (mount("sysfs", path, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return fail("mount /sys");
    return mask(path, sys_masked);
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
        if (everything && the_rest())
            return 125;
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
    if (argc > 3 && (strcmp(argv[1], "-r") == 0 || strcmp(argv[1], "-R") == 0)) {
        image = argv[2];
        everything = argv[1][1] == 'R';
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: floor [-r|-R IMAGE] PROG [ARGS...]\n");
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
