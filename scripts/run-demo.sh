#!/bin/sh
# `make run`: starts vtpm_managerd in the foreground on a state and run
# directory under the build tree, makes sure one vTPM exists, and prints how
# to reach it with tpm2-tools.  Ctrl-C stops the daemon (and its vTPMs).
set -eu

BUILD=${BUILD:-$(pwd)/build}
DEMO=$BUILD/demo
STATE=$DEMO/state
RUN=$DEMO/run
mkdir -p "$DEMO"

echo "make run: no hardware TPM is used in this demo: the master key is the"
echo "          plain file $DEMO/master.key (keyfile mode, announced below)."

"$BUILD/vtpm_managerd" --foreground --state-dir "$STATE" --run-dir "$RUN" \
	--host-tpm "keyfile:$DEMO/master.key" --backend fifo &
MGR=$!
trap 'kill -TERM $MGR 2>/dev/null; wait $MGR 2>/dev/null; exit 0' INT TERM

i=0
while [ ! -S "$RUN/vtpm_managerd.sock" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 $MGR 2>/dev/null; then
		echo "make run: vtpm_managerd did not start" >&2
		exit 1
	fi
	sleep 0.1
done

UUID=$("$BUILD/vtpmctl" --run-dir "$RUN" list --json | python3 -c \
	'import json,sys; l=json.load(sys.stdin); print(l[0]["uuid"] if l else "")')
if [ -z "$UUID" ]; then
	UUID=$("$BUILD/vtpmctl" --run-dir "$RUN" create)
fi

cat <<TXT

vTPM $UUID is served by vtpm_managerd (pid $MGR). Try, in another shell:

  tpm2_getrandom -T swtpm:path=$RUN/$UUID.sock --hex 16
  tpm2_pcrread   -T swtpm:path=$RUN/$UUID.sock sha256:0,1,2
  $BUILD/vtpmctl --run-dir $RUN list
  qemu-system-x86_64 ... -chardev socket,id=c,path=$RUN/$UUID.sock.ctrl \\
      -tpmdev emulator,id=t,chardev=c -device tpm-tis,tpmdev=t

State (sealed) is in $STATE. Press Ctrl-C to stop.
TXT
wait $MGR
