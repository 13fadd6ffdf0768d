/*
 * stamp: print CLOCK_MONOTONIC microseconds on stderr, in the format of
 * ISOKIT_TRACE=time lines, so scripts/bench can place a chain's trace
 * lines between the launch and the end.
 *
 *   stamp                 print "[US] stamp: prog" and exit 0 (the chain's
 *                         last program, inside the image)
 *   stamp PROG [ARGS]     print "[US] stamp: start", run PROG, wait, print
 *                         "[US] stamp: exit STATUS", exit with its status
 */
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "[%lld] stamp: prog\n", now_us());
        return 0;
    }
    fprintf(stderr, "[%lld] stamp: start\n", now_us());
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 125;
    }
    if (pid == 0) {
        execv(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(stderr, "[%lld] stamp: exit %d\n", now_us(), code);
    return code;
}
