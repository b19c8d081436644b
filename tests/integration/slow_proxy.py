#!/usr/bin/env python3
"""slow_proxy.py LISTEN TARGET FLAGFILE SECONDS - a host TPM that answers late.

Listens on LISTEN and LISTEN.ctrl (unix stream sockets) and relays each
connection to TARGET and TARGET.ctrl (a swtpm's data and control sockets),
so that `--host-tpm swtpm:path=LISTEN` reaches the swtpm through it.  While
FLAGFILE exists, every response on the data socket is held SECONDS before
it is passed on (a slow or overloaded TPM); otherwise bytes pass at once.
Prints "ready" once both sockets listen; runs until killed.
"""
import os
import select
import socket
import sys
import threading
import time


def relay(client, target, flag, delay, data):
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        up.connect(target)
    except OSError:
        client.close()
        return
    socks = [client, up]
    try:
        while True:
            r, _, _ = select.select(socks, [], [])
            for s in r:
                b = s.recv(65536)
                if not b:
                    return
                if s is up:
                    if data and os.path.exists(flag):
                        time.sleep(delay)
                    client.sendall(b)
                else:
                    up.sendall(b)
    except OSError:
        return
    finally:
        client.close()
        up.close()


def serve(path, target, flag, delay, data):
    if os.path.exists(path):
        os.unlink(path)
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(16)
    return ls


def main():
    listen, target, flag, delay = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    servers = [(serve(listen, target, flag, delay, True), target, True),
               (serve(listen + ".ctrl", target + ".ctrl", flag, delay, False), target + ".ctrl", False)]
    print("ready", flush=True)
    while True:
        r, _, _ = select.select([s for s, _, _ in servers], [], [])
        for ls, tgt, data in servers:
            if ls in r:
                c, _ = ls.accept()
                threading.Thread(target=relay, args=(c, tgt, flag, delay, data), daemon=True).start()


main()
