#!/bin/bash
# test_service: boot-time integration.
# - The LSB init script (scripts/vtpm_managerd.init, as `make install` puts
#   it in /etc/init.d) really starts, reports, restarts and stops the daemon
#   here, pointed at the build tree through VTPM_INIT_* variables.
# - The systemd unit: systemd is not PID 1 on these machines, so the unit
#   cannot be started; it is checked with `systemd-analyze verify`, and its
#   Type=notify protocol is exercised with a NOTIFY_SOCKET of our own that
#   must receive READY=1 once the sockets are bound.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

SRC=$(cd "$(dirname "$0")/../.." && pwd)
INIT=$TESTDIR/vtpm_managerd.init
sed "s|@SBINDIR@|$BUILD|g" "$SRC/scripts/vtpm_managerd.init" >"$INIT"
chmod 0755 "$INIT"
export VTPM_INIT_DAEMON=$BUILD/vtpm_managerd
export VTPM_INIT_RUN_DIR=$RUN
export VTPM_INIT_ARGS="--state-dir $STATE --host-tpm keyfile:$KEY"
pid_of() { cat "$RUN/vtpm_managerd.pid"; }

log "init script: status before start"
rc=0
"$INIT" status >/dev/null || rc=$?
assert_eq 3 "$rc" "status of a stopped daemon (LSB: 3)"

log "init script: start"
assert_ok "init start" "$INIT" start
pid=$(pid_of)
track_pid "$pid"
assert_ok "status while running" "$INIT" status
u=$(create_vtpm)
r=$(t2 getrandom "$u" 8 --hex) || fail "tpm2_getrandom with the daemon started by the init script"
assert_match '[0-9a-f]{16}' "$r" "GetRandom"
assert_ok "init start when already running" "$INIT" start
assert_eq "$pid" "$(pid_of)" "pid after a second start (no second daemon)"

log "init script: restart keeps the vTPM"
assert_ok "init restart" "$INIT" restart
pid2=$(pid_of)
track_pid "$pid2"
[ "$pid2" != "$pid" ] || fail "restart did not start a new process"
wait_gone "$pid" 5 || fail "old daemon $pid still alive after restart"
assert_eq 1 "$(vtpmctl list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" \
	"vTPMs after restart"

log "init script: stop"
assert_ok "init stop" "$INIT" stop
wait_gone "$pid2" 5 || fail "daemon $pid2 alive after init stop"
rc=0
"$INIT" status >/dev/null || rc=$?
assert_eq 3 "$rc" "status after stop"
assert_ok "init stop when stopped" "$INIT" stop

log "systemd unit: systemd-analyze verify"
UNIT=$TESTDIR/vtpm_managerd.service
sed "s|@SBINDIR@|$BUILD|g" "$SRC/scripts/vtpm_managerd.service" >"$UNIT"
if command -v systemd-analyze >/dev/null; then
	out=$(systemd-analyze verify --man=no "$UNIT" 2>&1) || fail "systemd-analyze verify: $out"
	[ -z "$out" ] || log "  systemd-analyze: $out"
else
	skip_part "systemd-analyze is not installed; the unit is not verified"
fi
# Started before the hypervisors that connect to vTPMs (libvirt's monolithic
# and modular daemons, Xen), stopped after them; and with room for
# descriptors (issue 9).
before=$(sed -n 's/^Before=//p' "$UNIT")
for svc in libvirtd.service virtqemud.service xendomains.service; do
	assert_contains " $before " " $svc " "the unit's Before="
done
assert_eq 524288 "$(sed -n 's/^LimitNOFILE=//p' "$UNIT")" "the unit's LimitNOFILE"
assert_contains "$(sed -n 's/^# X-Start-Before://p' "$SRC/scripts/vtpm_managerd.init")" "virtqemud" \
	"the init script's X-Start-Before"

log "systemd unit: Type=notify readiness"
NS=$TESTDIR/notify.sock
python3 - "$NS" >"$TESTDIR/notify.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
print(s.recv(4096).decode())
PY
listener=$!
track_pid "$listener"
for _ in $(seq 50); do [ -S "$NS" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$NS start_manager
wait "$listener" || fail "no notification datagram within 20 s"
assert_contains "$(cat "$TESTDIR/notify.out")" "READY=1" "notification"
assert_contains "$(cat "$TESTDIR/notify.out")" "MAINPID=$MGR_PID" "notification MAINPID"
stop_manager
