#!/usr/bin/env python3
"""held_conn.py CTRL_SOCKET - a QEMU-like data connection for the tests.

Like QEMU's tpm-emulator backend: makes a socketpair, passes one end to the
vTPM with SET_DATAFD on CTRL_SOCKET (the control connection stays open),
keeps the other end, and serves requests from stdin, one per line:

  send HEX              write a TPM command on the data connection
  recv [SECONDS]        read one response (by its header size): prints its
                        hex, "closed" (EOF) or "timeout" (default 30 s)
  cmd HEX [SECONDS]     send, then recv
  ctrl HEX N [SECONDS]  a control request on the control connection (the
                        one SET_DATAFD went over, as QEMU's): prints the
                        N-byte response's hex, "closed" or "timeout"
  quit

Prints "ready" once SET_DATAFD was answered with result 0, else
"error RESULT" and exits 1.  Every answer is one line on stdout.
"""
import array
import select
import socket
import struct
import sys
import time


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def read_exact(s, n, deadline):
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            return None, "timeout"
        r, _, _ = select.select([s], [], [], left)
        if not r:
            return None, "timeout"
        try:
            chunk = s.recv(n - len(buf))
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return None, "closed"
        buf += chunk
    return buf, None


def recv_response(s, seconds):
    deadline = time.monotonic() + seconds
    hdr, err = read_exact(s, 10, deadline)
    if err:
        return err
    size = struct.unpack(">I", hdr[2:6])[0]
    if size < 10 or size > 65536:
        return "badsize " + hdr.hex()
    body, err = read_exact(s, size - 10, deadline) if size > 10 else (b"", None)
    if err:
        return err + " after " + hdr.hex()
    return (hdr + body).hex()


def main():
    ctrl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ctrl.connect(sys.argv[1])
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    ctrl.sendmsg([struct.pack(">I", 0x10)],
                 [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [theirs.fileno()]))])
    theirs.close()
    res, err = read_exact(ctrl, 4, time.monotonic() + 30)
    if err or struct.unpack(">I", res)[0] != 0:
        out("error " + (err or res.hex()))
        sys.exit(1)
    out("ready")
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        w = line.split()
        if not w:
            continue
        op = w[0]
        if op == "quit":
            break
        if op == "ctrl":
            seconds = float(w[3]) if len(w) > 3 else 30.0
            try:
                ctrl.sendall(bytes.fromhex(w[1]))
            except OSError as e:
                out("closed (%s)" % e.strerror)
                continue
            res, err = read_exact(ctrl, int(w[2]), time.monotonic() + seconds)
            out(err or res.hex())
            continue
        if op in ("send", "cmd"):
            try:
                mine.sendall(bytes.fromhex(w[1]))
            except OSError as e:
                out("closed (%s)" % e.strerror)
                continue
            if op == "send":
                out("sent")
                continue
            seconds = float(w[2]) if len(w) > 2 else 30.0
        elif op == "recv":
            seconds = float(w[1]) if len(w) > 1 else 30.0
        else:
            out("unknown request " + op)
            continue
        out(recv_response(mine, seconds))

main()
