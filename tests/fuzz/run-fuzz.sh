#!/usr/bin/env bash
# run-fuzz.sh SECONDS [TARGET...] - builds the libFuzzer targets in
# tests/fuzz (clang, -fsanitize=fuzzer,address,undefined) into $FUZZ_BUILD
# (default $BUILD-fuzz, default build-fuzz), runs each for SECONDS
# (-max_total_time), and prints per target: executions, final coverage
# ("cov:" edges and "ft:" features as libFuzzer counts them), corpus size
# and crashes.  Exits 1 when any target crashed (or failed to build/run).
#
# Each target first replays its past findings (tests/fuzz/regress/<name>/,
# one minimised input per finding, named after it; each also has a unit
# test in tests/unit/check_fuzz_regress.c), then fuzzes from its seeds
# (tests/fuzz/corpus/<name>/, never written to) plus what earlier runs found
# ($FUZZ_BUILD/corpus/<name>/).
# A crash leaves its input in $FUZZ_BUILD/artifacts/<name>/ and the full
# log in $FUZZ_BUILD/logs/<name>.log; reproduce it with
#   $FUZZ_BUILD/fuzz_<name> <artifact>
# Environment: FUZZ_CC (clang), FUZZ_JOBS (make -j, default nproc),
# FUZZ_FLAGS (extra libFuzzer flags), FUZZ_SKIP_KNOWN (see mgr_fixture.c:
# stop generating the trigger of a known, unfixed finding, to look past it).
set -uo pipefail

secs=${1:-60}
shift || true
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
fbuild=${FUZZ_BUILD:-$build-fuzz}
case $fbuild in /*) ;; *) fbuild=$root/$fbuild ;; esac
cc=${FUZZ_CC:-clang}

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "run-fuzz: $cc not found (Debian: apt-get install clang libclang-rt-dev)" >&2
	exit 1
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in "$root"/tests/fuzz/fuzz_*.c; do
		n=${f##*/fuzz_}
		targets+=("${n%.c}")
	done
fi

mkdir -p "$fbuild"
echo "== building ${#targets[@]} fuzz targets into $fbuild"
bins=()
for t in "${targets[@]}"; do bins+=("$fbuild/fuzz_$t"); done
if ! make -C "$root" --no-print-directory -j"${FUZZ_JOBS:-$(nproc)}" FUZZ_CC="$cc" \
	FUZZ_BUILD="$fbuild" "${bins[@]}" >"$fbuild/build.log" 2>&1; then
	tail -30 "$fbuild/build.log" >&2
	echo "run-fuzz: build failed (log: $fbuild/build.log)" >&2
	exit 1
fi
mkdir -p "$fbuild/logs"

# Per-target libFuzzer options.
opts_for() {
	case $1 in
	fifo) echo "-max_len=20000" ;;        # past the FIFO input buffer (8200)
	blob | manifest) echo "-max_len=8192" ;;
	master_sealed) echo "-max_len=8200" ;; # past the 8 KiB file cap
	*) echo "-max_len=4096" ;;
	esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

failed=0
printf '%-12s %7s %10s %8s %8s %7s %8s  %s\n' target regress execs cov ft corpus crashes result
for t in "${targets[@]}"; do
	# Past findings: each must now run clean.
	reg_total=0 reg_fail=0 reg_names=()
	for f in "$root"/tests/fuzz/regress/"$t"/*; do
		[ -f "$f" ] || continue
		reg_total=$((reg_total + 1))
		if ! FUZZ_SKIP_KNOWN='' timeout 60 "$fbuild/fuzz_$t" "$f" >"$fbuild/logs/$t.regress.log" 2>&1; then
			reg_fail=$((reg_fail + 1))
			reg_names+=("${f##*/}")
		fi
	done
	[ $reg_fail -ne 0 ] && failed=1

	seeds=$root/tests/fuzz/corpus/$t
	work=$fbuild/corpus/$t
	art=$fbuild/artifacts/$t
	log=$fbuild/logs/$t.log
	mkdir -p "$work" "$art" "$seeds"
	before=$(find "$art" -maxdepth 1 -type f | wc -l)
	# shellcheck disable=SC2046,SC2086 # option lists are split on purpose
	"$fbuild/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$art/" $(opts_for "$t") \
		${FUZZ_FLAGS:-} "$work" "$seeds" >"$log" 2>&1
	rc=$?
	after=$(find "$art" -maxdepth 1 -type f | wc -l)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)
	[ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last") # -fork mode
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
	crashes=$((after - before))
	result=ok
	if [ $rc -ne 0 ] || [ $crashes -ne 0 ]; then
		result="CRASH (rc $rc, log $log)"
		[ $crashes -eq 0 ] && crashes=1
		failed=1
	fi
	printf '%-12s %7s %10s %8s %8s %7s %8s  %s\n' "$t" "$reg_fail/$reg_total" "${execs:-?}" \
		"${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes" "$result"
	for n in "${reg_names[@]}"; do
		echo "    regression still failing: tests/fuzz/regress/$t/$n"
	done
	if [ "$result" != ok ]; then
		grep -E 'ERROR: |INVARIANT|SUMMARY|^    #[0-9]+ .* in [a-z_0-9]+ /' "$log" |
			grep -v 'fuzzer::\|libFuzzer\|sanitizer_\|libc_start\| in fz_fail ' | head -12 |
			sed 's/^/    /'
		find "$art" -maxdepth 1 -type f -newer "$fbuild/fuzz_$t" | sed 's/^/    input: /'
	fi
done
exit $failed
