#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/<target>/: a handful of valid
(and a few typical invalid) inputs per target, in each harness's input
format (see the comment at the top of tests/fuzz/fuzz_<target>.c and
tests/fuzz/mgr_fixture.h).  Run it again after changing a format.

The seeds of the sealed formats (BUILDER_SEEDED) come from the product's
own builders: the harness writes them when run with FUZZ_WRITE_SEEDS=DIR,
so it must be built first ($FUZZ_BUILD, default build-fuzz)."""
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def be16(v): return struct.pack(">H", v)
def be32(v): return struct.pack(">I", v)
def be64(v): return struct.pack(">Q", v)


TPM2_GETRANDOM = bytes.fromhex("80010000000c0000017b0008")
TPM2_STARTUP = bytes.fromhex("80010000000c000001440000")
TPM12_GETRANDOM = bytes.fromhex("00c10000000e0000004600000008")
BAD_SIZE = bytes.fromhex("800100100000") + bytes(4)

UUID0 = bytes([0x11] * 6 + [0x41, 0x11, 0x81] + [0x11] * 7)
UUID_A = bytes.fromhex("11111111222243338444555555555555")


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- ops for the manager fixture (mgr_fixture.h) ----
OP = dict(VTPMD_RAW=0, VTPMD_MSG=1, VTPMD_ANSWER=2, VTPMD_CLOSE=3, SPAWN=4, DATA_CONNECT=5,
          CTRL_CONNECT=6, CTRL_WRITE=7, CTRL_CLOSE=8, CTL_CONNECT=9, CTL_SEND=10, CTL_RAW=11,
          CTL_CLOSE=12, FIFO_WRITE=13, TICK=14, NOP=15)


def op(name, arg=0, *operands):
    return bytes([OP[name] | (arg << 4)]) + b"".join(operands)


def data(b):
    return be16(len(b)) + b


def chanpkt(t, payload):
    return be32(t) + be32(len(payload)) + payload


def ctl_send(slot, ctl_type, payload=None, uuid_of=None):
    # CTL_SEND type byte t < 0x80 maps to 1 + t % 6
    t = bytes([ctl_type - 1])
    if uuid_of is not None:
        return op("CTL_SEND", slot | 4 | (uuid_of << 3), t)
    return op("CTL_SEND", slot, t, data(payload))


def vtpmd_msg(v, t, payload):
    # type byte < 0x80 maps to 64 + t % 7
    return op("VTPMD_MSG", v, bytes([t - 64]), data(payload))


AUTO_READY, AUTO_ANSWER, AUTO_NV = 1, 2, 4


def main():
    # tpm_frame: u16 max | u8 flags | bytes
    write("tpm_frame", "tpm2", be16(4096) + b"\x01" + TPM2_GETRANDOM)
    write("tpm_frame", "tpm12", be16(4096) + b"\x00" + TPM12_GETRANDOM)
    write("tpm_frame", "stream", be16(4096) + b"\x01" + TPM2_STARTUP + TPM2_GETRANDOM + TPM12_GETRANDOM[:7])
    write("tpm_frame", "bad-size", be16(4096) + b"\x01" + BAD_SIZE)
    write("tpm_frame", "small-max", be16(10) + b"\x00" + TPM2_GETRANDOM)

    # ctrl_proto: u8 flags | bytes
    write("ctrl_proto", "get-capability", b"\x00" + be32(1))
    write("ctrl_proto", "init", b"\x00" + be32(2) + be32(1))
    write("ctrl_proto", "set-locality-1", b"\x00" + be32(5) + b"\x03")
    write("ctrl_proto", "set-locality-4", b"\x00" + be32(5) + be32(0x03000000))
    write("ctrl_proto", "hash-data", b"\x00" + be32(7) + be32(4) + b"abcd")
    write("ctrl_proto", "set-stateblob", b"\x00" + be32(0x0d) + be32(2) + be32(1) + be32(4) + b"blob")
    write("ctrl_proto", "get-stateblob", b"\x80" + be32(0x0c) + be32(0) + be32(1) + be32(0))
    write("ctrl_proto", "get-info", b"\x80" + be32(0x12) + be64(1) + be32(0) + be32(0))
    write("ctrl_proto", "resp-stateblob", bytes([0x0c]) + be32(0) + be32(0) + be32(0) + be32(2) + b"xy")

    # blob: u8 flags | file.  Flag 4 makes the harness encrypt and tag it.
    def envelope(kind, name, uuid, gen, ct):
        return (b"VTPMSEAL" + be16(1) + bytes([kind, len(name)]) + name + uuid + be64(gen) +
                bytes(range(12)) + be32(len(ct)) + ct + bytes(16))
    write("blob", "permall", bytes([0x04]) + envelope(1, b"permall", UUID_A, 5, b"tpm state"))
    write("blob", "savestate-store", bytes([0x04 | 0x02 | 0x08 | 0x20]) + envelope(1, b"savestate", UUID_A, 9, b"saved"))
    write("blob", "manifest", bytes([0x07]) + envelope(2, b"manifest", bytes(16), 3, be32(0) + be32(1)))
    write("blob", "empty-ct", bytes([0x05]) + envelope(1, b"volatilestate", UUID_A, 1, b""))
    write("blob", "raw-roundtrip", bytes([0x40]) + b"some plaintext")
    write("blob", "tampered", bytes([0x08]) + envelope(1, b"permall", UUID_A, 5, b"tpm state"))

    # manifest: u8 flags | plaintext (flag 1: raw file)
    def entry(uuid, inst, ver, gens=(1, 2, 3)):
        return uuid + be32(inst) + bytes([ver]) + b"".join(be64(g) for g in gens) + be64(100) + be64(200)
    write("manifest", "empty", b"\x00" + be32(0) + be32(1))
    write("manifest", "two", b"\x00" + be32(2) + be32(3) + entry(UUID_A, 1, 2) + entry(UUID0, 2, 1))
    write("manifest", "dup", b"\x00" + be32(2) + be32(3) + entry(UUID_A, 1, 2) + entry(UUID_A, 2, 1))
    # version 2: "VMF2" | count | next | (u16 len | entry | flags | uid | gid [| more])
    def entry2(uuid, inst, ver, flags=0x81, uid=0xffffffff, gid=0xffffffff, extra=b""):
        body = entry(uuid, inst, ver) + be32(flags) + be32(uid) + be32(gid) + extra
        return be16(len(body)) + body
    write("manifest", "v2-two", b"\x00" + b"VMF2" + be32(2) + be32(3) + entry2(UUID_A, 1, 2) +
          entry2(UUID0, 2, 1, 0x87, 1000, 1000))
    write("manifest", "v2-grown-entry", b"\x00" + b"VMF2" + be32(1) + be32(2) +
          entry2(UUID_A, 1, 2, extra=b"later"))
    write("manifest", "raw-file", b"\x01" + b"VTPMSEAL" + be16(1) + b"\x02\x08manifest" + bytes(16 + 8 + 12) + be32(8) + bytes(24))

    # fifo: u8 vtpmd behaviour | FIFO stream (u32 instance | TPM packet)
    write("fifo", "tpm2", bytes([AUTO_READY | AUTO_ANSWER]) + be32(1) + TPM2_GETRANDOM)
    write("fifo", "tpm12-nv", bytes([AUTO_READY | AUTO_ANSWER | AUTO_NV]) + be32(2) + TPM12_GETRANDOM)
    write("fifo", "two-and-unknown", bytes([AUTO_READY | AUTO_ANSWER]) + be32(1) + TPM2_STARTUP +
          be32(7) + TPM2_GETRANDOM + be32(2) + TPM12_GETRANDOM)
    write("fifo", "bad-size", bytes([AUTO_READY]) + be32(1) + BAD_SIZE + be32(1) + TPM2_GETRANDOM)
    write("fifo", "partial", bytes([0x80 | AUTO_READY | AUTO_ANSWER]) + be32(1) + TPM2_GETRANDOM[:7])
    write("fifo", "no-vtpmd-answer", bytes([0]) + be32(1) + TPM2_GETRANDOM)

    # ctrl_sock: u8 vtpmd behaviour | ops
    ctrl = lambda slot, b, fd=0: op("CTRL_WRITE", slot | (fd << 2), data(b))
    write("ctrl_sock", "capability", bytes([0]) + op("CTRL_CONNECT", 0) + ctrl(0, be32(1)))
    write("ctrl_sock", "init-established", bytes([AUTO_READY | AUTO_ANSWER]) + op("CTRL_CONNECT", 0) +
          ctrl(0, be32(2) + be32(0)) + ctrl(0, be32(4)) + ctrl(0, be32(0x11) + be32(0)))
    write("ctrl_sock", "locality-hash", bytes([AUTO_READY | AUTO_ANSWER]) + op("CTRL_CONNECT", 0) +
          ctrl(0, be32(5) + b"\x02") + ctrl(0, be32(2) + be32(1)) + ctrl(0, be32(6)) +
          ctrl(0, be32(7) + be32(3) + b"abc") + ctrl(0, be32(8)))
    write("ctrl_sock", "datafd", bytes([AUTO_READY | AUTO_ANSWER]) + op("CTRL_CONNECT", 1) +
          ctrl(1, be32(0x10), fd=1) + ctrl(1, be32(0x0c) + be32(0) + be32(1) + be32(0)))
    write("ctrl_sock", "manual-vtpmd", bytes([0]) + op("CTRL_CONNECT", 4) + ctrl(0, be32(0x0e)) +
          op("VTPMD_ANSWER", 1) + op("CTRL_WRITE", 0, data(be32(3))) + op("VTPMD_ANSWER", 1) +
          op("VTPMD_ANSWER", 1) + op("DATA_CONNECT", 0))
    write("ctrl_sock", "hostile-resp", bytes([AUTO_READY]) + op("CTRL_CONNECT", 0) + ctrl(0, be32(0x12) + be64(1) + be64(0)) +
          vtpmd_msg(0, 65, be32(0) + be32(100) + be32(4) + b"abcd") + ctrl(0, be32(0x99)))

    blob = plain_env(1, UUID0, b"a permanent state blob")
    write("ctrl_sock", "set-stateblob", bytes([AUTO_READY | AUTO_ANSWER]) + op("CTRL_CONNECT", 0) +
          ctrl(0, be32(0x0e)) + ctrl(0, be32(0x0d) + be32(0) + be32(1) + be32(len(blob)) + blob) +
          ctrl(0, be32(2) + be32(0)) + ctrl(0, be32(0x0c) + be32(0) + be32(1) + be32(0)))

    # ctl: u8 vtpmd behaviour | ops
    write("ctl", "list-status", bytes([0]) + op("CTL_CONNECT", 0) + ctl_send(0, 2, b"") + ctl_send(0, 6, b""))
    write("ctl", "create-show-delete", bytes([0]) + op("CTL_CONNECT", 0) + ctl_send(0, 1, b"\x02\x01" + UUID_A) +
          ctl_send(0, 3, UUID_A) + ctl_send(0, 5, UUID_A) + ctl_send(0, 1, b"\x01\x00" + bytes(16)) + ctl_send(0, 2, b""))
    write("ctl", "stop-running", bytes([AUTO_READY | AUTO_ANSWER]) + op("SPAWN", 2) + op("CTL_CONNECT", 0) +
          ctl_send(0, 4, uuid_of=0) + ctl_send(0, 3, uuid_of=0))
    write("ctl", "delete-running", bytes([0]) + op("SPAWN", 0) + op("VTPMD_ANSWER", 0) + op("CTL_CONNECT", 1) +
          ctl_send(1, 5, uuid_of=0) + op("CTL_CONNECT", 2) + ctl_send(2, 2, b"") + op("VTPMD_ANSWER", 0))
    write("ctl", "delete-starting-crash", bytes([0]) + op("SPAWN", 1) + op("CTL_CONNECT", 0) +
          ctl_send(0, 5, uuid_of=1) + op("VTPMD_CLOSE", 1))
    write("ctl", "raw", bytes([0]) + op("CTL_CONNECT", 0) + op("CTL_RAW", 0, data(chanpkt(3, UUID0[:15]))) +
          op("CTL_CONNECT", 1) + op("CTL_RAW", 1 | (1 << 2), data(chanpkt(2, b""))))

    # chan: u8 vtpmd behaviour | ops (everything)
    write("chan", "ready-nv", bytes([0]) + op("SPAWN", 2) + op("VTPMD_ANSWER", 0) + op("VTPMD_ANSWER", 0 << 2) +
          op("VTPMD_ANSWER", 1 << 2) + op("VTPMD_ANSWER", 2 << 2) + op("VTPMD_ANSWER", 3 << 2))
    write("chan", "nv-messages", bytes([AUTO_READY]) + op("SPAWN", 0) +
          vtpmd_msg(0, 68, b"\x07permall" + b"state") + vtpmd_msg(0, 67, b"permall") +
          vtpmd_msg(0, 69, b"\x01permall") + vtpmd_msg(0, 67, b"permall"))
    write("chan", "ctrl-roundtrip", bytes([AUTO_READY]) + op("CTRL_CONNECT", 0) +
          op("CTRL_WRITE", 0, data(be32(2) + be32(0))) + op("VTPMD_ANSWER", 0) +
          op("CTRL_WRITE", 0, data(be32(0x0c) + be32(0) + be32(1) + be32(0))) +
          vtpmd_msg(0, 65, be32(0) + be32(0) + be32(0) + be32(3) + b"abc"))
    write("chan", "fifo-tpm", bytes([AUTO_READY]) + op("FIFO_WRITE", 0, data(be32(1) + TPM2_GETRANDOM)) +
          vtpmd_msg(0, 66, bytes.fromhex("80010000000e00000000000201ff")) +
          op("FIFO_WRITE", 0, data(be32(2) + TPM12_GETRANDOM)) + op("VTPMD_ANSWER", 1))
    write("chan", "raw-hostile", bytes([0]) + op("SPAWN", 0) +
          op("VTPMD_RAW", 0, data(chanpkt(64, be32(0)))) +
          op("VTPMD_RAW", 2 << 1, data(chanpkt(67, b"permall"))) +
          op("VTPMD_RAW", 0, data(be32(67) + be32(100) + b"permall")))
    write("chan", "stop-delete", bytes([AUTO_READY]) + op("SPAWN", 0) + op("CTL_CONNECT", 0) +
          ctl_send(0, 4, uuid_of=0) + op("VTPMD_ANSWER", 0) + op("SPAWN", 0) + ctl_send(0, 5, uuid_of=0) +
          op("VTPMD_ANSWER", 0) + op("TICK"))

    # vtpmd_chan: u8 flags | packets (u8 kind | u16 len | bytes); kind
    # 0..6 = CTRL, TPM_CMD, LISTEN_FD, DATA_FD, STOP, NV_DATA, NV_STATUS,
    # +0x40 with an fd, 0x80 | nfds = raw packet.
    pk = lambda kind, b: bytes([kind]) + data(b)
    CTRL, TPM, LISTEN, DATAFD, STOP, NVDATA, NVSTATUS = range(7)
    write("vtpmd_chan", "ctrl-basic", b"\x01" + pk(0x40 | LISTEN, b"") + pk(CTRL, be32(1)) +
          pk(CTRL, be32(0x0f)) + pk(CTRL, be32(0x12) + be64(1) + be32(0) + be32(0)) +
          pk(CTRL, be32(0x11) + be32(0)) + pk(TPM, TPM2_GETRANDOM) + pk(STOP, b""))
    write("vtpmd_chan", "init-nv", b"\x01" + pk(CTRL, be32(2) + be32(0)) + pk(NVDATA, be32(0x800)) +
          pk(NVDATA, be32(0x800)) + pk(NVSTATUS, be32(0)) + pk(CTRL, be32(5) + b"\x03") + pk(CTRL, be32(3)))
    write("vtpmd_chan", "init-delete-volatile", b"\x00" + pk(CTRL, be32(2) + be32(1)) +
          pk(NVDATA, be32(0) + b"permanent blob") + pk(NVSTATUS, be32(0x800)) + pk(NVSTATUS, be32(0)))
    write("vtpmd_chan", "nv-wait-load", b"\x03" + pk(TPM, TPM12_GETRANDOM) + pk(0x40 | DATAFD, b"") +
          pk(NVDATA, be32(0) + b"saved state") + pk(TPM, BAD_SIZE))
    write("vtpmd_chan", "nv-wait-store", b"\x07" + pk(NVSTATUS, be32(0)) + pk(CTRL, be32(0x13) + be32(0)))
    write("vtpmd_chan", "bufsize-small", b"\x01" + pk(CTRL, be32(0x11) + be32(1024)) +
          pk(TPM, TPM2_GETRANDOM) + pk(CTRL, be32(0x0d) + be32(0) + be32(1) + be32(4) + b"blob") +
          pk(CTRL, be32(0x0c) + be32(0) + be32(1) + be32(0)))
    write("vtpmd_chan", "raw", b"\x01" + pk(0x80, chanpkt(1, be32(4))) + pk(0x81, chanpkt(5, b"")))

    # migblob: u8 flags | envelope (flag 2: the harness re-encrypts a
    # version 2 envelope under the key its flags name, so the bytes after
    # the header need not be valid)
    def env2(typ, kflag, uuid, gen, body):
        return (b"VTPMMIG1" + be16(2) + bytes([typ, kflag]) + uuid + be64(gen) + be32(len(body)) +
                bytes(12) + body + bytes(16))
    write("migblob", "host-key", b"\x02" + env2(1, 2, UUID_A, 7, b"permanent state"))
    write("migblob", "migration-key", b"\x03" + env2(1, 1, UUID_A, 9, b"hello"))
    write("migblob", "migration-key-none-here", b"\x02" + env2(1, 1, UUID_A, 9, b"hello"))
    write("migblob", "volatile-other-uuid", bytes([0x02 | 0x08 | 0x10]) + env2(2, 2, UUID_A, 1, b"vol"))
    # version 1: sealed (migration key) and plain (refused)
    write("migblob", "v1-sealed", b"\x01" + b"VTPMMIG1" + be16(1) + bytes([1, 1]) + UUID_A + be32(5) +
          bytes(12) + b"hello" + bytes(16))
    write("migblob", "v1-plain-digest", b"\x00" + plain_env(1, UUID_A, b"permanent state"))
    write("migblob", "roundtrip", bytes([0x21]) + b"state blob bytes")
    write("migblob", "roundtrip-migkey", bytes([0x21 | 0x01]) + b"state blob bytes")

    provisioning_seeds()


def tlv(tag, v):
    return be16(tag) + be32(len(v)) + v


def swtpm_file(flags, body):
    return bytes([2, 1]) + be16(10) + be16(flags) + be32(10 + len(body)) + body


def provisioning_seeds():
    # swtpm_state: u8 flags | file (bit 0 key, 1 128-bit, 2 fix up HMAC,
    # 3 key file, 4-5 key format, 6 round trip)
    write("swtpm_state", "plain", b"\x00" + swtpm_file(0, tlv(1, b"libtpms permanent state")))
    write("swtpm_state", "enc256-fixup", b"\x05" + swtpm_file(9, tlv(2, bytes(range(64))) +
          tlv(3, bytes(32)) + tlv(6, bytes(range(32)))))
    write("swtpm_state", "enc128-fixup", b"\x07" + swtpm_file(1, tlv(2, bytes(range(32))) +
          tlv(3, bytes(32)) + tlv(6, bytes(range(16)))))
    write("swtpm_state", "enc-no-iv", b"\x05" + swtpm_file(9, tlv(2, bytes(64)) + tlv(3, bytes(32))))
    write("swtpm_state", "keyfile-hex", b"\x08" + b"0x" + bytes(range(32)).hex().encode() + b"\n")
    write("swtpm_state", "keyfile-bin", b"\x28" + bytes(range(16)))
    write("swtpm_state", "roundtrip", b"\x41" + b"some libtpms state")

    # transport: u8 flags | bytes (bit 0 payload, bit 1 seal + mask, bit 2 open as is)
    payload = b"\x02" + b"\x01" + be32(3) + b"abc" + b"\x02" + be32(2) + b"de"
    write("transport", "payload", b"\x01" + payload)
    write("transport", "seal-open", b"\x02" + b"\x05" + b"perm" + b"v" * 70)
    write("transport", "seal-masked", b"\x02" + b"\x05" + b"perm" + b"v" * 64 + bytes(40) + b"\x01")
    write("transport", "file", b"\x04" + b"VTPMXPRT" + be16(1) + b"\x02\x00" + UUID_A + bytes(32) +
          be16(4) + b"spki" + be16(4) + b"ekey" + bytes(12) + be32(3) + b"abc" + bytes(16))

    # recovery: u8 flags | bytes (bit 0 a file as is, bit 1 wrap + XOR mask)
    write("recovery", "intact", b"\x02" + bytes(64))
    write("recovery", "masked", b"\x02" + bytes(50) + b"\x80")
    write("recovery", "file", b"\x01" + b"VTPMRCVR" + be16(1) + b"\x02\x00" + bytes(32) + be16(4) +
          b"wrap" + bytes(32))

    # ekinfo: the record
    write("ekinfo", "two", b"\x01\x02" + b"\x01" + be16(4) + b"spki" + be16(4) + b"cert" +
          b"\x02" + be16(3) + b"ecc" + be16(0))
    write("ekinfo", "empty", b"\x01\x00")

    # mf_resp: u8 sel | response (0-2 CreatePrimary of an EK kind, 3 TPM 1.2)
    # the P-256 base point: a valid EK point that stays the same
    x = bytes.fromhex("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296")
    y = bytes.fromhex("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5")
    policy = bytes.fromhex("837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa")
    area = (be16(0x23) + be16(0x0b) + be32(0x000300b2) + be16(32) + policy +
            be16(0x06) + be16(128) + be16(0x43) + be16(0x10) + be16(0x03) + be16(0x10) +
            be16(32) + x + be16(32) + y)
    params = be16(len(area)) + area + be16(0) + be16(0) + be16(0x8021) + be32(0x4000000b) + be16(0) + be16(0)
    body = be32(0x80000000) + be32(len(params)) + params + bytes([0, 0, 1, 0, 0])
    write("mf_resp", "createprimary-ecc", b"\x01" + be16(0x8002) + be32(10 + len(body)) + be32(0) + body)
    write("mf_resp", "tcg12-cert", b"\x03" + be16(0x1001) + b"\x00" + be16(7) + be16(0x1002) + b"\x30\x03\x02\x01\x05")


BUILDER_SEEDED = ("tpm2_sealed", "master_sealed")


def builder_seeds():
    fbuild = os.environ.get("FUZZ_BUILD", os.path.join(HERE, "..", "..", "build-fuzz"))
    missing = 0
    for t in BUILDER_SEEDED:
        exe = os.path.join(fbuild, "fuzz_" + t)
        d = os.path.join(HERE, "corpus", t)
        if not os.access(exe, os.X_OK):
            print(f"mkcorpus: {exe} is not built (make {exe}); seeds in {d} left as they are",
                  file=sys.stderr)
            missing = 1
            continue
        os.makedirs(d, exist_ok=True)
        subprocess.run([exe], env=dict(os.environ, FUZZ_WRITE_SEEDS=d), check=True,
                       stderr=subprocess.DEVNULL)
    return missing


def plain_env(typ, uuid, pt):
    import hashlib
    hdr = b"VTPMMIG1" + be16(1) + bytes([typ, 0]) + uuid + be32(len(pt))
    return hdr + pt + hashlib.sha256(hdr + pt).digest()


if __name__ == "__main__":
    sys.exit(main() or builder_seeds())
