#!/bin/bash
# test_xen_options: xen_autocreate is parsed strictly (config file and
# --xen-autocreate), off by default, and harmless without --backend xen.
# Its effect is tested against the stand-in (tests/xen, test_autocreate)
# and on a real Xen (test_xen_real: xl vtpm-attach of an unknown UUID).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

manager_fails "--xen-autocreate maybe" --xen-autocreate maybe
assert_contains "$LAST_STDERR" "xen-autocreate: 'maybe' is not yes or no" "bad --xen-autocreate"
manager_fails "--xen-autocreate without a value" --xen-autocreate
assert_contains "$LAST_STDERR" "needs a value" "--xen-autocreate without a value"

conf=$TESTDIR/vtpm_managerd.conf
printf 'xen_autocreate = 1\n' >"$conf"
manager_fails "xen_autocreate = 1" --config "$conf"
assert_contains "$LAST_STDERR" "$conf:1: xen_autocreate: '1' is not yes or no" "bad xen_autocreate"

printf 'xen_autocreate = yes\n' >"$conf"
start_manager --config "$conf"
stop_manager
start_manager --config "$conf" --xen-autocreate no
stop_manager
