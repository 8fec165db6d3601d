#!/usr/bin/env bash
# jhv-bench/ws-compare.sh: the WebSocket echo comparison of issue 10, side by side in one run.
#
# jhv's WebSocket server (io.jhv.bench.peer.JhvWsEchoServer: HttpServer.ws("/", ...), one loop)
# against Netty 4.2's (NettyWsEchoServer: WebSocketServerProtocolHandler, one loop, native epoll
# and NIO), loaded by src/main/c/ws_client.c (C, epoll, one thread): 64 connections, each doing
# the upgrade handshake and then keeping a fixed number of masked binary messages in flight.
# Loads (size:in-flight): 64 B and 4 KiB with one message in flight, and 64 B with 16 in flight
# (pipelined: fewer syscalls per message, so the servers' own code weighs more). Two C servers
# (src/main/c/ws_echo_server.c: the upgrade, frame parsing, unmasking and the echo, nothing else)
# are the ceiling, as plaintext_server.c is compare.sh's: "c" on epoll as jhv and Netty are, and
# "c-uring" on io_uring (built when liburing's header is there: apt-get install liburing-dev), which
# shows what a native io_uring transport could add. Each run also reports the share of the
# server's CPU time spent in user space (the rest is the kernel's: system calls, TCP, loopback). The deflate
# variant runs jhv and Netty epoll with permessage-deflate on (both at level 6 with context
# takeover; see --deflate-send) at 64 B and 4 KiB, one in flight; its cost is reported as
# msgs/s with deflate / msgs/s without, per server.
#
# Each server runs pinned to CPU 0 and the client to CPU 1; every JVM gets the same flags. Every
# server is warmed up, then rounds run every load against every server (server order rotated per
# round) so drift hits all alike. Results: medians per server and load, the ratios jhv/Netty, the
# CPU use of server, client and all other processes (/proc). A server below ~95% of its core was
# not the bottleneck; a client at ~95% or more was. Tables are printed and written to
# jhv-bench/results/<date>-ws.md (then -2, -3...; --quick: jhv-bench/target/ws-compare/).
#
# Usage: jhv-bench/ws-compare.sh [--quick] [--rounds N] [--duration S] [--warmup S] [--no-build]
#                                [--loads "64:1 4096:1 64:16"] [--deflate-loads "64:1 4096:1"]
#                                [--no-deflate] [--deflate-send plain|compressed] [--conns N]
#                                [--servers "jhv netty-epoll netty-nio c c-uring"] [--port-base P]
#                                [--noise-limit PCT] [--quiet-wait S]
#
# --deflate-send compressed (the default when zlib.h is there): the client sends every message
# compressed (RSV1; the messages are deflated once at start, each with a fresh context, so they are
# valid for a server with context takeover) and the servers inflate every message and deflate every
# echo. plain: the client sends uncompressed frames (RFC 7692 allows RSV1=0 per message), so only
# the servers' deflating is measured. The client never inflates the echoes: it counts them by their
# frame headers (so its cost stays small).
#
# The noise gate is compare.sh's: before each run wait up to --quiet-wait s (default 30; 240 s in
# all) until other processes use less than --noise-limit % of a core (default 30); a run during
# which they used more is run again once (up to a quarter of the runs), and one still noisy is
# marked * in the tables.
# Env:   JHV_BENCH_JVM_FLAGS overrides the servers' JVM flags; JHV_BENCH_SERVER_CPU / _CLIENT_CPU the CPUs.
set -euo pipefail

bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$bench")"
cmdline="jhv-bench/ws-compare.sh${*:+ $*}"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "ws-compare: $*" >&2; exit 1; }
note() { echo "ws-compare: $*" >&2; }

quick=0 build=1 port_base=18480 noise_limit=30 quiet_wait=30 gate_budget=240 conns=64
rounds="" duration="" warmup="" deflate=1 deflate_send=""
loads="64:1 4096:1 64:16" deflate_loads="64:1 4096:1" servers="jhv netty-epoll netty-nio c c-uring"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --rounds) rounds="${2:?}"; shift ;;
    --duration) duration="${2:?}"; shift ;;
    --warmup) warmup="${2:?}"; shift ;;
    --no-build) build=0 ;;
    --loads) loads="${2:?}"; shift ;;
    --deflate-loads) deflate_loads="${2:?}"; shift ;;
    --no-deflate) deflate=0 ;;
    --deflate-send) deflate_send="${2:?--deflate-send needs plain or compressed}"; shift ;;
    --conns) conns="${2:?}"; shift ;;
    --servers) servers="${2:?}"; shift ;;
    --port-base) port_base="${2:?}"; shift ;;
    --noise-limit) noise_limit="${2:?}"; shift ;;
    --quiet-wait) quiet_wait="${2:?}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done
if [ "$quick" = 1 ]; then
  rounds="${rounds:-1}" duration="${duration:-3}" warmup="${warmup:-2}"
else
  rounds="${rounds:-3}" duration="${duration:-10}" warmup="${warmup:-6}"
fi
for v in rounds duration warmup port_base noise_limit quiet_wait conns; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "--${v/_/-} must be a whole number, not ${!v}"
done
[ "$rounds" -ge 1 ] && [ "$duration" -ge 1 ] && [ "$conns" -ge 1 ] || die "--rounds, --duration and --conns must be at least 1"
for l in $loads $deflate_loads; do [[ "$l" =~ ^[0-9]+:[0-9]+$ ]] || die "a load is SIZE:IN_FLIGHT (like 64:1), not $l"; done
for s in $servers; do case "$s" in jhv|netty-epoll|netty-nio|c|c-uring) ;; *) die "--servers takes jhv, netty-epoll, netty-nio, c, c-uring, not $s" ;; esac; done

[ "$(uname -s)" = Linux ] || die "needs Linux (taskset, /proc, epoll)"
. "$root/find-jdk.sh" >/dev/null
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
command -v gcc >/dev/null 2>&1 || die "missing gcc (Debian: apt-get install gcc)"
command -v taskset >/dev/null 2>&1 || die "missing taskset (util-linux)"

ncpu=$(nproc)
server_cpu="${JHV_BENCH_SERVER_CPU:-0}"
client_cpu="${JHV_BENCH_CLIENT_CPU:-1}"
if [ "$ncpu" -lt 2 ]; then
  note "only $ncpu CPU: server and load generator share it; numbers will not mean much"
  client_cpu="$server_cpu"
fi

work="$bench/target/ws-compare"
logs="$work/logs"
results="$bench/results"
mkdir -p "$logs" "$results"
stamp="$(date -u +%Y-%m-%d)"
out_dir="$results"; [ "$quick" = 1 ] && out_dir="$work"
out="$out_dir/$stamp-ws.md"
n=2
while [ "$quick" = 0 ] && [ -e "$out" ]; do out="$out_dir/$stamp-ws-$n.md"; n=$((n + 1)); done

# ------------------------------------------------------------------ builds

if [ "$build" = 1 ]; then
  note "building jhv-bench (mvn package, tests neither compiled nor run)..."
  if ! (cd "$root" && mvn -q -B -ntp -o -Dmaven.test.skip=true -pl jhv-bench -am package) >"$logs/build.log" 2>&1; then
    tail -40 "$logs/build.log" >&2
    die "build failed (full log: $logs/build.log)"
  fi
fi
bench_jar="$bench/target/benchmarks.jar"
[ -f "$bench_jar" ] || die "missing $bench_jar (run without --no-build)"
client="$work/ws_client"
zlib=0
if [ -f /usr/include/zlib.h ] && gcc -O2 -Wall -DHAVE_ZLIB -o "$client" "$bench/src/main/c/ws_client.c" -lz 2>"$logs/gcc.log"; then
  zlib=1
else
  gcc -O2 -Wall -o "$client" "$bench/src/main/c/ws_client.c" || die "gcc failed on ws_client.c"
fi
c_server="$work/ws_echo_server" c_server_uring=""
gcc -O2 -Wall -o "$c_server" "$bench/src/main/c/ws_echo_server.c" || die "gcc failed on ws_echo_server.c"
if [[ " $servers " == *" c-uring "* ]]; then
  if [ -f /usr/include/liburing.h ] && gcc -O2 -Wall -DHAVE_URING -o "$work/ws_echo_server_uring" "$bench/src/main/c/ws_echo_server.c" -luring 2>"$logs/gcc-uring.log"; then
    c_server_uring="$work/ws_echo_server_uring"
  else
    note "c-uring skipped: no liburing (Debian: apt-get install liburing-dev; log: $logs/gcc-uring.log)"
  fi
fi
if [ -z "$deflate_send" ]; then
  deflate_send=plain; [ "$zlib" = 1 ] && deflate_send=compressed
fi
case "$deflate_send" in
  plain) zflag=-z ;;
  compressed) [ "$zlib" = 1 ] || die "--deflate-send compressed needs zlib.h (Debian: apt-get install zlib1g-dev)"; zflag=-Z ;;
  *) die "--deflate-send must be plain or compressed, not $deflate_send" ;;
esac

java_major=$(jhv_java_major "$JAVA_HOME/bin/java")
if [ -n "${JHV_BENCH_JVM_FLAGS:-}" ]; then
  read -r -a jvm_flags <<<"$JHV_BENCH_JVM_FLAGS"
else
  # compare.sh's flags: a fixed, pre-touched heap and the throughput collector keep GC sizing out
  # of the comparison; the others let Netty use its native transport and Unsafe without warnings.
  jvm_flags=(-Xms1g -Xmx1g -XX:+UseParallelGC -XX:+AlwaysPreTouch
             --enable-native-access=ALL-UNNAMED --add-exports java.base/sun.nio.ch=ALL-UNNAMED)
  [ "$java_major" -ge 23 ] && jvm_flags+=(--sun-misc-unsafe-memory-access=allow)
fi
java_version=$("$JAVA_HOME/bin/java" -version 2>&1 | sed -n '2p')
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
netty_version=$(sed -n 's:.*<netty.version>\(.*\)</netty.version>.*:\1:p' "$bench/pom.xml")
jhv_commit=$(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo "?")

# ------------------------------------------------------------------ processes

declare -A spid sport
pids=()
cleanup() {
  local pid i
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
next_port=$port_base
take_port() { while port_in_use "$next_port"; do next_port=$((next_port + 1)); done; p=$next_port; next_port=$((next_port + 1)); }

start_server() { # NAME PORT CMD...
  local name="$1" port="$2"; shift 2
  taskset -c "$server_cpu" "$@" >"$logs/$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid"); spid[$name]=$pid; sport[$name]=$port
}
wait_listening() { # NAME: up to 30 s
  local i
  for i in $(seq 1 300); do
    kill -0 "${spid[$1]}" 2>/dev/null || return 1
    port_in_use "${sport[$1]}" && return 0
    sleep 0.1
  done
  return 1
}

busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
hz=$(getconf CLK_TCK)
wait_quiet() { # compare.sh's gate: 1 s samples of the machine's CPU use while our servers are idle
  local waited=0 b0 b1 used
  while :; do
    b0=$(busy_ticks); sleep 1; b1=$(busy_ticks)
    used=$(( (b1 - b0) * 100 / hz ))
    [ "$used" -le "$noise_limit" ] && return 0
    if [ "$waited" -ge "$quiet_wait" ] || [ "$gate_budget" -le 0 ]; then
      note "machine still busy (${used}% of a core used by other processes); running anyway"
      return 0
    fi
    [ "$waited" = 0 ] && note "machine busy (${used}% of a core used by other processes); waiting up to ${quiet_wait} s"
    waited=$((waited + 1)); gate_budget=$((gate_budget - 1))
  done
}

# ------------------------------------------------------------------ numbers

noisy() { [ -n "${1:-}" ] && awk -v x="$1" -v l="$noise_limit" 'BEGIN { exit !(x + 0 > l + 0) }'; }
median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) printf "%.6f", v[(NR + 1) / 2]; else printf "%.6f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
group() {
  awk -v x="$1" 'BEGIN { s = sprintf("%.0f", x); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) } print s o }'
}
ratio() {
  if [ -z "$1" ] || [ -z "$2" ]; then echo "n/a"; return; fi
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}
verdict() {
  if [ "$1" = n/a ] || [ -z "$1" ]; then echo "n/a"; return; fi
  awk -v r="$1" -v t="$2" 'BEGIN { print (r + 0 >= t + 0) ? "yes" : "no" }'
}
pct() { [ -n "$1" ] && awk -v x="$1" 'BEGIN { printf "%.0f", x }' || echo "-"; }
load_label() { local s="${1%%:*}" f="${1##*:}"; local b="$s B"; [ "$s" = 4096 ] && b="4 KiB"; [ "$f" = 1 ] && echo "$b" || echo "$b, $f in flight"; }

raw="$work/raw.tsv"
: >"$raw"
# raw columns: 1 round, 2 variant (plain|deflate), 3 load, 4 server, 5 msgs/s, 6 server CPU, 7 client CPU, 8 other CPU, 9 wire in B/msg, 10 notes, 11 server CPU in user space %
col() { # variant load server column -> median
  awk -F'\t' -v v="$1" -v l="$2" -v s="$3" -v c="$4" '$2 == v && $3 == l && $4 == s && $c != "" && $c != "NaN" { print $c }' "$raw" | median
}
eff() { # variant load server -> median of msgs/s / (server CPU / 100) over the runs
  awk -F'\t' -v v="$1" -v l="$2" -v s="$3" '$2 == v && $3 == l && $4 == s && $5 != "" && $6 + 0 > 0 { printf "%.1f\n", $5 * 100 / $6 }' "$raw" | median
}
mark() { awk -F'\t' -v v="$1" -v l="$2" -v s="$3" '$2 == v && $3 == l && $4 == s && $10 ~ /noisy/ { f = 1 } END { if (f) printf "\\*" }' "$raw"; }

# run_client SERVER VARIANT LOAD WARM SECS OUTFILE -> sets msgs scpu ccpu other wire errs
run_client() {
  local name="$1" variant="$2" load="$3" warm="$4" secs="$5" outf="$6"
  local size="${load%%:*}" inflight="${load##*:}" extra=()
  [ "$variant" = deflate ] && extra=("$zflag")
  timeout -k 5 $((warm + secs + 60)) taskset -c "$client_cpu" "$client" -c "$conns" -s "$size" -n "$inflight" \
    -w "$warm" -d "$secs" -P "${spid[$name]}" "${extra[@]}" 127.0.0.1 "${sport[$name]}" >"$outf" 2>&1 || true
  local line
  line=$(grep '^RESULT ' "$outf" || true)
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $line"; }
  msgs=$(field msgs_per_sec); scpu=$(field server_cpu_pct); ccpu=$(field client_cpu_pct)
  other=$(field other_cpu_pct); wire=$(field wire_in_bytes_per_msg); suser=$(field server_user_pct)
  errs=""
  [ -n "$line" ] || errs="client failed: $(tail -n1 "$outf")"
  if [ "$variant" = deflate ] && [ -n "$line" ] && [ "$(field deflate)" = refused ]; then errs="deflate refused; $errs"; fi
  kill -0 "${spid[$name]}" 2>/dev/null || errs="server died; $errs"
}

# ------------------------------------------------------------------ servers

note "starting servers (logs: ${logs#"$root"/})"
plain_servers=() deflate_servers=()
for s in $servers; do
  take_port
  case "$s" in
    jhv) start_server jhv "$p" java "${jvm_flags[@]}" -cp "$bench_jar" io.jhv.bench.peer.JhvWsEchoServer --host 127.0.0.1 --port "$p" ;;
    netty-epoll) start_server netty-epoll "$p" java "${jvm_flags[@]}" -cp "$bench_jar" io.jhv.bench.peer.NettyWsEchoServer --transport epoll --host 127.0.0.1 --port "$p" ;;
    netty-nio) start_server netty-nio "$p" java "${jvm_flags[@]}" -cp "$bench_jar" io.jhv.bench.peer.NettyWsEchoServer --transport nio --host 127.0.0.1 --port "$p" ;;
    c) start_server c "$p" "$c_server" "$p" 127.0.0.1 ;;
    c-uring) [ -n "$c_server_uring" ] && start_server c-uring "$p" "$c_server_uring" -u "$p" 127.0.0.1 ;;
  esac
done
if [ "$deflate" = 1 ]; then
  for s in $servers; do
    take_port
    case "$s" in
      jhv) start_server jhv-deflate "$p" java "${jvm_flags[@]}" -cp "$bench_jar" io.jhv.bench.peer.JhvWsEchoServer --host 127.0.0.1 --port "$p" --deflate ;;
      netty-epoll) start_server netty-epoll-deflate "$p" java "${jvm_flags[@]}" -cp "$bench_jar" io.jhv.bench.peer.NettyWsEchoServer --transport epoll --host 127.0.0.1 --port "$p" --deflate ;;
    esac
  done
fi
for s in $servers jhv-deflate netty-epoll-deflate; do
  [ -n "${spid[$s]:-}" ] || continue
  if ! wait_listening "$s"; then
    note "$s did not listen within 30 s (log: $logs/$s.log); skipped"
    continue
  fi
  # one short connection: a server whose WebSocket route fails (jhv before its engine) is skipped
  v=plain; [[ "$s" == *-deflate ]] && v=deflate
  run_client "$s" "$v" 64:1 0 1 "$logs/check-$s.txt"
  if [ -n "$errs" ]; then
    note "$s does not echo WebSocket messages ($errs); skipped (log: $logs/$s.log)"
    kill -TERM "${spid[$s]}" 2>/dev/null || true
    continue
  fi
  if [ "$v" = plain ]; then plain_servers+=("$s"); else deflate_servers+=("$s"); fi
done
[ ${#plain_servers[@]} -gt 0 ] || [ ${#deflate_servers[@]} -gt 0 ] || die "no server came up"

# ------------------------------------------------------------------ runs

note "$rounds round(s) x ${duration} s per load and server, warm-up ${warmup} s; server CPU $server_cpu, client CPU $client_cpu; deflate: ${deflate_send}"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for s in "${plain_servers[@]}" "${deflate_servers[@]}"; do
  v=plain; [[ "$s" == *-deflate ]] && v=deflate
  note "warming up $s (${warmup} s)"
  run_client "$s" "$v" 4096:1 0 "$warmup" "$logs/warm-$s.txt"
done
nruns=0
for r in $(seq 1 "$rounds"); do
  for l in $loads; do nruns=$((nruns + ${#plain_servers[@]})); done
  [ ${#deflate_servers[@]} -gt 0 ] && for l in $deflate_loads; do nruns=$((nruns + ${#deflate_servers[@]})); done
done
retries=$(( (nruns + 3) / 4 ))
run_set() { # ROUND VARIANT LOAD SERVERS...
  local r="$1" v="$2" l="$3"; shift 3
  local list=("$@") n=$# i s
  for i in $(seq 0 $((n - 1))); do
    s="${list[$(( (i + r - 1) % n ))]}"
    wait_quiet
    run_client "$s" "$v" "$l" 2 "$duration" "$logs/r$r-$s-${l/:/x}.txt"
    if noisy "${other:-}" && [ "$retries" -gt 0 ]; then
      retries=$((retries - 1))
      note "round $r, $(load_label "$l"), $s: other processes used ${other}% CPU; running it again"
      wait_quiet
      run_client "$s" "$v" "$l" 2 "$duration" "$logs/r$r-$s-${l/:/x}.txt"
      errs="retried; $errs"
    fi
    noisy "${other:-}" && errs="noisy; $errs"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$v" "$l" "$s" "${msgs:-}" "${scpu:-}" "${ccpu:-}" "${other:-}" "${wire:-}" "$errs" "${suser:-}" >>"$raw"
    note "round $r/$rounds, $v $(load_label "$l"), $s: ${msgs:-?} msg/s, server CPU ${scpu:-?}%, client CPU ${ccpu:-?}%, other ${other:-?}%${errs:+, $errs}"
  done
}
for r in $(seq 1 "$rounds"); do
  for l in $loads; do
    [ ${#plain_servers[@]} -gt 0 ] && run_set "$r" plain "$l" "${plain_servers[@]}"
  done
  if [ ${#deflate_servers[@]} -gt 0 ]; then
    for l in $deflate_loads; do run_set "$r" deflate "$l" "${deflate_servers[@]}"; done
  fi
done
cleanup

# ------------------------------------------------------------------ tables

title() { case "$1" in jhv) echo jhv ;; netty-epoll) echo "Netty epoll" ;; netty-nio) echo "Netty NIO" ;; c) echo "C epoll" ;; c-uring) echo "C io_uring" ;; jhv-deflate) echo "jhv" ;; netty-epoll-deflate) echo "Netty epoll" ;; esac; }
write_table() {
  echo "# WebSocket echo: jhv vs Netty $netty_version ($(date -u +%Y-%m-%d))"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); jhv at commit $jhv_commit"
  echo "- command: \`$cmdline\`"
  echo "- machine: $ncpu cores ($cpu_model), Linux $(uname -r); $java_version; Netty $netty_version"
  echo "- pinning: server on CPU $server_cpu (\`taskset -c $server_cpu\`), load generator on CPU $client_cpu"
  echo "- JVM flags of every server: \`${jvm_flags[*]}\`"
  echo "- load: \`src/main/c/ws_client.c\` (one thread, epoll): $conns connections, each upgraded then keeping N masked binary messages in flight; msgs/s = echoes fully received per second, measured ${duration} s after 2 s of warm-up"
  echo "- rounds: $rounds, interleaved (server order rotated per round); warm-up ${warmup} s per server; load average at start: $load_start"
  echo "- noise gate: wait up to ${quiet_wait} s before a run for other processes < ${noise_limit}% of a core, rerun a noisy run once"
  echo
  if [ ${#plain_servers[@]} -gt 0 ]; then
    echo "## Without compression"
    echo
    echo "Median msgs/s over the rounds; the ratios are jhv / Netty:"
    echo
    local hdr="| load" sep="| ---" s l cells
    for s in "${plain_servers[@]}"; do hdr+=" | $(title "$s")"; sep+=" | ---:"; done
    hdr+=" | jhv / Netty epoll | jhv / Netty NIO"; sep+=" | ---: | ---:"
    echo "$hdr |"
    echo "$sep |"
    for l in $loads; do
      cells="| $(load_label "$l")"
      for s in "${plain_servers[@]}"; do
        v=$(col plain "$l" "$s" 5)
        if [ -n "$v" ]; then cells+=" | $(group "$v")$(mark plain "$l" "$s")"; else cells+=" | -"; fi
      done
      j=$(col plain "$l" jhv 5); e=$(col plain "$l" netty-epoll 5); o=$(col plain "$l" netty-nio 5)
      echo "$cells | $(ratio "$j" "$e") | $(ratio "$j" "$o") |"
    done
    echo
    echo "Median CPU use, % of one core: server / client / other processes (a client near 100% means the load generator, not the server, was the limit):"
    echo
    local chdr="| load" csep="| ---"
    for s in "${plain_servers[@]}"; do chdr+=" | $(title "$s")"; csep+=" | ---:"; done
    echo "$chdr |"
    echo "$csep |"
    for l in $loads; do
      cells="| $(load_label "$l")"
      for s in "${plain_servers[@]}"; do
        v=$(col plain "$l" "$s" 6)
        if [ -n "$v" ]; then cells+=" | $(pct "$v") / $(pct "$(col plain "$l" "$s" 7)") / $(pct "$(col plain "$l" "$s" 8)")"; else cells+=" | -"; fi
      done
      echo "$cells |"
    done
    echo
    echo "Messages per second of server CPU (msgs/s divided by the server's share of its core; tells the servers apart when the client was the limit; per-run values, median):"
    echo
    echo "$hdr |"
    echo "$sep |"
    for l in $loads; do
      cells="| $(load_label "$l")"
      for s in "${plain_servers[@]}"; do
        v=$(eff plain "$l" "$s")
        if [ -n "$v" ]; then cells+=" | $(group "$v")"; else cells+=" | -"; fi
      done
      echo "$cells | $(ratio "$(eff plain "$l" jhv)" "$(eff plain "$l" netty-epoll)") | $(ratio "$(eff plain "$l" jhv)" "$(eff plain "$l" netty-nio)") |"
    done
    echo
    echo "Target of issue 10: jhv >= 1.2 x Netty (epoll) in msgs/s:"
    echo
    echo "| load | jhv / Netty epoll, msgs/s | met | jhv / Netty epoll, msgs per server CPU-second | client the limit? | noisy runs |"
    echo "| --- | ---: | --- | ---: | --- | --- |"
    for l in $loads; do
      rr=$(ratio "$(col plain "$l" jhv 5)" "$(col plain "$l" netty-epoll 5)")
      re=$(ratio "$(eff plain "$l" jhv)" "$(eff plain "$l" netty-epoll)")
      cl=$(awk -v a="$(col plain "$l" jhv 7)" -v b="$(col plain "$l" netty-epoll 7)" 'BEGIN { print (a + 0 >= 93 || b + 0 >= 93) ? "yes (client >= 93% of its core)" : "no" }')
      nz=$(awk -F'\t' -v l="$l" '$2 == "plain" && $3 == l && ($4 == "jhv" || $4 == "netty-epoll") { n++; if ($10 ~ /noisy/) k++ } END { printf "%d of %d", k, n }' "$raw")
      echo "| $(load_label "$l") | $rr | $(verdict "$rr" 1.2) | $re | $cl | $nz |"
    done
    echo
    echo "With noisy runs the msgs/s ratio says more about the other processes than about the servers: read the msgs per server CPU-second column (or run again on a quieter machine)."
    echo
    echo "Share of each server's CPU time spent in user space (median %; the rest is the kernel's: system calls, TCP, loopback). When the kernel's part is most of it, no server code can go much faster: a server whose own code took no time at all would gain only its user-space share."
    echo
    echo "$chdr |"
    echo "$csep |"
    for l in $loads; do
      cells="| $(load_label "$l")"
      for s in "${plain_servers[@]}"; do
        v=$(col plain "$l" "$s" 11)
        if [ -n "$v" ]; then cells+=" | $(pct "$v")"; else cells+=" | -"; fi
      done
      echo "$cells |"
    done
    echo
    if [[ " ${plain_servers[*]} " == *" c "* ]]; then
      echo "The ceiling: the C servers (\`src/main/c/ws_echo_server.c\`: upgrade, frame parsing, unmasking, one echo frame per frame, nothing else) on the same core with the same load. Where 1.2 x Netty epoll is above what the C epoll server reaches, no server on epoll can meet the target on this machine at that load:"
      echo
      echo "| load | jhv / C epoll | Netty epoll / C epoll | 1.2 x Netty epoll / C epoll | C io_uring / Netty epoll | C io_uring / C epoll |"
      echo "| --- | ---: | ---: | ---: | ---: | ---: |"
      for l in $loads; do
        c0=$(col plain "$l" c 5); cu=$(col plain "$l" c-uring 5); e=$(col plain "$l" netty-epoll 5)
        twelve=""; [ -n "$e" ] && twelve=$(awk -v x="$e" 'BEGIN { printf "%.6f", 1.2 * x }')
        echo "| $(load_label "$l") | $(ratio "$(col plain "$l" jhv 5)" "$c0") | $(ratio "$e" "$c0") | $(ratio "$twelve" "$c0") | $(ratio "$cu" "$e") | $(ratio "$cu" "$c0") |"
      done
      echo
    fi
  fi
  if [ ${#deflate_servers[@]} -gt 0 ]; then
    echo "## permessage-deflate"
    echo
    if [ "$deflate_send" = compressed ]; then
      echo "Both servers at level 6 with context takeover (their defaults); the client sends every message deflated (RSV1; prepared once at start), so each server inflates every message and deflates every echo. jhv leaves messages under 128 B uncompressed (its default threshold); Netty compresses every message."
    else
      echo "Both servers at level 6 with context takeover (their defaults); the client offers permessage-deflate but sends uncompressed frames (RSV1=0, allowed per message), so only the servers' deflating of the echoes is measured. jhv leaves messages under 128 B uncompressed (its default threshold); Netty compresses every message."
    fi
    echo "The client never inflates: it counts echoes by their frame headers."
    echo
    echo "Cost columns: messages per server CPU-second with deflate / without, same server and load, this run (1.00 = free)."
    echo
    echo "| load | jhv | Netty epoll | jhv / Netty epoll | jhv cost | Netty cost | echo bytes on the wire, jhv / Netty |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    for l in $deflate_loads; do
      j=$(col deflate "$l" jhv-deflate 5); e=$(col deflate "$l" netty-epoll-deflate 5)
      jc=$(ratio "$(eff deflate "$l" jhv-deflate)" "$(eff plain "$l" jhv)"); ec=$(ratio "$(eff deflate "$l" netty-epoll-deflate)" "$(eff plain "$l" netty-epoll)")
      jw=$(col deflate "$l" jhv-deflate 9); ew=$(col deflate "$l" netty-epoll-deflate 9)
      printf '| %s | %s | %s | %s | %s | %s | %s / %s |\n' "$(load_label "$l")" \
        "$([ -n "$j" ] && echo "$(group "$j")$(mark deflate "$l" jhv-deflate)" || echo -)" \
        "$([ -n "$e" ] && echo "$(group "$e")$(mark deflate "$l" netty-epoll-deflate)" || echo -)" \
        "$(ratio "$j" "$e")" "$jc" "$ec" "$([ -n "$jw" ] && pct "$jw" || echo -)" "$([ -n "$ew" ] && pct "$ew" || echo -)"
    done
    echo
    echo "CPU, % of one core, server / client / other:"
    echo
    echo "| load | jhv | Netty epoll |"
    echo "| --- | ---: | ---: |"
    for l in $deflate_loads; do
      cells="| $(load_label "$l")"
      for s in jhv-deflate netty-epoll-deflate; do
        v=$(col deflate "$l" "$s" 6)
        if [ -n "$v" ]; then cells+=" | $(pct "$v") / $(pct "$(col deflate "$l" "$s" 7)") / $(pct "$(col deflate "$l" "$s" 8)")"; else cells+=" | -"; fi
      done
      echo "$cells |"
    done
    echo
  fi
  if grep -q noisy "$raw"; then
    echo "\\* a run in this cell stayed noisy: other processes used more than ${noise_limit}% of a core during it (see All runs)."
    echo
  fi
  local skipped=""
  for s in $servers; do [[ " ${plain_servers[*]} " == *" $s "* ]] || skipped+=" $s"; done
  [ -n "$skipped" ] && { echo "**Skipped (did not start or did not echo):$skipped** (logs in jhv-bench/target/ws-compare/logs/)."; echo; }
  echo "<details><summary>All runs</summary>"
  echo
  echo "| round | variant | load | server | msgs/s | server CPU % | server CPU in user space % | client CPU % | other CPU % | echo B/msg on the wire | notes |"
  echo "| ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $11, $7, $8, $9, $10 }' "$raw"
  echo
  echo "</details>"
}
write_table >"$out"
cat "$out"
note "written: ${out#"$root"/}"
