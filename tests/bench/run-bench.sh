#!/bin/bash
# run-bench.sh - `make bench`: TPM2 GetRandom(32), PCR_Extend(sha256) and
# NV_Write(64 B) latency and throughput through the manager's per-vTPM socket
# and through a plain `swtpm socket --tpm2`, with the same client
# (vtpm-bench, one persistent connection per target); time from
# `vtpmctl create` (resp. spawning swtpm) to the first response; RSS of one
# vtpmd vs one swtpm.  Prints one table with manager/swtpm ratios.  The two
# targets are measured interleaved (blocks of 50 operations) so that other
# load on the host weighs on both alike.
# Environment: BUILD (absolute build dir, required), BENCH_ITERS (2000),
# BENCH_WARMUP (200), SWTPM (swtpm binary).  Everything lives in one mktemp
# directory that is removed, with every process started here, on exit.
set -euo pipefail

: "${BUILD:?BUILD must name the build directory}"
ITERS=${BENCH_ITERS:-2000}
WARMUP=${BENCH_WARMUP:-200}
SWTPM=${SWTPM:-swtpm}
BENCH=$BUILD/vtpm-bench

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

D=$(mktemp -d -t vtpm-bench.XXXXXX)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		# Not all are our children (swtpm is spawned by vtpm-bench): poll.
		for _ in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null || true
	done
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "run-bench: $*" >&2
	exit 1
}

# value KEY FILE: the value of a "key value" line.
value() {
	awk -v k="$1" '$1 == k { print $2; found = 1 } END { if (!found) print "n/a" }' "$2"
}

rss_kb() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo "n/a"
}

[ -x "$BENCH" ] || die "$BENCH not built (make bench builds it)"

# ---- start both targets, timing each one's first response --------------
mkdir -m 0700 "$D/swtpm-state"
SW_SOCK=$D/swtpm.sock
"$BENCH" first --spawn --socket "$SW_SOCK" -- "$SWTPM" socket --tpm2 \
	--server "type=unixio,path=$SW_SOCK" --ctrl "type=unixio,path=$SW_SOCK.ctrl" \
	--flags not-need-init,startup-clear --tpmstate "dir=$D/swtpm-state" \
	>"$D/swtpm-first.txt" 2>"$D/swtpm.log" || die "swtpm did not answer: $(cat "$D/swtpm.log")"
SW_PID=$(value pid "$D/swtpm-first.txt")
PIDS+=("$SW_PID")

mkdir -m 0700 "$D/state" "$D/run"
"$BUILD/vtpm_managerd" --foreground --state-dir "$D/state" --run-dir "$D/run" \
	--host-tpm "keyfile:$D/master.key" 2>"$D/manager.log" &
MGR_PID=$!
PIDS+=("$MGR_PID")
for _ in $(seq 100); do
	grep -qx 'vtpm_managerd ready' "$D/manager.log" && break
	kill -0 "$MGR_PID" 2>/dev/null || break
	sleep 0.1
done
grep -qx 'vtpm_managerd ready' "$D/manager.log" ||
	die "the manager did not become ready; its log: $(cat "$D/manager.log")"
"$BENCH" first --run-dir "$D/run" -- "$BUILD/vtpmctl" --run-dir "$D/run" create \
	>"$D/mgr-first.txt" || die "no first response from a new vTPM; manager log: $(tail -n 5 "$D/manager.log")"
UUID=$(value uuid "$D/mgr-first.txt")

# ---- latency and throughput, both targets interleaved -------------------
echo "run-bench: manager vTPM $UUID vs swtpm pid $SW_PID: $ITERS iterations per operation" >&2
"$BENCH" run --target "manager=$D/run/$UUID.sock" --target "swtpm=$SW_SOCK" \
	--iters "$ITERS" --warmup "$WARMUP" >"$D/run.txt" ||
	die "benchmark run failed; manager log: $(tail -n 5 "$D/manager.log")"
sed -n 's/^manager\.//p' "$D/run.txt" >"$D/mgr.txt"
sed -n 's/^swtpm\.//p' "$D/run.txt" >"$D/swtpm.txt"

VTPMD_PID=$(pgrep -P "$MGR_PID" -x vtpmd | head -n 1 || true)
[ -n "$VTPMD_PID" ] || die "no vtpmd child of the manager after the run"
{
	echo "rss_kb $(rss_kb "$VTPMD_PID")"
	echo "mgr_rss_kb $(rss_kb "$MGR_PID")"
	cat "$D/mgr-first.txt"
} >>"$D/mgr.txt"
{
	echo "rss_kb $(rss_kb "$SW_PID")"
	cat "$D/swtpm-first.txt"
} >>"$D/swtpm.txt"

# ---- the table --------------------------------------------------------
row() { # label key
	local m s
	m=$(value "$2" "$D/mgr.txt")
	s=$(value "$2" "$D/swtpm.txt")
	awk -v l="$1" -v m="$m" -v s="$s" 'BEGIN {
		r = (m != "n/a" && s != "n/a" && s + 0 != 0) ? sprintf("%.2f", m / s) : "n/a"
		printf "%-30s %12s %12s %8s\n", l, m, s, r
	}'
}

echo
echo "vtpm-manager benchmark: $ITERS iterations/op after $WARMUP warm-up, one connection per target,"
echo "targets interleaved in blocks of 50 operations; CPU pinning: ${BENCH_PIN:-0} (BENCH_PIN)"
echo "$(nproc) CPU(s), load average $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r);" \
	"$("$SWTPM" --version 2>/dev/null | head -n 1 || echo swtpm)"
printf '%-30s %12s %12s %8s\n' "metric" "manager" "swtpm" "m/s"
row "GetRandom(32) p50 (us)" getrandom_p50_us
row "GetRandom(32) p99 (us)" getrandom_p99_us
row "GetRandom(32) ops/s" getrandom_ops_s
row "PCR_Extend(sha256) p50 (us)" pcrextend_p50_us
row "PCR_Extend(sha256) p99 (us)" pcrextend_p99_us
row "PCR_Extend(sha256) ops/s" pcrextend_ops_s
row "NV_Write(64 B) p50 (us)" nvwrite_p50_us
row "NV_Write(64 B) p99 (us)" nvwrite_p99_us
row "NV_Write(64 B) ops/s" nvwrite_ops_s
row "first response (ms)" first_ms
row "RSS vtpmd / swtpm (kB)" rss_kb
printf '%-30s %12s\n' "RSS vtpm_managerd (kB)" "$(value mgr_rss_kb "$D/mgr.txt")"
echo "first response: manager = vtpmctl create .. first GetRandom reply (vtpmd spawned on"
echo "first use); swtpm = spawn of swtpm .. first GetRandom reply."

