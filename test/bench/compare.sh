#!/usr/bin/env bash
# emqttd vs Mosquitto, side by side: builds release, then for every scenario starts a
# fresh broker pinned to CPU 0, drives it with emqttd-bench pinned to CPU 1, measures the
# broker's RSS (/proc/PID/status) and CPU time (/proc/PID/stat), and prints a markdown table.
#
#   test/bench/compare.sh                     # everything, about 8 minutes
#   SCENARIOS="2 4" test/bench/compare.sh     # a subset (numbers as in BENCHMARKS.md; 9 = scaling)
#   NO_BUILD=1 CARGO_TARGET_DIR=/x test/bench/compare.sh
#
# Environment: EMQ_PORT (21883), MOSQ_PORT (21884), OUT (a fresh /tmp dir: logs and table.md),
# SECS (10, the measured time of each throughput scenario), BROKERS ("emqttd mosquitto"),
# REPEAT (3: scenarios 2, 3 and 4, whose CPU and tail figures move 10-40 % from run to run, are
# run this many times, the brokers alternating, and so is the latency probe of scenario 7; the
# table shows the median of each figure),
# PRIORITY (fifo: brokers and load at SCHED_FIFO 10, so background jobs such as compilers on
# the same machine cannot preempt them; nice: nice -20, which still lets them add milliseconds
# of latency; none: normal scheduling).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release
OUT=${OUT:-$(mktemp -d /tmp/emqttd-compare.XXXXXX)}
EMQ_PORT=${EMQ_PORT:-21883}
MOSQ_PORT=${MOSQ_PORT:-21884}
SECS=${SECS:-10}
SCENARIOS=${SCENARIOS:-"1 2 3 4 5 6 7 8 9"}
REPEAT=${REPEAT:-3}
REPEATED=" 2 3 4 "
BROKERS=${BROKERS:-"emqttd mosquitto"}
PRIORITY=${PRIORITY:-fifo}
BROKER_CPU=0
LOAD_CPU=1
TICK_US=$((1000000 / $(getconf CLK_TCK)))
ROWS=$OUT/rows.tsv
mkdir -p "$OUT"
: >"$ROWS"

ulimit -n 20000

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- set-up
if [[ -z ${NO_BUILD:-} ]]; then
    log "building release (emqttd, emqttd-bench)"
    (cd "$ROOT" && cargo build --release --bin emqttd --bin emqttd-bench)
fi
[[ -x $BIN/emqttd && -x $BIN/emqttd-bench ]] || die "no release binaries in $BIN"
if ! command -v mosquitto >/dev/null && [[ ! -x /usr/sbin/mosquitto ]]; then
    log "installing mosquitto"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null
fi
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
command -v taskset >/dev/null || die "taskset (util-linux) is missing"
command -v python3 >/dev/null || die "python3 is needed to read the JSON summaries"
PRIO=()
case $PRIORITY in
nice) PRIO=(nice -n -20) ;;
fifo) PRIO=(chrt -f 10) ;;
none) ;;
*) die "PRIORITY is nice, fifo or none" ;;
esac
if ((${#PRIO[@]})) && ! "${PRIO[@]}" true 2>/dev/null; then
    log "cannot raise the priority here (not root?): normal scheduling"
    PRIO=()
fi
read -r LOAD1 _ </proc/loadavg
log "load average before the run: $LOAD1 (other jobs on this machine skew the figures)"

cat >"$OUT/mosquitto.conf" <<EOF
listener $MOSQ_PORT 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000
max_inflight_messages 32
max_connections -1
set_tcp_nodelay true
sys_interval 0
log_dest stderr
log_type error
log_type warning
EOF

# ---------------------------------------------------------------- processes
BROKER_PID=
LOAD_PIDS=()
cleanup() {
    for pid in "${LOAD_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    [[ -n $BROKER_PID ]] && kill -9 "$BROKER_PID" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_of() { [[ $1 == emqttd ]] && echo "$EMQ_PORT" || echo "$MOSQ_PORT"; }

wait_port() { # port deadline_s
    local end=$((SECONDS + $2))
    until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
        ((SECONDS < end)) || die "port $1 not open after $2 s"
        sleep 0.1
    done
}

start_broker() { # name [unpinned]
    local pin=("${PRIO[@]}" taskset -c "$BROKER_CPU")
    [[ ${2:-} == unpinned ]] && pin=("${PRIO[@]}")
    case $1 in
    emqttd)
        (cd "$OUT" && exec env EMQTTD_LISTENER__TCP__EXTERNAL__BIND="127.0.0.1:$EMQ_PORT" \
            EMQTTD_LOG__LEVEL=warn EMQTTD_MQTT__MQUEUE__MAX_LENGTH=1000 EMQTTD_SYS__INTERVAL=1h \
            "${pin[@]}" "$BIN/emqttd" >>"$OUT/emqttd.log" 2>&1) &
        ;;
    mosquitto)
        "${pin[@]}" "$MOSQUITTO" -c "$OUT/mosquitto.conf" >>"$OUT/mosquitto.log" 2>&1 &
        ;;
    esac
    BROKER_PID=$!
    wait_port "$(port_of "$1")" 20
    sleep 0.5
}

stop_broker() {
    [[ -n $BROKER_PID ]] || return 0
    kill -TERM "$BROKER_PID" 2>/dev/null || true
    local end=$((SECONDS + 10))
    while kill -0 "$BROKER_PID" 2>/dev/null && ((SECONDS < end)); do sleep 0.1; done
    kill -9 "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$BROKER_PID/status"; }
# utime and stime of the whole process, in clock ticks (fields 14 and 15; the name may hold
# spaces): "USER SYSTEM"
cpu_split() { sed 's/.*) //' "/proc/$BROKER_PID/stat" | awk '{print $12, $13}'; }
cpu_ticks() { cpu_split | awk '{print $1 + $2}'; }

# bench BROKER LOGNAME [unpinned] -- ARGS...: runs emqttd-bench in the background (LOAD_PID)
bench() {
    local broker=$1 name=$2 pin=("${PRIO[@]}" taskset -c "$LOAD_CPU") threads=1
    shift 2
    if [[ $1 == unpinned ]]; then pin=("${PRIO[@]}"); threads=2; shift; fi
    [[ $1 == -- ]] && shift
    "${pin[@]}" "$BIN/emqttd-bench" "$@" -p "$(port_of "$broker")" --threads "$threads" \
        --json --quiet >"$OUT/$name.log" 2>&1 &
    LOAD_PID=$!
    LOAD_PIDS+=("$LOAD_PID")
}

bench_wait() { # deadline_s: waits for LOAD_PID
    local end=$((SECONDS + $1))
    while kill -0 "$LOAD_PID" 2>/dev/null; do
        if ((SECONDS >= end)); then
            log "load generator overran ${1}s; stopping it"
            kill -TERM "$LOAD_PID" 2>/dev/null || true
            sleep 3
            kill -9 "$LOAD_PID" 2>/dev/null || true
        fi
        sleep 0.1
    done
    wait "$LOAD_PID" 2>/dev/null || true
}

wait_ready() { # logname deadline_s
    local end=$((SECONDS + $2))
    until grep -q '^# ready' "$OUT/$1.log" 2>/dev/null; do
        ((SECONDS < end)) || { log "$1: not ready after $2 s"; return 1; }
        kill -0 "$LOAD_PID" 2>/dev/null || { log "$1: load generator exited early"; return 1; }
        sleep 0.1
    done
}

# jget LOGNAME KEY[.KEY]: a field of the JSON summary line; NA when absent or null
jget() {
    python3 - "$OUT/$1.log" "$2" <<'EOF' 2>/dev/null || echo NA
import json, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("{")]
v = json.loads(lines[-1])
for k in sys.argv[2].split("."):
    v = v[k]
print("NA" if v is None else (f"{v:.6g}" if isinstance(v, float) else v))
EOF
}

calc() {
    [[ $1 == *NA* ]] && { echo NA; return; }
    awk "BEGIN { v = $1; printf \"%.${2:-1}f\", v }" 2>/dev/null || echo NA
}

# Results: R[scenario/metric/broker] = the values of every repetition, space-separated
declare -A R
put() { R["$1/$2/$3"]+="${R["$1/$2/$3"]:+ }$4"; }
last() { local v=${R["$1/$2/$3"]:-NA}; echo "${v##* }"; } # the current run's value
median() { # values...: the median of the numeric ones, NA when there is none
    printf '%s\n' "$@" | grep -E '^-?[0-9.]+(e[-+]?[0-9]+)?$' | sort -g |
        awk '{v[NR] = $1} END {
            if (NR == 0) { print "NA"; exit }
            m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            print (m == int(m) ? m : sprintf("%.2f", m))
        }'
}
value() { # scenario metric broker: one run's value, or the median of the repetitions
    local -a all
    read -r -a all <<<"${R["$1/$2/$3"]:-NA}"
    if ((${#all[@]} > 1)); then median "${all[@]}"; else echo "${all[0]}"; fi
}
row() { # scenario metric target-text check
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(value "$1" "$2" emqttd)" \
        "$(value "$1" "$2" mosquitto)" "$3" "$4" >>"$ROWS"
}

IFADDR=1
next_ifaddr() { IFADDR=$((IFADDR + 1)); echo "127.0.$((IFADDR / 250 + 1)).$((IFADDR % 250 + 1))"; }

# per-message figures from a pubsub run: CPU µs per delivered message (all, user space and
# kernel), rates, latency, loss
pubsub_figures() { # scenario broker logname user_ticks_delta system_ticks_delta
    local s=$1 b=$2 n=$3 user=$4 system=$5 received
    received=$(jget "$n" received)
    put "$s" "cpu_us_per_msg" "$b" "$(calc "($user + $system) * $TICK_US / $received" 2)"
    put "$s" "user_us_per_msg" "$b" "$(calc "$user * $TICK_US / $received" 2)"
    put "$s" "kernel_us_per_msg" "$b" "$(calc "$system * $TICK_US / $received" 2)"
    put "$s" "delivered_per_s" "$b" "$(calc "$(jget "$n" recv_rate)" 0)"
    put "$s" "p50_us" "$b" "$(calc "$(jget "$n" latency_us.p50)" 0)"
    put "$s" "p99_us" "$b" "$(calc "$(jget "$n" latency_us.p99)" 0)"
    put "$s" "loss" "$b" "$(jget "$n" loss)"
}

# run_pubsub SCENARIO BROKER LOGNAME DEADLINE [unpinned] -- BENCH ARGS: a pubsub run, measured
run_pubsub() {
    local s=$1 b=$2 n=$3 deadline=$4 u0 s0 u1 s1 t0 t1
    shift 4
    read -r u0 s0 < <(cpu_split)
    t0=$(date +%s.%N)
    bench "$b" "$n" "$@"
    bench_wait "$deadline"
    read -r u1 s1 < <(cpu_split)
    t1=$(date +%s.%N)
    pubsub_figures "$s" "$b" "$n" $((u1 - u0)) $((s1 - s0))
    put "$s" "broker_cpu_pct" "$b" \
        "$(calc "($u1 + $s1 - $u0 - $s0) * $TICK_US / 1e4 / ($t1 - $t0)" 0)"
    put "$s" "rss_mb_after" "$b" "$(calc "$(rss_kb) / 1024" 0)"
    put "$s" "load_cpu_pct" "$b" "$(calc "100 * $(jget "$n" cpu_s) / $(jget "$n" elapsed_s)" 0)"
    log "$s on $b: $(last "$s" cpu_us_per_msg "$b") µs CPU per message" \
        "(user $(last "$s" user_us_per_msg "$b"), kernel $(last "$s" kernel_us_per_msg "$b")), p50" \
        "$(last "$s" p50_us "$b") µs, p99 $(last "$s" p99_us "$b") µs, $(last "$s" delivered_per_s "$b")/s"
}

# ---------------------------------------------------------------- scenarios
s1_idle() { # 15,000 idle connections: RSS growth per connection
    local b=$1 n=s1-$1 r0 r1
    r0=$(rss_kb)
    bench "$b" "$n" -- conn -c 15000 -R 5000 -k 300 --ifaddr "$(next_ifaddr)" --duration 3
    wait_ready "$n" 60 || true
    sleep 2
    r1=$(rss_kb)
    bench_wait 30
    put 1 bytes_per_conn "$b" "$(calc "($r1 - $r0) * 1024 / 15000" 0)"
    put 1 connected "$b" "$(jget "$n" connected)"
    PER_CONN[$b]=$(calc "($r1 - $r0) * 1024 / 15000" 0)
}

s2_fanin() { # 10 publishers -> 1 subscriber, QoS 0, 100 B, 10,000 msg/s in all
    run_pubsub 2 "$1" "s2-$1" $((SECS + 30)) -- pubsub -c 10 --sub-clients 1 -t "fanin/$1" \
        -q 0 -s 100 -I 1 -i 0 --duration "$SECS" --drain 2
}

s3_fanout() { # 1 publisher -> 1,000 subscribers, QoS 0, 100 msg/s
    run_pubsub 3 "$1" "s3-$1" $((SECS + 40)) -- pubsub -c 1 --sub-clients 1000 \
        -t "fanout/$1" -q 0 -s 100 -I 10 -R 2000 --duration "$SECS" --drain 2
}

s4_pairs() { # 1,000 publisher/subscriber pairs, QoS 1, 10,000 msg/s in all
    run_pubsub 4 "$1" "s4-$1" $((SECS + 40)) -- pubsub -c 1000 -t "pair/$1/%i" -q 1 -s 100 \
        -I 100 -R 2000 --duration "$SECS" --drain 3
}

s5_flat() { # flat out, QoS 0 and QoS 1: 10 pairs publishing as fast as they can
    local b=$1 q
    # A real-time load that never sleeps starves the kernel's softirq threads on its CPU and
    # loopback traffic stalls: flat-out runs use nice instead of SCHED_FIFO.
    local saved=("${PRIO[@]}")
    [[ ${PRIO[0]:-} == chrt ]] && PRIO=(nice -n -20)
    for q in 0 1; do
        stop_broker
        start_broker "$b"
        run_pubsub "5q$q" "$b" "s5q$q-$b" $((SECS + 40)) -- pubsub -c 10 -t "flat$q/$b/%i" \
            -q "$q" -s 100 -I 0 -i 0 --duration "$SECS" --drain 5
    done
    PRIO=("${saved[@]}")
}

s6_retained() { # 100,000 retained messages; then a '#' subscriber and an exact-topic one
    local b=$1 r0 r1
    r0=$(rss_kb)
    bench "$b" "s6-load-$b" -- pub -c 10 -t "ret/%i/%n" -q 1 -r -s 100 -I 0 -L 10000 -i 0
    bench_wait 60
    sleep 0.5
    r1=$(rss_kb)
    put 6 bytes_per_retained "$b" "$(calc "($r1 - $r0) * 1024 / 100000" 0)"
    bench "$b" "s6-all-$b" -- sub -c 1 -t '#' -q 0 --expect 100000 --duration 10
    bench_wait 30
    put 6 all_100k_ms "$b" "$(calc "$(jget "s6-all-$b" expect_us) / 1000" 1)"
    put 6 all_received "$b" "$(jget "s6-all-$b" received)"
    bench "$b" "s6-one-$b" -- sub -c 1 -t 'ret/3/7777' -q 0 --expect 1 --duration 5
    bench_wait 20
    put 6 exact_us "$b" "$(calc "$(jget "s6-one-$b" expect_us)" 0)"
}

# s7_probe BROKER with|without: the latency probe (one publisher at 1,000 msg/s to one
# subscriber), REPEAT times: a 5 s p99 moves by 20 % from run to run, the median much less
s7_probe() {
    local b=$1 when=$2 i
    for ((i = 1; i <= REPEAT; i++)); do
        bench "$b" "s7-probe-$when-$i-$b" -- pubsub -c 1 --sub-clients 1 -t 's/0/1' -q 0 -s 100 \
            -I 1 --duration 5 --drain 1
        bench_wait 30
        put 7 "probe_p99_us_$when" "$b" "$(calc "$(jget "s7-probe-$when-$i-$b" latency_us.p99)" 0)"
    done
}

s7_subscriptions() { # 1,000 clients x 1,000 filters (a tenth wildcards); latency probe
    local b=$1 n=s7-subs-$b r0 r1 t0
    s7_probe "$b" without
    r0=$(rss_kb)
    t0=$SECONDS
    bench "$b" "$n" -- sub -c 1000 -t 's/%i/%j' --filters-per-client 1000 --wildcard-every 10 \
        -q 0 -R 1000 --duration 3600
    local sub_pid=$LOAD_PID
    if wait_ready "$n" 180; then
        sleep 1
        r1=$(rss_kb)
        put 7 subscribe_1m_s "$b" $((SECONDS - t0))
        put 7 subscribed "$b" "$(grep '^# ready' "$OUT/$n.log" | sed 's/.*, \([0-9]*\) subscriptions.*/\1/')"
        put 7 bytes_per_sub "$b" "$(calc "(($r1 - $r0) * 1024 - 1000 * ${PER_CONN[$b]:-0}) / 1e6" 0)"
        s7_probe "$b" with
        put 7 probe_p99_with_over_without "$b" \
            "$(calc "$(value 7 probe_p99_us_with "$b") / $(value 7 probe_p99_us_without "$b")" 2)"
    fi
    LOAD_PID=$sub_pid
    kill -TERM "$sub_pid" 2>/dev/null || true
    bench_wait 30
}

s8_storm() { # 15,000 connects as fast as possible
    local b=$1 n=s8-$1
    bench "$b" "$n" -- conn -c 15000 -i 0 --max-connecting 1000 --connect-timeout 20 \
        --ifaddr "$(next_ifaddr)" --duration 1
    bench_wait 90
    put 8 connects_per_s "$b" "$(calc "$(jget "$n" connect_rate)" 0)"
    put 8 failures "$b" "$(jget "$n" connect_failed)"
    put 8 handshake_p50_ms "$b" "$(calc "$(jget "$n" handshake_ms.p50)" 2)"
    put 8 handshake_p99_ms "$b" "$(calc "$(jget "$n" handshake_ms.p99)" 2)"
    put 8 handshake_max_ms "$b" "$(calc "$(jget "$n" handshake_ms.max)" 0)"
}

s9_scaling() { # pairs, QoS 1, flat out: broker on 1 core vs both cores unpinned
    local b=$1 one two
    run_pubsub 9p "$b" "s9p-$b" $((SECS + 40)) -- pubsub -c 1000 -t "scale1/$b/%i" -q 1 -s 100 \
        -I 0 -R 2000 --duration "$SECS" --drain 3
    stop_broker
    start_broker "$b" unpinned
    run_pubsub 9u "$b" "s9u-$b" $((SECS + 40)) unpinned -- pubsub -c 1000 -t "scale2/$b/%i" \
        -q 1 -s 100 -I 0 -R 2000 --duration "$SECS" --drain 3
    one=$(last 9p delivered_per_s "$b")
    two=$(last 9u delivered_per_s "$b")
    put 9 pinned_msg_per_s "$b" "$one"
    put 9 unpinned_msg_per_s "$b" "$two"
    put 9 scaling "$b" "$(calc "$two / $one" 2)"
}

declare -A PER_CONN
declare -A NAMES=([1]=s1_idle [2]=s2_fanin [3]=s3_fanout [4]=s4_pairs [5]=s5_flat
    [6]=s6_retained [7]=s7_subscriptions [8]=s8_storm [9]=s9_scaling)

log "results in $OUT"
for s in $SCENARIOS; do
    fn=${NAMES[$s]:-}
    [[ -n $fn ]] || die "no scenario $s"
    runs=1
    [[ $REPEATED == *" $s "* ]] && runs=$REPEAT
    for ((run = 1; run <= runs; run++)); do
        for b in $BROKERS; do
            note=
            ((runs > 1)) && note=", run $run of $runs"
            log "scenario $s ($fn) on $b$note"
            start_broker "$b"
            "$fn" "$b" || log "scenario $s on $b failed"
            stop_broker
        done
    done
done

# ---------------------------------------------------------------- table
for s in $SCENARIOS; do
    case $s in
    1) row 1 bytes_per_conn "≤ 2048 B" le:2048
       row 1 connected "15000" ge:15000 ;;
    2) row 2 cpu_us_per_msg "≤ 0.5× mosquitto" rle:0.5
       row 2 user_us_per_msg "" ""
       row 2 kernel_us_per_msg "" ""
       row 2 p50_us "" ""
       row 2 p99_us "< 1000 µs" lt:1000
       row 2 broker_cpu_pct "" ""
       row 2 load_cpu_pct "" ""
       row 2 delivered_per_s "≈ 10000" ""
       row 2 loss "" "" ;;
    3) row 3 cpu_us_per_msg "≤ mosquitto" rle:1
       row 3 user_us_per_msg "" ""
       row 3 kernel_us_per_msg "" ""
       row 3 p99_us "≤ mosquitto" rle:1
       row 3 p50_us "" ""
       row 3 broker_cpu_pct "" ""
       row 3 load_cpu_pct "" ""
       row 3 delivered_per_s "≈ 100000" ""
       row 3 loss "" "" ;;
    4) row 4 cpu_us_per_msg "≤ mosquitto" rle:1
       row 4 user_us_per_msg "" ""
       row 4 kernel_us_per_msg "" ""
       row 4 p99_us "≤ mosquitto" rle:1
       row 4 p50_us "" ""
       row 4 broker_cpu_pct "" ""
       row 4 load_cpu_pct "" ""
       row 4 delivered_per_s "≈ 10000" ""
       row 4 loss "0" eq:0 ;;
    5) row 5q0 delivered_per_s "≥ 2× mosquitto" rge:2
       row 5q0 loss "" ""
       row 5q0 broker_cpu_pct "" ""
       row 5q0 load_cpu_pct "" ""
       row 5q0 p99_us "" ""
       row 5q0 rss_mb_after "" ""
       row 5q1 delivered_per_s "≥ 2× mosquitto" rge:2
       row 5q1 loss "0" eq:0
       row 5q1 broker_cpu_pct "" ""
       row 5q1 load_cpu_pct "" ""
       row 5q1 p99_us "" ""
       row 5q1 rss_mb_after "" "" ;;
    6) row 6 all_100k_ms "< 1000 ms" lt:1000
       row 6 all_received "100000" ge:100000
       row 6 exact_us "< 1000 µs" lt:1000
       row 6 bytes_per_retained "" "" ;;
    7) row 7 bytes_per_sub "< 200 B" lt:200
       row 7 subscribed "1000000" ge:1000000
       row 7 subscribe_1m_s "" ""
       row 7 probe_p99_us_without "" ""
       row 7 probe_p99_us_with "" ""
       row 7 probe_p99_with_over_without "≤ 1.2 (noise)" le:1.2 ;;
    8) row 8 connects_per_s "" ""
       row 8 failures "0" eq:0
       row 8 handshake_p50_ms "" ""
       row 8 handshake_p99_ms "" ""
       row 8 handshake_max_ms "" "" ;;
    9) row 9 pinned_msg_per_s "" ""
       row 9 unpinned_msg_per_s "" ""
       row 9 scaling "≥ 1.6" ge:1.6
       row 9p broker_cpu_pct "" ""
       row 9p load_cpu_pct "" ""
       row 9u broker_cpu_pct "" ""
       row 9u load_cpu_pct "" "" ;;
    esac
done

{
    read -r LOAD2 _ </proc/loadavg
    echo "Load average before/after: $LOAD1 / $LOAD2; scheduling: ${PRIO[*]:-normal}; ${SECS}s per throughput run;" \
        "scenarios$REPEATED(where run): median of $REPEAT runs each, the brokers alternating."
    echo
    echo "| scenario | metric | emqttd | mosquitto | ratio | target |"
    echo "| --- | --- | ---: | ---: | ---: | --- |"
    awk -F'\t' '
    function num(v) { return v ~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/ }
    {
        e = $3; m = $4; ratio = "—"
        if (num(e) && num(m) && m + 0 != 0) ratio = sprintf("%.2f", e / m)
        verdict = ""
        if ($6 != "") {
            split($6, c, ":"); op = c[1]; x = c[2] + 0; ok = -1
            if (op ~ /^r/) { if (ratio != "—") { r = ratio + 0; ok = (op == "rle") ? r <= x : r >= x } }
            else if (num(e)) {
                v = e + 0
                ok = (op == "le") ? v <= x : (op == "lt") ? v < x : (op == "ge") ? v >= x : (op == "eq") ? v == x : -1
            }
            verdict = ok == 1 ? " — met" : ok == 0 ? " — **missed**" : " — n/a"
        }
        target = $5 == "" ? "" : $5 verdict
        printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, e, m, ratio, target
    }' "$ROWS"
} | tee "$OUT/table.md"
log "table: $OUT/table.md; logs: $OUT"
