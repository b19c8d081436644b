#!/bin/bash
# test_lazy: a defined vTPM costs no process until first use; first use
# through the data socket starts exactly one vtpmd, which list --json
# reports; after a manager restart nothing runs until used again.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

no_vtpmd() {
	local p
	p=$(vtpmd_pids)
	[ -z "$p" ] || fail "$1: vtpmd running ($p) though no vTPM was used"
}

start_manager
a=$(create_vtpm)
b=$(create_vtpm --tpm-version 1.2)
sleep 0.5
no_vtpmd "after create"
assert_eq stopped "$(json_field "$a" state)" "state of A before use"
assert_eq 0 "$(json_field "$a" pid)" "pid of A before use"
assert_ok "list" vtpmctl list >/dev/null
assert_ok "show" vtpmctl show "$a" >/dev/null
no_vtpmd "after list and show"

assert_ok "first use of A" t2 getrandom "$a" 8 --hex >/dev/null
p=$(vtpmd_pids)
assert_eq 1 "$(printf '%s\n' "$p" | grep -c .)" "vtpmd processes after using A ($p)"
assert_eq "$p" "$(json_field "$a" pid)" "pid of A in list --json"
assert_eq running "$(json_field "$a" state)" "state of A after use"
assert_eq 0 "$(json_field "$b" pid)" "pid of unused B"

stop_manager
start_manager
sleep 0.5
no_vtpmd "after a restart"
assert_eq stopped "$(json_field "$a" state)" "state of A after a restart"
assert_ok "use of A after a restart" t2 getrandom "$a" 8 --hex >/dev/null
assert_eq 1 "$(vtpmd_pids | grep -c .)" "vtpmd processes after using A again"
