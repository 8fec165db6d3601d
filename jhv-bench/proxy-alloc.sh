#!/usr/bin/env bash
# jhv-bench/proxy-alloc.sh: what one proxied request costs jhv's reverse proxy in allocation and GC
# (issue 13's p99 item). Noise-insensitive, unlike proxy-compare.sh's requests/s and latency.
#
# The same set-up as proxy-compare.sh (hv httpd --threads 1 with a `proxy = /via-proxy ...` line on
# CPU 1, the C plaintext upstream and wrk -t1 on CPU 0), with the proxy's JVM logging GC
# (-Xlog:gc) and a lean JFR recording around one measured wrk run after a warm-up (20 s).
# Reports: requests served, bytes allocated per request by the loop thread(s) (JFR's
# jdk.ThreadAllocationStatistics at the start and end of the recording), young GCs and their
# pauses per 100k requests, the proxy process's CPU time per request, wrk's latency distribution,
# and the top allocation sites (JFR samples).
#
# Usage: jhv-bench/proxy-alloc.sh [--duration S] [--connections C] [--warmup S] [--jfr FILE] [--gclog FILE]
#        JVM options for the proxy can be added with PROXY_JAVA_OPTS; HV_JAR runs another build's
#        hv.jar (e.g. an older commit's, for a before/after).
set -euo pipefail
bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$bench")"
duration=10 conns=64 warmup=20 keep_jfr="" keep_gc=""
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift ;;
    --connections) conns="$2"; shift ;;
    --warmup) warmup="$2"; shift ;;
    --jfr) keep_jfr="$2"; shift ;;
    --gclog) keep_gc="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
for t in wrk gcc taskset jq; do command -v "$t" >/dev/null || { echo "proxy-alloc: needs $t" >&2; exit 1; }; done
. "$root/find-jdk.sh"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

gcc -O2 -Wall -o "$work/plaintext_server" "$bench/src/main/c/plaintext_server.c"
up_port=19180 jhv_port=19181
taskset -c 0 "$work/plaintext_server" "$up_port" & pids+=($!)

[ -n "${HV_JAR:-}" ] || "$root/hv" --help >/dev/null 2>&1 || true # builds hv.jar when needed
cat > "$work/hv.conf" <<EOF
threads = 1
ready_path = off
proxy = /via-proxy http://127.0.0.1:$up_port
EOF
# shellcheck disable=SC2086
taskset -c 1 java -XX:+UseParallelGC -Xms256m -Xmx256m -Xlog:gc:file="$work/gc.log" ${PROXY_JAVA_OPTS:-} \
  --add-exports java.base/sun.nio.ch=ALL-UNNAMED \
  -jar "${HV_JAR:-$root/jhv-cli/target/hv.jar}" httpd --host 127.0.0.1 --port "$jhv_port" --config "$work/hv.conf" >"$work/hv.log" 2>&1 &
jpid=$!
pids+=($jpid)
url="http://127.0.0.1:$jhv_port/via-proxy/plaintext"
for _ in $(seq 100); do curl -fs "$url" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$url" >/dev/null || { echo "proxy did not come up"; cat "$work/hv.log"; exit 1; }
taskset -c 0 wrk -t1 -c"$conns" -d"${warmup}s" "$url" >/dev/null # warm-up (the JIT: see proxy-compare.sh)

# a lean recording: per-thread allocated bytes at its start and end, and allocation samples
jfr configure --input none +jdk.ThreadAllocationStatistics#enabled=true +jdk.ThreadAllocationStatistics#period=everyChunk \
  +jdk.ObjectAllocationSample#enabled=true +jdk.ObjectAllocationSample#throttle=300/s +jdk.ObjectAllocationSample#stackTrace=true \
  --output "$work/alloc.jfc" >/dev/null
gc_before=$(wc -l <"$work/gc.log")
jcmd "$jpid" JFR.start name=m settings="$work/alloc.jfc" >/dev/null
t0="$(awk '{print $14 + $15}' "/proc/$jpid/stat")"
o="$(taskset -c 0 wrk -t1 -c"$conns" -d"${duration}s" --latency "$url")"
t1="$(awk '{print $14 + $15}' "/proc/$jpid/stat")"
jcmd "$jpid" JFR.stop name=m filename="$work/m.jfr" >/dev/null
sleep 0.5
tail -n +"$((gc_before + 1))" "$work/gc.log" >"$work/gc-run.log"

reqs="$(awk '/requests in/ {print $1}' <<<"$o")"
echo "$o"
echo
# per-thread allocated bytes: last minus first sample of each thread within the recording
jfr print --json --events jdk.ThreadAllocationStatistics "$work/m.jfr" \
  | jq -r '.recording.events[].values | "\(.thread.javaName | gsub(" "; "_")) \(.allocated)"' | awk '
  {if (!($1 in first)) first[$1]=$2; last[$1]=$2}
  END {for (n in first) if (last[n]-first[n] > 0) printf "%s %d\n", n, last[n]-first[n]}' | sort -k2 -n -r >"$work/threads.txt"
echo "allocated during the run, by thread (bytes):"
head -5 "$work/threads.txt" | sed 's/^/  /'
loop_bytes="$(awk '$1 ~ /loop/ {s+=$2} END {print s+0}' "$work/threads.txt")"
young="$(grep -c 'Pause Young' "$work/gc-run.log" || true)"
full="$(grep -c 'Pause Full' "$work/gc-run.log" || true)"
pauses="$(grep -o '[0-9.]*ms$' "$work/gc-run.log" | tr -d 'ms' | sort -g | awk '{a[NR]=$1; s+=$1} END {if (NR) printf "total %.1f ms, median %.2f ms, max %.2f ms", s, a[int((NR+1)/2)], a[NR]; else print "none"}')"
echo
echo "requests: $reqs in ${duration}s"
awk -v b="$loop_bytes" -v r="$reqs" 'BEGIN {printf "loop thread(s) allocated: %d bytes = %.0f bytes/request\n", b, b/r}'
awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v r="$reqs" 'BEGIN {printf "proxy process CPU (user + system): %.1f us/request\n", t / hz * 1e6 / r}'
awk -v y="$young" -v f="$full" -v r="$reqs" 'BEGIN {printf "GCs: %d young, %d full = %.2f young GCs per 100k requests\n", y, f, y*100000/r}'
echo "GC pauses: $pauses"
echo
echo "top allocation sites (JFR samples, loop thread):"
jfr view --width 160 allocation-by-site "$work/m.jfr" 2>/dev/null | head -30 || true
[ -n "$keep_jfr" ] && cp "$work/m.jfr" "$keep_jfr"
[ -n "$keep_gc" ] && cp "$work/gc.log" "$keep_gc"
exit 0
