#!/usr/bin/env bash
# bench/persistence.sh — how fast persistence serves a cached record, next to
# Redis itself on the same machine in the same run.
#
#   bench/persistence.sh [BUILD_DIR]     (default: build; use a Release build)
#
# Starts its own redis-server, PostgreSQL and nimbus-persistence on free
# loopback ports in a temp dir, PUTs one ~1.5 KB record, then measures
#   wrk -t2 -c32 -d10s --latency  GET /v1/records/{key}     (X-Store: cache)
#   redis-benchmark -t get -d <same size> -c 32 -n 500000 -P 1 --csv
# and prints req/s and p99 of both and the ratio (target: ratio >= 0.4,
# persistence p99 < 5 ms) with the load average. Installs wrk, redis-tools and
# postgresql when missing (apt-get as root; otherwise it prints the command).
# Everything it starts is stopped and removed on exit.
# Env: WRK_DURATION (10s), WRK_CONNS (32), REDIS_REQUESTS (500000),
#      PERSISTENCE_ARGS (extra daemon flags, e.g. "--workers 4").
set -euo pipefail

BUILD_DIR=${1:-build}
BIN="$BUILD_DIR/services/persistence/nimbus-persistence"
PG_BIN=/usr/lib/postgresql/15/bin
WRK_DURATION=${WRK_DURATION:-10s}
WRK_CONNS=${WRK_CONNS:-32}
REDIS_REQUESTS=${REDIS_REQUESTS:-500000}
PY=/usr/bin/python3

die() { echo "bench/persistence.sh: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "no $BIN (build it: cmake -S . -B $BUILD_DIR -DCMAKE_BUILD_TYPE=Release && cmake --build $BUILD_DIR --target nimbus-persistence)"
# What it needs, by Debian package: installed when missing (as root), else the
# exact command is printed.
missing=()
for pair in wrk:wrk redis-server:redis-server redis-cli:redis-tools redis-benchmark:redis-tools \
            curl:curl "$PG_BIN/postgres:postgresql"; do
  tool=${pair%:*} pkg=${pair##*:}
  command -v "$tool" >/dev/null || [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  line="apt-get -o DPkg::Lock::Timeout=600 install -y ${missing[*]}"
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]}; install with:
  sudo apt-get update && sudo $line"
  echo "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update
  DEBIAN_FRONTEND=noninteractive $line
fi
btype=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)
[ "$btype" = Release ] || echo "note: $BUILD_DIR is a '${btype:-unknown}' build, not Release" >&2

TMP=$(mktemp -d /tmp/nimbus-bench-XXXXXX)
chmod 755 "$TMP"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_for <what> <seconds> <command...>: polls the command until it succeeds.
wait_for() {
  local what=$1 secs=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || die "timed out waiting for $what"
    sleep 0.05
  done
}

REDIS_PORT=$(free_port); PG_PORT=$(free_port); PORT=$(free_port)

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$TMP" --daemonize no >"$TMP/redis.log" 2>&1 &
PIDS+=($!)
wait_for redis 10 redis-cli -p "$REDIS_PORT" ping

# PostgreSQL refuses to run as root: run it as the postgres account then.
AS=()
mkdir -p "$TMP/pg"
if [ "$(id -u)" = 0 ]; then chown -R postgres: "$TMP/pg"; AS=(runuser -u postgres --); fi
"${AS[@]}" "$PG_BIN/initdb" -D "$TMP/pg/data" -U nimbus -A trust -E UTF8 --no-sync >"$TMP/initdb.log" 2>&1 \
  || die "initdb failed: $(tail -5 "$TMP/initdb.log")"
"${AS[@]}" "$PG_BIN/postgres" -D "$TMP/pg/data" -c listen_addresses=127.0.0.1 -c port="$PG_PORT" \
  -c unix_socket_directories="$TMP/pg" -c fsync=off -c synchronous_commit=off >"$TMP/pg.log" 2>&1 &
PIDS+=($!)
wait_for postgres 30 "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -U nimbus -d postgres
"$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U nimbus nimbus

read -ra EXTRA <<<"${PERSISTENCE_ARGS:-}"
"$BIN" --port "$PORT" --redis-url "redis://127.0.0.1:$REDIS_PORT/0" \
  --postgres-dsn "host=127.0.0.1 port=$PG_PORT dbname=nimbus user=nimbus" \
  --access-log false --log-level warn "${EXTRA[@]}" >"$TMP/persistence.log" 2>&1 &
PIDS+=($!)
wait_for persistence 30 curl -fsS "http://127.0.0.1:$PORT/readyz"

KEY="52.52,13.41"
"$PY" - "$KEY" >"$TMP/record.json" <<'PYEOF'
import datetime, json, sys
key = sys.argv[1]
lat, lon = (float(x) for x in key.split(","))
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
days = [{"date": "2026-11-%02d" % (24 + i), "weather_code": 3, "temperature_max": 5.5 + i,
         "temperature_min": 0.5, "precipitation_sum": 0.2, "precipitation_probability_max": 30,
         "wind_speed_max": 20.1, "uv_index_max": 0.5, "sunrise": "2026-11-%02dT07:50" % (24 + i),
         "sunset": "2026-11-%02dT16:00" % (24 + i)} for i in range(5)]
print(json.dumps({"key": key, "latitude": lat, "longitude": lon, "fetched_at": now,
    "timezone": "Europe/Berlin", "timezone_abbreviation": "CET", "utc_offset_seconds": 3600,
    "elevation": 38.0, "current": {"time": "2026-11-24T01:00", "temperature": 3.2,
    "apparent_temperature": 0.4, "relative_humidity": 81, "weather_code": 3, "wind_speed": 12.2,
    "wind_direction": 250, "wind_gusts": 27.4, "precipitation": 0.0, "cloud_cover": 100,
    "pressure_msl": 1012.8, "is_day": False}, "daily": days}))
PYEOF
URL="http://127.0.0.1:$PORT/v1/records/$KEY"
curl -fsS -X PUT -H 'Content-Type: application/json' --data-binary "@$TMP/record.json" "$URL" >/dev/null
curl -fsS -D "$TMP/headers" -o "$TMP/body" "$URL"
grep -qi '^X-Store: cache' "$TMP/headers" || die "the record is not served from the cache"
SIZE=$(wc -c <"$TMP/body")

echo "persistence: GET $URL ($SIZE-byte record, X-Store: cache)"
wrk -t2 -c"$WRK_CONNS" -d"$WRK_DURATION" --latency "$URL" >"$TMP/wrk.txt"
P_RPS=$(awk '/^Requests\/sec:/ {print $2}' "$TMP/wrk.txt")
P_P99=$(awk '$1 == "99%" {print $2}' "$TMP/wrk.txt")
P_ERR=$(awk '/Non-2xx|Socket errors/' "$TMP/wrk.txt")
[ -n "$P_ERR" ] && echo "wrk reported: $P_ERR"

# Same value size under redis-benchmark's GET key (it GETs key:__rand_int__).
head -c "$SIZE" /dev/zero | tr '\0' x | redis-cli -p "$REDIS_PORT" -x SET 'key:__rand_int__' >/dev/null
redis-benchmark -p "$REDIS_PORT" -t get -d "$SIZE" -c "$WRK_CONNS" -n "$REDIS_REQUESTS" -P 1 --csv \
  >"$TMP/rb.csv"
# "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
R_RPS=$(awk -F'","' '/^"GET/ {print $2}' "$TMP/rb.csv")
R_P99=$(awk -F'","' '/^"GET/ {print $7}' "$TMP/rb.csv")

to_ms() { # wrk latency: 1.23ms / 456.78us / 1.02s
  "$PY" -c 'import sys; v=sys.argv[1]; u={"us":0.001,"ms":1.0,"s":1000.0}
for k in ("us","ms","s"):
    if v.endswith(k): print("%.3f" % (float(v[:-len(k)])*u[k])); break' "$1"
}
P_P99_MS=$(to_ms "$P_P99")
RATIO=$("$PY" -c "print('%.2f' % ($P_RPS / $R_RPS))")
echo
printf '%-34s %12s %10s\n' "" "req/s" "p99 (ms)"
printf '%-34s %12.0f %10s\n' "persistence GET (wrk -c$WRK_CONNS)" "$P_RPS" "$P_P99_MS"
printf '%-34s %12.0f %10s\n' "redis GET (redis-benchmark -c$WRK_CONNS)" "$R_RPS" "$R_P99"
echo "ratio persistence/redis: $RATIO (target >= 0.4); persistence p99 ${P_P99_MS} ms (target < 5)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
