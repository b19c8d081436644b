import socket, os, time
p = os.environ["VTPM_SOCK"]
s = socket.socket(socket.AF_UNIX); s.connect(p)
s.setblocking(False)
cmd = bytes.fromhex("80010000000c0000017b0030")
sent = 0
t0 = time.time()
while time.time() - t0 < 8:
    try:
        sent += s.send(cmd * 100)
    except BlockingIOError:
        time.sleep(0.05)
    except (BrokenPipeError, ConnectionResetError):
        print("closed by vtpmd after %.1fs, sent %d bytes" % (time.time() - t0, sent)); break
else:
    print("not closed"); raise SystemExit(1)
