#!/bin/bash
# run-bench.sh - `make bench`: the manager against plain swtpm, and against
# the bare cost of what it must do, in one run and one table.  Parts:
#
#   latency  TPM2 GetRandom(32), PCR_Extend(sha256) and NV_Write(64 B)
#            latency and throughput through the manager's per-vTPM socket
#            and through a plain `swtpm socket --tpm2`, with the same client
#            (vtpm-bench, one persistent connection per target), the two
#            measured interleaved in blocks of 50 operations so that other
#            load on the host weighs on both alike; time from `vtpmctl
#            create --no-ek-cert` (resp. spawning swtpm) to the first
#            response; RSS of one vtpmd vs one swtpm.  A second swtpm, in
#            the other kind of session (see BENCH_SWTPM_SESSION), is
#            measured in the same blocks and shown in the notes.
#   durable  a bare durable save (create, write, fsync, close, rename,
#            fsync of the directory) of a file the size of the vTPM's sealed
#            permall, in a directory on the state directory's filesystem,
#            interleaved with the NV_Write measurement (NV_Write alone is
#            measured when latency is off); prints NV_Write p50 / save p50.
#   wake     BENCH_WAKE_N vTPMs created with `vtpmctl create --no-ek-cert`
#            (defined, no vtpmd yet), then connected all at once (one client process,
#            non-blocking): time until all answered a GetRandom; against
#            spawning BENCH_WAKE_N `swtpm socket --tpm2` (own state dir
#            each) until all answered.  Summed RSS of the vtpmds / swtpms.
#            Rounds alternate swtpm, manager, manager, swtpm, ...
#   scale    BENCH_SCALE_N vTPMs defined by `vtpmctl create --no-ek-cert`
#            in a row (on a manager of their own with --max-connections
#            BENCH_SCALE_MAXCONN): create rate, manager RSS, and the time of
#            `vtpmctl list` (and `list --json`).
#   create   the time of one `vtpmctl create` as it is by default, with EK
#            certificates (a private vtpmd makes the RSA-2048 and ECC EKs),
#            and of one `vtpmctl create --no-ek-cert`: min/p50/max of
#            BENCH_CREATE_RUNS each, on a manager of their own.
#
# Environment:
#   BUILD               absolute build directory (required; make sets it)
#   BENCH_PARTS         parts to run, "latency durable wake scale create" (all)
#   BENCH_ITERS (2000), BENCH_WARMUP (200)   operations per op (latency,
#                       durable)
#   BENCH_WAKE_N (256), BENCH_WAKE_ROUNDS (2)
#   BENCH_SCALE_N       vTPMs to define; default: the most the hard
#                       RLIMIT_NOFILE allows (the manager budgets
#                       FD_FIXED_RESERVE + FD_PER_VTPM per vTPM +
#                       max_connections descriptors, manager/mgr.h)
#   BENCH_SCALE_MAXCONN (16)  the scale manager's --max-connections
#   BENCH_CREATE_RUNS (5)     creates of each kind timed by the create part
#   BENCH_SWTPM_SESSION (own) where the swtpm baseline runs: "own", a
#                       session of its own, as `swtpm socket --daemon` (how
#                       libvirt starts it) and every vtpmd run; "client", the
#                       bench client's session, as before 2026-12-02.  With
#                       CONFIG_SCHED_AUTOGROUP a server in its client's
#                       session shares its scheduling group, and each
#                       switch between the two is cheaper (about 7 % of a
#                       GetRandom here).
#   BENCH_PIN (0)       CPU list everything runs on; "none": unpinned
#   BENCH_WAKE_PIN (BENCH_PIN)  the same for the wake part alone (its
#                       manager, vtpmds, swtpms and client), e.g. "none" to
#                       let 256 starting TPMs use every CPU
#   SWTPM (swtpm)       swtpm binary
# Sockets go to a tmpfs directory (mktemp under /dev/shm when it is one:
# creating socket inodes on a disk filesystem is slow); state directories
# (the manager's and swtpm's) and the durable-save directory to one mktemp
# directory under TMPDIR.  Both are removed, with every process started
# here, on exit.  Speed never fails the run: only a broken setup does.
set -euo pipefail

: "${BUILD:?BUILD must name the build directory}"
ITERS=${BENCH_ITERS:-2000}
WARMUP=${BENCH_WARMUP:-200}
PARTS=${BENCH_PARTS:-latency durable wake scale create}
WAKE_N=${BENCH_WAKE_N:-256}
WAKE_ROUNDS=${BENCH_WAKE_ROUNDS:-2}
WAKE_PIN=${BENCH_WAKE_PIN:-${BENCH_PIN:-0}}
SCALE_MAXCONN=${BENCH_SCALE_MAXCONN:-16}
CREATE_RUNS=${BENCH_CREATE_RUNS:-5}
SWTPM_SESSION=${BENCH_SWTPM_SESSION:-own}
SWTPM=${SWTPM:-swtpm}
BENCH=$BUILD/vtpm-bench
CTL=$BUILD/vtpmctl
SRC=$(cd "$(dirname "$0")/../.." && pwd)

# On a small VM, a 12 us command is dominated by where the scheduler puts
# client and server: a wake-up across vCPUs costs tens of microseconds and
# lands on whichever target the scheduler happens to split.  By default
# everything (client, swtpm, manager, vtpmd) runs on one CPU so that both
# targets are measured alike; BENCH_PIN=none measures unpinned instead.
PIN=${BENCH_PIN:-0}
if [ "$PIN" != none ] && [ -z "${_BENCH_PINNED:-}" ] && command -v taskset >/dev/null; then
	export _BENCH_PINNED=1
	exec taskset -c "$PIN" "$0" "$@"
fi

die() {
	echo "run-bench: $*" >&2
	exit 1
}
note() {
	echo "run-bench: $*" >&2
}

has_part() {
	case " $PARTS " in *" $1 "*) return 0 ;; esac
	return 1
}
for p in $PARTS; do
	case $p in
	latency | durable | wake | scale | create) ;;
	*) die "BENCH_PARTS: unknown part '$p' (latency durable wake scale create)" ;;
	esac
done
for v in ITERS WARMUP WAKE_N WAKE_ROUNDS SCALE_MAXCONN CREATE_RUNS; do
	case ${!v} in
	'' | *[!0-9]*) die "BENCH_$v must be a number, not '${!v}'" ;;
	esac
done
[ "$ITERS" -ge 1 ] && [ "$WAKE_N" -ge 1 ] && [ "$WAKE_ROUNDS" -ge 1 ] && [ "$CREATE_RUNS" -ge 1 ] ||
	die "BENCH_ITERS, BENCH_WAKE_N, BENCH_WAKE_ROUNDS and BENCH_CREATE_RUNS must be at least 1"
# --setsid: the swtpm baseline in a session of its own; ALT_SETSID: the
# other kind, measured alongside in the latency part.
case $SWTPM_SESSION in
own) SETSID=(--setsid) ALT_SETSID=() ALT_SESSION=client ;;
client) SETSID=() ALT_SETSID=(--setsid) ALT_SESSION=own ;;
*) die "BENCH_SWTPM_SESSION must be own or client, not '$SWTPM_SESSION'" ;;
esac
[ -x "$BENCH" ] || die "$BENCH not built (make bench builds it)"

# Each defined vTPM holds two listening sockets; take every descriptor we may.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

PIDS=()     # servers to stop on exit
MGR_PIDS=() # managers (their vtpmds are stopped with them)
D=
R=

alive() { # pid: running (not a zombie)
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# ours PID: alive, and started here (its command line names one of our
# directories): a PID recorded long ago may have been reused since.
ours() {
	alive "$1" || return 1
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -e "$D/" -e "$R/"
}

# stop_manager PID: SIGTERM (it stops its vtpmds, saving their state), wait
# up to 60 s, then SIGKILL it and whatever vtpmd it left.  Prints ms taken.
stop_manager() {
	local pid=$1 kids t0 k
	kids=$(pgrep -P "$pid" -x vtpmd 2>/dev/null || true)
	t0=$(date +%s%N)
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 600); do
		alive "$pid" || break
		sleep 0.1
	done
	echo $((($(date +%s%N) - t0) / 1000000))
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for k in $kids; do
		kill -KILL "$k" 2>/dev/null || true
	done
}

cleanup() {
	local p
	for p in "${MGR_PIDS[@]}"; do
		ours "$p" && stop_manager "$p" >/dev/null
	done
	for p in "${PIDS[@]}"; do
		ours "$p" && kill -TERM "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		# Not all are our children (swtpm is spawned by vtpm-bench): poll.
		for _ in $(seq 50); do
			ours "$p" || break
			sleep 0.1
		done
		! ours "$p" || kill -KILL "$p" 2>/dev/null || true
	done
	[ -z "$D" ] || rm -rf "$D"
	[ -z "$R" ] || rm -rf "$R"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
D=$(mktemp -d -t vtpm-bench.XXXXXX)
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && [ -w /dev/shm ]; then
	R=$(mktemp -d -p /dev/shm vtpm-bench.XXXXXX)
fi
if [ -z "$R" ]; then
	R=$D/sock
	mkdir -m 0700 "$R"
	note "/dev/shm is not a writable tmpfs: sockets go to $R"
fi

# value KEY FILE: the value of a "key value" line.
value() {
	[ -f "$2" ] || { echo n/a; return 0; }
	awk -v k="$1" '$1 == k { print $2; found = 1 } END { if (!found) print "n/a" }' "$2"
}

rss_kb() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo "n/a"
}

# start_manager NAME [ARGS...]: a manager with state $D/NAME/state and
# sockets in $R/NAME, run under ${WRAP[@]} (a taskset, or nothing); sets
# MGR_PID, MGR_RUN, MGR_STATE.
WRAP=()
start_manager() {
	local name=$1
	shift
	MGR_STATE=$D/$name/state
	MGR_RUN=$R/$name
	mkdir -m 0700 "$D/$name" "$MGR_STATE" "$MGR_RUN"
	"${WRAP[@]}" "$BUILD/vtpm_managerd" --foreground --state-dir "$MGR_STATE" --run-dir "$MGR_RUN" \
		--host-tpm "keyfile:$D/$name/master.key" "$@" 2>"$D/$name/manager.log" &
	MGR_PID=$!
	MGR_PIDS+=("$MGR_PID")
	for _ in $(seq 300); do
		grep -qx 'vtpm_managerd ready' "$D/$name/manager.log" && return 0
		alive "$MGR_PID" || break
		sleep 0.1
	done
	die "the manager ($name) did not become ready; its log: $(cat "$D/$name/manager.log")"
}

mgr_log_tail() {
	tail -n 5 "$D/$1/manager.log" 2>/dev/null || true
}

# Sum of VmRSS over the vtpmd children of a manager; "n/a" when none.
vtpmd_rss_sum() {
	local k s=0 n=0 r
	for k in $(pgrep -P "$1" -x vtpmd 2>/dev/null || true); do
		r=$(rss_kb "$k")
		[ -n "$r" ] && [ "$r" != n/a ] || continue
		s=$((s + r))
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] && echo "$s $n" || echo "n/a 0"
}

fs_type() { # the type of the filesystem holding a path (ext4, not ext2/ext3)
	local t
	t=$(findmnt -n -o FSTYPE -T "$1" 2>/dev/null | tail -n 1) || true
	[ -n "$t" ] && echo "$t" || stat -f -c %T "$1"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)
touch "$D/mgr.txt" "$D/swtpm.txt" "$D/extra.txt"

# ---- latency and durable ------------------------------------------------
if has_part latency || has_part durable; then
	t_part=$(date +%s)
	mkdir -m 0700 "$D/swtpm-state" "$D/swtpm-alt-state"
	SW_SOCK=$R/swtpm.sock
	"$BENCH" first --spawn "${SETSID[@]}" --socket "$SW_SOCK" -- "$SWTPM" socket --tpm2 \
		--server "type=unixio,path=$SW_SOCK" --ctrl "type=unixio,path=$SW_SOCK.ctrl" \
		--flags not-need-init,startup-clear --tpmstate "dir=$D/swtpm-state" \
		>"$D/swtpm-first.txt" 2>"$D/swtpm.log" || die "swtpm did not answer: $(cat "$D/swtpm.log")"
	SW_PID=$(value pid "$D/swtpm-first.txt")
	PIDS+=("$SW_PID")
	ALT_SOCK=$R/swtpm-alt.sock
	"$BENCH" first --spawn "${ALT_SETSID[@]}" --socket "$ALT_SOCK" -- "$SWTPM" socket --tpm2 \
		--server "type=unixio,path=$ALT_SOCK" --ctrl "type=unixio,path=$ALT_SOCK.ctrl" \
		--flags not-need-init,startup-clear --tpmstate "dir=$D/swtpm-alt-state" \
		>"$D/swtpm-alt-first.txt" 2>"$D/swtpm-alt.log" ||
		die "swtpm ($ALT_SESSION session) did not answer: $(cat "$D/swtpm-alt.log")"
	ALT_PID=$(value pid "$D/swtpm-alt-first.txt")
	PIDS+=("$ALT_PID")

	start_manager lat
	LAT_PID=$MGR_PID
	# Without EK certificates, as swtpm here (the create part times both).
	"$BENCH" first --run-dir "$MGR_RUN" -- "$CTL" --run-dir "$MGR_RUN" create --no-ek-cert \
		>"$D/mgr-first.txt" || die "no first response from a new vTPM; manager log: $(mgr_log_tail lat)"
	UUID=$(value uuid "$D/mgr-first.txt")

	ops=getrandom,pcrextend,nvwrite
	has_part latency || ops=nvwrite
	dur=()
	if has_part durable; then
		# The sealed permall is what every NV_Write replaces (manager/store.c:
		# <state-dir>/vtpm/<uuid>/permall); the baseline writes a file of its
		# size (taken after the NV index is defined) next to the state dir.
		mkdir -m 0700 "$D/durable"
		dur=(--durable "$D/durable" --durable-size-of "$MGR_STATE/vtpm/$UUID/permall")
	fi
	note "manager vTPM $UUID vs swtpm pid $SW_PID: $ITERS iterations per operation ($ops)"
	"$BENCH" run --target "manager=$MGR_RUN/$UUID.sock" --target "swtpm=$SW_SOCK" \
		--target "alt=$ALT_SOCK" \
		--iters "$ITERS" --warmup "$WARMUP" --ops "$ops" "${dur[@]}" >"$D/run.txt" ||
		die "benchmark run failed; manager log: $(mgr_log_tail lat)"
	sed -n 's/^manager\.//p' "$D/run.txt" >>"$D/mgr.txt"
	sed -n 's/^swtpm\.//p' "$D/run.txt" >>"$D/swtpm.txt"
	sed -n 's/^alt\.//p' "$D/run.txt" >"$D/alt.txt"
	sed -n 's/^durable\.//p' "$D/run.txt" >"$D/durable.txt"

	VTPMD_PID=$(pgrep -P "$LAT_PID" -x vtpmd | head -n 1 || true)
	[ -n "$VTPMD_PID" ] || die "no vtpmd child of the manager after the run"
	{
		echo "rss_kb $(rss_kb "$VTPMD_PID")"
		echo "mgr_rss_kb $(rss_kb "$LAT_PID")"
		cat "$D/mgr-first.txt"
	} >>"$D/mgr.txt"
	{
		echo "rss_kb $(rss_kb "$SW_PID")"
		cat "$D/swtpm-first.txt"
	} >>"$D/swtpm.txt"
	if has_part durable; then
		{
			echo "durable_fs $(fs_type "$D/durable")"
			echo "durable_same_fs $([ "$(stat -c %d "$D/durable")" = "$(stat -c %d "$MGR_STATE")" ] && echo yes || echo NO)"
			echo "swtpm_permall_bytes $(stat -c %s "$D/swtpm-state/tpm2-00.permall" 2>/dev/null || echo n/a)"
		} >>"$D/durable.txt"
	fi
	stop_manager "$LAT_PID" >/dev/null
	! ours "$SW_PID" || kill -TERM "$SW_PID" 2>/dev/null || true
	! ours "$ALT_PID" || kill -TERM "$ALT_PID" 2>/dev/null || true
	echo "latency_s $(($(date +%s) - t_part))" >>"$D/extra.txt"
fi

# ---- wake: N vTPMs at once vs N swtpm processes ----------------------
# wake_swtpm ROUND: spawn WAKE_N swtpm (each its own state dir) and time
# until all answered; figures in $D/wake-sw-ROUND.txt.
wake_swtpm() {
	local k=$1 i list=$D/wake-sw-$1.list
	mkdir -m 0700 "$D/wake-sw-$k" "$R/wake-sw-$k"
	: >"$list"
	for i in $(seq "$WAKE_N"); do
		mkdir -m 0700 "$D/wake-sw-$k/$i"
		echo "$R/wake-sw-$k/$i.sock $D/wake-sw-$k/$i" >>"$list"
	done
	"${WRAP[@]}" "$BENCH" wake --list "$list" --swtpm "$SWTPM" "${SETSID[@]}" >"$D/wake-sw-$k.txt" 2>"$D/wake-sw-$k.log" ||
		die "wake of $WAKE_N swtpm failed: $(tail -n 5 "$D/wake-sw-$k.log")"
	rm -rf "$D/wake-sw-$k" "$R/wake-sw-$k"
}
# wake_mgr ROUND: a fresh manager, WAKE_N vTPMs created, then all woken at
# once; figures in $D/wake-m-ROUND.txt.
wake_mgr() {
	local k=$1 u list=$D/wake-m-$1.list out=$D/wake-m-$1.txt rss
	start_manager "wake-m-$k"
	"$BENCH" create --count "$WAKE_N" --uuids "$D/wake-m-$k.uuids" -- \
		"$CTL" --run-dir "$MGR_RUN" create --no-ek-cert >"$D/wake-m-$k.create" ||
		die "creating $WAKE_N vTPMs failed; manager log: $(mgr_log_tail "wake-m-$k")"
	[ "$(value created "$D/wake-m-$k.create")" = "$WAKE_N" ] ||
		die "only $(value created "$D/wake-m-$k.create") of $WAKE_N vTPMs could be created; manager log: $(mgr_log_tail "wake-m-$k")"
	while read -r u; do
		echo "$MGR_RUN/$u.sock"
	done <"$D/wake-m-$k.uuids" >"$list"
	# Let the manifest commit of the creates settle: swtpm starts from idle too.
	sleep 1
	"${WRAP[@]}" "$BENCH" wake --list "$list" >"$out" 2>"$D/wake-m-$k.log" ||
		die "wake of $WAKE_N vTPMs failed: $(tail -n 5 "$D/wake-m-$k.log"); manager log: $(mgr_log_tail "wake-m-$k")"
	rss=$(vtpmd_rss_sum "$MGR_PID")
	{
		echo "rss_sum_kb ${rss% *}"
		echo "vtpmds ${rss#* }"
		echo "mgr_rss_kb $(rss_kb "$MGR_PID")"
		echo "stop_ms $(stop_manager "$MGR_PID")"
	} >>"$out"
}

if has_part wake; then
	t_part=$(date +%s)
	if [ "$WAKE_PIN" != "$PIN" ] && command -v taskset >/dev/null; then
		if [ "$WAKE_PIN" = none ]; then
			WRAP=(taskset -c "0-$(($(getconf _NPROCESSORS_ONLN) - 1))")
		else
			WRAP=(taskset -c "$WAKE_PIN")
		fi
	fi
	ORDER=()
	for k in $(seq "$WAKE_ROUNDS"); do
		# swtpm first in odd rounds, the manager first in even ones.
		if [ $((k % 2)) = 1 ]; then ORDER+=("sw $k" "m $k"); else ORDER+=("m $k" "sw $k"); fi
	done
	for step in "${ORDER[@]}"; do
		note "wake: ${step% *} round ${step#* } ($WAKE_N at once)"
		if [ "${step% *}" = sw ]; then wake_swtpm "${step#* }"; else wake_mgr "${step#* }"; fi
	done
	WRAP=()
	echo "wake_s $(($(date +%s) - t_part))" >>"$D/extra.txt"
fi

# ---- scale: many vTPMs defined --------------------------------------------
if has_part scale; then
	t_part=$(date +%s)
	NOFILE=$(ulimit -n)
	FIXED=$(awk '$1 == "#define" && $2 == "FD_FIXED_RESERVE" { print $3 }' "$SRC/manager/mgr.h" 2>/dev/null || true)
	PER=$(awk '$1 == "#define" && $2 == "FD_PER_VTPM" { print $3 }' "$SRC/manager/mgr.h" 2>/dev/null || true)
	case "$FIXED$PER" in
	'' | *[!0-9]*)
		note "FD_FIXED_RESERVE / FD_PER_VTPM not found in manager/mgr.h: assuming 64 and 3"
		FIXED=64 PER=3
		;;
	esac
	SCALE_MAX=$(((NOFILE - FIXED - SCALE_MAXCONN) / PER))
	SCALE_N=${BENCH_SCALE_N:-$SCALE_MAX}
	case $SCALE_N in '' | *[!0-9]* | 0) die "BENCH_SCALE_N must be a positive number" ;; esac
	WHY="RLIMIT_NOFILE $NOFILE (hard $(ulimit -Hn)): the manager creates a vTPM only while $FIXED + $PER x vTPMs + max_connections $SCALE_MAXCONN <= $NOFILE, so at most $SCALE_MAX"
	note "scale: defining $SCALE_N vTPMs; $WHY"
	[ "$SCALE_N" -le "$SCALE_MAX" ] || note "scale: BENCH_SCALE_N=$SCALE_N is over that; expect refusals"
	start_manager scale --max-connections "$SCALE_MAXCONN"
	{
		echo "scale_n $SCALE_N"
		echo "scale_max $SCALE_MAX"
		echo "mgr_rss0_kb $(rss_kb "$MGR_PID")"
	} >"$D/scale.txt"
	"$BENCH" create --count "$SCALE_N" --chunk 1000 -- "$CTL" --run-dir "$MGR_RUN" create --no-ek-cert \
		>>"$D/scale.txt" 2>"$D/scale-create.log" ||
		die "creating vTPMs failed: $(tail -n 3 "$D/scale-create.log"); manager log: $(mgr_log_tail scale)"
	[ "$(value created "$D/scale.txt")" = "$SCALE_N" ] ||
		note "scale: only $(value created "$D/scale.txt") of $SCALE_N created: $(grep -v 'created [0-9]* of' "$D/scale-create.log" | tail -n 2)"
	echo "mgr_rss_kb $(rss_kb "$MGR_PID")" >>"$D/scale.txt"
	"$BENCH" time --runs 3 -- "$CTL" --run-dir "$MGR_RUN" list >"$D/list.txt" ||
		die "vtpmctl list failed; manager log: $(mgr_log_tail scale)"
	sed 's/^/list_/' "$D/list.txt" >>"$D/scale.txt"
	if "$CTL" --help 2>&1 | grep -q -- 'list \[--json\]'; then
		"$BENCH" time --runs 3 -- "$CTL" --run-dir "$MGR_RUN" list --json >"$D/list.txt" ||
			die "vtpmctl list --json failed; manager log: $(mgr_log_tail scale)"
		sed 's/^/json_/' "$D/list.txt" >>"$D/scale.txt"
	fi
	echo "manifest_bytes $(stat -c %s "$MGR_STATE/manifest" 2>/dev/null || echo n/a)" >>"$D/scale.txt"
	echo "stop_ms $(stop_manager "$MGR_PID")" >>"$D/scale.txt"
	echo "scale_s $(($(date +%s) - t_part))" >>"$D/extra.txt"
fi

# ---- create: one vtpmctl create with and without EK certificates ---------
if has_part create; then
	t_part=$(date +%s)
	start_manager create
	"$BENCH" time --runs "$CREATE_RUNS" -- "$CTL" --run-dir "$MGR_RUN" create >"$D/create-ek.txt" ||
		die "vtpmctl create failed; manager log: $(mgr_log_tail create)"
	"$BENCH" time --runs "$CREATE_RUNS" -- "$CTL" --run-dir "$MGR_RUN" create --no-ek-cert \
		>"$D/create-noek.txt" || die "vtpmctl create --no-ek-cert failed; manager log: $(mgr_log_tail create)"
	stop_manager "$MGR_PID" >/dev/null
	echo "create_s $(($(date +%s) - t_part))" >>"$D/extra.txt"
fi

# ---- the table --------------------------------------------------------
fmt_row() { # label manager swtpm [ratio]: ratio computed when not given
	awk -v l="$1" -v m="$2" -v s="$3" -v r="${4:-}" 'BEGIN {
		if (r == "")
			r = (m ~ /^[0-9.]+$/ && s ~ /^[0-9.]+$/ && s + 0 != 0) ? sprintf("%.2f", m / s) : "-"
		printf "%-30s %12s %12s %8s\n", l, m, s, r
	}'
}
row() { # label key: from the manager's and swtpm's figures
	fmt_row "$1" "$(value "$2" "$D/mgr.txt")" "$(value "$2" "$D/swtpm.txt")"
}
ratio() { # a b: a/b with 2 decimals, or "-"
	awk -v a="$1" -v b="$2" 'BEGIN {
		print (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 != 0) ? sprintf("%.2f", a / b) : "-" }'
}
mean_of() { # DECIMALS KEY FILE...: mean of the key over the files (n/a when missing)
	local d=$1 k=$2 f v s=0 n=0
	shift 2
	for f in "$@"; do
		v=$(value "$k" "$f")
		[ "$v" != n/a ] || continue
		s=$(awk -v s="$s" -v v="$v" 'BEGIN { print s + v }')
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] && awk -v s="$s" -v n="$n" -v d="$d" 'BEGIN { printf "%.*f\n", d, s / n }' || echo n/a
}
list_of() { # KEY FILE...: the values, space separated
	local k=$1 f
	shift
	for f in "$@"; do printf '%s ' "$(value "$k" "$f")"; done
}

echo
echo "vtpm-manager benchmark (BENCH_PARTS=\"$PARTS\"); CPU pinning: $PIN (BENCH_PIN)"
echo "$(getconf _NPROCESSORS_ONLN) CPU(s), load average $LOAD_START at the start," \
	"$(cut -d' ' -f1-3 /proc/loadavg) at the end; $(uname -r);" \
	"$("$SWTPM" --version 2>/dev/null | head -n 1 || echo swtpm)"
echo "state: $D ($(fs_type "$D")); sockets: $R ($(fs_type "$R"))"
printf '%-30s %12s %12s %8s\n' "metric" "manager" "swtpm" "m/s"
if has_part latency; then
	row "GetRandom(32) p50 (us)" getrandom_p50_us
	row "GetRandom(32) p99 (us)" getrandom_p99_us
	row "GetRandom(32) ops/s" getrandom_ops_s
	row "PCR_Extend(sha256) p50 (us)" pcrextend_p50_us
	row "PCR_Extend(sha256) p99 (us)" pcrextend_p99_us
	row "PCR_Extend(sha256) ops/s" pcrextend_ops_s
fi
if has_part latency || has_part durable; then
	row "NV_Write(64 B) p50 (us)" nvwrite_p50_us
	row "NV_Write(64 B) p99 (us)" nvwrite_p99_us
	row "NV_Write(64 B) ops/s" nvwrite_ops_s
fi
if has_part durable; then
	dp50=$(value durable_p50_us "$D/durable.txt")
	fmt_row "bare durable save p50 (us)" "$dp50" - -
	fmt_row "bare durable save p99 (us)" "$(value durable_p99_us "$D/durable.txt")" - -
	fmt_row "NV_Write p50 / durable p50" "$(ratio "$(value nvwrite_p50_us "$D/mgr.txt")" "$dp50")" \
		"$(ratio "$(value nvwrite_p50_us "$D/swtpm.txt")" "$dp50")" -
fi
if has_part latency; then
	row "first response (ms)" first_ms
	row "RSS vtpmd / swtpm (kB)" rss_kb
	fmt_row "RSS vtpm_managerd (kB)" "$(value mgr_rss_kb "$D/mgr.txt")" - -
fi
if has_part wake; then
	MW=() SW=()
	for k in $(seq "$WAKE_ROUNDS"); do
		MW+=("$D/wake-m-$k.txt")
		SW+=("$D/wake-sw-$k.txt")
	done
	fmt_row "$WAKE_N woken: all answered (ms)" "$(mean_of 1 wake_ms "${MW[@]}")" "$(mean_of 1 wake_ms "${SW[@]}")"
	fmt_row "$WAKE_N woken: median answer (ms)" "$(mean_of 1 wake_p50_ms "${MW[@]}")" \
		"$(mean_of 1 wake_p50_ms "${SW[@]}")"
	fmt_row "$WAKE_N woken: RSS sum (kB)" "$(mean_of 0 rss_sum_kb "${MW[@]}")" "$(mean_of 0 rss_sum_kb "${SW[@]}")"
fi
if has_part create; then
	fmt_row "vtpmctl create, EK certs (ms)" "$(value time_ms_p50 "$D/create-ek.txt")" - -
	fmt_row "create --no-ek-cert (ms)" "$(value time_ms_p50 "$D/create-noek.txt")" - -
fi
if has_part scale; then
	N=$(value created "$D/scale.txt")
	fmt_row "$N defined: create (/s)" "$(value create_per_s "$D/scale.txt")" - -
	fmt_row "$N defined: RSS managerd (kB)" "$(value mgr_rss_kb "$D/scale.txt")" - -
	fmt_row "$N defined: list (ms)" "$(value list_time_ms_p50 "$D/scale.txt")" - -
	[ "$(value json_time_ms_p50 "$D/scale.txt")" = n/a ] ||
		fmt_row "$N defined: list --json (ms)" "$(value json_time_ms_p50 "$D/scale.txt")" - -
fi

echo
if [ "$SWTPM_SESSION" = own ]; then
	echo "swtpm runs in a session of its own, as under libvirt (swtpm --daemon) and like every vtpmd"
	echo "  (BENCH_SWTPM_SESSION=own)."
else
	echo "swtpm runs in the bench client's session, as before 2026-12-02 (BENCH_SWTPM_SESSION=client)."
fi
if has_part latency; then
	echo "latency: $ITERS iterations/op after $WARMUP warm-up, one connection per target, targets"
	echo "  interleaved in blocks of 50 operations.  first response: manager = vtpmctl create"
	echo "  --no-ek-cert .. first GetRandom reply (vtpmd spawned on first use); swtpm = spawn .. first reply."
	alt() { # label key: the alternative swtpm's figure and manager/it
		printf '%s %s (m/s %s)' "$1" "$(value "$2" "$D/alt.txt")" \
			"$(ratio "$(value "$2" "$D/mgr.txt")" "$(value "$2" "$D/alt.txt")")"
	}
	echo "  a swtpm in the $ALT_SESSION session, same blocks: $(alt "GetRandom p50" getrandom_p50_us)," \
		"$(alt "PCR_Extend p50" pcrextend_p50_us),"
	echo "    $(alt "NV_Write p50" nvwrite_p50_us) us"
fi
if has_part durable; then
	echo "durable: create+write+fsync+close+rename+fsync(dir) of $(value size_bytes "$D/durable.txt") B (the"
	echo "  vTPM's sealed permall; swtpm's permall: $(value swtpm_permall_bytes "$D/durable.txt") B), $ITERS times interleaved with"
	echo "  NV_Write, on $(value durable_fs "$D/durable.txt") (same filesystem as the state dir:" \
		"$(value durable_same_fs "$D/durable.txt")).  swtpm fsyncs its file but not the directory."
fi
if has_part wake; then
	echo "wake: $WAKE_N at once, $WAKE_ROUNDS round(s) each (means shown), CPU pinning: $WAKE_PIN (BENCH_WAKE_PIN);"
	echo "  manager: $WAKE_N vTPMs defined (vtpmctl create --no-ek-cert),"
	echo "  clock from the first connect (vtpmd spawned on it) to the last GetRandom reply;"
	echo "  swtpm: clock from the first of $WAKE_N spawns to the last reply.  Per round (ms):"
	echo "  manager $(list_of wake_ms "${MW[@]}")| swtpm $(list_of wake_ms "${SW[@]}")"
	echo "  first answer (ms): manager $(list_of wake_first_ms "${MW[@]}")| swtpm $(list_of wake_first_ms "${SW[@]}")"
	echo "  vtpmds running: $(list_of vtpmds "${MW[@]}"); vtpm_managerd RSS after (kB): $(list_of mgr_rss_kb "${MW[@]}")"
	echo "  create of $WAKE_N (/s): $(list_of create_per_s "${MW[@]/%.txt/.create}");" \
		"manager stop with $WAKE_N running (ms): $(list_of stop_ms "${MW[@]}")"
fi
if has_part create; then
	echo "create: $CREATE_RUNS of each in a row on a fresh manager, min/p50/max (ms): with EK certificates" \
		"$(value time_ms_min "$D/create-ek.txt")/$(value time_ms_p50 "$D/create-ek.txt")/$(value time_ms_max "$D/create-ek.txt"),"
	echo "  --no-ek-cert $(value time_ms_min "$D/create-noek.txt")/$(value time_ms_p50 "$D/create-noek.txt")/$(value time_ms_max "$D/create-noek.txt")"
fi
if has_part scale; then
	echo "scale: $(value created "$D/scale.txt") of $(value scale_n "$D/scale.txt") vTPMs created by \`vtpmctl create --no-ek-cert\` in a row in" \
		"$(value create_s "$D/scale.txt") s;"
	[ "$(value create_chunk "$D/scale.txt")" = n/a ] ||
		echo "  /s in the first and last $(value create_chunk "$D/scale.txt"):" \
			"$(value create_first_chunk_per_s "$D/scale.txt") and $(value create_last_chunk_per_s "$D/scale.txt")"
	[ "$(value create_stopped_at "$D/scale.txt")" = n/a ] ||
		echo "  creation STOPPED at $(value create_stopped_at "$D/scale.txt"): $(grep -v 'created [0-9]* of' "$D/scale-create.log" | tail -n 1)"
	echo "  $WHY (BENCH_SCALE_N, BENCH_SCALE_MAXCONN)."
	echo "  manager RSS before: $(value mgr_rss0_kb "$D/scale.txt") kB; manifest $(value manifest_bytes "$D/scale.txt") B;" \
		"list: $(value list_out_lines "$D/scale.txt") lines, $(value list_out_bytes "$D/scale.txt") B," \
		"min/p50/max $(value list_time_ms_min "$D/scale.txt")/$(value list_time_ms_p50 "$D/scale.txt")/$(value list_time_ms_max "$D/scale.txt") ms"
	[ "$(value json_time_ms_p50 "$D/scale.txt")" = n/a ] ||
		echo "  list --json: $(value json_out_bytes "$D/scale.txt") B, min/p50/max" \
			"$(value json_time_ms_min "$D/scale.txt")/$(value json_time_ms_p50 "$D/scale.txt")/$(value json_time_ms_max "$D/scale.txt") ms;" \
			"manager stop: $(value stop_ms "$D/scale.txt") ms"
fi
echo "time per part (s): $(tr '\n' ' ' <"$D/extra.txt")total $(($(date +%s) - T_START))"
