#!/bin/bash
# run.sh - runs every tests/integration/test_*.sh (or the ones named on the
# command line, e.g. `run.sh test_nv test_cli`) against the binaries in
# $BUILD.  Each test gets its own mktemp directory as $TESTDIR and a time
# limit (TEST_TIMEOUT, default 120 s, enforced with timeout(1), which
# signals the test's whole process group; a test that needs longer says so
# in a line "# run.sh: timeout=SECONDS").  Afterwards any process still
# naming that directory on its command line is killed and the directory is
# removed.  Prints "PASS name" / "FAIL name" (a failing test's output
# follows, indented), or "SKIP name: reason" for a test that exited 77
# (lib.sh's skip; under CI=true a skip of something this machine kind can
# run is a failure, see lib.sh), and "  part skipped: reason" under a PASS
# for each SKIP-PART line the test printed; a passing test's "STEP ..."
# timing lines are shown too.  Ends with "N skipped" (when any) and then
# the line "N passed, N failed"; exits 1 if any failed.
# KEEP_TESTDIR=1 keeps the directories of failed tests.
set -uo pipefail

: "${BUILD:?BUILD must name the (absolute) build directory}"
case "$BUILD" in
/*) ;;
*) BUILD=$(cd "$BUILD" && pwd) ;;
esac
export BUILD
HERE=$(cd "$(dirname "$0")" && pwd)
TIMEOUT=${TEST_TIMEOUT:-120}

for b in vtpm_managerd vtpmctl vtpmd vtpm-client; do
	if [ ! -x "$BUILD/$b" ]; then
		echo "run.sh: $BUILD/$b is missing (make all first)" >&2
		exit 2
	fi
done
for t in tpm2_getrandom python3 timeout xxd sha256sum; do
	if ! command -v "$t" >/dev/null; then
		echo "run.sh: $t is not installed (make deps)" >&2
		exit 2
	fi
done

# Kills, by pid, every process whose command line mentions $1 (a unique
# mktemp path), i.e. whatever a test left behind.
sweep() {
	local dir=$1 pid cmd found=()
	for pid in /proc/[0-9]*; do
		pid=${pid#/proc/}
		[ "$pid" != $$ ] || continue
		cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || continue
		case "$cmd" in
		*"$dir"*) found+=("$pid") ;;
		esac
	done
	[ "${#found[@]}" -gt 0 ] || return 0
	echo "    (killing leftover processes: ${found[*]})"
	kill -KILL "${found[@]}" 2>/dev/null || true
}

if [ "$#" -gt 0 ]; then
	tests=()
	for n in "$@"; do
		n=${n%.sh}
		n=${n##*/}
		[ -f "$HERE/$n.sh" ] || {
			echo "run.sh: no test $n" >&2
			exit 2
		}
		tests+=("$HERE/$n.sh")
	done
else
	tests=("$HERE"/test_*.sh)
fi

pass=0
failed=0
skipped=()
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	dir=$(mktemp -d -t "vtpm-it.$name.XXXXXX")
	out=$(mktemp -t "vtpm-it.$name.out.XXXXXX")
	limit=$(sed -n 's/^# run\.sh: timeout=\([0-9][0-9]*\)$/\1/p' "$t" | head -n 1)
	limit=${limit:-$TIMEOUT}
	start=$(date +%s%N)
	TESTDIR=$dir timeout -k 10 "$limit" bash "$t" >"$out" 2>&1
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	if [ "$rc" = 0 ]; then
		echo "PASS $name"
		grep '^SKIP-PART: ' "$out" | sed 's/^SKIP-PART: /    part skipped: /' || [ $? = 1 ]
		grep '^STEP ' "$out" | sed 's/^/    /' || [ $? = 1 ]
		pass=$((pass + 1))
	elif [ "$rc" = 77 ]; then
		reason=$(grep -m1 '^SKIP: ' "$out" | sed 's/^SKIP: //') || [ $? = 1 ]
		echo "SKIP $name: ${reason:-no reason given}"
		skipped+=("$name")
	else
		echo "FAIL $name"
		[ "$rc" != 124 ] || echo "    timed out after ${limit} s"
		echo "    exit status $rc after ${ms} ms; output:"
		sed 's/^/    /' "$out"
		failed=$((failed + 1))
	fi
	sweep "$dir"
	rm -f "$out"
	if [ "$rc" != 0 ] && [ "${KEEP_TESTDIR:-0}" = 1 ]; then
		echo "    kept $dir"
	else
		rm -rf "$dir"
	fi
done
if [ "${#skipped[@]}" -gt 0 ]; then
	echo "${#skipped[@]} skipped: ${skipped[*]}"
fi
echo "$pass passed, $failed failed"
[ "$failed" = 0 ]
