#!/usr/bin/env bash
# jhv-bench/bench-compare.sh: `hv bench` against wrk, the load generators side by side (issue 11).
#
# Both generators load the same servers with the same loads: the C ceiling server
# (src/main/c/plaintext_server.c: it barely works, so the generator is the limit) and
# `hv httpd --threads 1` (jhv's server). Loads: 64 and 256 connections, without pipelining and
# pipelined 16 deep (wrk with src/main/lua/pipeline.lua, hv bench with --pipeline 16), one thread
# each (`wrk -t1`, `hv bench -t 1`). The generator runs pinned to CPU 1, the server to CPU 0.
# Rounds are interleaved (every load x server x generator per round, the generators' order
# alternating per round); the tables give medians: requests/s, the ratio hv/wrk, and both
# generators' p50 and p99 latency (wrk --latency; hv bench --json) and CPU use.
#
# hv bench runs in a fresh JVM each time with `--warmup W` (default 2 s: the same load, measured
# results dropped) so the JIT has compiled the engine; wrk (C) needs none. The server has been
# warmed up before the rounds anyway.
#
# Usage: jhv-bench/bench-compare.sh [--quick] [--rounds N] [--duration S] [--warmup S] [--no-build]
#                                   [--servers "c jhv"] [--loads "64:0 256:0 64:16 256:16"]
# Writes jhv-bench/results/<date>-bench.md (--quick: jhv-bench/target/bench-compare/).
# Env: JHV_BENCH_SERVER_CPU / JHV_BENCH_CLIENT_CPU (default 0 / 1).
set -euo pipefail

bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$bench")"
cmdline="jhv-bench/bench-compare.sh${*:+ $*}"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "bench-compare: $*" >&2; exit 1; }
note() { echo "bench-compare: $*" >&2; }

quick=0 build=1 rounds="" duration="" warmup="" servers="c jhv" loads="64:0 256:0 64:16 256:16" port_base=18180
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --rounds) rounds="${2:?}"; shift ;;
    --duration) duration="${2:?}"; shift ;;
    --warmup) warmup="${2:?}"; shift ;;
    --no-build) build=0 ;;
    --servers) servers="${2:?}"; shift ;;
    --loads) loads="${2:?}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done
if [ "$quick" = 1 ]; then
  rounds="${rounds:-1}" duration="${duration:-3}" warmup="${warmup:-1}"
else
  rounds="${rounds:-3}" duration="${duration:-10}" warmup="${warmup:-2}"
fi
for v in rounds duration warmup; do [[ "${!v}" =~ ^[0-9]+$ ]] || die "--$v must be a whole number"; done
[ "$(uname -s)" = Linux ] || die "needs Linux (taskset, /proc)"
. "$root/find-jdk.sh" >/dev/null
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
server_cpu="${JHV_BENCH_SERVER_CPU:-0}" client_cpu="${JHV_BENCH_CLIENT_CPU:-1}"

work="$bench/target/bench-compare"; logs="$work/logs"; mkdir -p "$logs"
out_dir="$bench/results"; [ "$quick" = 1 ] && out_dir="$work"
stamp="$(date -u +%Y-%m-%d)"
out="$out_dir/$stamp-bench.md"; n=2
while [ "$quick" = 0 ] && [ -e "$out" ]; do out="$out_dir/$stamp-bench-$n.md"; n=$((n + 1)); done

command -v wrk >/dev/null || die "missing wrk (Debian: apt-get install wrk)"
command -v taskset >/dev/null || die "missing taskset"
command -v curl >/dev/null || die "missing curl"
hv_jar="$root/jhv-cli/target/hv.jar"
if [ "$build" = 1 ]; then
  note "building jhv-cli (mvn package, no tests)..."
  (cd "$root" && mvn -q -B -ntp -o -Dmaven.test.skip=true -pl jhv-cli -am package) >"$logs/build.log" 2>&1 \
    || { tail -30 "$logs/build.log" >&2; die "build failed"; }
fi
[ -f "$hv_jar" ] || die "missing $hv_jar (run without --no-build)"
c_server="$work/plaintext_server"
gcc -O2 -Wall -o "$c_server" "$bench/src/main/c/plaintext_server.c" || die "gcc failed"

java_major=$(jhv_java_major "$JAVA_HOME/bin/java")
server_jvm=(-Xms1g -Xmx1g -XX:+UseParallelGC -XX:+AlwaysPreTouch --add-exports java.base/sun.nio.ch=ALL-UNNAMED)
gen_jvm=(-Xms512m -Xmx512m -XX:+UseParallelGC -XX:+AlwaysPreTouch --add-exports java.base/sun.nio.ch=ALL-UNNAMED)
[ "$java_major" -ge 23 ] && server_jvm+=(--sun-misc-unsafe-memory-access=allow)

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
start_server() {
  local name="$1" port="$2"; shift 2
  taskset -c "$server_cpu" "$@" >"$logs/server-$name.log" 2>&1 &
  pids+=("$!"); spid[$name]=$!; sport[$name]=$port
}
wait_ready() {
  local port="${sport[$1]}" pid="${spid[$1]}" i
  for i in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$(curl -s -m 2 "http://127.0.0.1:$port/plaintext" 2>/dev/null || true)" = "Hello, World!" ] && return 0
    sleep 0.1
  done
  return 1
}
hz=$(getconf CLK_TCK)
cpu_ticks() { local line rest; read -r line <"/proc/$1/stat" || { echo 0; return; }; rest="${line##*) }"; set -- $rest; echo $(( ${12} + ${13} )); }
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) printf "%.6f", v[(NR + 1) / 2]; else printf "%.6f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
group() { awk -v x="$1" 'BEGIN { s = sprintf("%.0f", x); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) } print s o }'; }
ratio() { if [ -z "$1" ] || [ -z "$2" ]; then echo n/a; return; fi; awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# wrk's latency cell (1.23ms, 456.00us, 1.02s, 2.00m) -> milliseconds
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
  if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000; else if (u == "ns") n /= 1e6; printf "%.3f", n }'; }
load_label() { local c="${1%%:*}" d="${1##*:}"; if [ "$d" = 0 ]; then echo "$c conns"; else echo "$c conns, pipelined $d"; fi; }

# run_gen GEN SERVER LOAD OUTFILE -> sets rps p50 p99 gcpu scpu other errs
run_gen() {
  local gen="$1" s="$2" load="$3" f="$4" c="${3%%:*}" d="${3##*:}" port="${sport[$2]}" pid="${spid[$2]}"
  local url="http://127.0.0.1:$port/plaintext" t0 t1 s0 s1 b0 b1
  local cmd
  if [ "$gen" = wrk ]; then
    cmd=(wrk -t1 "-c$c" "-d${duration}s" --latency)
    [ "$d" != 0 ] && cmd+=(-s "$bench/src/main/lua/pipeline.lua")
    cmd+=("$url")
    [ "$d" != 0 ] && cmd+=(-- "$d")
  else
    cmd=(java "${gen_jvm[@]}" -jar "$hv_jar" bench -t 1 -c "$c" -d "${duration}s" --warmup "${warmup}s" -q --json)
    [ "$d" != 0 ] && cmd+=(--pipeline "$d")
    cmd+=("$url")
  fi
  local ext=0; [ "$gen" = hv ] && ext="$warmup"
  # the generator's CPU: /usr/bin/time (user + sys seconds over its wall time); hv's warm-up is in both
  s0=$(cpu_ticks "$pid"); b0=$(busy_ticks); t0=$(date +%s.%N)
  timeout -k 5 $((duration + ext + 60)) taskset -c "$client_cpu" /usr/bin/time -f 'GENCPU %e %U %S' "${cmd[@]}" >"$f" 2>&1 || true
  t1=$(date +%s.%N); s1=$(cpu_ticks "$pid"); b1=$(busy_ticks)
  local gl; gl=$(grep '^GENCPU ' "$f" | tail -n1 || true)
  read -r _ ge gu gs <<<"${gl:-GENCPU 1 0 0}"
  gcpu=$(awk -v e="$ge" -v u="$gu" -v s="$gs" 'BEGIN { if (e > 0) printf "%.0f", 100 * (u + s) / e; else print "" }')
  read -r scpu other < <(awk -v s0="$s0" -v s1="$s1" -v b0="$b0" -v b1="$b1" -v t0="$t0" -v t1="$t1" -v hz="$hz" -v gu="$gu" -v gs="$gs" \
    'BEGIN { w = t1 - t0; s = (s1 - s0) / hz; o = (b1 - b0) / hz - s - gu - gs; if (o < 0) o = 0; printf "%.0f %.0f\n", 100 * s / w, 100 * o / w }')
  errs=""
  if [ "$gen" = wrk ]; then
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$f")
    p50=$(to_ms "$(awk '$1 == "50%" { print $2; exit }' "$f")")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2; exit }' "$f")")
    errs=$(awk '/Socket errors:/ { sub(/.*Socket errors: /, ""); e = e "socket " $0 "; " } /Non-2xx/ { e = e "non-2xx " $NF "; " } END { print e }' "$f")
  else
    local j; j=$(grep '^{' "$f" | tail -n1 || true)
    rps=$(sed -n 's/.*"requests_per_sec":\([0-9.]*\).*/\1/p' <<<"$j")
    p50=$(sed -n 's/.*"p50":\([0-9.]*\).*/\1/p' <<<"$j")
    p99=$(sed -n 's/.*"p99":\([0-9.]*\).*/\1/p' <<<"$j")
    local et; et=$(sed -n 's/.*"total":\([0-9]*\).*/\1/p' <<<"$j")
    [ "${et:-0}" != 0 ] && errs="errors $et"
  fi
  [ -z "$rps" ] && errs="failed: $(grep -v GENCPU "$f" | tail -n1); $errs"
  kill -0 "$pid" 2>/dev/null || errs="server died; $errs"
  return 0
}

java_version=$("$JAVA_HOME/bin/java" -version 2>&1 | sed -n '2p')
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
wrk_version=$( (wrk -v 2>&1 || true) | awk 'NR == 1 { print $2 }')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

for s in $servers; do
  take_port
  case "$s" in
    c) start_server c "$p" "$c_server" "$p" 127.0.0.1 ;;
    jhv) start_server jhv "$p" java "${server_jvm[@]}" -jar "$hv_jar" httpd --threads 1 --host 127.0.0.1 --port "$p" ;;
    *) die "unknown server $s (c or jhv)" ;;
  esac
done
for s in $servers; do wait_ready "$s" || die "$s did not answer GET /plaintext (log: $logs/server-$s.log)"; done
for s in $servers; do
  note "warming up $s (wrk, 5 s pipelined + 5 s plain)"
  taskset -c "$client_cpu" wrk -t1 -c256 -d5s -s "$bench/src/main/lua/pipeline.lua" "http://127.0.0.1:${sport[$s]}/plaintext" -- 16 >/dev/null 2>&1 || true
  taskset -c "$client_cpu" wrk -t1 -c64 -d5s "http://127.0.0.1:${sport[$s]}/plaintext" >/dev/null 2>&1 || true
done

raw="$work/raw.tsv"; : >"$raw"
for r in $(seq 1 "$rounds"); do
  for load in $loads; do
    for s in $servers; do
      if [ $((r % 2)) = 1 ]; then gens="wrk hv"; else gens="hv wrk"; fi
      for g in $gens; do
        sleep 1
        run_gen "$g" "$s" "$load" "$logs/r$r-$s-$g-${load/:/-}.txt"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$load" "$s" "$g" "${rps:-}" "${p50:-}" "${p99:-}" "${gcpu:-}" "${scpu:-}" "${other:-}" "${errs:-}" >>"$raw"
        note "round $r/$rounds, $(load_label "$load"), server $s, $g: ${rps:-?} req/s, p50 ${p50:-?} ms, p99 ${p99:-?} ms, generator CPU ${gcpu:-?}%, server CPU ${scpu:-?}%, other ${other:-?}%${errs:+, $errs}"
      done
    done
  done
done
cleanup

col() { awk -F'\t' -v l="$2" -v s="$3" -v g="$4" -v c="$5" '$2 == l && $3 == s && $4 == g && $c != "" { print $c }' "$1" | median; }
{
  echo "# hv bench vs wrk ($(date -u +%Y-%m-%d))"
  echo
  echo "- command: \`$cmdline\` ($rounds interleaved round(s) of ${duration} s per load, server and generator; hv bench with \`--warmup ${warmup}s\` before its ${duration} s)"
  echo "- machine: $(nproc) cores ($cpu_model), $(uname -sr), load average at start $load_start"
  echo "- $java_version; wrk ${wrk_version:-?}; generators pinned to CPU $client_cpu, servers to CPU $server_cpu"
  echo "- wrk: \`wrk -t1 -cN -d${duration}s --latency [-s src/main/lua/pipeline.lua URL -- 16]\`;" \
       "hv: \`java ${gen_jvm[*]} -jar hv.jar bench -t 1 -c N -d ${duration}s --warmup ${warmup}s -q --json [--pipeline 16] URL\`"
  echo "- servers: C = src/main/c/plaintext_server.c (the ceiling: the generator is the limit); jhv = \`hv httpd --threads 1\` (JVM: ${server_jvm[*]})"
  echo
  echo "Medians over the rounds (requests/s; latency in ms; CPU in % of one core):"
  echo
  echo "| server | load | wrk req/s | hv req/s | hv / wrk | wrk p50 | hv p50 | wrk p99 | hv p99 | wrk CPU | hv CPU | server CPU (wrk / hv) |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for s in $servers; do
    for load in $loads; do
      w=$(col "$raw" "$load" "$s" wrk 5); h=$(col "$raw" "$load" "$s" hv 5)
      printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s |\n' "$s" "$(load_label "$load")" \
        "$( [ -n "$w" ] && group "$w" || echo -)" "$( [ -n "$h" ] && group "$h" || echo -)" "$(ratio "$h" "$w")" \
        "$(col "$raw" "$load" "$s" wrk 6 | xargs printf '%.3f' 2>/dev/null || echo -)" "$(col "$raw" "$load" "$s" hv 6 | xargs printf '%.3f' 2>/dev/null || echo -)" \
        "$(col "$raw" "$load" "$s" wrk 7 | xargs printf '%.3f' 2>/dev/null || echo -)" "$(col "$raw" "$load" "$s" hv 7 | xargs printf '%.3f' 2>/dev/null || echo -)" \
        "$(col "$raw" "$load" "$s" wrk 8 | xargs printf '%.0f' 2>/dev/null || echo -)" "$(col "$raw" "$load" "$s" hv 8 | xargs printf '%.0f' 2>/dev/null || echo -)" \
        "$(col "$raw" "$load" "$s" wrk 9 | xargs printf '%.0f' 2>/dev/null || echo -)" "$(col "$raw" "$load" "$s" hv 9 | xargs printf '%.0f' 2>/dev/null || echo -)"
    done
  done
  echo
  echo "Requests per CPU-second of the generator (its requests/s divided by its CPU use; medians over the rounds): this"
  echo "depends much less on how much CPU other processes left the generator, so on a busy machine it is the measure that"
  echo "compares the two engines (hv's CPU includes its JVM start-up, JIT threads and warm-up, so it errs against hv):"
  echo
  echo "| server | load | wrk req per CPU-s | hv req per CPU-s | hv / wrk |"
  echo "| --- | --- | ---: | ---: | ---: |"
  for s in $servers; do
    for load in $loads; do
      w=$(awk -F'\t' -v l="$load" -v s="$s" '$2 == l && $3 == s && $4 == "wrk" && $5 != "" && $8 > 0 { print $5 / ($8 / 100) }' "$raw" | median)
      h=$(awk -F'\t' -v l="$load" -v s="$s" '$2 == l && $3 == s && $4 == "hv" && $5 != "" && $8 > 0 { print $5 / ($8 / 100) }' "$raw" | median)
      printf '| %s | %s | %s | %s | %s |\n' "$s" "$(load_label "$load")" "$( [ -n "$w" ] && group "$w" || echo -)" "$( [ -n "$h" ] && group "$h" || echo -)" "$(ratio "$h" "$w")"
    done
  done
  echo
  echo "Target (issue 11): hv bench >= 0.8 x wrk's requests/s on the same server and load. Against the C server the"
  echo "generator is the limit, so that row compares the generators; against jhv the server may be the limit"
  echo "(server CPU near 100%), and then both generators measure the same server."
  echo
  echo "<details><summary>All runs</summary>"
  echo
  echo "| round | load | server | generator | req/s | p50 ms | p99 ms | generator CPU % | server CPU % | other CPU % | notes |"
  echo "| ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }' "$raw"
  echo
  echo "</details>"
} >"$out"
cat "$out"
note "written: ${out#"$root"/}"
