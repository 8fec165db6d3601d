#!/usr/bin/env bash
# jhv-bench/mqtt-compare.sh: MQTT publish throughput of issue 12, side by side in one run.
#
# One publisher client sends N messages (64 bytes by default) to a fixed topic on a local Debian
# mosquitto; one subscriber (a jhv client, the same for every publisher, in the publisher's JVM)
# counts them, and the time from the first publish to the subscriber's last message is measured
# (io.jhv.bench.mqtt.MqttPublishPeer; a warm-up of N/5 messages goes first, untimed). Publishers:
# jhv's MqttClient (MQTT 5, publishAndForget), Eclipse Paho mqttv3 1.2.5 (MQTT 3.1.1,
# MqttAsyncClient) and the HiveMQ MQTT client 1.3.3 (MQTT 5, Mqtt5AsyncClient). At QoS 1 the window
# of in-flight messages is INFLIGHT for all: mosquitto's max_inflight_messages (the receive maximum
# jhv and HiveMQ obey) and Paho's max inflight; every publisher also stays at most WINDOW messages
# ahead of the subscriber.
#
# mosquitto runs pinned to CPU 0 (on a free port, with a generated configuration), each client JVM
# to CPU 1. Rounds interleave the clients (order rotated per round) so drift hits all alike; the
# table has the median msgs/s per client and QoS and the ratio of jhv to the best peer. It is
# printed and written to jhv-bench/results/<date>-mqtt.md (then -2, -3...), with the command and
# the load average before and after (the machine is shared).
#
# Round-trip latency (io.jhv.bench.mqtt.MqttLatencyPeer), in the same rounds: each client
# subscribes to a topic of its own and publishes to it one message at a time, the next from the
# callback that delivers the previous one; a sample is publish call -> delivery callback of that
# message (the client's publish path, mosquitto's hop, the client's delivery path). LN messages per
# run after LN/4 unrecorded, or as many as LB seconds allow (a client stalled by delayed ACKs records
# fewer; the count is in the file); the table has the medians over the rounds of each run's p50, p99 and
# p99.9 (microseconds) and jhv / the best peer (lower is better).
#
# Usage: jhv-bench/mqtt-compare.sh [--rounds R] [--n N] [--size BYTES] [--qos "0 1"]
#                                  [--clients "jhv paho hivemq"] [--window W] [--inflight I] [--no-build]
#                                  [--latency-n LN] [--latency-budget LB] [--no-latency] [--no-throughput]
set -euo pipefail

bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$bench")"
cmdline="jhv-bench/mqtt-compare.sh${*:+ $*}"
die() { echo "mqtt-compare: $*" >&2; exit 1; }
note() { echo "mqtt-compare: $*" >&2; }

rounds=5 n=200000 size=64 qoss="0 1" clients="jhv paho hivemq" window=10000 inflight=100 build=1
latency_n=20000 latency_budget=30 latency=1 throughput=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="${2:?}"; shift ;;
    --n) n="${2:?}"; shift ;;
    --size) size="${2:?}"; shift ;;
    --qos) qoss="${2:?}"; shift ;;
    --clients) clients="${2:?}"; shift ;;
    --window) window="${2:?}"; shift ;;
    --inflight) inflight="${2:?}"; shift ;;
    --no-build) build=0 ;;
    --latency-n) latency_n="${2:?}"; shift ;;
    --latency-budget) latency_budget="${2:?}"; shift ;;
    --no-latency) latency=0 ;;
    --no-throughput) throughput=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option: $1" ;;
  esac
  shift
done
for v in rounds n size window inflight latency_n latency_budget; do [[ "${!v}" =~ ^[0-9]+$ ]] || die "--$v must be a whole number"; done

mosq=""
for p in /usr/sbin/mosquitto /usr/bin/mosquitto /usr/local/sbin/mosquitto; do [ -x "$p" ] && mosq="$p" && break; done
[ -n "$mosq" ] || die "mosquitto is not installed (apt-get install mosquitto)"
command -v taskset >/dev/null || die "taskset is missing (util-linux)"

cd "$root"
. ./find-jdk.sh >/dev/null
jar="$bench/target/benchmarks.jar"
if [ "$build" = 1 ]; then
  note "building jhv-bench/target/benchmarks.jar"
  MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}" mvn -B -ntp -q -o -pl jhv-bench -am package -DskipTests >&2
fi
[ -f "$jar" ] || die "no $jar (run without --no-build)"

work="$(mktemp -d /tmp/jhv-mqtt-compare.XXXXXX)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat > "$work/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
max_inflight_messages $inflight
max_queued_messages 0
persistence false
log_dest none
CONF
taskset -c 0 "$mosq" -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
mpid=$!
trap 'kill $mpid 2>/dev/null; wait $mpid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
kill -0 $mpid 2>/dev/null || die "mosquitto did not start: $(cat "$work/mosquitto.log")"
mver="$("$mosq" -h 2>/dev/null | head -1 || true)"

load_before="$(uptime)"
note "mosquitto on port $port (CPU 0); $rounds rounds of $clients, QoS $qoss, $n x $size B"
jvm=(-Xms512m -Xmx512m --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow)
set -- $clients
for r in $(seq "$rounds"); do
  # rotate the order each round
  shift_by=$(( (r - 1) % $# )); order=("${@:shift_by+1}" "${@:1:shift_by}")
  for q in $qoss; do
    for c in "${order[@]}"; do
      if [ "$latency" = 1 ]; then
        line="$(taskset -c 1 java "${jvm[@]}" -cp "$jar" io.jhv.bench.mqtt.MqttLatencyPeer "$c" "$port" "$q" "$latency_n" "$size" $((latency_n / 4)) "$latency_budget" 2>"$work/err" | grep '^RESULT' || true)"
        if [ -z "$line" ]; then note "round $r $c qos $q latency failed: $(tail -3 "$work/err")"
        else
          echo "$c $q $(sed 's/.* n=\([0-9]*\) .* p50=\([^ ]*\) .* p99=\([^ ]*\) p999=\([^ ]*\) .*/\2 \3 \4 \1/' <<<"$line")" >> "$work/latency"
          note "round $r: $line"
        fi
      fi
      [ "$throughput" = 1 ] || continue
      line="$(taskset -c 1 java "${jvm[@]}" -cp "$jar" io.jhv.bench.mqtt.MqttPublishPeer "$c" "$port" "$q" "$n" "$size" "$window" "$inflight" 2>"$work/err" | grep '^RESULT' || true)"
      if [ -z "$line" ]; then note "round $r $c qos $q failed: $(tail -3 "$work/err")"; continue; fi
      rate="${line##*rate=}"
      echo "$c $q $rate" >> "$work/rates"
      note "round $r: $line"
    done
  done
done
load_after="$(uptime)"

mkdir -p "$bench/results"
out="$bench/results/$(date -u +%F)-mqtt.md"; i=2
while [ -e "$out" ]; do out="$bench/results/$(date -u +%F)-mqtt-$i.md"; i=$((i + 1)); done
touch "$work/rates" "$work/latency"
python3 - "$work/rates" "$work/latency" "$latency_n" "$latency_budget" "$out" "$cmdline" "$rounds" "$n" "$size" "$window" "$inflight" "$load_before" "$load_after" "$mver" "$clients" "$qoss" <<'PY'
import sys, statistics, collections, platform, os
rates, latency, latency_n, budget, out, cmd, rounds, n, size, window, inflight, lb, la, mver, clients, qoss = sys.argv[1:]
clients = clients.split(); qoss = qoss.split()
r = collections.defaultdict(list)
for l in open(rates):
    c, q, v = l.split(); r[(c, q)].append(float(v))
med = {k: statistics.median(v) for k, v in r.items()}
lines = ["# MQTT publish throughput and round-trip latency: jhv vs Paho vs HiveMQ (issue 12)", "",
         f"Command: `{cmd}`", "",
         f"One publisher sends {n} messages of {size} bytes (after {int(n)//5} untimed) to one topic on local mosquitto "
         f"({mver or 'mosquitto'}, pinned to CPU 0); one jhv subscriber in the publisher's JVM (CPU 1) counts them; "
         f"msgs/s = N / (first publish .. last delivery). QoS 1: {inflight} in flight (mosquitto's max_inflight_messages = "
         f"the receive maximum for jhv and HiveMQ; Paho's max inflight); every publisher stays within {window} messages of the subscriber. "
         "jhv and HiveMQ speak MQTT 5, Paho mqttv3 speaks 3.1.1.", "",
         f"Machine: {os.cpu_count()} CPUs, shared with other agents and busy: load before `{lb.strip()}`, after `{la.strip()}`. "
         "Treat differences under ~15% as noise.", "",
         ]
if r:
    lines += ["## Publish throughput", "",
         "| QoS | " + " | ".join(f"{c} msgs/s" for c in clients) + " | jhv / best peer | runs |",
         "|---|" + "---:|" * (len(clients) + 2)]
for q in qoss:
    if not any((c, q) in r for c in clients): continue
    row = [q]
    for c in clients: row.append(f"{med[(c, q)]:,.0f}" if (c, q) in med else "failed")
    peers = [med[(c, q)] for c in clients if c != "jhv" and (c, q) in med]
    ratio = f"{med[('jhv', q)] / max(peers):.2f}" if ("jhv", q) in med and peers else "-"
    runs = "/".join(str(len(r[(c, q)])) for c in clients)
    lines.append("| " + " | ".join(row) + f" | {ratio} | {runs} |")
lat = collections.defaultdict(list)
for l in open(latency):
    c, q, p50, p99, p999, cnt = l.split(); lat[(c, q)].append((float(p50), float(p99), float(p999), int(cnt)))
if lat:
    lines += ["", "## Round-trip latency (publish to own subscription, one message at a time)", "",
              "Microseconds; each cell is the median over the rounds of one run's percentile; jhv / best peer: lower is better.", "",
              "| QoS | " + " | ".join(f"{c} p50 / p99 / p99.9" for c in clients) + " | jhv / best peer, p50 | jhv / best peer, p99 | runs |",
              "|---|" + "---:|" * (len(clients) + 3)]
    for q in qoss:
        meds = {c: [statistics.median(v[i] for v in lat[(c, q)]) for i in range(3)] for c in clients if (c, q) in lat}
        cut = {c for c in meds if min(v[3] for v in lat[(c, q)]) < int(latency_n)}
        row = [q] + [(" / ".join(f"{x:.0f}" for x in meds[c]) + (" *" if c in cut else "")) if c in meds else "failed" for c in clients]
        peers = [meds[c] for c in meds if c != "jhv"]
        r50 = f"{meds['jhv'][0] / min(p[0] for p in peers):.2f}" if "jhv" in meds and peers else "-"
        r99 = f"{meds['jhv'][1] / min(p[1] for p in peers):.2f}" if "jhv" in meds and peers else "-"
        runs = "/".join(str(len(lat[(c, q)])) for c in clients)
        lines.append("| " + " | ".join(row) + f" | {r50} | {r99} | {runs} |")
if r:
    lines += ["", "All runs (msgs/s):", ""]
    for q in qoss:
        for c in clients:
            lines.append(f"- QoS {q} {c}: " + ", ".join(f"{v:,.0f}" for v in r[(c, q)]))
if lat:
    lines += ["", f"\\* the {budget} s budget ran out before {latency_n} round trips in at least one run (stalled round trips; see the counts below)."]
    lines += ["", f"All latency runs (p50 / p99 / p99.9 us, and the round trips recorded: {latency_n} unless {budget} s ran out first):", ""]
    for q in qoss:
        for c in clients:
            lines.append(f"- QoS {q} {c}: " + ", ".join(" / ".join(f"{x:.0f}" for x in v[:3]) + f" ({v[3]})" for v in lat[(c, q)]))
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
note "written to ${out#$root/}"
