#!/usr/bin/env bash
# jhv-bench/compare.sh: the side-by-side load harness of issue 4.
#
# HTTP plaintext: `hv httpd --threads 1` against a Netty 4.2 peer (one loop, native epoll and NIO)
# and a minimal C epoll server (the ceiling of this machine's loopback path), loaded by wrk.
# TCP echo: `hv echo --threads 1` against a Netty echo peer (epoll and NIO), loaded by a pingpong
# client (64 connections, 1 KiB messages).
#
# Each server runs pinned to CPU 0 and the load generator to CPU 1; every JVM server gets the same
# JVM flags. Each server is warmed up, then rounds run every load against every server (order
# rotated per round) so drift hits all alike. Results: medians per server and load, the ratios
# jhv/Netty-epoll and jhv/C, the server's CPU use from /proc (a server below ~95% was not the
# bottleneck: the load generator was), and the CPU used by other processes during each run (noise).
# Tables are printed and written to jhv-bench/results/<date>-http.md and <date>-echo.md (a --quick
# run writes them to jhv-bench/target/compare/ instead).
#
# Usage: jhv-bench/compare.sh [--quick] [--only http|echo] [--rounds N] [--duration S] [--warmup S]
#                             [--no-build] [--port-base P] [--noise-limit PCT] [--quiet-wait S]
#                             [--echo-client c|java]
#
# The echo load comes from pingpong_client.c by default: the Java PingPongClient costs about as
# much CPU as the server it loads, so with it the client, not the server, is the limit.
#
# Other processes on the machine (builds, tests) distort the numbers. Before each run the harness
# waits up to --quiet-wait seconds (default 30; 240 s in all at most) until other processes use
# less than --noise-limit % of a core (default 30). Each run records their CPU use; a run where it
# exceeded the limit is run again once (at most a quarter of all runs are), and a run still noisy
# after that is marked with * in the tables. On a quiet machine none of this costs time.
# Env:   JHV_BENCH_JVM_FLAGS overrides the servers' JVM flags; JHV_BENCH_SERVER_CPU / _CLIENT_CPU the CPUs.
set -euo pipefail

bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$bench")"
cmdline="jhv-bench/compare.sh${*:+ $*}"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "compare: $*" >&2; exit 1; }
note() { echo "compare: $*" >&2; }

echo_client=c quick=0 only=all build=1 port_base=18080 noise_limit=30 quiet_wait=30 gate_budget=240
rounds="" duration="" warmup=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --only) only="${2:?--only needs http or echo}"; shift ;;
    --rounds) rounds="${2:?}"; shift ;;
    --duration) duration="${2:?}"; shift ;;
    --warmup) warmup="${2:?}"; shift ;;
    --no-build) build=0 ;;
    --port-base) port_base="${2:?}"; shift ;;
    --noise-limit) noise_limit="${2:?}"; shift ;;
    --quiet-wait) quiet_wait="${2:?}"; shift ;;
    --echo-client) echo_client="${2:?--echo-client needs c or java}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done
case "$only" in all|http|echo) ;; *) die "--only must be http or echo, not $only" ;; esac
case "$echo_client" in c|java) ;; *) die "--echo-client must be c or java, not $echo_client" ;; esac
if [ "$quick" = 1 ]; then
  rounds="${rounds:-1}" duration="${duration:-3}" warmup="${warmup:-2}"
else
  rounds="${rounds:-3}" duration="${duration:-10}" warmup="${warmup:-6}"
fi
for v in rounds duration warmup port_base noise_limit quiet_wait; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "--${v/_/-} must be a whole number, not ${!v}"
done
[ "$rounds" -ge 1 ] && [ "$duration" -ge 1 ] || die "--rounds and --duration must be at least 1"

[ "$(uname -s)" = Linux ] || die "needs Linux (taskset, /proc, epoll)"
. "$root/find-jdk.sh" >/dev/null
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"

ncpu=$(nproc)
server_cpu="${JHV_BENCH_SERVER_CPU:-0}"
client_cpu="${JHV_BENCH_CLIENT_CPU:-1}"
if [ "$ncpu" -lt 2 ]; then
  note "only $ncpu CPU: server and load generator share it; numbers will not mean much"
  client_cpu="$server_cpu"
fi

work="$bench/target/compare"
logs="$work/logs"
results="$bench/results"
mkdir -p "$logs" "$results"
stamp="$(date -u +%Y-%m-%d)"
# Full runs go to results/ (kept, never overwritten: a second run the same day gets -2, ...);
# --quick smoke runs go to target/compare/.
out_dir="$results"; [ "$quick" = 1 ] && out_dir="$work"
result_file() { # kind -> sets out to a new file name
  local n=2
  out="$out_dir/$stamp-$1.md"
  while [ "$quick" = 0 ] && [ -e "$out" ]; do out="$out_dir/$stamp-$1-$n.md"; n=$((n + 1)); done
}

# ------------------------------------------------------------------ tools and builds

need_tool() { command -v "$1" >/dev/null 2>&1; }
if ! need_tool wrk || ! need_tool curl || ! need_tool gcc; then
  missing=()
  need_tool wrk || missing+=(wrk)
  need_tool curl || missing+=(curl)
  need_tool gcc || missing+=(gcc)
  if [ "$(id -u)" = 0 ] && need_tool apt-get; then
    note "installing ${missing[*]}"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
      || die "could not install ${missing[*]}"
  else
    die "missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]})"
  fi
fi
need_tool taskset || die "missing taskset (util-linux)"

if [ "$build" = 1 ]; then
  note "building jhv-cli and jhv-bench (mvn package, tests neither compiled nor run)..."
  if ! (cd "$root" && mvn -q -B -ntp -Dmaven.test.skip=true -pl jhv-cli,jhv-bench -am package) >"$logs/build.log" 2>&1; then
    tail -40 "$logs/build.log" >&2
    die "build failed (full log: $logs/build.log)"
  fi
fi
bench_jar="$bench/target/benchmarks.jar"
hv_jar="$root/jhv-cli/target/hv.jar"
[ -f "$bench_jar" ] || die "missing $bench_jar (run without --no-build)"
[ -f "$hv_jar" ] || die "missing $hv_jar (run without --no-build)"
c_server="$work/plaintext_server"
gcc -O2 -Wall -o "$c_server" "$bench/src/main/c/plaintext_server.c" || die "gcc failed on plaintext_server.c"
c_client="$work/pingpong_client"
gcc -O2 -Wall -o "$c_client" "$bench/src/main/c/pingpong_client.c" || die "gcc failed on pingpong_client.c"

java_major=$(jhv_java_major "$JAVA_HOME/bin/java")
if [ -n "${JHV_BENCH_JVM_FLAGS:-}" ]; then
  read -r -a jvm_flags <<<"$JHV_BENCH_JVM_FLAGS"
else
  # The same for every JVM server. A fixed, pre-touched heap and the throughput collector keep GC
  # sizing out of the comparison; the add-exports is what ./hv passes; the other two let Netty use
  # its native transport and Unsafe (its fastest configuration) without warnings.
  jvm_flags=(-Xms1g -Xmx1g -XX:+UseParallelGC -XX:+AlwaysPreTouch
             --enable-native-access=ALL-UNNAMED --add-exports java.base/sun.nio.ch=ALL-UNNAMED)
  [ "$java_major" -ge 23 ] && jvm_flags+=(--sun-misc-unsafe-memory-access=allow)
fi
client_jvm=(-Xms256m -Xmx256m -XX:+UseParallelGC)

java_version=$("$JAVA_HOME/bin/java" -version 2>&1 | sed -n '2p')
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
wrk_version=$( (wrk -v 2>&1 || true) | awk 'NR == 1 { print $2 }')
netty_version=$(sed -n 's:.*<netty.version>\(.*\)</netty.version>.*:\1:p' "$bench/pom.xml")

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
take_port() { # sets p to a free port (not in a subshell: it advances next_port)
  while port_in_use "$next_port"; do next_port=$((next_port + 1)); done
  p=$next_port
  next_port=$((next_port + 1))
}

# start_server NAME PORT CMD... : runs CMD pinned to the server CPU, in the background.
start_server() {
  local name="$1" port="$2"; shift 2
  taskset -c "$server_cpu" "$@" >"$logs/$phase-$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  spid[$name]=$pid
  sport[$name]=$port
}

stop_servers() {
  cleanup
  spid=() sport=()
}

# wait_ready NAME http|tcp : up to 30 s for the server to answer; false if it died or never did.
wait_ready() {
  local name="$1" kind="$2" port="${sport[$1]}" pid="${spid[$1]}" i body
  for i in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || return 1
    if [ "$kind" = http ]; then
      body=$(curl -s -m 2 "http://127.0.0.1:$port/plaintext" 2>/dev/null || true)
      [ "$body" = "Hello, World!" ] && return 0
    else
      port_in_use "$port" && return 0
    fi
    sleep 0.1
  done
  return 1
}

# CPU ticks (utime+stime) of a process.
cpu_ticks() {
  local line rest
  read -r line <"/proc/$1/stat" || { echo 0; return; }
  rest="${line##*) }"
  # shellcheck disable=SC2086
  set -- $rest
  echo $(( ${12} + ${13} ))
}
# Busy ticks of the whole machine (all CPUs) from /proc/stat.
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
# Sets csec to the CPU seconds used so far by this shell's waited-for children (bash `times`,
# second line). Must run in this shell, not in $(...): a subshell has its own, empty, child times.
child_secs() {
  local f="$work/.times"
  times >"$f"
  csec=$(tail -n1 "$f" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] } printf "%.3f", t }')
}
hz=$(getconf CLK_TCK)

# wait_quiet: samples 1 s of the machine's CPU use (our servers are idle between runs, so it is all
# other processes') and, while it is above the noise limit, keeps sampling for up to quiet_wait s of
# this run's share of the gate budget. Also the pause between runs.
wait_quiet() {
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
mark_h() { awk -F'\t' -v l="$2" -v s="$3" '$2 == l && $3 == s && $8 ~ /noisy/ { f = 1 } END { if (f) printf "\\*" }' "$1"; }
mark_e() { awk -F'\t' -v s="$2" '$2 == s && $8 ~ /noisy/ { f = 1 } END { if (f) printf "\\*" }' "$1"; }
median() { # values on stdin, one a line -> median (empty if none)
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) printf "%.6f", v[(NR + 1) / 2]; else printf "%.6f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
group() { # 1234567.8 -> 1,234,568
  awk -v x="$1" 'BEGIN { s = sprintf("%.0f", x); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) } print s o }'
}
ratio() { # a b -> a/b with two decimals, or "n/a"
  if [ -z "$1" ] || [ -z "$2" ]; then echo "n/a"; return; fi
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}
verdict() { # ratio threshold -> yes / no / n/a
  if [ "$1" = n/a ] || [ -z "$1" ]; then echo "n/a"; return; fi
  awk -v r="$1" -v t="$2" 'BEGIN { print (r + 0 >= t + 0) ? "yes" : "no" }'
}
pct() { [ -n "$1" ] && awk -v x="$1" 'BEGIN { printf "%.0f", x }' || echo "-"; }

machine_lines() {
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- command: \`$cmdline\`"
  echo "- machine: $ncpu cores ($cpu_model), Linux $(uname -r); $java_version; Netty $netty_version; wrk $wrk_version"
  echo "- pinning: server on CPU $server_cpu (\`taskset -c $server_cpu\`), load generator on CPU $client_cpu"
  echo "- JVM flags of every JVM server: \`${jvm_flags[*]}\`"
  echo "- rounds: $rounds x ${duration} s per load and server, interleaved (server order rotated per round); warm-up ${warmup} s per load kind per server"
  echo "- load average at start: $load_start; noise gate: wait up to ${quiet_wait} s before a run for other processes < ${noise_limit}% of a core, rerun a noisy run once"
}
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# ================================================================== HTTP

http_loads=("64:0" "256:0" "64:16" "256:16")
load_label() { local c="${1%%:*}" p="${1##*:}"; if [ "$p" = 0 ]; then echo "$c conns"; else echo "$c conns, pipelined $p"; fi; }
wrk_headers=(-H "Host: 127.0.0.1" -H "Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7" -H "Connection: keep-alive")

# run_wrk NAME LOAD SECONDS OUTFILE -> sets rps, scpu, wcpu, other, errs
run_wrk() {
  local name="$1" load="$2" secs="$3" out="$4"
  local conns="${load%%:*}" depth="${load##*:}" port="${sport[$1]}" pid="${spid[$1]}"
  local args=(-t1 "-c$conns" "-d${secs}s" --timeout 4s "${wrk_headers[@]}")
  local tail_args=()
  if [ "$depth" != 0 ]; then args+=(-s "$bench/src/main/lua/pipeline.lua"); tail_args=(-- "$depth"); fi
  local t0 t1 s0 s1 c0 c1 b0 b1
  s0=$(cpu_ticks "$pid"); b0=$(busy_ticks); child_secs; c0=$csec; t0=$(date +%s.%N)
  timeout -k 5 $((secs + 30)) taskset -c "$client_cpu" wrk "${args[@]}" "http://127.0.0.1:$port/plaintext" "${tail_args[@]}" >"$out" 2>&1 || true
  t1=$(date +%s.%N); child_secs; c1=$csec; b1=$(busy_ticks); s1=$(cpu_ticks "$pid")
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  read -r scpu wcpu other < <(awk -v s0="$s0" -v s1="$s1" -v c0="$c0" -v c1="$c1" -v b0="$b0" -v b1="$b1" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
    'BEGIN { w = t1 - t0; s = (s1 - s0) / hz; c = c1 - c0; o = (b1 - b0) / hz - s - c; if (o < 0) o = 0;
             printf "%.1f %.1f %.1f\n", 100 * s / w, 100 * c / w, 100 * o / w }')
  errs=$(awk '/Socket errors:/ { sub(/.*Socket errors: /, ""); e = e "socket " $0 "; " } /Non-2xx/ { e = e "non-2xx " $NF "; " } END { print e }' "$out")
  if [ -z "$rps" ]; then errs="wrk failed: $(tail -n1 "$out"); $errs"; fi
  kill -0 "$pid" 2>/dev/null || errs="server died; $errs"
}

http_servers=()
declare -A http_title=([jhv]="jhv" [netty-epoll]="Netty epoll" [netty-nio]="Netty NIO" [c]="C ceiling")
jhv_http_note=""

run_http() {
  local raw="$work/http-raw.tsv" p
  : >"$raw"
  phase=http
  note "HTTP: starting servers"
  local help
  help=$(java -jar "$hv_jar" --help 2>&1 || true)
  if grep -qw httpd <<<"$help"; then
    local hv_args=(httpd --threads 1)
    help=$(java -jar "$hv_jar" httpd --help 2>&1 || true)
    take_port
    hv_args+=(--port "$p")
    grep -q -- '--host' <<<"$help" && hv_args+=(--host 127.0.0.1)
    start_server jhv "$p" java "${jvm_flags[@]}" -jar "$hv_jar" "${hv_args[@]}"
    http_servers+=(jhv)
  else
    jhv_http_note="\`hv httpd\` does not exist yet in this build (\`hv --help\` lists no httpd): jhv was skipped for HTTP."
    note "$jhv_http_note"
  fi
  take_port; start_server netty-epoll "$p" java "${jvm_flags[@]}" -cp "$bench_jar" io.jhv.bench.peer.NettyHttpServer --transport epoll --host 127.0.0.1 --port "$p"
  http_servers+=(netty-epoll)
  take_port; start_server netty-nio "$p" java "${jvm_flags[@]}" -cp "$bench_jar" io.jhv.bench.peer.NettyHttpServer --transport nio --host 127.0.0.1 --port "$p"
  http_servers+=(netty-nio)
  take_port; start_server c "$p" "$c_server" "$p" 127.0.0.1
  http_servers+=(c)

  local ready=() s
  for s in "${http_servers[@]}"; do
    if wait_ready "$s" http; then
      ready+=("$s")
    else
      local why="did not answer GET /plaintext with \"Hello, World!\" within 30 s (log: $logs/http-$s.log)"
      note "$s $why; skipped"
      [ "$s" = jhv ] && jhv_http_note="\`hv httpd --threads 1\` $why: jhv was skipped for HTTP."
      kill -TERM "${spid[$s]}" 2>/dev/null || true
    fi
  done
  http_servers=("${ready[@]}")
  [ ${#http_servers[@]} -gt 0 ] || die "no HTTP server came up"

  for s in "${http_servers[@]}"; do
    note "HTTP: warming up $s (${warmup} s pipelined, ${warmup} s plain)"
    run_wrk "$s" "256:16" "$warmup" "$logs/warm-$s-1.txt"
    run_wrk "$s" "64:0" "$warmup" "$logs/warm-$s-2.txt"
  done

  local r l i n=${#http_servers[@]} load
  local retries=$(( (rounds * ${#http_loads[@]} * n + 3) / 4 ))
  for r in $(seq 1 "$rounds"); do
    for load in "${http_loads[@]}"; do
      for i in $(seq 0 $((n - 1))); do
        s="${http_servers[$(( (i + r - 1) % n ))]}"
        wait_quiet
        run_wrk "$s" "$load" "$duration" "$logs/http-r$r-$s-${load/:/-}.txt"
        if noisy "$other" && [ "$retries" -gt 0 ]; then
          retries=$((retries - 1))
          note "HTTP round $r, $(load_label "$load"), $s: other processes used ${other}% CPU; running it again"
          wait_quiet
          run_wrk "$s" "$load" "$duration" "$logs/http-r$r-$s-${load/:/-}.txt"
          errs="retried; ${errs:-}"
        fi
        noisy "$other" && errs="noisy; ${errs:-}"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$load" "$s" "${rps:-}" "$scpu" "$wcpu" "$other" "${errs:-}" >>"$raw"
        note "HTTP round $r/$rounds, $(load_label "$load"), $s: ${rps:-?} req/s, server CPU ${scpu}%, wrk CPU ${wcpu}%, other ${other}%${errs:+, $errs}"
      done
    done
  done
  stop_servers
  local out
  result_file http
  write_http_table "$raw" >"$out"
  cat "$out"
  note "written: ${out#"$root"/}"
}

col() { # raw load server column -> median of that column over rounds
  awk -F'\t' -v l="$2" -v s="$3" -v c="$4" '$2 == l && $3 == s && $c != "" { print $c }' "$1" | median
}

write_http_table() {
  local raw="$1" load s v cells
  echo "# HTTP plaintext: jhv vs Netty 4.2 vs C ($(date -u +%Y-%m-%d))"
  echo
  machine_lines
  echo "- load: \`wrk -t1 -cN -d${duration}s\` on GET /plaintext with TechEmpower's headers; pipelined loads use \`src/main/lua/pipeline.lua\` (16 requests per write)"
  [ -n "$jhv_http_note" ] && echo "- **$jhv_http_note**"
  echo
  echo "Median requests/s over the rounds:"
  echo
  echo "| load | jhv | Netty epoll | Netty NIO | C ceiling | jhv / Netty epoll | jhv / C |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  for load in "${http_loads[@]}"; do
    cells="| $(load_label "$load")"
    declare -A med=()
    for s in jhv netty-epoll netty-nio c; do
      v=$(col "$raw" "$load" "$s" 4)
      med[$s]="$v"
      if [ -n "$v" ]; then cells+=" | $(group "$v")$(mark_h "$raw" "$load" "$s")"; else cells+=" | -"; fi
    done
    cells+=" | $(ratio "${med[jhv]}" "${med[netty-epoll]}") | $(ratio "${med[jhv]}" "${med[c]}") |"
    echo "$cells"
    case "$load" in
      256:16) t_pipe_netty=$(ratio "${med[jhv]}" "${med[netty-epoll]}"); t_pipe_c=$(ratio "${med[jhv]}" "${med[c]}") ;;
      64:0) t_plain_netty=$(ratio "${med[jhv]}" "${med[netty-epoll]}") ;;
    esac
    unset med
  done
  echo
  echo "Targets of issue 4 (ratios from this run):"
  echo
  echo "| target | measured | met |"
  echo "| --- | ---: | --- |"
  echo "| 256 conns pipelined 16: jhv >= 1.0 x Netty epoll (goal 1.5 x) | $t_pipe_netty | $(verdict "$t_pipe_netty" 1.0) |"
  echo "| 256 conns pipelined 16: jhv >= 0.60 x C ceiling | $t_pipe_c | $(verdict "$t_pipe_c" 0.6) |"
  echo "| 64 conns: jhv >= 1.0 x Netty epoll (wrk-bound: see the CPU table) | $t_plain_netty | $(verdict "$t_plain_netty" 1.0) |"
  echo
  if grep -q noisy "$raw"; then
    echo "\\* a run in this cell stayed noisy: other processes used more than ${noise_limit}% of a core during it (see All runs)."
    echo
  fi
  echo "Median CPU use during the runs, in % of one core: server / wrk / other processes (a server well under 100% was not the bottleneck):"
  echo
  echo "| load | jhv | Netty epoll | Netty NIO | C ceiling |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  for load in "${http_loads[@]}"; do
    cells="| $(load_label "$load")"
    for s in jhv netty-epoll netty-nio c; do
      v=$(col "$raw" "$load" "$s" 5)
      if [ -n "$v" ]; then
        cells+=" | $(pct "$v") / $(pct "$(col "$raw" "$load" "$s" 6)") / $(pct "$(col "$raw" "$load" "$s" 7)")"
      else
        cells+=" | -"
      fi
    done
    echo "$cells |"
  done
  echo
  echo "<details><summary>All runs</summary>"
  echo
  echo "| round | load | server | req/s | server CPU % | wrk CPU % | other CPU % | notes |"
  echo "| ---: | --- | --- | ---: | ---: | ---: | ---: | --- |"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$raw" \
    | sed -E 's/\| ([0-9]+):0 \|/| \1 conns |/; s/\| ([0-9]+):([0-9]+) \|/| \1 conns, pipelined \2 |/'
  echo
  echo "</details>"
}

# ================================================================== echo

echo_servers=()
declare -A echo_title=([jhv]="jhv" [netty-epoll]="Netty epoll" [netty-nio]="Netty NIO")
echo_conns=64 echo_size=1024

# run_pingpong NAME WARMUP SECONDS OUTFILE -> sets msgs, mbs, scpu, ccpu, errs
run_pingpong() {
  local name="$1" warm="$2" secs="$3" out="$4" port="${sport[$1]}" pid="${spid[$1]}"
  if [ "$echo_client" = c ]; then
    timeout -k 5 $((warm + secs + 60)) taskset -c "$client_cpu" "$c_client" 127.0.0.1 "$port" "$echo_conns" "$echo_size" \
      "$warm" "$secs" "$pid" >"$out" 2>&1 || true
  else
    timeout -k 5 $((warm + secs + 60)) taskset -c "$client_cpu" java "${client_jvm[@]}" -cp "$bench_jar" io.jhv.bench.peer.PingPongClient \
      --host 127.0.0.1 --port "$port" --connections "$echo_conns" --size "$echo_size" --warmup "$warm" --duration "$secs" \
      --server-pid "$pid" >"$out" 2>&1 || true
  fi
  local line
  line=$(grep '^RESULT ' "$out" || true)
  msgs=$(sed -n 's/.*msgs_per_sec=\([^ ]*\).*/\1/p' <<<"$line")
  mbs=$(sed -n 's/.*mb_per_sec=\([^ ]*\).*/\1/p' <<<"$line")
  scpu=$(sed -n 's/.*server_cpu_pct=\([^ ]*\).*/\1/p' <<<"$line")
  ccpu=$(sed -n 's/.*client_cpu_pct=\([^ ]*\).*/\1/p' <<<"$line")
  other=$(sed -n 's/.*other_cpu_pct=\([^ ]*\).*/\1/p' <<<"$line")
  errs=""
  [ -n "$line" ] || errs="client failed: $(tail -n1 "$out")"
  kill -0 "$pid" 2>/dev/null || errs="server died; $errs"
}

run_echo() {
  local raw="$work/echo-raw.tsv" p s
  : >"$raw"
  phase=echo
  note "echo: starting servers"
  take_port; start_server jhv "$p" java "${jvm_flags[@]}" -jar "$hv_jar" echo --threads 1 --host 127.0.0.1 --port "$p"
  take_port; start_server netty-epoll "$p" java "${jvm_flags[@]}" -cp "$bench_jar" io.jhv.bench.peer.NettyEchoServer --transport epoll --host 127.0.0.1 --port "$p"
  take_port; start_server netty-nio "$p" java "${jvm_flags[@]}" -cp "$bench_jar" io.jhv.bench.peer.NettyEchoServer --transport nio --host 127.0.0.1 --port "$p"
  for s in jhv netty-epoll netty-nio; do
    if wait_ready "$s" tcp; then echo_servers+=("$s"); else note "$s did not listen within 30 s (log: $logs/echo-$s.log); skipped"; kill -TERM "${spid[$s]}" 2>/dev/null || true; fi
  done
  [ ${#echo_servers[@]} -gt 0 ] || die "no echo server came up"
  for s in "${echo_servers[@]}"; do
    note "echo: warming up $s (${warmup} s)"
    run_pingpong "$s" 1 "$warmup" "$logs/warm-echo-$s.txt"
  done
  local r i n=${#echo_servers[@]}
  local retries=$(( (rounds * n + 3) / 4 ))
  for r in $(seq 1 "$rounds"); do
    for i in $(seq 0 $((n - 1))); do
      s="${echo_servers[$(( (i + r - 1) % n ))]}"
      wait_quiet
      run_pingpong "$s" 2 "$duration" "$logs/echo-r$r-$s.txt"
      if noisy "${other:-}" && [ "$retries" -gt 0 ]; then
        retries=$((retries - 1))
        note "echo round $r, $s: other processes used ${other}% CPU; running it again"
        wait_quiet
        run_pingpong "$s" 2 "$duration" "$logs/echo-r$r-$s.txt"
        errs="retried; $errs"
      fi
      noisy "${other:-}" && errs="noisy; $errs"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$s" "${msgs:-}" "${mbs:-}" "${scpu:-}" "${ccpu:-}" "${other:-}" "$errs" >>"$raw"
      note "echo round $r/$rounds, $s: ${msgs:-?} msg/s, ${mbs:-?} MB/s, server CPU ${scpu:-?}%, client CPU ${ccpu:-?}%, other ${other:-?}%${errs:+, $errs}"
    done
  done
  stop_servers
  local out
  result_file echo
  write_echo_table "$raw" >"$out"
  cat "$out"
  note "written: ${out#"$root"/}"
}

ecol() { awk -F'\t' -v s="$2" -v c="$3" '$2 == s && $c != "" && $c != "NaN" { print $c }' "$1" | median; }

write_echo_table() {
  local raw="$1" s
  echo "# TCP echo: jhv vs Netty 4.2 ($(date -u +%Y-%m-%d))"
  echo
  machine_lines
  local client_desc='`PingPongClient` (one thread, NIO'
  [ "$echo_client" = c ] && client_desc='`src/main/c/pingpong_client.c` (one thread, epoll'
  echo "- load: $client_desc, pinned to CPU $client_cpu): $echo_conns connections, ${echo_size}-byte messages, one in flight per connection, ${duration} s after 2 s of warm-up; MB/s = 10^6 bytes echoed per second"
  echo
  echo "Medians over the rounds (CPU in % of one core; \"other\" is all other processes on the machine):"
  echo
  echo "| server | msgs/s | MB/s | server CPU % | client CPU % | other CPU % |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  declare -A mb=()
  for s in jhv netty-epoll netty-nio; do
    local m b
    m=$(ecol "$raw" "$s" 3); b=$(ecol "$raw" "$s" 4); mb[$s]="$b"
    if [ -n "$m" ]; then
      echo "| ${echo_title[$s]} | $(group "$m")$(mark_e "$raw" "$s") | $(awk -v x="$b" 'BEGIN { printf "%.1f", x }') | $(pct "$(ecol "$raw" "$s" 5)") | $(pct "$(ecol "$raw" "$s" 6)") | $(pct "$(ecol "$raw" "$s" 7)") |"
    else
      echo "| ${echo_title[$s]} | - | - | - | - | - |"
    fi
  done
  echo
  if grep -q noisy "$raw"; then
    echo "\\* a run in this row stayed noisy: other processes used more than ${noise_limit}% of a core during it."
    echo
  fi
  local r_epoll
  r_epoll=$(ratio "${mb[jhv]:-}" "${mb[netty-epoll]:-}")
  echo "jhv / Netty epoll (MB/s): $r_epoll; jhv / Netty NIO: $(ratio "${mb[jhv]:-}" "${mb[netty-nio]:-}")."
  echo "Target of issue 4, echo 64 connections 1 KiB: jhv >= Netty epoll in MB/s: $(verdict "$r_epoll" 1.0)."
  echo
  echo "<details><summary>All runs</summary>"
  echo
  echo "| round | server | msgs/s | MB/s | server CPU % | client CPU % | other CPU % | notes |"
  echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$raw"
  echo
  echo "</details>"
}

# ================================================================== main

note "$rounds round(s) x ${duration} s, warm-up ${warmup} s; server CPU $server_cpu, client CPU $client_cpu; load average $load_start"
[ "$only" = echo ] || run_http
[ "$only" = http ] || run_echo
note "done"
