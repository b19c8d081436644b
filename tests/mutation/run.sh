#!/bin/bash
# run.sh - the mutation harness (`make mutation`).  Each tests/mutation/*.patch
# is a small deliberate bug: a unified diff against the tree, preceded by
# header lines
#     # Mutant: what the bug is
#     # Kills: test_durability unit:aead xen:xen_backend ...
# naming the tests that must catch it: integration scripts
# (tests/integration/test_*.sh), Check suites of build/unit_tests
# ("unit:SUITE") or of build/xen_tests ("xen:SUITE").  For every mutant the
# harness copies the working tree (tracked and untracked files, not ignored
# ones) and the build directory into a fresh mktemp directory, applies the
# patch, rebuilds what it touched, and runs the named tests there.  The
# mutant is killed when at least one of them fails; it survives when all
# pass.  A patch that does not apply or does not build is an error: mutants
# are kept in step with the code.
#
# Prints one line per mutant (KILLED / SURVIVED / ERROR, with the tests that
# failed and the time taken), then "mutation score: K/N killed" and exits 1
# unless every mutant was killed.
#   run.sh [NAME...]        only these mutants (file names without .patch)
#   BUILD=DIR               the build directory to copy (default: build)
#   KEEP_MUTANT=1           keep the scratch copy of surviving mutants
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/mutation
BUILD=${BUILD:-$ROOT/build}
case "$BUILD" in
/*) ;;
*) BUILD=$ROOT/$BUILD ;;
esac
JOBS=${JOBS:-$(nproc)}

if [ "$#" -gt 0 ]; then
	mutants=()
	for n in "$@"; do
		n=${n%.patch}
		n=${n##*/}
		[ -f "$HERE/$n.patch" ] || {
			echo "mutation: no mutant $n" >&2
			exit 2
		}
		mutants+=("$HERE/$n.patch")
	done
else
	mutants=("$HERE"/*.patch)
fi

echo "mutation: building the unmutated tree in $BUILD"
make -C "$ROOT" -s -j"$JOBS" BUILD="$BUILD" all "$BUILD/unit_tests" "$BUILD/xen_tests" >/dev/null ||
	{
		echo "mutation: the unmutated tree does not build" >&2
		exit 2
	}

# copy_tree DEST: the working tree as git sees it (tracked files and
# untracked ones that are not ignored), mtimes kept, plus the build directory.
copy_tree() {
	# (files deleted in the working tree are still "cached": skip them)
	(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ ! -e "$f" ] || printf '%s\0' "$f"; done |
		tar -c --null -T - -f -) | tar -x -C "$1" -f - || return 1
	cp -a "$BUILD" "$1/build"
}

# run_kills DIR TEST...: 0 when every named test passes in DIR (the mutant
# survives), 1 when one fails; the names of the failing ones go to $FAILED.
run_kills() {
	local dir=$1 t suite bin log it=()
	shift
	FAILED=()
	WHY=()
	for t in "$@"; do
		case "$t" in
		unit:* | xen:*)
			suite=${t#*:}
			bin=$dir/build/unit_tests
			[ "${t%%:*}" = unit ] || bin=$dir/build/xen_tests
			log=$dir/$t.log
			if ! (cd "$dir" && CK_RUN_SUITE=$suite CK_DEFAULT_TIMEOUT=120 "$bin") >"$log" 2>&1; then
				FAILED+=("$t")
				WHY+=("$t: $(grep -m1 -E ':[EF]:' "$log" | sed 's/^[^:]*:[0-9]*:[EF]://')")
			elif ! grep -q "^100%: Checks: [1-9]" "$log"; then
				echo "    $t ran no test: $(tail -n 1 "$log")"
				return 2
			fi
			;;
		test_*) it+=("$t") ;;
		*)
			echo "    unknown test kind '$t'"
			return 2
			;;
		esac
	done
	if [ "${#it[@]}" -gt 0 ]; then
		log=$dir/integration.log
		BUILD=$dir/build "$dir/tests/integration/run.sh" "${it[@]}" >"$log" 2>&1
		for t in "${it[@]}"; do
			if grep -q "^FAIL $t\$" "$log"; then
				FAILED+=("$t")
				WHY+=("$t: $(sed -n "/^FAIL $t\$/,/^\(PASS\|FAIL\|SKIP\) /p" "$log" |
					grep -m1 -E '^    (FAIL:|    timed out)' | sed 's/^ *//')")
			elif ! grep -q "^PASS $t\$" "$log"; then
				echo "    $t did not pass or fail: $(grep -m1 "$t" "$log")"
				return 2
			fi
		done
	fi
	[ "${#FAILED[@]}" = 0 ] && return 0
	return 1
}

killed=0
survived=()
errors=()
for p in "${mutants[@]}"; do
	name=$(basename "$p" .patch)
	what=$(sed -n 's/^# Mutant: //p' "$p" | head -n 1)
	read -r -a kills <<<"$(sed -n 's/^# Kills: //p' "$p" | head -n 1)"
	if [ -z "$what" ] || [ "${#kills[@]}" = 0 ]; then
		echo "ERROR    $name: no '# Mutant:' or '# Kills:' header"
		errors+=("$name")
		continue
	fi
	start=$(date +%s)
	dir=$(mktemp -d -t "vtpm-mutant.$name.XXXXXX")
	if ! copy_tree "$dir"; then
		echo "ERROR    $name: cannot copy the tree"
		errors+=("$name")
		rm -rf "$dir"
		continue
	fi
	if ! (cd "$dir" && patch -p1 --quiet --no-backup-if-mismatch <"$p") >"$dir/patch.log" 2>&1; then
		echo "ERROR    $name: the patch does not apply: $(head -n 3 "$dir/patch.log" | tr '\n' ' ')"
		errors+=("$name")
		rm -rf "$dir"
		continue
	fi
	if ! make -C "$dir" -s -j"$JOBS" BUILD=build all build/unit_tests build/xen_tests >"$dir/build.log" 2>&1; then
		echo "ERROR    $name: the mutant does not build: $(grep -m3 -E 'error|Error' "$dir/build.log" | tr '\n' ' ')"
		errors+=("$name")
		rm -rf "$dir"
		continue
	fi
	run_kills "$dir" "${kills[@]}"
	rc=$?
	secs=$(($(date +%s) - start))
	case "$rc" in
	1)
		echo "KILLED   $name (${secs} s): $what"
		for w in "${WHY[@]}"; do echo "    $w" | cut -c1-300; done
		killed=$((killed + 1))
		rm -rf "$dir"
		;;
	0)
		echo "SURVIVED $name (${secs} s): $what; every one of ${kills[*]} passed"
		survived+=("$name")
		if [ "${KEEP_MUTANT:-0}" = 1 ]; then
			echo "    kept $dir"
		else
			rm -rf "$dir"
		fi
		;;
	*)
		echo "ERROR    $name (${secs} s): $what; the named tests could not be run"
		errors+=("$name")
		rm -rf "$dir"
		;;
	esac
done
total=${#mutants[@]}
echo "mutation score: $killed/$total killed"
[ "${#survived[@]}" = 0 ] || echo "survived: ${survived[*]}"
[ "${#errors[@]}" = 0 ] || echo "errors: ${errors[*]}"
[ "$killed" = "$total" ]
