# lib.sh - shared helpers for tests/integration/test_*.sh (sourced, bash).
#
# Each test runs in its own directory $TESTDIR (made by run.sh with mktemp;
# when a test is run by hand without one, a fresh one is made here and
# removed on exit).  Layout: $STATE (state dir), $RUN (run dir), $MGR_LOG
# (the manager's stderr, appended across restarts), $KEY (keyfile master
# key).  An EXIT trap kills every process the test started: the manager,
# the vtpmd processes it spawned, and anything registered with track_pid.
# Helpers fail the test with "FAIL: <what>: <details>" on stderr.
# shellcheck shell=bash

set -euo pipefail

: "${BUILD:?BUILD must name the (absolute) build directory}"
if [ -z "${TESTDIR:-}" ]; then
	TESTDIR=$(mktemp -d -t vtpm-it.XXXXXX)
	_OWN_TESTDIR=1
else
	_OWN_TESTDIR=0
fi
STATE=$TESTDIR/state
RUN=$TESTDIR/run
KEY=$TESTDIR/master.key
MGR_LOG=$TESTDIR/manager.log
CLIENT=$BUILD/vtpm-client
MGR_PID=""
_TRACKED=()
: >"$MGR_LOG"

# ---- reporting --------------------------------------------------------

log() { echo "# $*" >&2; }

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Skips.  A test that cannot run says why and exits 77; run.sh reports it as
# SKIP (counted apart from PASS).  Two kinds:
#   skip REASON          something this machine kind can provide is missing
#                        (a download, a tool, loop devices): under CI
#                        (CI=true) that is a failure, not a skip.
#   skip_variant REASON  the build variant being tested lacks the feature by
#                        design (a sanitizer build has no seccomp filter):
#                        a skip everywhere.
# skip_part / skip_part_variant REASON: the same for one part of a test
# that goes on; run.sh lists them under the test's PASS line.
EXIT_SKIP=77
skip() {
	if [ "${CI:-}" = true ]; then
		fail "would skip, but CI must run this: $*"
	fi
	echo "SKIP: $*"
	exit "$EXIT_SKIP"
}

skip_variant() {
	echo "SKIP: $*"
	exit "$EXIT_SKIP"
}

skip_part() {
	if [ "${CI:-}" = true ]; then
		fail "would skip a part, but CI must run it: $*"
	fi
	echo "SKIP-PART: $*"
}

skip_part_variant() { echo "SKIP-PART: $*"; }

# timed WHAT CMD...: runs CMD, which must succeed within 3 s (a generous
# bound: tests never depend on speed), failing with WHAT and $TIMED_WHILE
# otherwise; keeps the slowest so far in $slowest and $what, CMD's output in
# $TIMED_OUT.
timed() {
	local t0 t1 ms out rc=0
	t0=$(date +%s%N)
	out=$(timeout 3 "${@:2}" 2>&1) || rc=$?
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	[ "$rc" = 0 ] || fail "$1 ${TIMED_WHILE:-}: exit $rc after $ms ms: $out"
	if [ "$ms" -gt "${slowest:-0}" ]; then
		slowest=$ms
		what=$1
	fi
	TIMED_OUT=$out
}

# count_matches PATTERN: how many lines of stdin contain the fixed string
# PATTERN (0 included, exit status 0 either way, unlike grep -c).
count_matches() { grep -cF -- "$1" || [ $? = 1 ]; }

# count_ere REGEX: the same for an extended regular expression.
count_ere() { grep -cE -- "$1" || [ $? = 1 ]; }

# ---- cleanup ----------------------------------------------------------

# Every live descendant of a pid (children first found, then theirs).
_descendants() {
	local p c
	for c in $(pgrep -P "$1" 2>/dev/null || true); do
		echo "$c"
		_descendants "$c"
	done
}

track_pid() { _TRACKED+=("$1"); }

# at_exit CMD...: run CMD (e.g. umount, losetup -d) at exit, after every
# tracked process was killed, most recent first.
_AT_EXIT=()
at_exit() { _AT_EXIT+=("$(printf '%q ' "$@")"); }
# at_exit_first CMD...: run CMD at exit before any process is killed (e.g.
# fsfreeze -u: a process blocked on a frozen filesystem cannot die).
_AT_EXIT_FIRST=()
at_exit_first() { _AT_EXIT_FIRST+=("$(printf '%q ' "$@")"); }

_cleanup() {
	local rc=$? p pids=()
	trap - EXIT
	for p in "${_AT_EXIT_FIRST[@]}"; do
		eval "$p" >/dev/null 2>&1 || echo "# cleanup '$p' failed" >&2
	done
	if [ -n "$MGR_PID" ]; then
		pids+=("$MGR_PID")
		mapfile -t -O "${#pids[@]}" pids < <(_descendants "$MGR_PID")
	fi
	for p in "${_TRACKED[@]}"; do
		pids+=("$p")
		mapfile -t -O "${#pids[@]}" pids < <(_descendants "$p")
	done
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null || true
	done
	# vtpmds that outlived a manager (issue 11: restart survival) are
	# nobody's descendants now; they are ours by their chroot.
	if [ -d "$RUN" ]; then
		pkill -KILL -f -- "--root $RUN/empty( |\$)" 2>/dev/null || true
	fi
	wait 2>/dev/null || true
	for ((p = ${#_AT_EXIT[@]} - 1; p >= 0; p--)); do
		eval "${_AT_EXIT[$p]}" >/dev/null 2>&1 || echo "# cleanup '${_AT_EXIT[$p]}' failed" >&2
	done
	if [ "$rc" != 0 ] && [ "$rc" != "$EXIT_SKIP" ] && [ -s "$MGR_LOG" ]; then
		echo "--- last lines of manager.log ---" >&2
		tail -n 30 "$MGR_LOG" >&2
	fi
	if [ "$_OWN_TESTDIR" = 1 ]; then
		rm -rf "$TESTDIR"
	fi
	exit "$rc"
}
trap _cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# ---- assertions -------------------------------------------------------

# assert_eq EXPECTED ACTUAL WHAT
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

assert_ne() {
	[ "$1" != "$2" ] || fail "$3: both are '$1'"
}

# assert_match REGEX VALUE WHAT (extended regex, whole value)
assert_match() {
	[[ $2 =~ ^$1$ ]] || fail "$3: '$2' does not match /$1/"
}

# assert_contains HAYSTACK NEEDLE WHAT
assert_contains() {
	case "$1" in
	*"$2"*) ;;
	*) fail "$3: '$2' not found in: $1" ;;
	esac
}

assert_not_contains() {
	case "$1" in
	*"$2"*) fail "$3: '$2' unexpectedly found in: $1" ;;
	*) ;;
	esac
}

# assert_ok WHAT CMD...: CMD must succeed; its output goes to stdout.
assert_ok() {
	local what=$1 err rc=0
	shift
	err=$(mktemp "$TESTDIR/err.XXXXXX")
	"$@" 2>"$err" || rc=$?
	if [ "$rc" != 0 ]; then
		fail "$what: '$*' exited $rc: $(head -c 600 "$err" | tr '\n' ' ')"
	fi
	rm -f "$err"
}

# assert_fails WHAT CMD...: CMD must exit non-zero.  Its stderr is left in
# $LAST_STDERR, its stdout in $LAST_STDOUT, its status in $LAST_RC.
LAST_STDERR=""
LAST_STDOUT=""
LAST_RC=0
assert_fails() {
	local what=$1 out err
	shift
	out=$(mktemp "$TESTDIR/out.XXXXXX")
	err=$(mktemp "$TESTDIR/err.XXXXXX")
	LAST_RC=0
	"$@" >"$out" 2>"$err" || LAST_RC=$?
	LAST_STDOUT=$(cat "$out")
	LAST_STDERR=$(cat "$err")
	rm -f "$out" "$err"
	[ "$LAST_RC" != 0 ] || fail "$what: '$*' succeeded (stdout: $LAST_STDOUT)"
}

# assert_one_line_stderr WHAT: after assert_fails, stderr is exactly one
# non-empty line.
assert_one_line_stderr() {
	local n
	n=$(printf '%s' "$LAST_STDERR" | grep -c '' || true)
	[ -n "$LAST_STDERR" ] || fail "$1: nothing on stderr"
	[ "$n" = 1 ] || fail "$1: expected one line on stderr, got $n: $LAST_STDERR"
}

# ---- the manager ------------------------------------------------------

# start_manager [extra args]: foreground daemon, stderr appended to
# $MGR_LOG; waits up to 10 s for its "vtpm_managerd ready" line.
# MGR_NOFILE=N runs it with RLIMIT_NOFILE N (soft and hard).
start_manager() {
	local off i
	[ -z "$MGR_PID" ] || fail "start_manager: a manager (pid $MGR_PID) is already running"
	off=$(stat -c %s "$MGR_LOG")
	(
		[ -z "${MGR_NOFILE:-}" ] || ulimit -n "$MGR_NOFILE"
		exec "$BUILD/vtpm_managerd" --foreground --state-dir "$STATE" --run-dir "$RUN" \
			--host-tpm "keyfile:$KEY" "$@" 2>>"$MGR_LOG"
	) &
	MGR_PID=$!
	for i in $(seq 100); do
		if tail -c +"$((off + 1))" "$MGR_LOG" | grep -qx 'vtpm_managerd ready'; then
			return 0
		fi
		if ! kill -0 "$MGR_PID" 2>/dev/null; then
			wait "$MGR_PID" || i=$?
			MGR_PID=""
			fail "start_manager: the manager exited (status $i) before it was ready: $(tail -c +"$((off + 1))" "$MGR_LOG" | tail -n 5)"
		fi
		sleep 0.1
	done
	fail "start_manager: no 'vtpm_managerd ready' within 10 s"
}

# wait_gone PID SECONDS: true once PID no longer exists (zombies of our own
# children count as gone only after wait; use for non-children).
wait_gone() {
	local i n=$(($2 * 10))
	for ((i = 0; i < n; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		# A zombie has exited: that is gone for our purposes.
		[ "$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" != Z ] || return 0
		sleep 0.1
	done
	return 1
}

# Pids of the vtpmd processes of the running manager.
vtpmd_pids() {
	[ -n "$MGR_PID" ] || return 0
	pgrep -P "$MGR_PID" -x vtpmd 2>/dev/null || true
}

# stop_manager: SIGTERM, wait up to 10 s; the vtpmd processes it ran must
# be gone too within 5 s, but for those it logged as left running for the
# next manager (a guest is attached: survive_restart); their pids are in
# DETACHED.
DETACHED=""
stop_manager() {
	local kids p rc=0 off
	[ -n "$MGR_PID" ] || fail "stop_manager: no manager running"
	kids=$(_descendants "$MGR_PID")
	off=$(stat -c %s "$MGR_LOG")
	kill -TERM "$MGR_PID"
	wait_gone "$MGR_PID" 10 || fail "stop_manager: the manager is still alive 10 s after SIGTERM"
	wait "$MGR_PID" || rc=$?
	MGR_PID=""
	DETACHED=$(log_since "$off" | sed -n 's/.*: vtpmd pid \([0-9]*\) left running for the next manager.*/\1/p' | tr '\n' ' ')
	for p in $kids; do
		case " $DETACHED " in *" $p "*) continue ;; esac
		wait_gone "$p" 5 || fail "stop_manager: child $p ($(cat "/proc/$p/comm" 2>/dev/null)) outlived the manager by 5 s"
	done
	[ "$rc" = 0 ] || fail "stop_manager: the manager exited with status $rc after SIGTERM"
}

# kill9_manager: SIGKILL, reap.  Sets ORPHANS to the vtpmd pids it had.
ORPHANS=""
kill9_manager() {
	[ -n "$MGR_PID" ] || fail "kill9_manager: no manager running"
	# shellcheck disable=SC2034 # read by the tests
	ORPHANS=$(vtpmd_pids)
	kill -KILL "$MGR_PID"
	wait "$MGR_PID" 2>/dev/null || true
	MGR_PID=""
}

manager_alive() {
	[ -n "$MGR_PID" ] && kill -0 "$MGR_PID" 2>/dev/null
}

# ---- clients ----------------------------------------------------------

vtpmctl() {
	"$BUILD/vtpmctl" --run-dir "$RUN" "$@"
}

# create_vtpm [create args]: prints the new UUID (checked to be one).
create_vtpm() {
	local u
	u=$(vtpmctl create "$@") || fail "vtpmctl create $*: exit $?"
	[[ $u =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] ||
		fail "vtpmctl create printed '$u', not a UUID"
	echo "$u"
}

tcti() { echo "swtpm:path=$RUN/$1.sock"; }
sock() { echo "$RUN/$1.sock"; }

# t2 TOOL UUID ARGS...: tpm2_TOOL against that vTPM, bounded to 30 s.
t2() {
	local tool=$1 u=$2
	shift 2
	timeout 30 "tpm2_$tool" -T "$(tcti "$u")" "$@"
}

# client ARGS...: vtpm-client, bounded to 30 s.
client() {
	timeout 30 "$CLIENT" "$@"
}

# json_field UUID FIELD: a field of that vTPM in `vtpmctl list --json`.
json_field() {
	vtpmctl list --json | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e.get("uuid") == sys.argv[1]:
        print(e.get(sys.argv[2], ""))
        break
else:
    sys.exit("no entry for " + sys.argv[1])
' "$1" "$2"
}

# sha256 of stdin, lower-case hex.
sha256_hex() { sha256sum | cut -d' ' -f1; }

# pcr_extend_expect OLD_HEX DIGEST_HEX: sha256(old || digest).
pcr_extend_expect() {
	printf '%s%s' "$1" "$2" | xxd -r -p | sha256_hex
}

# ---- swtpm as the host TPM --------------------------------------------
#
# start_host_swtpm2 NAME / start_host_swtpm12 NAME start a swtpm socket
# server standing in for the host's hardware TPM: state in $TESTDIR/NAME,
# data socket $(host_sock NAME), control channel $(host_sock NAME).ctrl,
# output in $TESTDIR/NAME.log.  A TPM 1.2 is first prepared like a fresh
# server's chip (swtpm_setup --createek: EK present, enabled, active,
# unowned).  The state survives stop_host_swtpm NAME and a new start.  The
# process is registered with track_pid, so the EXIT trap kills it.

declare -A _HOST_PID=()

host_sock() { echo "$TESTDIR/$1.sock"; }
host_spec() { echo "swtpm:path=$TESTDIR/$1.sock"; }
host_tcti() { echo "swtpm:path=$TESTDIR/$1.sock"; }

_start_host_swtpm() { # NAME [swtpm socket args]
	local name=$1 dir=$TESTDIR/$1 s
	shift
	s=$(host_sock "$name")
	[ -z "${_HOST_PID[$name]:-}" ] || fail "start_host_swtpm $name: already running (pid ${_HOST_PID[$name]})"
	mkdir -p "$dir"
	rm -f "$s" "$s.ctrl"
	swtpm socket "$@" --tpmstate dir="$dir" \
		--server type=unixio,path="$s" --ctrl type=unixio,path="$s.ctrl" \
		--flags not-need-init,startup-clear >>"$TESTDIR/$name.log" 2>&1 &
	_HOST_PID[$name]=$!
	track_pid "$!"
	for _ in $(seq 100); do
		if [ -S "$s" ] && [ -S "$s.ctrl" ]; then
			return 0
		fi
		kill -0 "${_HOST_PID[$name]}" 2>/dev/null ||
			fail "start_host_swtpm $name: swtpm exited: $(tail -n 5 "$TESTDIR/$name.log")"
		sleep 0.05
	done
	fail "start_host_swtpm $name: no socket $s within 5 s"
}

start_host_swtpm2() { _start_host_swtpm "$1" --tpm2; }

start_host_swtpm12() {
	local dir=$TESTDIR/$1
	if [ ! -e "$dir/tpm-00.permall" ]; then
		mkdir -p "$dir"
		: >"$TESTDIR/swtpm_setup.conf"
		timeout 60 swtpm_setup --tpm-state "$dir" --createek \
			--config "$TESTDIR/swtpm_setup.conf" >>"$TESTDIR/$1.log" 2>&1 ||
			fail "start_host_swtpm12 $1: swtpm_setup failed: $(tail -n 5 "$TESTDIR/$1.log")"
	fi
	_start_host_swtpm "$1"
}

# start_host_swtpm2_tcp NAME: the same over TCP on 127.0.0.1, data port P
# (random free one) and control port P+1; $(host_spec_tcp NAME) names it.
declare -A _HOST_PORT=()
host_spec_tcp() { echo "swtpm:host=127.0.0.1,port=${_HOST_PORT[$1]}"; }

start_host_swtpm2_tcp() {
	local name=$1 dir=$TESTDIR/$1 port pid try
	[ -z "${_HOST_PID[$name]:-}" ] || fail "start_host_swtpm2_tcp $name: already running (pid ${_HOST_PID[$name]})"
	mkdir -p "$dir"
	for try in 1 2 3 4 5 6 7 8; do
		port=$((20000 + RANDOM % 20000 * 2))
		if [ -n "$(ss -Htan "( sport = :$port or sport = :$((port + 1)) )" 2>/dev/null)" ]; then
			continue
		fi
		swtpm socket --tpm2 --tpmstate dir="$dir" \
			--server type=tcp,port="$port",bindaddr=127.0.0.1 \
			--ctrl type=tcp,port="$((port + 1))",bindaddr=127.0.0.1 \
			--flags not-need-init,startup-clear >>"$TESTDIR/$name.log" 2>&1 &
		pid=$!
		track_pid "$pid"
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			if [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ] &&
				[ -n "$(ss -Hltn "sport = :$((port + 1))" 2>/dev/null)" ]; then
				_HOST_PID[$name]=$pid
				_HOST_PORT[$name]=$port
				return 0
			fi
			sleep 0.05
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		_untrack_pid "$pid"
		log "start_host_swtpm2_tcp $name: port $port failed (try $try)"
	done
	fail "start_host_swtpm2_tcp $name: no port worked: $(tail -n 5 "$TESTDIR/$name.log")"
}

# stop_host_swtpm NAME: SIGTERM, wait (its state is kept).
stop_host_swtpm() {
	local name=$1 pid
	pid=${_HOST_PID[$name]:-}
	[ -n "$pid" ] || fail "stop_host_swtpm $name: not running"
	kill -TERM "$pid" 2>/dev/null || true
	wait_gone "$pid" 5 || fail "stop_host_swtpm $name: swtpm $pid alive 5 s after SIGTERM"
	wait "$pid" 2>/dev/null || true
	unset "_HOST_PID[$name]"
	_untrack_pid "$pid"
}

# _untrack_pid PID: forget a pid given to track_pid (it was reaped).
_untrack_pid() {
	local i
	for i in "${!_TRACKED[@]}"; do
		[ "${_TRACKED[$i]}" != "$1" ] || unset "_TRACKED[$i]"
	done
}

# manager_fails WHAT [args]: runs the manager as start_manager does (later
# arguments override earlier ones), and it must exit non-zero within 20 s
# without becoming ready.  Its stderr is appended to $MGR_LOG and left in
# $LAST_STDERR, its status in $LAST_RC (see assert_fails).
manager_fails() {
	local what=$1
	shift
	[ -z "$MGR_PID" ] || fail "manager_fails: a manager (pid $MGR_PID) is running"
	assert_fails "$what" timeout -k 5 20 "$BUILD/vtpm_managerd" --foreground \
		--state-dir "$STATE" --run-dir "$RUN" --host-tpm "keyfile:$KEY" "$@"
	printf '%s\n' "$LAST_STDERR" >>"$MGR_LOG"
	case "$LAST_RC" in
	124 | 137) fail "$what: the manager was still running after 20 s: $LAST_STDERR" ;;
	esac
	assert_not_contains "$LAST_STDERR" "vtpm_managerd ready" "$what"
}

# state_digest [DIR]: sha256 of every file (contents and names) and the list
# of directories under DIR (default $STATE), sorted; for "nothing changed".
state_digest() {
	local d=${1:-$STATE}
	(
		cd "$d" || exit 1
		find . -type d | LC_ALL=C sort
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
	)
}

# log_since OFFSET: what $MGR_LOG gained after byte OFFSET (from
# `stat -c %s "$MGR_LOG"` taken before).
log_since() { tail -c +"$(($1 + 1))" "$MGR_LOG"; }

# status_field NAME: the value of "NAME: value" in `vtpmctl status`.
status_field() {
	local out
	out=$(vtpmctl status) || fail "vtpmctl status: exit $?"
	printf '%s\n' "$out" | sed -n "s/^$1: //p"
}

# nv_put UUID INDEX FILE: tpm2_nvwrite FILE at offset 0 of INDEX.
nv_put() {
	assert_ok "nvwrite $2 on $1" t2 nvwrite "$1" "$2" -C o -i "$3"
}

# nv_expect UUID INDEX FILE WHAT: tpm2_nvread of INDEX equals FILE.
nv_expect() {
	local got=$TESTDIR/nv_expect.out n
	n=$(stat -c %s "$3")
	rm -f "$got"
	assert_ok "$4: nvread $2 on $1" t2 nvread "$1" "$2" -C o -s "$n" -o "$got"
	cmp -s "$3" "$got" ||
		fail "$4: nvread $2 on $1 returned $(xxd -p -c 64 "$got"), expected $(xxd -p -c 64 "$3")"
}

# ---- a QEMU-like held data connection (SET_DATAFD) --------------------
#
# held_start CTRL_SOCKET: runs held_conn.py as a coprocess: it passes one
# end of a socketpair with SET_DATAFD and keeps the other, as QEMU does.
# held_cmd HEX [SECONDS] sends a TPM command and prints the response's hex
# (or "closed" / "timeout"); held_send HEX only sends; held_recv [SECONDS]
# only reads.  One held connection per test.
HELD_PID=""
held_start() {
	local line
	# bash sets HELD (its fds) and HELD_PID
	coproc HELD { exec python3 "$(dirname "${BASH_SOURCE[0]}")/held_conn.py" "$1"; }
	track_pid "$HELD_PID"
	read -r -t 30 line <&"${HELD[0]}" || fail "held_start: no answer from held_conn.py"
	[ "$line" = ready ] || fail "held_start: SET_DATAFD on $1: $line"
}

_held_line() { # SECONDS
	local line
	read -r -t "$1" line <&"${HELD[0]}" || fail "held connection: helper silent for $1 s"
	printf '%s\n' "$line"
}

held_send() {
	echo "send $1" 1>&"${HELD[1]}"
	[ "$(_held_line 30)" = sent ] || fail "held_send $1: not sent"
}

held_recv() {
	echo "recv ${1:-30}" 1>&"${HELD[1]}"
	_held_line "$((${1:-30} + 10))"
}

held_cmd() {
	echo "cmd $1 ${2:-30}" 1>&"${HELD[1]}"
	_held_line "$((${2:-30} + 10))"
}

# held_ctrl HEX NBYTES [SECONDS]: a control request on the held connection's
# control socket (QEMU's); prints the response's hex.
held_ctrl() {
	echo "ctrl $1 $2 ${3:-30}" 1>&"${HELD[1]}"
	_held_line "$((${3:-30} + 10))"
}

# wait_log OFFSET TEXT SECONDS: true once $MGR_LOG gained a line containing
# TEXT after byte OFFSET.
wait_log() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		log_since "$1" | grep -qF -- "$2" && return 0
		sleep 0.1
	done
	return 1
}

# held_stop: ends held_conn.py (its connection closes) and reaps it.
held_stop() {
	[ -n "$HELD_PID" ] || return 0
	{ echo quit 1>&"${HELD[1]}"; } 2>/dev/null || true
	wait "$HELD_PID" 2>/dev/null || true
	HELD_PID=""
}
