#!/usr/bin/env python3
"""A terminal for tests/pty.bats to type into.

  harness.py term [STEP...] -- CMD...
      Runs CMD on a new pseudo-terminal (its controlling terminal, 24x80),
      then plays the steps against it:
        expect:REGEX   wait (10 s) for REGEX in the output since the last
                       match; print "match: GROUP1" (or the whole match)
        send:TEXT      type TEXT (Python escapes: \\n, \\x03)
        winsize:RxC    set the window size (the kernel sends SIGWINCH)
        kill:SIG       send SIG to CMD
        sleep:SECS     wait
        modes          wait (5 s) for raw mode, then print "modes: raw" or
                       "modes: cooked" (ICANON)
      Then waits for CMD (20 s) and prints "status N" (128+N if killed by
      N) and "modes: same" or "modes: changed" (tcgetattr before and after).
      The whole transcript is written to $HARNESS_LOG if set.

  harness.py console [--pass-fd] SOCKET TEXT -- CMD...
      Listens on the unix socket SOCKET, runs CMD, takes the terminal
      master CMD sends there (SCM_RIGHTS), types TEXT into it and prints
      "payload: ...", the output lines ("out: ..."), and "status N". With
      --pass-fd, CMD is given an already connected socket as fd 3 instead.
"""
import array
import codecs
import fcntl
import os
import re
import select
import signal
import socket
import struct
import sys
import termios
import time


def status_of(wait_status):
    if os.WIFSIGNALED(wait_status):
        return 128 + os.WTERMSIG(wait_status)
    return os.WEXITSTATUS(wait_status)


def split_command(args):
    cut = args.index("--")
    return args[:cut], args[cut + 1:]


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def term(args):
    steps, command = split_command(args)
    master, slave = os.openpty()
    set_size(slave, 24, 80)
    before = termios.tcgetattr(slave)
    pid = os.fork()
    if pid == 0:
        os.close(master)
        # A terminal's user starts programs with SIGINT and SIGQUIT at
        # their defaults; a test runner started in the background (`cmd &`
        # in a script, nohup) may hand them down ignored, and exec keeps
        # that (the isokit tools pass ignored signals on, on purpose):
        # Ctrl-C would then reach nothing.
        for number in (signal.SIGINT, signal.SIGQUIT):
            signal.signal(number, signal.SIG_DFL)
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.close(slave)
        # As contain does: the chain gets the terminal and nothing else.
        os.closerange(3, 1024)
        os.execvp(command[0], command)
    transcript = b""
    seen = 0

    def pump(timeout):
        nonlocal transcript
        ready, _, _ = select.select([master], [], [], timeout)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            transcript += data
            return bool(data)
        return False

    try:
        for step in steps:
            kind, _, arg = step.partition(":")
            if kind == "expect":
                pattern = re.compile(arg.encode())
                deadline = time.monotonic() + 10
                while True:
                    found = pattern.search(transcript, seen)
                    if found:
                        seen = found.end()
                        group = found.group(1) if pattern.groups else found.group(0)
                        # One line per match: the lines of a multi-line
                        # match are joined with spaces.
                        text = group.decode(errors="replace").replace("\r\n", " ")
                        print("match:", text.strip())
                        break
                    left = deadline - time.monotonic()
                    if left <= 0:
                        print("timeout:", arg)
                        break
                    pump(left)
            elif kind == "send":
                os.write(master, codecs.decode(arg, "unicode_escape").encode("latin-1"))
            elif kind == "winsize":
                rows, cols = arg.split("x")
                set_size(master, int(rows), int(cols))
            elif kind == "kill":
                os.kill(pid, getattr(signal, "SIG" + arg))
            elif kind == "sleep":
                end = time.monotonic() + float(arg)
                while time.monotonic() < end:
                    pump(max(0, end - time.monotonic()))
            elif kind == "modes":
                # Give the chain up to 5 s to start and switch to raw.
                end = time.monotonic() + 5
                while termios.tcgetattr(slave)[3] & termios.ICANON and time.monotonic() < end:
                    pump(0.05)
                lflag = termios.tcgetattr(slave)[3]
                print("modes:", "cooked" if lflag & termios.ICANON else "raw")
            else:
                raise SystemExit(f"harness: unknown step {step!r}")
            sys.stdout.flush()
        deadline = time.monotonic() + 20
        while True:
            done, wait_status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                print("timeout: exit")
                done, wait_status = os.waitpid(pid, 0)
                break
            pump(0.05)
        while pump(0.1):
            pass
        print("status", status_of(wait_status))
        print("modes:", "same" if termios.tcgetattr(slave) == before else "changed")
    finally:
        log = os.environ.get("HARNESS_LOG")
        if log:
            with open(log, "wb") as out:
                out.write(transcript)


def console(args):
    pass_fd = args[0] == "--pass-fd"
    if pass_fd:
        args = args[1:]
    (path, text), command = split_command(args)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    fds = ()
    if pass_fd:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(path)
        os.dup2(client.fileno(), 3)
        client.close()
        fds = (3,)
    pid = os.fork()
    if pid == 0:
        os.closerange(4 if pass_fd else 3, 1024)
        os.execvp(command[0], command)
    if pass_fd:
        os.close(3)
    listener.settimeout(10)
    conn, _ = listener.accept()
    rights = array.array("i")
    message, ancillary, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(rights.itemsize))
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            rights.frombytes(data[: len(data) - len(data) % rights.itemsize])
    conn.close()
    print("payload:", message.decode(errors="replace"))
    print("fds received:", len(rights))
    master = rights[0]
    os.write(master, codecs.decode(text, "unicode_escape").encode("latin-1"))
    output = b""
    reaped = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            output += data
        else:
            done, wait_status = os.waitpid(pid, os.WNOHANG)
            if done:
                reaped = wait_status
                break
    for line in output.decode(errors="replace").replace("\r", "").split("\n"):
        print("out:", line)
    if reaped is None:
        _, reaped = os.waitpid(pid, 0)
    print("status", status_of(reaped))


if __name__ == "__main__":
    {"term": term, "console": console}[sys.argv[1]](sys.argv[2:])
