#!/bin/sh
# demo.sh - ferry's durable queue end to end, on a private mosquitto:
#
#   1. the broker is down: samples/durable_queue publishes N numbered QoS 1
#      messages; they are committed to a SQLite store;
#   2. the broker starts, a subscriber counts what arrives, and the publisher
#      drains the store (live progress line);
#   3. halfway through, the publisher is killed with SIGKILL and started
#      again on the same store: it sends what is left;
#   4. summary: published, delivered, lost. Exits 1 if anything was lost.
#
# Usage: demo.sh [BUILDDIR]   (make demo passes the build directory)
# FERRY_DEMO_COUNT sets N (default 100000). Everything lives in a temporary
# directory, removed at the end with every process this script started.
set -u

build=${1:-.}
dq=$build/samples/durable_queue
count=${FERRY_DEMO_COUNT:-100000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferry-demo.XXXXXX") || exit 1
broker='' sub='' pub=''

# shellcheck disable=SC2317 # (called by the trap)
cleanup() {
	for p in $pub $sub $broker; do
		kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -t 1 ]; then tty=1; else tty=''; fi
say() { printf '\n== %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }
case $count in '' | *[!0-9]*) die "FERRY_DEMO_COUNT must be a number" ;; esac
[ -x "$dq" ] || die "$dq is not built (run make)"
command -v mosquitto >/dev/null || die "mosquitto is not installed (./bootstrap deps)"

# A port nothing listens on (the kernel's pick, released at once).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + ($$ + $(date +%N | sed 's/^0*//;s/^$/0/')) % 40000))
}

# Starts mosquitto on $port; 0 once it listens, 1 if it exited (port taken).
start_broker() {
	cat >"$tmp/mosquitto.conf" <<-EOF
		listener $port 127.0.0.1
		allow_anonymous true
		persistence false
		# every message is kept for the subscriber however far behind it is
		max_queued_messages 0
	EOF
	mosquitto -c "$tmp/mosquitto.conf" >"$tmp/broker.log" 2>&1 &
	broker=$!
	for _ in $(seq 100); do # up to 10 s
		grep -q ' running$' "$tmp/broker.log" && return 0
		kill -0 "$broker" 2>/dev/null || { wait "$broker"; broker=''; return 1; }
		sleep 0.1
	done
	die "mosquitto did not start: $(cat "$tmp/broker.log")"
}

# Runs the publisher on the store in the background, showing its progress;
# with a kill point, SIGKILLs it once it reports at least that many acks.
drain() {
	kill_at=$1
	rm -f "$tmp/progress"
	mkfifo "$tmp/progress" || die "mkfifo failed"
	"$dq" publish "$uri" "$tmp/queue.db" 0 >"$tmp/progress" 2>&1 &
	pub=$!
	open='' # a progress line is on the screen without its newline
	while IFS= read -r line; do
		case $line in
		'  acknowledged '*)
			if [ "$tty" ]; then printf '\r%s ' "$line" && open=1; else printf '%s\n' "$line"; fi
			acks=$(echo "$line" | sed 's/^ *acknowledged \([0-9]*\) of.*/\1/')
			if [ "$kill_at" -gt 0 ] && [ "$acks" -ge "$kill_at" ]; then
				kill -KILL "$pub" 2>/dev/null
				kill_at=0
			fi ;;
		*)
			[ "$open" ] && printf '\n' && open=''
			printf '%s\n' "$line" ;;
		esac
	done <"$tmp/progress"
	[ "$open" ] && printf '\n'
	wait "$pub" 2>/dev/null # (no "Killed" notice from the shell)
	status=$?
	pub=''
	return $status
}

port=$(free_port)
uri=tcp://127.0.0.1:$port
say "1. The broker is down (nothing listens on 127.0.0.1:$port); publish $count QoS 1 messages"
"$dq" publish "$uri" "$tmp/queue.db" "$count" --no-wait || die "publishing failed"

say "2. Start mosquitto and a subscriber that counts messages 1..$count"
tries=0
until start_broker; do
	tries=$((tries + 1))
	[ $tries -lt 5 ] || die "mosquitto would not start: $(cat "$tmp/broker.log")"
	port=$(free_port) # taken meanwhile: the store does not care where it drains to
	uri=tcp://127.0.0.1:$port
done
echo "mosquitto (pid $broker) listens on $uri"
"$dq" count "$uri" "$count" 90 >"$tmp/count.log" 2>&1 &
sub=$!
for _ in $(seq 100); do
	grep -q '^subscribed' "$tmp/count.log" && break
	kill -0 "$sub" 2>/dev/null || die "subscriber failed: $(cat "$tmp/count.log")"
	sleep 0.1
done
grep -q '^subscribed' "$tmp/count.log" || die "subscriber did not subscribe"
echo "subscriber (pid $sub) subscribed"

say "3. The publisher drains the store; it is killed with SIGKILL halfway"
drain $((count / 2))
status=$?
if [ $status -eq 137 ]; then
	echo "publisher killed (SIGKILL, exit status $status)"
else
	echo "publisher ended (exit status $status) before the kill"
fi

say "4. Start it again on the same store: it sends what is left"
drain 0 || die "the second publisher failed"

wait "$sub"
sub=''
grep -v '^subscribed' "$tmp/count.log"
received=$(sed -n 's/^received \([0-9]*\) of .*/\1/p' "$tmp/count.log")
dups=$(sed -n 's/.*, \([0-9]*\) duplicates.*/\1/p' "$tmp/count.log")
lost=$((count - ${received:-0}))
say "Summary: published $count, delivered ${received:-0}, lost $lost"
if [ "${dups:-0}" -gt 0 ]; then
	echo "($dups arrived twice: QoS 1 is at least once. Messages the broker had got, but"
	echo " whose acknowledgement was not yet recorded in the store at the kill, went again.)"
fi
[ "$lost" -eq 0 ] || exit 1
exit 0
