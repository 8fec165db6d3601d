#!/usr/bin/env bash
# jhv-bench/client-compare.sh: HTTP clients side by side (issue 11).
#
# 64 concurrent keep-alive GETs (each completion sends the next; every client has a pool of 64)
# against the C ceiling server (src/main/c/plaintext_server.c, pinned to CPU 0), the client JVM
# pinned to CPU 1, for: jhv's HttpClient (sendAsync: "jhv"; the allocation-free callback form
# send(request, ResponseCallback): "jhv-cb"), the JDK java.net.http.HttpClient (sendAsync),
# OkHttp 5 (enqueue), Vert.x 5 WebClient (one event loop, native epoll) and a Netty 4.2 client
# (one epoll loop, FixedChannelPool, HttpClientCodec + HttpObjectAggregator). Each run is a fresh
# JVM: --warmup seconds of load (not measured), then --duration seconds measured. Rounds are
# interleaved (every client once per round, the order rotated per round); the table gives the
# median requests/s, the ratio to the best peer (the best client other than jhv), and CPU use.
# A client that fails is reported as such.
#
# Usage: jhv-bench/client-compare.sh [--quick] [--rounds N] [--duration S] [--warmup S] [--no-build]
#                                    [--clients "jhv jhv-cb jdk okhttp vertx netty"] [--concurrency 64]
# Writes jhv-bench/results/<date>-client.md (--quick: jhv-bench/target/client-compare/).
set -euo pipefail

bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$bench")"
cmdline="jhv-bench/client-compare.sh${*:+ $*}"
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "client-compare: $*" >&2; exit 1; }
note() { echo "client-compare: $*" >&2; }

quick=0 build=1 rounds="" duration="" warmup="" clients="jhv jhv-cb jdk okhttp vertx netty" concurrency=64
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --rounds) rounds="${2:?}"; shift ;;
    --duration) duration="${2:?}"; shift ;;
    --warmup) warmup="${2:?}"; shift ;;
    --no-build) build=0 ;;
    --clients) clients="${2:?}"; shift ;;
    --concurrency) concurrency="${2:?}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done
if [ "$quick" = 1 ]; then rounds="${rounds:-1}" duration="${duration:-3}" warmup="${warmup:-2}"
else rounds="${rounds:-3}" duration="${duration:-10}" warmup="${warmup:-5}"; fi
for v in rounds duration warmup concurrency; do [[ "${!v}" =~ ^[0-9]+$ ]] || die "--$v must be a whole number"; done
. "$root/find-jdk.sh" >/dev/null
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
server_cpu="${JHV_BENCH_SERVER_CPU:-0}" client_cpu="${JHV_BENCH_CLIENT_CPU:-1}"
work="$bench/target/client-compare"; logs="$work/logs"; mkdir -p "$logs"
out_dir="$bench/results"; [ "$quick" = 1 ] && out_dir="$work"
stamp="$(date -u +%Y-%m-%d)"; out="$out_dir/$stamp-client.md"; n=2
while [ "$quick" = 0 ] && [ -e "$out" ]; do out="$out_dir/$stamp-client-$n.md"; n=$((n + 1)); done

bench_jar="$bench/target/benchmarks.jar"
if [ "$build" = 1 ]; then
  note "building jhv-bench (mvn package, no tests)..."
  (cd "$root" && mvn -q -B -ntp -o -Dmaven.test.skip=true -pl jhv-bench -am package) >"$logs/build.log" 2>&1 \
    || { tail -30 "$logs/build.log" >&2; die "build failed"; }
fi
[ -f "$bench_jar" ] || die "missing $bench_jar (run without --no-build)"
c_server="$work/plaintext_server"
gcc -O2 -Wall -o "$c_server" "$bench/src/main/c/plaintext_server.c" || die "gcc failed"
java_major=$(jhv_java_major "$JAVA_HOME/bin/java")
client_jvm=(-Xms512m -Xmx512m -XX:+UseParallelGC -XX:+AlwaysPreTouch --add-exports java.base/sun.nio.ch=ALL-UNNAMED
            --enable-native-access=ALL-UNNAMED)
[ "$java_major" -ge 23 ] && client_jvm+=(--sun-misc-unsafe-memory-access=allow)

pid=""
cleanup() { [ -n "$pid" ] && { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }; pid=""; }
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT TERM
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=18280; while port_in_use "$port"; do port=$((port + 1)); done
taskset -c "$server_cpu" "$c_server" "$port" 127.0.0.1 >"$logs/server.log" 2>&1 &
pid=$!
for i in $(seq 1 100); do [ "$(curl -s -m 2 "http://127.0.0.1:$port/plaintext" 2>/dev/null || true)" = "Hello, World!" ] && break; sleep 0.1; done
url="http://127.0.0.1:$port/plaintext"
hz=$(getconf CLK_TCK)
cpu_ticks() { local line rest; read -r line <"/proc/$1/stat" || { echo 0; return; }; rest="${line##*) }"; set -- $rest; echo $(( ${12} + ${13} )); }
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) printf "%.6f", v[(NR + 1) / 2]; else printf "%.6f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
group() { awk -v x="$1" 'BEGIN { s = sprintf("%.0f", x); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) } print s o }'; }
ratio() { if [ -z "$1" ] || [ -z "$2" ]; then echo n/a; return; fi; awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
raw="$work/raw.tsv"; : >"$raw"
read -r -a list <<<"$clients"
nc=${#list[@]}
for r in $(seq 1 "$rounds"); do
  for i in $(seq 0 $((nc - 1))); do
    c="${list[$(( (i + r - 1) % nc ))]}"
    f="$logs/r$r-$c.txt"
    sleep 1
    s0=$(cpu_ticks "$pid"); b0=$(busy_ticks); t0=$(date +%s.%N)
    timeout -k 5 $((warmup + duration + 60)) taskset -c "$client_cpu" /usr/bin/time -f 'GENCPU %e %U %S' \
      java "${client_jvm[@]}" -cp "$bench_jar" io.jhv.bench.client.ClientLoad --client "$c" --url "$url" \
      --concurrency "$concurrency" --warmup "$warmup" --duration "$duration" >"$f" 2>&1 || true
    t1=$(date +%s.%N); s1=$(cpu_ticks "$pid"); b1=$(busy_ticks)
    line=$(grep '^RESULT ' "$f" || true)
    rps=$(sed -n 's/.*requests_per_sec=\([^ ]*\).*/\1/p' <<<"$line")
    errs=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$line")
    last=$(sed -n 's/.*last_error="\([^"]*\)".*/\1/p' <<<"$line")
    gl=$(grep '^GENCPU ' "$f" | tail -n1 || true); read -r _ ge gu gs <<<"${gl:-GENCPU 1 0 0}"
    ccpu=$(awk -v e="$ge" -v u="$gu" -v s="$gs" 'BEGIN { if (e > 0) printf "%.0f", 100 * (u + s) / e }')
    read -r scpu other < <(awk -v s0="$s0" -v s1="$s1" -v b0="$b0" -v b1="$b1" -v t0="$t0" -v t1="$t1" -v hz="$hz" -v gu="$gu" -v gs="$gs" \
      'BEGIN { w = t1 - t0; s = (s1 - s0) / hz; o = (b1 - b0) / hz - s - gu - gs; if (o < 0) o = 0; printf "%.0f %.0f\n", 100 * s / w, 100 * o / w }')
    notes=""
    [ "${errs:-0}" != 0 ] && notes="errors ${errs}: ${last}"
    [ -z "$line" ] && notes="failed: $(grep -v GENCPU "$f" | grep -m1 -E 'Exception|Error' || tail -n1 "$f")"
    # a client whose every call failed has no throughput
    if [ -n "$rps" ] && awk -v x="$rps" 'BEGIN { exit !(x + 0 == 0) }'; then rps=""; fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$c" "${rps:-}" "${ccpu:-}" "${scpu:-}" "${other:-}" "$notes" >>"$raw"
    note "round $r/$rounds, $c: ${rps:-?} req/s, client CPU ${ccpu:-?}%, server CPU ${scpu:-?}%, other ${other:-?}%${notes:+, $notes}"
  done
done
cleanup

col() { awk -F'\t' -v c="$2" -v k="$3" '$2 == c && $k != "" { print $k }' "$1" | median; }
best="" best_v=""
for c in "${list[@]}"; do
  case "$c" in jhv|jhv-*) continue ;; esac
  v=$(col "$raw" "$c" 3)
  [ -z "$v" ] && continue
  if [ -z "$best_v" ] || awk -v a="$v" -v b="$best_v" 'BEGIN { exit !(a > b) }'; then best="$c" best_v="$v"; fi
done
{
  echo "# HTTP clients: 64 keep-alive GETs in flight ($(date -u +%Y-%m-%d))"
  echo
  echo "- command: \`$cmdline\` ($rounds interleaved round(s); each run: a fresh JVM, ${warmup} s of load not measured, then ${duration} s measured)"
  echo "- machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(uname -sr), load average at start $load_start"
  echo "- $("$JAVA_HOME/bin/java" -version 2>&1 | sed -n '2p'); client JVM: ${client_jvm[*]}, pinned to CPU $client_cpu; server: src/main/c/plaintext_server.c pinned to CPU $server_cpu"
  echo "- load: \`java -cp benchmarks.jar io.jhv.bench.client.ClientLoad --client NAME --url $url --concurrency $concurrency --warmup $warmup --duration $duration\`: $concurrency GETs in flight, each completion sends the next, a pool of $concurrency connections; a response counts when it is 200 with the 13-byte body"
  echo "- versions: OkHttp $(sed -n 's:.*<okhttp.version>\(.*\)</okhttp.version>.*:\1:p' "$bench/pom.xml"), Vert.x $(sed -n 's:.*<vertx.version>\(.*\)</vertx.version>.*:\1:p' "$bench/pom.xml"), Netty $(sed -n 's:.*<netty.version>\(.*\)</netty.version>.*:\1:p' "$bench/pom.xml")"
  echo
  echo "Medians over the rounds (CPU in % of one core; the ratio is to the best peer, ${best:-none}):"
  echo
  echo "| client | requests/s | / best peer | client CPU | server CPU | other CPU | notes |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
  for c in "${list[@]}"; do
    v=$(col "$raw" "$c" 3)
    note_c=$(awk -F'\t' -v c="$c" '$2 == c && $7 != "" { print $7; exit }' "$raw")
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$c" "$( [ -n "$v" ] && group "$v" || echo -)" "$(ratio "$v" "$best_v")" \
      "$(col "$raw" "$c" 4 | xargs printf '%.0f' 2>/dev/null || echo -)" "$(col "$raw" "$c" 5 | xargs printf '%.0f' 2>/dev/null || echo -)" \
      "$(col "$raw" "$c" 6 | xargs printf '%.0f' 2>/dev/null || echo -)" "$note_c"
  done
  echo
  echo "Requests per CPU-second of the client (its requests/s divided by its CPU use, medians): on a busy machine this depends"
  echo "much less on how much CPU other processes left the client (its CPU includes JVM start-up, JIT and the warm-up):"
  echo
  echo "| client | requests per CPU-s |"
  echo "| --- | ---: |"
  for c in "${list[@]}"; do
    v=$(awk -F'\t' -v c="$c" '$2 == c && $3 != "" && $4 > 0 { print $3 / ($4 / 100) }' "$raw" | median)
    printf '| %s | %s |\n' "$c" "$( [ -n "$v" ] && group "$v" || echo -)"
  done
  echo
  echo "Target (issue 11): jhv ahead of every peer (ratio to the best peer > 1.00)."
  echo
  echo "<details><summary>All runs</summary>"
  echo
  echo "| round | client | requests/s | client CPU % | server CPU % | other CPU % | notes |"
  echo "| ---: | --- | ---: | ---: | ---: | ---: | --- |"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }' "$raw"
  echo
  echo "</details>"
} >"$out"
cat "$out"
note "written: ${out#"$root"/}"
