#!/usr/bin/env python3
"""tpm12_owner.py - a TPM 1.2 on a swtpm-compatible data socket, as its
owner would use it: only what the tests need, from the TPM 1.2 spec
(Part 3) and its OIAP rules.

  tpm12_owner.py SOCK readpubek            -> modulus (hex) of the EK
  tpm12_owner.py SOCK takeown OWNERAUTH    -> takes ownership (SRK auth 0s)
  tpm12_owner.py SOCK nvread INDEX OWNERAUTH   -> the NV area's bytes (hex),
                                              read with owner authorization
  tpm12_owner.py SOCK nvread-noauth INDEX  -> the response code (hex) of an
                                              unauthorized NV_ReadValue
OWNERAUTH is 40 hex digits.  Exit status 1 with the TPM's return code on
stderr when a command fails.
"""
import hashlib
import hmac
import os
import socket
import struct
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ORD_OIAP = 0x0A
ORD_TAKE_OWNERSHIP = 0x0D
ORD_GET_CAPABILITY = 0x65
ORD_READ_PUBEK = 0x7C
ORD_NV_READ_VALUE = 0xCF


def transmit(sock_path, cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(sock_path)
    s.sendall(cmd)
    r = b""
    while len(r) < 10:
        d = s.recv(4096)
        if not d:
            break
        r += d
    size = struct.unpack(">I", r[2:6])[0]
    while len(r) < size:
        d = s.recv(4096)
        if not d:
            break
        r += d
    s.close()
    if len(r) != size:
        sys.exit("short response")
    return r


def command(tag, ordinal, body):
    return struct.pack(">HII", tag, 10 + len(body), ordinal) + body


def rc_of(r):
    return struct.unpack(">I", r[6:10])[0]


def check(r, what):
    if rc_of(r) != 0:
        sys.stderr.write("%s: TPM return code 0x%x\n" % (what, rc_of(r)))
        sys.exit(1)


def readpubek(sock):
    r = transmit(sock, command(0xC1, ORD_READ_PUBEK, os.urandom(20)))
    check(r, "TPM_ReadPubek")
    # TPM_PUBKEY: keyParms (alg 4, enc 2, sig 2, parmSize 4, parms) | keyLength 4 | key
    off = 10 + 4 + 2 + 2
    parmsize = struct.unpack(">I", r[off:off + 4])[0]
    off += 4 + parmsize
    n = struct.unpack(">I", r[off:off + 4])[0]
    return r[off + 4:off + 4 + n]


def oiap(sock):
    r = transmit(sock, command(0xC1, ORD_OIAP, b""))
    check(r, "TPM_OIAP")
    return struct.unpack(">I", r[10:14])[0], r[14:34]


def auth1(sock, ordinal, params, owner_auth):
    """Sends an AUTH1 command under a fresh OIAP session."""
    handle, even = oiap(sock)
    odd = os.urandom(20)
    digest = hashlib.sha1(struct.pack(">I", ordinal) + params).digest()
    mac = hmac.new(owner_auth, digest + even + odd + b"\x00", hashlib.sha1).digest()
    body = params + struct.pack(">I", handle) + odd + b"\x00" + mac
    return transmit(sock, command(0xC2, ordinal, body))


def takeown(sock, owner_auth):
    n = int.from_bytes(readpubek(sock), "big")
    ek = rsa.RSAPublicNumbers(65537, n).public_key()
    pad = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=b"TCPA")
    enc_owner = ek.encrypt(owner_auth, pad)
    enc_srk = ek.encrypt(b"\x00" * 20, pad)
    rsa_parms = struct.pack(">III", 2048, 2, 0)
    key_parms = struct.pack(">IHHI", 1, 3, 1, len(rsa_parms)) + rsa_parms
    srk = struct.pack(">HHHIB", 0x0028, 0, 0x0011, 0, 1) + key_parms + struct.pack(">III", 0, 0, 0)
    params = (struct.pack(">HI", 5, len(enc_owner)) + enc_owner +
              struct.pack(">I", len(enc_srk)) + enc_srk + srk)
    check(auth1(sock, ORD_TAKE_OWNERSHIP, params, owner_auth), "TPM_TakeOwnership")


def nv_size(sock, index):
    r = transmit(sock, command(0xC1, ORD_GET_CAPABILITY, struct.pack(">III", 0x11, 4, index)))
    check(r, "TPM_GetCapability(NV_INDEX)")
    return struct.unpack(">I", r[-4:])[0]


def nvread(sock, index, owner_auth):
    size = nv_size(sock, index)
    r = auth1(sock, ORD_NV_READ_VALUE, struct.pack(">III", index, 0, size), owner_auth)
    check(r, "TPM_NV_ReadValue")
    n = struct.unpack(">I", r[10:14])[0]
    return r[14:14 + n]


def main():
    sock, op = sys.argv[1], sys.argv[2]
    if op == "readpubek":
        print(readpubek(sock).hex())
    elif op == "takeown":
        takeown(sock, bytes.fromhex(sys.argv[3]))
    elif op == "nvread":
        print(nvread(sock, int(sys.argv[3], 0), bytes.fromhex(sys.argv[4])).hex())
    elif op == "nvread-noauth":
        index = int(sys.argv[3], 0)
        r = transmit(sock, command(0xC1, ORD_NV_READ_VALUE, struct.pack(">III", index, 0, 16)))
        print("%x" % rc_of(r))
    else:
        sys.exit("unknown operation " + op)


main()
