#!/bin/sh
# `make run`: starts vtpm_managerd in the foreground on a state and run
# directory under the build tree, makes sure one vTPM exists, and prints how
# to reach it with tpm2-tools.  The master key is sealed to the host's TPM;
# where the machine has none (/dev/tpmrm0), a swtpm started here stands in
# for it, and the script says so.  Ctrl-C stops the daemon and its vTPMs.
set -eu

BUILD=${BUILD:-$(pwd)/build}
DEMO=$BUILD/demo
STATE=$DEMO/state
RUN=$DEMO/run
HOST=$DEMO/host-tpm
mkdir -p "$DEMO"

SWTPM_PID=""
if [ -c /dev/tpmrm0 ] && [ -r /dev/tpmrm0 ] && [ -w /dev/tpmrm0 ]; then
	HOST_TPM=device:/dev/tpmrm0
	echo "make run: host TPM: /dev/tpmrm0"
else
	mkdir -p "$HOST"
	echo "make run: this machine has no hardware TPM (/dev/tpmrm0): a swtpm (TPM 2.0)"
	echo "          in $HOST STANDS IN for the host TPM; the master key is sealed to it."
	# Its own session, so ^C reaches only the daemon, which still needs
	# the host TPM for its final commit; this script stops swtpm last.
	setsid swtpm socket --tpm2 --tpmstate dir="$HOST" \
		--server type=unixio,path="$HOST/sock" \
		--ctrl type=unixio,path="$HOST/sock.ctrl" \
		--flags not-need-init,startup-clear >"$HOST/swtpm.log" 2>&1 &
	SWTPM_PID=$!
	i=0
	while [ ! -S "$HOST/sock" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "make run: swtpm did not start" >&2
			exit 1
		fi
		sleep 0.05
	done
	HOST_TPM=swtpm:path=$HOST/sock
fi

"$BUILD/vtpm_managerd" --foreground --state-dir "$STATE" --run-dir "$RUN" \
	--host-tpm "$HOST_TPM" --backend fifo &
MGR=$!
stop() {
	kill -TERM $MGR 2>/dev/null || true
	wait $MGR 2>/dev/null || true
	if [ -n "$SWTPM_PID" ]; then
		kill -TERM "$SWTPM_PID" 2>/dev/null || true
		wait "$SWTPM_PID" 2>/dev/null || true
	fi
}
trap 'stop; exit 0' INT TERM

i=0
while [ ! -S "$RUN/vtpm_managerd.sock" ]; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 $MGR 2>/dev/null; then
		echo "make run: vtpm_managerd did not start" >&2
		stop
		exit 1
	fi
	sleep 0.05
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
  $BUILD/vtpmctl --run-dir $RUN status
  qemu-system-x86_64 ... -chardev socket,id=c,path=$RUN/$UUID.sock.ctrl \\
      -tpmdev emulator,id=t,chardev=c -device tpm-tis,tpmdev=t

State (sealed) is in $STATE. Press Ctrl-C to stop.
TXT
wait $MGR
