/*
 * measure: run launchers round-robin and time each run, for scripts/bench.
 *
 * A bash loop around `time` would add its own fork and wait to every
 * sample; this does the least possible between the two clock readings:
 * clock_gettime, fork, execv, wait4, clock_gettime. CPU is taken from
 * getrusage(RUSAGE_CHILDREN) before and after, and this process is a child
 * subreaper, so processes a launcher leaves behind (an init whose parent
 * already exited) are reaped here and their CPU counted too.
 *
 * The spec file has one line per entry, fields separated by TABs:
 *   L NAME ARGV...   a launcher
 *   C NAME ARGV...   run after each run of NAME, untimed (delete a cgroup...)
 *   N NAME PATH      setns(2) into the mount namespace bound at PATH in the
 *                    child before exec (crun needs a view with the cgroup v2
 *                    mount hidden on hybrid hosts); its cost is in the sample
 * In ARGV, {i} is replaced by a number unique to the run, {a} and {b} by
 * two numbers (1..250, 2..251) that make a unique 10.88.{a}.{b} address.
 *
 * Usage:
 *   measure runs SPEC RUNS WARMUP    one line per run:  NAME ROUND WALL_US CPU_US STATUS
 *   measure batch SPEC N ROUNDS      one line per batch: NAME ROUND MODE WALL_US FAILED
 *                                    (MODE seq: N runs one after another;
 *                                     conc: N runs started at once)
 * Children's stdin and stdout are /dev/null, stderr is this stderr.
 * {i} counts up from $MEASURE_FIRST_ID (default 0).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LAUNCHERS 32
#define MAX_ARGS 96

struct launcher {
    char name[64];
    char *argv[MAX_ARGS];
    char *cleanup[MAX_ARGS];
    int mntns_fd;
};

static struct launcher launchers[MAX_LAUNCHERS];
static int nlaunchers;
static long serial; /* makes {i} unique across every run of this process */

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static long long now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static long long children_cpu_us(void)
{
    struct rusage r;
    getrusage(RUSAGE_CHILDREN, &r);
    return (long long)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000000 + r.ru_utime.tv_usec +
           r.ru_stime.tv_usec;
}

static struct launcher *find(const char *name, int create)
{
    for (int i = 0; i < nlaunchers; i++)
        if (strcmp(launchers[i].name, name) == 0)
            return &launchers[i];
    if (!create || nlaunchers == MAX_LAUNCHERS)
        return NULL;
    struct launcher *l = &launchers[nlaunchers++];
    snprintf(l->name, sizeof l->name, "%s", name);
    l->mntns_fd = -1;
    return l;
}

static void split_argv(char *rest, char **argv)
{
    int n = 0;
    for (char *word = strtok(rest, "\t\n"); word && n < MAX_ARGS - 1; word = strtok(NULL, "\t\n"))
        argv[n++] = strdup(word);
    argv[n] = NULL;
}

static void load_spec(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        die(path);
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        char *kind = strtok(line, "\t\n");
        char *name = strtok(NULL, "\t\n");
        char *rest = strtok(NULL, "\n");
        if (!kind || !name || !rest)
            continue;
        struct launcher *l = find(name, kind[0] == 'L');
        if (!l) {
            fprintf(stderr, "measure: '%s' is not a launcher (or too many)\n", name);
            exit(2);
        }
        if (kind[0] == 'L')
            split_argv(rest, l->argv);
        else if (kind[0] == 'C')
            split_argv(rest, l->cleanup);
        else if (kind[0] == 'N' && (l->mntns_fd = open(rest, O_RDONLY | O_CLOEXEC)) < 0)
            die(rest);
    }
    fclose(f);
}

/* Copy ARGV with {i}, {a}, {b} replaced for run number n. */
static void expand(char **argv, long n, char **out, char *buf, size_t size)
{
    char num[3][24];
    snprintf(num[0], sizeof num[0], "%ld", n);
    snprintf(num[1], sizeof num[1], "%ld", (n / 250) % 250 + 1);
    snprintf(num[2], sizeof num[2], "%ld", n % 250 + 2);
    size_t used = 0;
    int k = 0;
    for (; argv[k]; k++) {
        out[k] = buf + used;
        for (const char *p = argv[k]; *p && used < size - 24; p++) {
            const char *sub = NULL;
            if (p[0] == '{' && p[2] == '}' && p[1] == 'i')
                sub = num[0];
            else if (p[0] == '{' && p[2] == '}' && p[1] == 'a')
                sub = num[1];
            else if (p[0] == '{' && p[2] == '}' && p[1] == 'b')
                sub = num[2];
            if (sub) {
                used += (size_t)sprintf(buf + used, "%s", sub);
                p += 2;
            } else {
                buf[used++] = *p;
            }
        }
        buf[used++] = '\0';
    }
    out[k] = NULL;
}

static pid_t start(struct launcher *l, char **argv)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        /* stdin too: runc copies its stdin into the container, and would
         * eat the caller's input. */
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        if (l->mntns_fd >= 0 && setns(l->mntns_fd, CLONE_NEWNS) < 0)
            die("setns");
        execv(argv[0], argv);
        fprintf(stderr, "measure: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Reap every child left (subreaper orphans included); return the status of `main`. */
static int reap_all(pid_t main_pid)
{
    int status = 0, result = -1;
    pid_t pid;
    while ((pid = waitpid(-1, &status, 0)) > 0 || (pid < 0 && errno == EINTR))
        if (pid == main_pid)
            result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

static void cleanup(struct launcher *l, long n)
{
    if (!l->cleanup[0])
        return;
    char *argv[MAX_ARGS], buf[8192];
    expand(l->cleanup, n, argv, buf, sizeof buf);
    pid_t pid = start(l, argv);
    reap_all(pid);
}

static void runs(int nruns, int warmup)
{
    for (int round = -warmup; round < nruns; round++) {
        for (int k = 0; k < nlaunchers; k++) {
            struct launcher *l = &launchers[k];
            char *argv[MAX_ARGS], buf[8192];
            long n = serial++;
            expand(l->argv, n, argv, buf, sizeof buf);
            long long cpu0 = children_cpu_us(), t0 = now_us();
            pid_t pid = start(l, argv);
            int status = reap_all(pid);
            long long t1 = now_us(), cpu1 = children_cpu_us();
            cleanup(l, n);
            if (round >= 0)
                printf("%s %d %lld %lld %d\n", l->name, round, t1 - t0, cpu1 - cpu0, status);
        }
        fflush(stdout);
    }
}

static void batch(int n, int rounds)
{
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    long *ids = calloc((size_t)n, sizeof *ids);
    if (!pids || !ids)
        die("calloc");
    for (int round = 0; round < rounds; round++) {
        for (int k = 0; k < nlaunchers; k++) {
            struct launcher *l = &launchers[k];
            for (int concurrent = 0; concurrent < 2; concurrent++) {
                int failed = 0;
                long long t0 = now_us();
                for (int j = 0; j < n; j++) {
                    char *argv[MAX_ARGS], buf[8192];
                    ids[j] = serial++;
                    expand(l->argv, ids[j], argv, buf, sizeof buf);
                    pids[j] = start(l, argv);
                    if (!concurrent)
                        failed += reap_all(pids[j]) != 0;
                }
                if (concurrent) {
                    int status, left = n;
                    pid_t pid;
                    while (left > 0 && ((pid = waitpid(-1, &status, 0)) > 0 || errno == EINTR)) {
                        for (int j = 0; j < n; j++)
                            if (pids[j] == pid) {
                                failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                                left--;
                            }
                    }
                    reap_all(0);
                }
                long long t1 = now_us();
                for (int j = 0; j < n; j++)
                    cleanup(l, ids[j]);
                printf("%s %d %s %lld %d\n", l->name, round, concurrent ? "conc" : "seq", t1 - t0, failed);
                fflush(stdout);
            }
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: measure runs SPEC RUNS WARMUP | measure batch SPEC N ROUNDS\n");
        return 2;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        die("prctl(PR_SET_CHILD_SUBREAPER)");
    /* {i} numbering starts here, so that names made by runs of several
     * invocations (veths the kernel removes asynchronously) never clash. */
    const char *first = getenv("MEASURE_FIRST_ID");
    serial = first ? atol(first) : 0;
    load_spec(argv[2]);
    if (nlaunchers == 0) {
        fprintf(stderr, "measure: no launcher in %s\n", argv[2]);
        return 2;
    }
    if (strcmp(argv[1], "runs") == 0)
        runs(atoi(argv[3]), atoi(argv[4]));
    else if (strcmp(argv[1], "batch") == 0)
        batch(atoi(argv[3]), atoi(argv[4]));
    else
        return 2;
    return 0;
}
