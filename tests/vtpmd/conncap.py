import socket, sys, os, struct
p = os.environ["VTPM_SOCK"]
socks = []
for i in range(70):
    s = socket.socket(socket.AF_UNIX); s.connect(p); socks.append(s)
import time; time.sleep(0.3)
# first connection works
socks[0].sendall(bytes.fromhex("80010000000c0000017b0010"))
r = socks[0].recv(100)
assert r[:10] == bytes.fromhex("80010000001c00000000"), r
# the 65th+ were closed by vtpmd
closed = 0
for s in socks[64:]:
    s.settimeout(2)
    try:
        if s.recv(10) == b"": closed += 1
    except Exception as e:
        print("exc", e)
print("closed over cap:", closed)
assert closed == 6
