#!/bin/bash
# test_restart_survival: a guest attached to a vTPM (QEMU's way: a control
# connection and a data connection passed with SET_DATAFD) notices neither a
# manager restart (SIGTERM, then a new manager) nor a kill -9 of the manager
# and a new one (issue 11).  The vtpmd serving it is the same process
# throughout (same pid, PCR16 keeps its extended value, which a restart
# from saved state would reset); TPM commands are answered while no manager
# runs; a command that changes persistent state (HierarchyChangeAuth) waits
# until the next manager has adopted the vtpmd, then succeeds, and the
# change is durable (checked in a fresh vtpmd at the end); QEMU's control
# connection, held by the vtpmd meanwhile, works with the new manager.
# With --survive-restart no, SIGTERM stops the vTPM and closes the guest's
# connection, as before.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

GETRANDOM8=80010000000c0000017b0008
STARTUP=80010000000c000001440000
# PCR_Extend(16, sha256 = 32 x 0x11), password session
EXTEND16=80020000004100000182000000100000000940000009000000000000000001000b$(printf '11%.0s' $(seq 32))
# PCR_Read(sha256: 16)
READ16=800100000014000001""7e00000001000b03000001
# HierarchyChangeAuth(owner): "" -> "abcd", and "abcd" -> ""
AUTH_SET=800200000021000001294000000100000009400000090000000000000461626364
AUTH_CLEAR=80020000002100000129400000010000000d40000009000000000461626364""0000
OK_SESSION='80020000001300000000[0-9a-f]*'
RAND_OK='80010000001400000000[0-9a-f]{20}'
# swtpm control: GET_TPMESTABLISHED (cmd 4) -> u32 result 0, u8 flag, 3 pad.
GET_EST=00000004

all_vtpmds() { pgrep -f -- "--root $RUN/empty( |\$)" || true; }

start_manager
u=$(create_vtpm)
held_start "$RUN/$u.sock.ctrl"
assert_eq 00000000 "$(held_ctrl 0000000200000000 4)" "INIT on QEMU's control connection"
assert_match '80010000000a00000000' "$(held_cmd "$STARTUP")" "TPM2_Startup"
assert_match "$OK_SESSION" "$(held_cmd "$EXTEND16")" "PCR_Extend(16)"
pcr16=$(held_cmd "$READ16")
assert_match '80010000003e00000000[0-9a-f]*' "$pcr16" "PCR_Read(16)"
pid=$(all_vtpmds)
[ "$(echo "$pid" | wc -w)" = 1 ] || fail "expected one vtpmd, found: $pid"

log "SIGTERM: the vtpmd serving the guest is left running"
stop_manager
assert_eq "$pid" "$(echo $DETACHED)" "the vtpmd left running for the next manager"
kill -0 "$pid" || fail "vtpmd $pid died with its manager"
assert_match "$RAND_OK" "$(held_cmd "$GETRANDOM8" 10)" "GetRandom while no manager runs"
off=$(stat -c %s "$MGR_LOG")
start_manager
wait_log "$off" "vtpm $u: adopted vtpmd pid $pid" 10 || fail "the new manager did not adopt vtpmd $pid: $(log_since "$off" | tail -n 5)"
assert_eq "$pcr16" "$(held_cmd "$READ16")" "PCR16 after the restart (the same TPM, not a restarted one)"
assert_match '00000000[0-9a-f]*' "$(held_ctrl "$GET_EST" 8 10)" "QEMU's control connection after the restart"
assert_match "$OK_SESSION" "$(held_cmd "$AUTH_SET")" "HierarchyChangeAuth after the restart"

log "kill -9: the vtpmd serves on and waits for the next manager to save"
kill9_manager
sleep 0.5
kill -0 "$pid" || fail "vtpmd $pid died after its manager was killed"
assert_match "$RAND_OK" "$(held_cmd "$GETRANDOM8" 10)" "GetRandom after kill -9 of the manager"
held_send "$AUTH_CLEAR"
assert_eq timeout "$(held_recv 2)" "a state change answered without a manager to save it"
off=$(stat -c %s "$MGR_LOG")
start_manager
assert_match "$OK_SESSION" "$(held_recv 20)" "the state change once the next manager adopted the vtpmd"
assert_contains "$(log_since "$off")" "vtpm $u: adopted vtpmd pid $pid" "the adoption in the log"
assert_eq "$pcr16" "$(held_cmd "$READ16")" "PCR16 after kill -9 and restart"
assert_match '00000000[0-9a-f]*' "$(held_ctrl "$GET_EST" 8 10)" "QEMU's control connection after kill -9"
assert_match "$OK_SESSION" "$(held_cmd "$AUTH_SET")" "HierarchyChangeAuth again"
assert_eq "$pid" "$(all_vtpmds)" "the vtpmd (one, the same) after both restarts"

log "the guest leaves; its state is durable"
held_stop
stop_manager
[ -z "$(all_vtpmds)" ] || fail "a vtpmd outlived a manager with no guest attached: $(all_vtpmds)"
start_manager
held_start "$RUN/$u.sock.ctrl"
assert_eq 00000000 "$(held_ctrl 0000000200000000 4)" "INIT of a fresh vtpmd"
assert_match '80010000000a00000000' "$(held_cmd "$STARTUP")" "TPM2_Startup of a fresh vtpmd"
assert_match "$OK_SESSION" "$(held_cmd "$AUTH_CLEAR")" "the owner auth set before the restarts (abcd) opens the fresh vtpmd's owner hierarchy"
assert_ne "$pcr16" "$(held_cmd "$READ16")" "PCR16 of a fresh vtpmd (reset)"
held_stop
stop_manager

log "--survive-restart no: SIGTERM stops the guest's vTPM, as before"
start_manager --survive-restart no
held_start "$RUN/$u.sock.ctrl"
assert_eq 00000000 "$(held_ctrl 0000000200000000 4)" "INIT"
stop_manager
[ -z "$DETACHED" ] || fail "vtpmd $DETACHED left running with --survive-restart no"
assert_match 'closed.*' "$(held_cmd "$GETRANDOM8" 5)" "the guest's connection after the manager stopped"
held_stop

log "a process posing as the vTPM's orphaned vtpmd on its adopt socket is refused"
[ -d "$RUN/adopt" ] || fail "no adopt directory in $RUN"
assert_eq 700 "$(stat -c %a "$RUN/adopt")" "the adopt directory's mode"
python3 - "$RUN/adopt/$u" "$u" >"$TESTDIR/fake.out" 2>&1 <<'PY' &
import array, socket, struct, sys, uuid
path, u = sys.argv[1], uuid.UUID(sys.argv[2]).bytes
ls = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
ls.bind(path)
ls.listen(1)
print("listening", flush=True)
c, _ = ls.accept()
msg, anc, _, _ = c.recvmsg(64, socket.CMSG_SPACE(4))
fds = array.array("i")
for level, typ, data in anc:
    if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
        fds.frombytes(data[:4])
ch = socket.socket(fileno=fds[0])
# A HELLO claiming to be the vTPM (right UUID, TPM 2.0), sent by root.
ch.send(struct.pack(">II", 71, 24) + struct.pack(">IBBBB", 1, 2, 1, 0, 0) + u)
ch.send(struct.pack(">III", 73, 4, 0))
print("hello sent", flush=True)
ch.recv(1)
PY
fake=$!
track_pid "$fake"
for _ in $(seq 50); do grep -q listening "$TESTDIR/fake.out" && break; sleep 0.1; done
off=$(stat -c %s "$MGR_LOG")
start_manager
wait "$fake" 2>/dev/null || true
assert_contains "$(cat "$TESTDIR/fake.out")" "hello sent" "the impostor's run"
assert_contains "$(log_since "$off")" "adoption: HELLO not from this vTPM's vtpmd (credentials)" \
	"the manager's refusal"
assert_match '[0-9a-f]{16}' "$(client tpm --socket "$(sock "$u")" getrandom 8)" \
	"GetRandom through a fresh vtpmd after the refused adoption"
stop_manager
