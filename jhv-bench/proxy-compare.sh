#!/usr/bin/env bash
# jhv-bench/proxy-compare.sh: jhv's reverse proxy against nginx's (issue 13).
#
# Both proxies forward plaintext GETs to the same upstream, the C ceiling server
# (src/main/c/plaintext_server.c), with keep-alive on both legs; wrk (64 connections, one thread)
# loads them. One worker each: `hv httpd --threads 1` with a `proxy = / http://...` line, and nginx
# with `worker_processes 1` and an upstream keepalive pool. The proxy runs on CPU 1, wrk and the
# upstream on CPU 0 (the upstream needs little). Rounds alternate the two proxies; the table gives
# medians of requests/s, p99 latency and the proxy's CPU time per request (user + system of its
# process, nginx's worker included: less disturbed by other load than the rates), and the ratio
# jhv/nginx.
#
# The path is /via-proxy/plaintext: not one of hv httpd's own demo routes (an exact route would win
# over the proxy prefix and be answered locally).
#
# The JVM gets a longer warm-up than nginx (--warmup, 20 s): after 5 s of load its C2 compiler still
# spent ~2.6 s of CPU 1 (the loop's CPU) compiling the hot path in the next 10 s (JFR
# jdk.Compilation: 186 compilations, Inbound.deliver alone 363 ms), and ~0.1 s in the 10 s after
# that; a round measured during that competes with the compiler.
#
# Usage: jhv-bench/proxy-compare.sh [--rounds N] [--duration S] [--connections C] [--warmup S] [--out FILE]
set -euo pipefail
bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$bench")"
rounds=5 duration=10 conns=64 warmup=20 out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift ;;
    --duration) duration="$2"; shift ;;
    --warmup) warmup="$2"; shift ;;
    --connections) conns="$2"; shift ;;
    --out) out="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
for t in wrk gcc nginx taskset; do command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || { echo "proxy-compare: needs $t" >&2; exit 1; }; done
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
. "$root/find-jdk.sh" # java on PATH may be older than 21
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

gcc -O2 -Wall -o "$work/plaintext_server" "$bench/src/main/c/plaintext_server.c"
up_port=19080 jhv_port=19081 nginx_port=19082
taskset -c 0 "$work/plaintext_server" "$up_port" & pids+=($!)

# jhv: hv httpd with one loop and a proxy for everything
"$root/hv" --help >/dev/null 2>&1 || true # builds hv.jar when needed
cat > "$work/hv.conf" <<EOF
threads = 1
ready_path = off
proxy = /via-proxy http://127.0.0.1:$up_port
EOF
taskset -c 1 java -XX:+UseParallelGC -Xms256m -Xmx256m --add-exports java.base/sun.nio.ch=ALL-UNNAMED \
  -jar "$root/jhv-cli/target/hv.jar" httpd --host 127.0.0.1 --port "$jhv_port" --config "$work/hv.conf" >"$work/hv.log" 2>&1 &
jhv_pid=$!
pids+=($!)

mkdir -p "$work/nginx"
cat > "$work/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body; proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fcgi; uwsgi_temp_path $work/nginx/uwsgi; scgi_temp_path $work/nginx/scgi;
  upstream up { server 127.0.0.1:$up_port; keepalive 128; }
  server {
    listen 127.0.0.1:$nginx_port;
    keepalive_requests 1000000;
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
}
EOF
taskset -c 1 "$nginx_bin" -c "$work/nginx.conf" & nginx_pid=$!
pids+=($!)

for p in "$jhv_port" "$nginx_port"; do
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$p/via-proxy/plaintext" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fs "http://127.0.0.1:$p/via-proxy/plaintext" >/dev/null || { echo "proxy on $p did not come up"; cat "$work/hv.log"; exit 1; }
done
# warm-up (the JIT: see above)
taskset -c 0 wrk -t1 -c"$conns" -d"${warmup}s" "http://127.0.0.1:$jhv_port/via-proxy/plaintext" >/dev/null
taskset -c 0 wrk -t1 -c"$conns" -d2s "http://127.0.0.1:$nginx_port/via-proxy/plaintext" >/dev/null

# CPU time (user + system, clock ticks) used so far by process $1 and its children (nginx's
# worker): CPU per request is less disturbed by other load on the machine than requests/s.
ticks() { local t=0 p; for p in "$1" $(pgrep -P "$1" || true); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
hz="$(getconf CLK_TCK)"
run() { # port pid -> "rps p99ms cpu_us_per_request"
  local t0 t1 o; t0="$(ticks "$2")"
  o="$(taskset -c 0 wrk -t1 -c"$conns" -d"${duration}s" --latency "http://127.0.0.1:$1/via-proxy/plaintext")"
  t1="$(ticks "$2")"
  local rps p99 errs n cpu
  n="$(awk '/requests in/ {print $1}' <<<"$o")"
  cpu="$(awk -v t="$((t1 - t0))" -v hz="$hz" -v n="$n" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')"
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$o")"
  p99="$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$o")"
  errs="$(grep -E 'Socket errors|Non-2xx' <<<"$o" || true)"
  [ -n "$errs" ] && echo "proxy-compare: errors on port $1: $errs" >&2
  echo "$rps $p99 $cpu"
}
jr=() jl=() jc=() nr=() nl=() nc=()
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then order="j n"; else order="n j"; fi
  for who in $order; do
    if [ "$who" = j ]; then read -r a b c < <(run "$jhv_port" "$jhv_pid"); jr+=("$a"); jl+=("$b"); jc+=("$c"); echo "round $r jhv   $a req/s p99 $b ms cpu $c us/req" >&2
    else read -r a b c < <(run "$nginx_port" "$nginx_pid"); nr+=("$a"); nl+=("$b"); nc+=("$c"); echo "round $r nginx $a req/s p99 $b ms cpu $c us/req" >&2; fi
  done
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
JR="$(median "${jr[@]}")" JL="$(median "${jl[@]}")" NR_="$(median "${nr[@]}")" NL="$(median "${nl[@]}")"
JC="$(median "${jc[@]}")" NC="$(median "${nc[@]}")"
table="$(cat <<EOF
| proxy (1 worker, CPU 1) | requests/s (median of $rounds) | p99 latency ms (median) | proxy CPU µs per request (median) |
| --- | ---: | ---: | ---: |
| jhv ReverseProxy (hv httpd) | $JR | $JL | $JC |
| nginx $("$nginx_bin" -v 2>&1 | sed 's/.*nginx\///') | $NR_ | $NL | $NC |
| jhv / nginx | $(awk -v a="$JR" -v b="$NR_" 'BEGIN {printf "%.2f", a/b}') | $(awk -v a="$JL" -v b="$NL" 'BEGIN {printf "%.2f", a/b}') | $(awk -v a="$JC" -v b="$NC" 'BEGIN {printf "%.2f", a/b}') |

wrk -t1 -c$conns -d${duration}s on CPU 0 with the upstream (C plaintext_server); $(date -u +%Y-%m-%d); command: jhv-bench/proxy-compare.sh --rounds $rounds --duration $duration --connections $conns --warmup $warmup
EOF
)"
echo "$table"
[ -n "$out" ] && echo "$table" > "$out"
exit 0
