#!/usr/bin/env python3
"""The receiving end of the OCI console socket, as conmon is: listen on
SOCKET, take the terminal master sent with SCM_RIGHTS, write INPUT into it
and copy what the terminal prints to stdout until the slave side closes.

usage: recvtty.py SOCKET [INPUT]"""
import os
import socket
import sys

path = sys.argv[1]
data = sys.argv[2].encode() if len(sys.argv) > 2 else b""
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(1)
# Ready: the caller may now run create with --console-socket.
print("listening", flush=True)
conn, _ = server.accept()
_, fds, _, _ = socket.recv_fds(conn, 1024, 1)
conn.close()
master = fds[0]
os.write(master, data)
with open(os.environ.get("RECVTTY_OUT", "/dev/stdout"), "ab", buffering=0) as out:
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: every slave fd closed
            break
        if not chunk:
            break
        out.write(chunk)
