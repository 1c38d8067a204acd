#!/usr/bin/env bash
# Gateway benchmark: requests/s and p50/p99 latency of
#   (a) small GETs       direct to the service (plain HTTP)  vs  nginx (TLS 1.3 + proxy_pass)  vs  our gateway
#   (b) 1 MiB uploads    direct to a bench-only upstream      vs  nginx                         vs  our gateway
#   (c) the gateway→service hop over mTLS (internal CA, SoftHSM2 key) vs plain HTTP, through the real gateway in mesh
#       mode, pooled and with a new connection (full handshake) per request
# everything on 127.0.0.1, with real PostgreSQL and Redis (eng/test-servers.sh), the gateway and SyncManager run as
# Release-built dlls in Production mode, and wrk as the client. See bench/gateway/README.md.
#
# Usage: bash bench/gateway/run.sh            (as root on a fresh machine it installs wrk, nginx, jq and the data tier)
#
# Environment (all optional):
#   BENCH_DURATION=10s            measured wrk run per case          BENCH_WARMUP=3s   unmeasured run before it
#   BENCH_STACK_WARMUP=5s         per target, once before all cases (6 targets; 0 = none)
#   BENCH_THREADS=2               wrk threads                         BENCH_CONNECTIONS=32   small-GET connections
#   BENCH_UPLOAD_CONNECTIONS=16   upload connections                  BENCH_SKIP_BUILD=1     use existing artifacts
#   BENCH_ARTIFACTS=<dir>         build output (default bench/gateway/artifacts, git-ignored)
#   BENCH_BUILD_RETRIES=3, BENCH_BUILD_RETRY_DELAY=60   others may be editing/building: a failed build is retried
#   BENCH_GATEWAY_EXTRA_ENV="K=V K2=V2"                  extra configuration for the gateway process
#   BENCH_KEEP_WORKDIR=1          keep the temporary dir (logs, cert, configs); it is always kept on failure
#   BENCH_RESULTS_FILE=<path>     also write the results as TSV there
#   BENCH_CASES=<regex>           only the cases whose id matches (ids: users-, ping-, alive-, upload- + direct,
#                                 nginx, gateway, gateway-norl, gw-plain, gw-mtls, gw-plain-new, gw-mtls-new;
#                                 hs-ping- + gw-plain, gw-mtls, gw-plain-new, gw-mtls-new), e.g. BENCH_CASES='^upload'
#   BENCH_MESH=1                  0: skip the mesh part (CA, mesh SyncManager/upstream, two mesh gateways, gw-* rows)
#   BENCH_QUIET_WAIT=0            seconds each case may wait for other processes' CPU use to drop to
#   BENCH_OTHER_CPU_WARN=10       this % of the machine (rows above it are flagged in the other% column)
# Progress goes to stderr, the result table to stdout. Exit 0 = all cases measured with only 2xx answers.
set -euo pipefail
export LC_ALL=C

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

DURATION="${BENCH_DURATION:-10s}"
WARMUP="${BENCH_WARMUP:-3s}"
THREADS="${BENCH_THREADS:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
UPLOAD_CONNECTIONS="${BENCH_UPLOAD_CONNECTIONS:-16}"
UPLOAD_BYTES=1048576
ARTIFACTS="${BENCH_ARTIFACTS:-$HERE/artifacts}"
BUILD_RETRIES="${BENCH_BUILD_RETRIES:-3}"
BUILD_RETRY_DELAY="${BENCH_BUILD_RETRY_DELAY:-60}"
SKIP_BUILD="${BENCH_SKIP_BUILD:-0}"
KEEP_WORKDIR="${BENCH_KEEP_WORKDIR:-0}"
READY_TIMEOUT=90
OTHER_CPU_WARN="${BENCH_OTHER_CPU_WARN:-10}"
QUIET_WAIT="${BENCH_QUIET_WAIT:-0}"
CASES="${BENCH_CASES:-.}"
MESH="${BENCH_MESH:-1}"
MODSEC_MODULE=/usr/lib/nginx/modules/ngx_http_modsecurity_module.so
SOFTHSM_MODULE=/usr/lib/softhsm/libsofthsm2.so

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'bench: WARNING: %s\n' "$*" >&2; }
die() {
  printf 'bench: %s\n' "$*" >&2
  exit 1
}

case "${1:-}" in
  -h | --help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  "") ;;
  *) die "no arguments expected (configuration is by environment; see --help)" ;;
esac

seconds_of() { # "10s" / "2m" / "15" -> seconds
  case "$1" in
    *s) echo "${1%s}" ;;
    *m) echo $((${1%m} * 60)) ;;
    *[!0-9]*) die "cannot parse duration '$1' (use e.g. 10s)" ;;
    *) echo "$1" ;;
  esac
}
DURATION_S="$(seconds_of "$DURATION")"
WARMUP_S="$(seconds_of "$WARMUP")"
STACK_WARMUP_S="$(seconds_of "${BENCH_STACK_WARMUP:-5s}")"

# --- cleanup: every process we start is recorded here and stopped by pid ----------------------------
PIDS=() # "name:pid", stopped in reverse order
WORK=""
SERVERS_STARTED=0

alive() { kill -0 "$1" 2>/dev/null; }

stop_pid() { # stop_pid name:pid
  local name="${1%%:*}" pid="${1##*:}" deadline
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + 15))
  while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  if alive "$pid"; then
    warn "$name ($pid) ignored SIGTERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
  if [ "$SERVERS_STARTED" = 1 ]; then
    bash "$ROOT/eng/test-servers.sh" stop "$WORK/servers" >/dev/null 2>&1 || warn "eng/test-servers.sh stop failed"
  fi
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then
    if [ "$rc" -ne 0 ] || [ "$KEEP_WORKDIR" = 1 ]; then
      log "work dir kept (logs in $WORK/logs)"
    else
      rm -rf -- "$WORK"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_bg() { # start_bg <name> <dir> <log> <command...>: runs in <dir> (content root), records the pid
  local name="$1" dir="$2" logfile="$3"
  shift 3
  (cd "$dir" && exec "$@") </dev/null >"$logfile" 2>&1 &
  PIDS+=("$name:$!")
  LAST_PID=$!
}

wait_http() { # wait_http <name> <pid> <log> <curl args...>: until the URL answers 2xx
  local name="$1" pid="$2" logfile="$3" deadline=$((SECONDS + READY_TIMEOUT))
  shift 3
  until curl -fsS -o /dev/null --max-time 2 "$@" 2>/dev/null; do
    if ! alive "$pid"; then
      tail -n 40 "$logfile" >&2 || true
      die "$name exited during startup (log: $logfile)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 40 "$logfile" >&2 || true
      die "$name not ready after ${READY_TIMEOUT}s (log: $logfile)"
    fi
    sleep 0.2
  done
}

free_ports() { # free_ports <n>: n distinct loopback ports free right now (same method as eng/test-servers.sh)
  node -e '
    const net = require("net");
    const n = Number(process.argv[1]);
    const servers = [];
    for (let i = 0; i < n; i++) {
      const s = net.createServer();
      s.listen(0, "127.0.0.1", () => {
        servers.push(s);
        if (servers.length === n) {
          console.log(servers.map((x) => x.address().port).join(" "));
          servers.forEach((x) => x.close());
        }
      });
    }' "$1"
}

random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# The X-Heady-Identity format of HeadyClouds.ServiceDefaults/Identity/IdentityAssertion.cs:
# base64url(json payload) "." base64url(HMAC-SHA256(UTF-8 signing key, ASCII of the first part)).
sign_assertion() { # sign_assertion <json payload>
  local body
  body="$(printf '%s' "$1" | b64url)"
  printf '%s.%s' "$body" "$(printf '%s' "$body" | openssl dgst -sha256 -mac HMAC -macopt "key:$SIGNING_KEY" -binary | b64url)"
}

# --- tools --------------------------------------------------------------------------------------------
ensure_tools() {
  local missing=()
  command -v wrk >/dev/null || missing+=(wrk)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
  # nginx doing the gateway's WAF job: ModSecurity v3 with the OWASP Core Rule Set (Debian packages).
  [ -f "$MODSEC_MODULE" ] || missing+=(libnginx-mod-http-modsecurity)
  [ -f /usr/share/modsecurity-crs/owasp-crs.load ] || missing+=(modsecurity-crs)
  command -v jq >/dev/null || missing+=(jq)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "missing: ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root"
    log "installing ${missing[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  command -v dotnet >/dev/null || die "the .NET SDK (dotnet) is required"
  # PostgreSQL 15, redis-server, node and the s3rver wrapper for eng/test-servers.sh (idempotent, cheap when present).
  bash "$ROOT/eng/install-deps.sh" >&2
  NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
}

# --- build ----------------------------------------------------------------------------------------------
build_all() {
  local proj attempt projects=(Gateway.Yarp/Gateway.Yarp.csproj SyncManager/SyncManager.csproj bench/gateway/Upstream/Upstream.csproj)
  [ "$MESH" != 1 ] || projects+=(HeadyClouds.CertificateAuthority/HeadyClouds.CertificateAuthority.csproj)
  for proj in "${projects[@]}"; do
    for ((attempt = 1; ; attempt++)); do
      log "dotnet build -c Release $proj"
      # Own artifacts path: never touches the obj/bin folders that other builds and tests in the tree use.
      if dotnet build "$ROOT/$proj" -c Release --artifacts-path "$ARTIFACTS" -nologo -clp:ErrorsOnly \
        >"$WORK/logs/build.log" 2>&1; then
        break
      fi
      grep -E 'error|Error' "$WORK/logs/build.log" | sort -u | head -n 15 >&2 || true
      [ "$attempt" -lt "$BUILD_RETRIES" ] || die "build of $proj failed $attempt times (log: $WORK/logs/build.log)"
      warn "build of $proj failed (attempt $attempt/$BUILD_RETRIES; the tree may be mid-edit or in use); retrying in ${BUILD_RETRY_DELAY}s"
      sleep "$BUILD_RETRY_DELAY"
    done
  done
}

# --- rate limits and route shape ----------------------------------------------------------------------
# Every numeric (or numeric-string) leaf under Edge:RateLimits in the gateway's appsettings.json is a quota unless
# its name says it is a duration (…Seconds, …Minutes, …Milliseconds, …Period) or a window's segment count: quotas
# are raised to 1e9
# through environment variables, so the limiters still run (their Redis round trip is part of the gateway's cost)
# but never refuse a benchmark request.
rate_limit_env() {
  jq -r '
    (.Edge.RateLimits // empty)
    | paths(scalars) as $p
    | getpath($p) as $v
    | select(($v | type) == "number" or (($v | type) == "string" and ($v | test("^[0-9]+$"))))
    | select(($p[-1] | tostring) | test("(seconds|minutes|milliseconds|period)$|segments"; "i") | not)
    | "Edge__RateLimits__" + ($p | map(tostring) | join("__")) + "=1000000000"' "$1"
}

# The bench route takes the scalar settings (Timeout, RateLimiterPolicy, ...) and metadata of the real "users" route,
# so it runs through the same per-route middleware; only the body limit differs (2 MiB).
bench_route_env() { # bench_route_env <appsettings.json> [route name, default bench]
  jq -r --arg name "${2:-bench}" '
    (.ReverseProxy.Routes.users // {}) as $r
    | ($r | to_entries[] | select((.value | scalars) and (.key | IN("ClusterId", "Order") | not))
        | "ReverseProxy__Routes__\($name)__\(.key)=\(.value)"),
      (($r.Metadata // {}) | to_entries[] | select(.key != "MaxRequestBodyBytes")
        | "ReverseProxy__Routes__\($name)__Metadata__\(.key)=\(.value)")' "$1"
}

# --- measuring -----------------------------------------------------------------------------------------
RESULTS=() # group|target|auth|rps|p50|p99|non2xx|socket_errors|requests|other_cpu_pct|cpu_ms_per_request
ANY_NON2XX=0
OUR_ROOTS="" # this script and the data-tier servers: everything the run started descends from one of them

# CPU accounting to tell whether something else ran during a case. cpu_sample prints "busy all ours kernel" in clock
# ticks: busy = every non-idle tick of the machine (user, nice, system, irq, softirq, steal), all = busy + idle +
# iowait, ours = user+system time, own and of reaped children (wrk, once it has exited), of every live process
# descending from OUR_ROOTS (this script, the dlls, nginx, PostgreSQL backends, Redis), kernel = kernel threads
# (ksoftirqd, ...), which belong to no one. Interrupt time that hits a process is charged to it, so ours includes
# loopback networking done in our processes' context. Work of other processes, running or exited, is the rest.
cpu_sample() {
  local user nice system idle iowait irq softirq steal rest f stat pid fields tallies busy
  read -r _ user nice system idle iowait irq softirq steal rest </proc/stat
  tallies="$(
    for f in /proc/[0-9]*/stat; do
      { read -r stat <"$f"; } 2>/dev/null || continue
      pid="${f#/proc/}"
      # fields[1] = ppid, [11] utime, [12] stime, [13] cutime, [14] cstime (see proc(5))
      read -r -a fields <<<"${stat##*) }"
      echo "${pid%/stat} ${fields[1]} $((fields[11] + fields[12] + fields[13] + fields[14]))"
    done | awk -v roots="$OUR_ROOTS" '
      BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) root[r[i]] = 1 }
      { parent[$1] = $2; ticks[$1] = $3 }
      END {
        ours = 0; kernel = 0
        for (p in ticks) {
          q = p
          for (d = 0; d < 64 && q > 1; d++) {
            if (q in root) { ours += ticks[p]; break }
            if (q == 2) { kernel += ticks[p]; break }
            if (!(q in parent)) break
            q = parent[q]
          }
        }
        print ours, kernel
      }'
  )"
  busy=$((user + nice + system + irq + softirq + steal))
  echo "$busy $((busy + idle + iowait)) $tallies"
}

other_cpu_pct() { # other_cpu_pct "<sample before>" "<sample after>": other processes' share of the machine, in %
  local b0 a0 o0 k0 b1 a1 o1 k1
  read -r b0 a0 o0 k0 <<<"$1"
  read -r b1 a1 o1 k1 <<<"$2"
  awk -v busy=$((b1 - b0)) -v all=$((a1 - a0)) -v ours=$((o1 - o0)) -v kernel=$((k1 - k0)) \
    'BEGIN { v = all > 0 ? 100 * (busy - ours - kernel) / all : 0; if (v < 0) v = 0; printf "%.0f", v }'
}

# CPU time of everything this run started (wrk, edge, services, PostgreSQL, Redis) per completed request, in ms: what
# one request costs the whole machine, whether or not the cores were saturated.
CLK_TCK="$(getconf CLK_TCK)"
cpu_ms_per_request() { # cpu_ms_per_request "<sample before>" "<sample after>" <requests>
  local o0 o1
  read -r _ _ o0 _ <<<"$1"
  read -r _ _ o1 _ <<<"$2"
  awk -v t=$((o1 - o0)) -v hz="$CLK_TCK" -v n="$3" 'BEGIN { printf "%.3f", (n > 0 ? 1000 * t / hz / n : 0) }'
}

# With BENCH_QUIET_WAIT=N, each case first waits up to N seconds for the rest of the machine to go quiet (other load
# at most BENCH_OTHER_CPU_WARN % over a 2 s probe), for runs on a machine that others use too.
wait_quiet() {
  [ "$QUIET_WAIT" -gt 0 ] || return 0
  local deadline=$((SECONDS + QUIET_WAIT)) s0 other announced=0
  while :; do
    s0="$(cpu_sample)"
    sleep 2
    other="$(other_cpu_pct "$s0" "$(cpu_sample)")"
    [ "$other" -gt "$OTHER_CPU_WARN" ] || return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      warn "other processes still use ${other}% of the CPU after ${QUIET_WAIT}s; measuring anyway"
      return 0
    fi
    [ "$announced" = 1 ] || log "waiting for the machine to go quiet (other load ${other}%)"
    announced=1
    sleep 3
  done
}

warm() { # warm <connections> <url> [VAR=value ...]: unmeasured load, for the JIT (tiered, PGO) and connection pools
  local conns="$1" url="$2"
  shift 2
  env "$@" timeout --foreground $((STACK_WARMUP_S + 30)) wrk -t"$THREADS" -c"$conns" -d"${STACK_WARMUP_S}s" --timeout 10s \
    -s "$HERE/wrk.lua" "$url" >>"$WORK/logs/wrk-stack-warmup.txt" 2>&1 || die "wrk failed warming $url"
}

run_case() { # run_case <id> <group> <target> <auth note> <url> <connections> [VAR=value ... for wrk.lua]
  local id="$1" group="$2" target="$3" auth="$4" url="$5" conns="$6"
  shift 6
  local out="$WORK/logs/wrk-$id.txt" line rps p50 p99 requests non2xx sockerr before after other cpu threads="$THREADS"
  [[ "$id" =~ $CASES ]] || return 0
  [ "$conns" -ge "$threads" ] || threads="$conns" # wrk wants at least one connection per thread
  wait_quiet
  env "$@" timeout --foreground $((WARMUP_S + 30)) wrk -t"$threads" -c"$conns" -d"${WARMUP_S}s" --timeout 10s \
    -s "$HERE/wrk.lua" "$url" >"$WORK/logs/wrk-$id-warmup.txt" 2>&1 || die "wrk warm-up failed for $id (see $WORK/logs/wrk-$id-warmup.txt)"
  before="$(cpu_sample)"
  env "$@" timeout --foreground $((DURATION_S + 30)) wrk -t"$threads" -c"$conns" -d"${DURATION_S}s" --timeout 10s --latency \
    -s "$HERE/wrk.lua" "$url" >"$out" 2>&1 || die "wrk failed for $id (see $out)"
  after="$(cpu_sample)"
  other="$(other_cpu_pct "$before" "$after")"
  [ "$other" -le "$OTHER_CPU_WARN" ] || warn "$id: other processes used ${other}% of the machine's CPU during the run: figures are noisy"
  line="$(grep '^BENCH_RESULT' "$out")" || die "no BENCH_RESULT line from wrk for $id (see $out)"
  rps="$(sed -E 's/.* rps=([^ ]+).*/\1/' <<<"$line")"
  p50="$(sed -E 's/.* p50_ms=([^ ]+).*/\1/' <<<"$line")"
  p99="$(sed -E 's/.* p99_ms=([^ ]+).*/\1/' <<<"$line")"
  requests="$(sed -E 's/.* requests=([^ ]+).*/\1/' <<<"$line")"
  non2xx="$(sed -E 's/.* non2xx=([^ ]+).*/\1/' <<<"$line")"
  sockerr="$(sed -E 's/.* socket_errors=([^ ]+).*/\1/' <<<"$line")"
  [ "$non2xx" = 0 ] || {
    ANY_NON2XX=1
    warn "$id: $non2xx of $requests answers were not 2xx/3xx (rate limiting? auth? see $out)"
  }
  [ "$sockerr" = 0 ] || warn "$id: $sockerr socket errors (connect/read/write/timeout)"
  cpu="$(cpu_ms_per_request "$before" "$after" "$requests")"
  RESULTS+=("$group|$target|$auth|$rps|$p50|$p99|$non2xx|$sockerr|$requests|$other|$cpu")
  LAST_REQUESTS="$requests"
  log "$(printf '%-14s %-13s %10s req/s  p50 %8s ms  p99 %8s ms  (other load %s%%)' "$group" "$target" "$rps" "$p50" "$p99" "$other")"
}

# --- main ------------------------------------------------------------------------------------------------
ensure_tools

WORK="$(mktemp -d /tmp/heady-bench-gateway.XXXXXX)"
# PostgreSQL runs as the "postgres" OS user when we are root: it must traverse into $WORK/servers.
if [ "$(id -u)" -eq 0 ]; then chmod go+x "$WORK"; fi
mkdir -p "$WORK/logs" "$WORK/tls" "$WORK/nginx"

GATEWAY_REV="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
GATEWAY_DIRTY="$(git -C "$ROOT" status --porcelain -- Gateway.Yarp HeadyClouds.ServiceDefaults SyncManager 2>/dev/null | wc -l)"

if [ "$SKIP_BUILD" = 1 ]; then
  log "BENCH_SKIP_BUILD=1: using the existing build in $ARTIFACTS"
else
  build_all
fi
GW_DIR="$ARTIFACTS/bin/Gateway.Yarp/release"
SM_DIR="$ARTIFACTS/bin/SyncManager/release"
UP_DIR="$ARTIFACTS/bin/Upstream/release"
for f in "$GW_DIR/Gateway.Yarp.dll" "$SM_DIR/SyncManager.dll" "$UP_DIR/HeadyClouds.Bench.Upstream.dll"; do
  [ -f "$f" ] || die "missing $f (build first: unset BENCH_SKIP_BUILD)"
done

log "starting PostgreSQL and Redis (eng/test-servers.sh)"
SERVERS_STARTED=1
bash "$ROOT/eng/test-servers.sh" start "$WORK/servers" >"$WORK/logs/test-servers.log" 2>&1 ||
  die "eng/test-servers.sh failed: $(tail -n 20 "$WORK/logs/test-servers.log")"
# shellcheck disable=SC1091
source "$WORK/servers/servers.env"

log "self-signed TLS certificate (ECDSA P-256, SAN 127.0.0.1/localhost) in $WORK/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=HeadyClouds bench gateway" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
  -addext "basicConstraints=critical,CA:FALSE" \
  -addext "keyUsage=critical,digitalSignature" \
  -addext "extendedKeyUsage=serverAuth" \
  -keyout "$WORK/tls/key.pem" -out "$WORK/tls/cert.pem" 2>"$WORK/logs/openssl.log" || die "openssl req failed"
chmod 600 "$WORK/tls/key.pem"
CERT="$WORK/tls/cert.pem"
KEY="$WORK/tls/key.pem"

read -r SM_PORT UP_PORT GW_PORT NG_PORT NW_PORT CA_PORT CA_PROBE SMM_PORT SMM_PROBE UPM_PORT UPM_PROBE GWM_PORT GWN_PORT \
  <<<"$(free_ports 13)"
SIGNING_KEY="$(random_hex 32)" # 64 ASCII characters = 64 key bytes (>= 32 required)
ADMIN_TOKEN="hc_bench_$(random_hex 24)"

COMMON_ENV=(
  ASPNETCORE_ENVIRONMENT=Production
  Logging__LogLevel__Default=Warning
  "Identity__SigningKey=$SIGNING_KEY"
  "ConnectionStrings__redis=$HEADY_TEST_REDIS"
)
SM_ENV=(
  "${COMMON_ENV[@]}"
  "ConnectionStrings__syncmanager-db=$HEADY_TEST_POSTGRES;Database=syncmanager"
)

log "SyncManager --migrate (schema + admin seeded from Bootstrap__AdminToken)"
(cd "$SM_DIR" && env "${SM_ENV[@]}" "Bootstrap__AdminToken=$ADMIN_TOKEN" timeout 180 dotnet SyncManager.dll --migrate) \
  </dev/null >"$WORK/logs/syncmanager-migrate.log" 2>&1 ||
  die "SyncManager --migrate failed: $(tail -n 30 "$WORK/logs/syncmanager-migrate.log")"

log "starting SyncManager on http://127.0.0.1:$SM_PORT"
start_bg syncmanager "$SM_DIR" "$WORK/logs/syncmanager.log" \
  env "${SM_ENV[@]}" "ASPNETCORE_URLS=http://127.0.0.1:$SM_PORT" dotnet SyncManager.dll
SM_PID=$LAST_PID

log "starting bench upstream on http://127.0.0.1:$UP_PORT"
start_bg upstream "$UP_DIR" "$WORK/logs/upstream.log" \
  env ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning "ASPNETCORE_URLS=http://127.0.0.1:$UP_PORT" \
  dotnet HeadyClouds.Bench.Upstream.dll
UP_PID=$LAST_PID

RATE_LIST="$(rate_limit_env "$GW_DIR/appsettings.json")" ||
  die "cannot read $GW_DIR/appsettings.json with jq (needed to raise Edge:RateLimits)"
RATE_ENV=()
if [ -n "$RATE_LIST" ]; then mapfile -t RATE_ENV <<<"$RATE_LIST"; fi
ROUTE_LIST="$(bench_route_env "$GW_DIR/appsettings.json")" || die "cannot read the users route from $GW_DIR/appsettings.json"
ROUTE_ENV=()
if [ -n "$ROUTE_LIST" ]; then mapfile -t ROUTE_ENV <<<"$ROUTE_LIST"; fi
log "bench route copies the users route's settings: ${ROUTE_ENV[*]:-(none)}"
EXTRA_ENV=()
if [ -n "${BENCH_GATEWAY_EXTRA_ENV:-}" ]; then read -r -a EXTRA_ENV <<<"$BENCH_GATEWAY_EXTRA_ENV"; fi
if [ "${#RATE_ENV[@]}" -gt 0 ]; then
  log "gateway rate limits raised for the benchmark: ${RATE_ENV[*]}"
elif grep -rqsi "ratelimit" --include='*.cs' "$ROOT/Gateway.Yarp"; then
  warn "the gateway code mentions rate limiting but appsettings.json has no Edge:RateLimits quota to raise; watch the non-2xx column (BENCH_GATEWAY_EXTRA_ENV can pass overrides)"
fi

GW_ENV=(
  "${COMMON_ENV[@]}"
  "ASPNETCORE_URLS=https://127.0.0.1:$GW_PORT"
  "Edge__Tls__CertificatePath=$CERT"
  "Edge__Tls__KeyPath=$KEY"
  "Edge__Tls__PublicHttpsPort=$GW_PORT"
  "Edge__SyncManagerAddress=http://127.0.0.1:$SM_PORT"
  # Service discovery entries as the AppHost would give them; only syncmanager is reached in this benchmark.
  "services__syncmanager__http__0=http://127.0.0.1:$SM_PORT"
  "services__headyme-sync__http__0=http://127.0.0.1:9"
  "services__monorepo-sync__http__0=http://127.0.0.1:9"
  # The bench-only route and cluster (YARP configuration binds from environment variables).
  "${ROUTE_ENV[@]}"
  ReverseProxy__Routes__bench__ClusterId=bench
  "ReverseProxy__Routes__bench__Match__Path=/api/v1/bench/{**rest}"
  ReverseProxy__Routes__bench__Metadata__MaxRequestBodyBytes=2097152
  "ReverseProxy__Clusters__bench__Destinations__d1__Address=http://127.0.0.1:$UP_PORT"
  # Diagnostic twin of the bench route with the per-route (Redis GCRA) rate limiter switched off, to show its share.
  ReverseProxy__Routes__benchnorl__ClusterId=bench
  "ReverseProxy__Routes__benchnorl__Match__Path=/api/v1/bench-norl/{**rest}"
  ReverseProxy__Routes__benchnorl__RateLimiterPolicy=Disable
  "ReverseProxy__Routes__benchnorl__Transforms__0__PathPattern=/api/v1/bench/{**rest}"
  "${RATE_ENV[@]}"
  "${EXTRA_ENV[@]}"
)

wait_http syncmanager "$SM_PID" "$WORK/logs/syncmanager.log" "http://127.0.0.1:$SM_PORT/health"
wait_http upstream "$UP_PID" "$WORK/logs/upstream.log" "http://127.0.0.1:$UP_PORT/health"

log "starting gateway on https://127.0.0.1:$GW_PORT"
start_bg gateway "$GW_DIR" "$WORK/logs/gateway.log" env "${GW_ENV[@]}" dotnet Gateway.Yarp.dll
GW_PID=$LAST_PID
wait_http gateway "$GW_PID" "$WORK/logs/gateway.log" --cacert "$CERT" "https://127.0.0.1:$GW_PORT/health"

# --- mesh: the internal CA, SyncManager and the upstream as mesh workloads, two gateways in mesh mode ----------------
# As the AppHost runs them (HeadyClouds.AppHost/Mesh): the CA's key in a private SoftHSM2 token (eng/local/softhsm.sh,
# random PINs), a single-use join token per workload minted through the operator API, the CA bundle as trust anchor.
# The mesh SyncManager is a second replica on the same database (same admin user, so one token works on both paths);
# the mesh upstream is a second process of the same bench upstream. Gateway "gw" pools its forwarder connections as
# in production (Mesh:PooledConnectionLifetime 5 min); gateway "gw-new" has Mesh:PooledConnectionLifetime=0, so
# SocketsHttpHandler never returns a connection to the pool: every forwarded request opens a new TCP connection and,
# on the mTLS hop, does a full TLS 1.3 handshake with client certificate (validated on both sides). Each mesh gateway
# also has plain-HTTP twins of the routes (to the plain SyncManager and upstream), so plain and mTLS hops are compared
# through the same process.
if [ "$MESH" = 1 ]; then
  mkdir -p "$WORK/ca" "$WORK/hsm"
  HSM_PIN="$(random_hex 12)"
  CA_OPERATOR_TOKEN="$(random_hex 24)"
  log "SoftHSM2 token for the CA in $WORK/hsm (eng/local/softhsm.sh)"
  HSM_CONF="$(HEADY_HSM_PIN="$HSM_PIN" HEADY_HSM_SO_PIN="$(random_hex 12)" bash "$ROOT/eng/local/softhsm.sh" "$WORK/hsm" heady-ca \
    2>"$WORK/logs/softhsm.log")" || die "eng/local/softhsm.sh failed: $(cat "$WORK/logs/softhsm.log")"
  CA_DIR="$ARTIFACTS/bin/HeadyClouds.CertificateAuthority/release"
  [ -f "$CA_DIR/HeadyClouds.CertificateAuthority.dll" ] || die "missing $CA_DIR/HeadyClouds.CertificateAuthority.dll (build first: unset BENCH_SKIP_BUILD)"
  log "starting the internal CA on https://127.0.0.1:$CA_PORT (key in SoftHSM2)"
  start_bg ca "$CA_DIR" "$WORK/logs/ca.log" env ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning \
    "SOFTHSM2_CONF=$HSM_CONF" \
    "CertificateAuthority__Pkcs11__ModulePath=$SOFTHSM_MODULE" \
    CertificateAuthority__Pkcs11__TokenLabel=heady-ca \
    "CertificateAuthority__Pkcs11__Pin=$HSM_PIN" \
    "CertificateAuthority__StatePath=$WORK/ca/ca.db" \
    "CertificateAuthority__TrustBundlePath=$WORK/ca/trust-bundle.pem" \
    "CertificateAuthority__OperatorToken=$CA_OPERATOR_TOKEN" \
    "CertificateAuthority__ProbePort=$CA_PROBE" \
    "ASPNETCORE_URLS=https://127.0.0.1:$CA_PORT;http://127.0.0.1:$CA_PROBE" \
    dotnet HeadyClouds.CertificateAuthority.dll
  CA_PID=$LAST_PID
  wait_http ca "$CA_PID" "$WORK/logs/ca.log" "http://127.0.0.1:$CA_PROBE/health"
  BUNDLE="$WORK/ca/trust-bundle.pem"
  [ -s "$BUNDLE" ] || die "the CA wrote no trust bundle to $BUNDLE"
  printf 'Authorization: Bearer %s\n' "$CA_OPERATOR_TOKEN" >"$WORK/ca/operator.hdr"

  mint_join_token() { # mint_join_token <service>: a single-use join token from the CA's operator API
    jq -cn --arg s "$1" '{service:$s,lifetimeSeconds:600}' |
      curl -fsS --max-time 10 --cacert "$BUNDLE" -H @"$WORK/ca/operator.hdr" -H 'Content-Type: application/json' \
        --data-binary @- "https://127.0.0.1:$CA_PORT/v1/operator/join-tokens" | jq -er .token ||
      die "the CA refused a join token for $1"
  }
  mesh_env() { # mesh_env <service>: MESH_ENV = the Mesh section for a workload, as WithMeshIdentity gives it
    local token
    token="$(mint_join_token "$1")" || die "no join token for $1"
    MESH_ENV=("Mesh__ServiceName=$1" "Mesh__CaUrl=https://127.0.0.1:$CA_PORT" "Mesh__TrustAnchorsFile=$BUNDLE" "Mesh__JoinToken=$token")
  }

  log "starting mesh SyncManager on https://127.0.0.1:$SMM_PORT (mTLS; probes on http://127.0.0.1:$SMM_PROBE)"
  mesh_env syncmanager
  start_bg syncmanager-mesh "$SM_DIR" "$WORK/logs/syncmanager-mesh.log" env "${SM_ENV[@]}" "${MESH_ENV[@]}" \
    "Mesh__ProbePort=$SMM_PROBE" "ASPNETCORE_URLS=https://127.0.0.1:$SMM_PORT;http://127.0.0.1:$SMM_PROBE" dotnet SyncManager.dll
  SMM_PID=$LAST_PID

  # Service name "bench": the mesh gateway checks a cluster it does not know against the cluster id (MeshForwarding.cs).
  log "starting mesh bench upstream on https://127.0.0.1:$UPM_PORT (mTLS; probes on http://127.0.0.1:$UPM_PROBE)"
  mesh_env bench
  start_bg upstream-mesh "$UP_DIR" "$WORK/logs/upstream-mesh.log" env ASPNETCORE_ENVIRONMENT=Production \
    Logging__LogLevel__Default=Warning "${MESH_ENV[@]}" "Mesh__ProbePort=$UPM_PROBE" \
    "ASPNETCORE_URLS=https://127.0.0.1:$UPM_PORT;http://127.0.0.1:$UPM_PROBE" dotnet HeadyClouds.Bench.Upstream.dll
  UPM_PID=$LAST_PID
  wait_http syncmanager-mesh "$SMM_PID" "$WORK/logs/syncmanager-mesh.log" "http://127.0.0.1:$SMM_PROBE/health"
  wait_http upstream-mesh "$UPM_PID" "$WORK/logs/upstream-mesh.log" "http://127.0.0.1:$UPM_PROBE/health"

  mapfile -t USERSPLAIN_ROUTE < <(bench_route_env "$GW_DIR/appsettings.json" usersplain)
  mapfile -t BENCHPLAIN_ROUTE < <(bench_route_env "$GW_DIR/appsettings.json" benchplain)
  GW_MESH_ENV=(
    "${GW_ENV[@]}"
    "Edge__SyncManagerAddress=https://127.0.0.1:$SMM_PORT"
    "services__syncmanager__https__0=https://127.0.0.1:$SMM_PORT"
    "ReverseProxy__Clusters__bench__Destinations__d1__Address=https://127.0.0.1:$UPM_PORT"
    # Plain-HTTP twins through the same gateway: /api/v1/users-plainhop/* -> plain SyncManager /api/v1/users/*,
    # /api/v1/bench-plainhop/* -> plain upstream /api/v1/bench/* (route settings copied from "users" like "bench").
    "${USERSPLAIN_ROUTE[@]}"
    ReverseProxy__Routes__usersplain__ClusterId=smplain
    "ReverseProxy__Routes__usersplain__Match__Path=/api/v1/users-plainhop/{**rest}"
    ReverseProxy__Routes__usersplain__Metadata__MaxRequestBodyBytes=65536
    "ReverseProxy__Routes__usersplain__Transforms__0__PathPattern=/api/v1/users/{**rest}"
    "ReverseProxy__Clusters__smplain__Destinations__d1__Address=http://127.0.0.1:$SM_PORT"
    "${BENCHPLAIN_ROUTE[@]}"
    ReverseProxy__Routes__benchplain__ClusterId=benchplain
    "ReverseProxy__Routes__benchplain__Match__Path=/api/v1/bench-plainhop/{**rest}"
    ReverseProxy__Routes__benchplain__Metadata__MaxRequestBodyBytes=2097152
    "ReverseProxy__Routes__benchplain__Transforms__0__PathPattern=/api/v1/bench/{**rest}"
    "ReverseProxy__Clusters__benchplain__Destinations__d1__Address=http://127.0.0.1:$UP_PORT"
  )
  log "starting mesh gateway (pooled) on https://127.0.0.1:$GWM_PORT"
  mesh_env gateway
  start_bg gateway-mesh "$GW_DIR" "$WORK/logs/gateway-mesh.log" env "${GW_MESH_ENV[@]}" "${MESH_ENV[@]}" \
    "ASPNETCORE_URLS=https://127.0.0.1:$GWM_PORT" "Edge__Tls__PublicHttpsPort=$GWM_PORT" "${EXTRA_ENV[@]}" dotnet Gateway.Yarp.dll
  GWM_PID=$LAST_PID
  log "starting mesh gateway (no connection pooling) on https://127.0.0.1:$GWN_PORT"
  mesh_env gateway
  start_bg gateway-mesh-new "$GW_DIR" "$WORK/logs/gateway-mesh-new.log" env "${GW_MESH_ENV[@]}" "${MESH_ENV[@]}" \
    Mesh__PooledConnectionLifetime=00:00:00 \
    "ASPNETCORE_URLS=https://127.0.0.1:$GWN_PORT" "Edge__Tls__PublicHttpsPort=$GWN_PORT" "${EXTRA_ENV[@]}" dotnet Gateway.Yarp.dll
  GWN_PID=$LAST_PID
  wait_http gateway-mesh "$GWM_PID" "$WORK/logs/gateway-mesh.log" --cacert "$CERT" "https://127.0.0.1:$GWM_PORT/health"
  wait_http gateway-mesh-new "$GWN_PID" "$WORK/logs/gateway-mesh-new.log" --cacert "$CERT" "https://127.0.0.1:$GWN_PORT/health"
fi

# --- identities: exactly what the gateway would forward ------------------------------------------------------
# Ask SyncManager's introspection endpoint (as the gateway service) about the admin token, then sign the same user
# assertion the gateway makes from that answer (1 h lifetime instead of 60 s so it outlives the runs).
NOW="$(date +%s)"
SERVICE_ASSERTION="$(sign_assertion "$(jq -cn --argjson exp $((NOW + 300)) '{kind:"service",sub:"gateway",name:"gateway",roles:[],scopes:[],exp:$exp}')")"
printf 'X-Heady-Identity: %s\n' "$SERVICE_ASSERTION" >"$WORK/service.hdr"
INTROSPECTION="$(jq -cn --arg t "$ADMIN_TOKEN" '{token:$t}' |
  curl -fsS --max-time 10 -H @"$WORK/service.hdr" -H 'Content-Type: application/json' --data-binary @- \
    "http://127.0.0.1:$SM_PORT/internal/v1/tokens/introspect")" || die "introspection of the admin token failed"
[ "$(jq -r .active <<<"$INTROSPECTION")" = true ] || die "the seeded admin token is not active: $INTROSPECTION"
USER_ASSERTION="$(sign_assertion "$(jq -c --argjson exp $((NOW + 3600)) \
  '{kind:"user",sub:.userId,name:.username,roles:.roles,scopes:.scopes,tid:.tokenId,exp:$exp}' <<<"$INTROSPECTION")")"
USERNAME="$(jq -r .username <<<"$INTROSPECTION")"
printf 'Authorization: Bearer %s\n' "$ADMIN_TOKEN" >"$WORK/auth.hdr"
printf 'X-Heady-Identity: %s\n' "$USER_ASSERTION" >"$WORK/identity.hdr"

# --- nginx: TLS 1.3 with the same certificate, proxy_pass with upstream keep-alive -------------------------------
NGINX_USER=""
if [ "$(id -u)" -eq 0 ]; then
  group=nogroup
  getent group nogroup >/dev/null || group=nobody
  NGINX_USER="user nobody $group;"
  mkdir -p "$WORK/nginx/tmp"
  chown nobody:"$group" "$WORK/nginx/tmp"
else
  mkdir -p "$WORK/nginx/tmp"
fi
# ModSecurity + CRS 3.3 at its defaults (paranoia level 1, anomaly scoring, blocking). Request-body access must stay
# on: with it off, the nginx connector never runs phase 2, where CRS scores and blocks, so nothing would be blocked
# (checked: an XSS query string went through). Only the first 128 KiB of a body are inspected (ProcessPartial), the
# rest passes, so 1 MiB uploads are not refused; the gateway's WAF inspects no body at all.
cat >"$WORK/nginx/modsecurity.conf" <<EOF
Include /etc/nginx/modsecurity.conf
SecRuleEngine On
SecRequestBodyAccess On
SecRequestBodyLimit 131072
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction ProcessPartial
SecResponseBodyAccess Off
SecAuditEngine Off
# The one tuning every deployment in front of a file-sync API needs (as the gateway's own WAF configuration allows
# it): CRS 3.3 refuses application/octet-stream bodies by default (rule 920420).
SecAction "id:900220,phase:1,nolog,pass,t:none,setvar:'tx.allowed_request_content_type=|application/x-www-form-urlencoded| |multipart/form-data| |multipart/related| |text/xml| |application/xml| |application/soap+xml| |application/json| |application/octet-stream|'"
# owasp-crs.load spelled out: libmodsecurity3 has no IncludeOptional.
Include /etc/modsecurity/crs/crs-setup.conf
Include /etc/modsecurity/crs/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf
Include /usr/share/modsecurity-crs/rules/*.conf
Include /etc/modsecurity/crs/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf
EOF
cat >"$WORK/nginx/nginx.conf" <<EOF
# Generated by bench/gateway/run.sh.
load_module $MODSEC_MODULE;
$NGINX_USER
daemon off;
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/logs/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  server_tokens off;
  client_body_temp_path $WORK/nginx/tmp/body;
  proxy_temp_path $WORK/nginx/tmp/proxy;
  fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
  scgi_temp_path $WORK/nginx/tmp/scgi;
  # Kestrel does not close client keep-alive connections after N requests; nginx does by default (1000).
  keepalive_requests 100000000;
  keepalive_timeout 75s;

  # Pooled upstream connections, as YARP's SocketsHttpHandler keeps them.
  upstream syncmanager { server 127.0.0.1:$SM_PORT; keepalive 64; keepalive_requests 100000000; }
  upstream benchup { server 127.0.0.1:$UP_PORT; keepalive 64; keepalive_requests 100000000; }
  # Per-IP request rate for the "nginx-waf" server, raised (like the gateway's quotas) so nothing is refused.
  limit_req_zone \$binary_remote_addr zone=perip:10m rate=1000000r/s;

  server {
    listen 127.0.0.1:$NG_PORT ssl;
    ssl_certificate $CERT;
    ssl_certificate_key $KEY;
    ssl_protocols TLSv1.3;

    proxy_http_version 1.1;
    proxy_set_header Connection "";
    # nginx cannot introspect our bearer tokens: it drops the token and forwards a static, pre-signed identity.
    proxy_set_header Authorization "";
    proxy_set_header X-Heady-Identity "$USER_ASSERTION";

    # Answered by nginx itself (the gateway's /alive counterpart): TLS + HTTP cost only.
    location = /alive { default_type text/plain; return 200 "Healthy"; }

    location /api/v1/users/ {
      client_max_body_size 64k;
      proxy_pass http://syncmanager;
    }

    location /api/v1/bench/ {
      client_max_body_size 2m;
      # Stream the body upstream as YARP does (nginx's default would buffer it first).
      proxy_request_buffering off;
      proxy_pass http://benchup;
    }

    location / { return 404; }
  }

  # The same job as the gateway minus token introspection: TLS 1.3 + OWASP CRS (ModSecurity) + per-IP rate limit.
  server {
    listen 127.0.0.1:$NW_PORT ssl;
    ssl_certificate $CERT;
    ssl_certificate_key $KEY;
    ssl_protocols TLSv1.3;
    modsecurity on;
    modsecurity_rules_file $WORK/nginx/modsecurity.conf;
    limit_req zone=perip burst=100000 nodelay;
    limit_req_status 429;

    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Authorization "";
    proxy_set_header X-Heady-Identity "$USER_ASSERTION";

    location /api/v1/users/ {
      client_max_body_size 64k;
      proxy_pass http://syncmanager;
    }

    location /api/v1/bench/ {
      client_max_body_size 2m;
      proxy_request_buffering off;
      proxy_pass http://benchup;
    }

    location / { return 404; }
  }
}
EOF
"$NGINX" -t -q -c "$WORK/nginx/nginx.conf" -e "$WORK/logs/nginx-error.log" >"$WORK/logs/nginx-test.log" 2>&1 ||
  die "nginx -t failed: $(cat "$WORK/logs/nginx-test.log" "$WORK/logs/nginx-error.log" 2>/dev/null | tail -n 20)"
log "starting nginx on https://127.0.0.1:$NG_PORT"
start_bg nginx "$WORK/nginx" "$WORK/logs/nginx.log" "$NGINX" -c "$WORK/nginx/nginx.conf" -e "$WORK/logs/nginx-error.log"
NG_PID=$LAST_PID
wait_http nginx "$NG_PID" "$WORK/logs/nginx.log" --cacert "$CERT" "https://127.0.0.1:$NG_PORT/alive"

# --- checks: every target answers what we expect, and both edges speak TLS 1.3 only -----------------------------
GW="https://127.0.0.1:$GW_PORT"
NG="https://127.0.0.1:$NG_PORT"
NW="https://127.0.0.1:$NW_PORT"
SM="http://127.0.0.1:$SM_PORT"
UP="http://127.0.0.1:$UP_PORT"

expect() { # expect <what> <expected substring> <curl args...>
  local what="$1" want="$2" got
  shift 2
  got="$(curl -sS --max-time 10 --cacert "$CERT" -w '\n%{http_code}' "$@" 2>&1)" || die "$what: curl failed: $got"
  if [ "${got##*$'\n'}" != 200 ] || [[ "$got" != *"$want"* ]]; then
    die "$what: expected 200 with '$want', got: ${got//$'\n'/ }"
  fi
}
log "checking every target"
expect "direct users/me" "\"username\":\"$USERNAME\"" -H @"$WORK/identity.hdr" "$SM/api/v1/users/me"
expect "nginx users/me" "\"username\":\"$USERNAME\"" "$NG/api/v1/users/me"
expect "nginx-waf users/me" "\"username\":\"$USERNAME\"" "$NW/api/v1/users/me"
expect "gateway users/me" "\"username\":\"$USERNAME\"" -H @"$WORK/auth.hdr" "$GW/api/v1/users/me"
expect "direct ping" pong "$UP/api/v1/bench/ping"
expect "nginx ping" pong "$NG/api/v1/bench/ping"
expect "nginx-waf ping" pong "$NW/api/v1/bench/ping"
# Both WAFs really are on: a classic XSS probe in the query string is refused by each.
for t in "nginx-waf|$NW|" "gateway|$GW|auth"; do
  extra=()
  [ -z "${t##*|auth}" ] && extra=(-H @"$WORK/auth.hdr")
  url="${t#*|}"; url="${url%%|*}"
  got="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$CERT" "${extra[@]}" "$url/api/v1/bench/ping?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")"
  [ "$got" = 403 ] || die "${t%%|*} did not block an XSS probe (got $got): is its WAF on?"
done
expect "gateway ping" pong -H @"$WORK/auth.hdr" "$GW/api/v1/bench/ping"
expect "gateway ping, no rate limiter" pong -H @"$WORK/auth.hdr" "$GW/api/v1/bench-norl/ping"
expect "gateway alive" Healthy "$GW/alive"
head -c "$UPLOAD_BYTES" /dev/zero >"$WORK/body.bin"
for t in "direct|$UP" "nginx|$NG" "nginx-waf|$NW" "gateway|$GW"; do
  extra=()
  [ "${t%%|*}" != gateway ] || extra=(-H @"$WORK/auth.hdr")
  expect "${t%%|*} upload" "$UPLOAD_BYTES" "${extra[@]}" -H 'Content-Type: application/octet-stream' \
    --data-binary @"$WORK/body.bin" "${t#*|}/api/v1/bench/upload"
done
got="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$CERT" "$GW/api/v1/users/me")"
[ "$got" = 401 ] || die "gateway without a token: expected 401, got $got"

upstream_connections() { # connections the mesh upstream has accepted so far (asked through the pooled mesh gateway)
  curl -fsS --max-time 10 --cacert "$CERT" -H @"$WORK/auth.hdr" "$GWM/api/v1/bench/peer" | jq -er .connections ||
    die "cannot read the mesh upstream's connection count"
}
refused() { # refused <what> <curl args...>: the request must not get a 2xx answer (connection refused by TLS, or 4xx)
  local what="$1" code
  shift
  # HTTP/1.1: with h2 curl reports a refused handshake as a broken stream, which says less.
  code="$(curl -sS --http1.1 -o /dev/null -w '%{http_code}' --max-time 10 "$@" 2>>"$WORK/logs/refused.log")" || code="failed"
  case "$code" in 2*) die "$what: expected a refusal, got HTTP $code" ;; esac
  printf '%s: %s\n' "$what" "$([ "$code" = failed ] && tail -n 1 "$WORK/logs/refused.log" || echo "HTTP $code")" >>"$WORK/mesh-proof.txt"
}
if [ "$MESH" = 1 ]; then
  GWM="https://127.0.0.1:$GWM_PORT"
  GWN="https://127.0.0.1:$GWN_PORT"
  log "checking the mesh gateways (both hops) and that the hop is really mTLS"
  for t in "gw|$GWM" "gw-new|$GWN"; do
    u="${t#*|}"
    expect "${t%%|*} users/me (mTLS hop)" "\"username\":\"$USERNAME\"" -H @"$WORK/auth.hdr" "$u/api/v1/users/me"
    expect "${t%%|*} users/me (plain hop)" "\"username\":\"$USERNAME\"" -H @"$WORK/auth.hdr" "$u/api/v1/users-plainhop/me"
    expect "${t%%|*} ping (mTLS hop)" pong -H @"$WORK/auth.hdr" "$u/api/v1/bench/ping"
    expect "${t%%|*} ping (plain hop)" pong -H @"$WORK/auth.hdr" "$u/api/v1/bench-plainhop/ping"
    for path in bench bench-plainhop; do
      expect "${t%%|*} upload ($path)" "$UPLOAD_BYTES" -H @"$WORK/auth.hdr" -H 'Content-Type: application/octet-stream' \
        --data-binary @"$WORK/body.bin" "$u/api/v1/$path/upload"
    done
  done
  : >"$WORK/mesh-proof.txt"
  # The upstream says what the connection it got from the gateway is: TLS version and the client certificate's SPIFFE ID.
  PEER_MTLS="$(curl -fsS --max-time 10 --cacert "$CERT" -H @"$WORK/auth.hdr" "$GWM/api/v1/bench/peer")"
  PEER_PLAIN="$(curl -fsS --max-time 10 --cacert "$CERT" -H @"$WORK/auth.hdr" "$GWM/api/v1/bench-plainhop/peer")"
  jq -e '.tls == "Tls13" and .peer == "spiffe://headyclouds.internal/service/gateway"' <<<"$PEER_MTLS" >/dev/null ||
    die "the mTLS hop is not TLS 1.3 with the gateway's workload certificate: $PEER_MTLS"
  jq -e '.tls == "none" and .peer == "none"' <<<"$PEER_PLAIN" >/dev/null || die "the plain hop is not plain: $PEER_PLAIN"
  printf 'upstream behind the mTLS hop sees: %s\nupstream behind the plain hop sees: %s\n' "$(jq -c 'del(.connections)' <<<"$PEER_MTLS")" \
    "$(jq -c 'del(.connections)' <<<"$PEER_PLAIN")" >>"$WORK/mesh-proof.txt"
  # Nothing but a workload certified by the internal CA gets through to the mesh ports.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=gateway" \
    -addext "subjectAltName=URI:spiffe://headyclouds.internal/service/gateway,DNS:localhost,IP:127.0.0.1" \
    -addext "extendedKeyUsage=clientAuth,serverAuth" -addext "keyUsage=critical,digitalSignature" \
    -keyout "$WORK/tls/impostor-key.pem" -out "$WORK/tls/impostor.pem" 2>>"$WORK/logs/openssl.log" || die "openssl req (impostor) failed"
  for t in "upstream|$UPM_PORT|/api/v1/bench/ping" "SyncManager|$SMM_PORT|/api/v1/users/me"; do
    IFS='|' read -r name port path <<<"$t"
    refused "$name mTLS port, plain HTTP" "http://127.0.0.1:$port$path"
    refused "$name mTLS port, TLS without client certificate" --cacert "$BUNDLE" "https://127.0.0.1:$port$path"
    refused "$name mTLS port, self-signed certificate claiming the gateway's SPIFFE ID" --cacert "$BUNDLE" \
      --cert "$WORK/tls/impostor.pem" --key "$WORK/tls/impostor-key.pem" -H @"$WORK/identity.hdr" "https://127.0.0.1:$port$path"
  done
  # Pooling: six sequential requests through each mesh gateway, counted by the upstream.
  c0="$(upstream_connections)"
  for _ in 1 2 3 4 5 6; do curl -fsS -o /dev/null --max-time 10 --cacert "$CERT" -H @"$WORK/auth.hdr" "$GWM/api/v1/bench/ping"; done
  c1="$(upstream_connections)"
  for _ in 1 2 3 4 5 6; do curl -fsS -o /dev/null --max-time 10 --cacert "$CERT" -H @"$WORK/auth.hdr" "$GWN/api/v1/bench/ping"; done
  c2="$(upstream_connections)"
  POOL_PROOF="6 sequential requests made $((c1 - c0)) new upstream connection(s) through gw (pooled), $((c2 - c1)) through gw-new (PooledConnectionLifetime=0)"
  printf '%s\n' "$POOL_PROOF" >>"$WORK/mesh-proof.txt"
  [ $((c2 - c1)) -ge 6 ] || die "gw-new reused connections: $POOL_PROOF"
  [ $((c1 - c0)) -le 1 ] || die "gw did not pool its connections: $POOL_PROOF"
  sed 's/^/    /' "$WORK/mesh-proof.txt" >&2
fi

tls_of() { # "TLSv1.3 TLS_AES_256_GCM_SHA384"
  timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername localhost -brief </dev/null 2>&1 |
    awk -F': ' '/^Protocol version/ { p = $2 } /^Ciphersuite/ { c = $2 } END { print p " " c }'
}
tls12_refused() { ! timeout 10 openssl s_client -connect "127.0.0.1:$1" -tls1_2 </dev/null >/dev/null 2>&1; }
TLS_GW="$(tls_of "$GW_PORT")"
TLS_NG="$(tls_of "$NG_PORT")"
tls12_refused "$GW_PORT" || die "the gateway accepted TLS 1.2"
tls12_refused "$NG_PORT" || die "nginx accepted TLS 1.2"
log "TLS: gateway $TLS_GW, nginx $TLS_NG; TLS 1.2 refused by both"

# --- runs -------------------------------------------------------------------------------------------------------
OUR_ROOTS="$$"
for f in "$WORK"/servers/pids/*.pid; do OUR_ROOTS+=" $(cat "$f")"; done
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
CORES="$(nproc)"
probe="$(cpu_sample)"
sleep 2
OTHER_BEFORE="$(other_cpu_pct "$probe" "$(cpu_sample)")"
log "other processes use ${OTHER_BEFORE}% of the CPU ($CORES cores, load average $LOAD_BEFORE); each case: ${WARMUP_S}s warm-up + ${DURATION_S}s measured"
if [ "$OTHER_BEFORE" -gt "$OTHER_CPU_WARN" ]; then
  warn "the machine is busy with other work: figures will be noisy (BENCH_QUIET_WAIT=120 waits for quiet per case)"
fi

# A first, unmeasured pass over every .NET process and path: a 3 s per-case warm-up alone leaves the first case
# measuring a service whose JIT has not settled (we saw the first "direct" row at half its settled rate).
if [ "$STACK_WARMUP_S" -gt 0 ]; then
  log "warming up the stack: 6 x ${STACK_WARMUP_S}s (gateway, SyncManager, upstream)"
  warm "$CONNECTIONS" "$GW/api/v1/users/me" "BENCH_AUTHORIZATION=Bearer $ADMIN_TOKEN"
  warm "$CONNECTIONS" "$SM/api/v1/users/me" "BENCH_IDENTITY=$USER_ASSERTION"
  warm "$CONNECTIONS" "$GW/api/v1/bench/ping" "BENCH_AUTHORIZATION=Bearer $ADMIN_TOKEN"
  warm "$CONNECTIONS" "$UP/api/v1/bench/ping"
  warm "$UPLOAD_CONNECTIONS" "$GW/api/v1/bench/upload" BENCH_METHOD=POST "BENCH_BODY_BYTES=$UPLOAD_BYTES" \
    "BENCH_AUTHORIZATION=Bearer $ADMIN_TOKEN"
  warm "$UPLOAD_CONNECTIONS" "$UP/api/v1/bench/upload" BENCH_METHOD=POST "BENCH_BODY_BYTES=$UPLOAD_BYTES"
  if [ "$MESH" = 1 ]; then
    log "warming up the mesh gateways: 8 x ${STACK_WARMUP_S}s"
    for path in users/me users-plainhop/me bench/ping bench-plainhop/ping; do
      warm "$CONNECTIONS" "$GWM/api/v1/$path" "BENCH_AUTHORIZATION=Bearer $ADMIN_TOKEN"
    done
    for path in bench bench-plainhop; do
      warm "$UPLOAD_CONNECTIONS" "$GWM/api/v1/$path/upload" BENCH_METHOD=POST "BENCH_BODY_BYTES=$UPLOAD_BYTES" \
        "BENCH_AUTHORIZATION=Bearer $ADMIN_TOKEN"
    done
    for path in users/me bench/ping; do
      warm "$CONNECTIONS" "$GWN/api/v1/$path" "BENCH_AUTHORIZATION=Bearer $ADMIN_TOKEN"
    done
  fi
fi

# The four gateway→service hops of one request shape: through the pooled mesh gateway (plain, mTLS) and the one that
# opens a connection per forwarded request (plain: TCP connect; mTLS: TCP connect + full TLS 1.3 handshake).
mesh_cases() { # mesh_cases <id prefix> <group> <mTLS path> <plain-hop path> <connections> [VAR=value ...]
  local prefix="$1" group="$2" mtls="$3" plain="$4" conns="$5"
  shift 5
  [ "$MESH" = 1 ] || return 0
  run_case "$prefix-gw-plain" "$group" gw:plain "bearer; plain hop, pooled" "$GWM$plain" "$conns" "$@"
  run_case "$prefix-gw-mtls" "$group" gw:mTLS "bearer; mTLS hop, pooled" "$GWM$mtls" "$conns" "$@"
  run_case "$prefix-gw-plain-new" "$group" gw:plain-new "bearer; plain hop, new conn/req" "$GWN$plain" "$conns" "$@"
  local before=""
  [[ ! "$prefix-gw-mtls-new" =~ $CASES ]] || before="$(upstream_connections)"
  run_case "$prefix-gw-mtls-new" "$group" gw:mTLS-new "bearer; mTLS hop, handshake/req" "$GWN$mtls" "$conns" "$@"
  if [ -n "$before" ] && [[ "$mtls" == /api/v1/bench/* ]]; then
    # Every forwarded request of the warm-up and the measured run should have had its own connection.
    local warm_requests
    warm_requests="$(sed -nE 's/^BENCH_RESULT .* requests=([0-9]+).*/\1/p' "$WORK/logs/wrk-$prefix-gw-mtls-new-warmup.txt")"
    # wrk does not count the requests in flight when a run stops (up to one per connection per run), so a few more
    # connections than requests is expected; far fewer would mean reuse.
    HANDSHAKE_PROOF+=("$group: $(($(upstream_connections) - before)) upstream connections for $((warm_requests + LAST_REQUESTS)) completed requests (warm-up + measured)")
  fi
}
HANDSHAKE_PROOF=()

G1="users/me"
run_case users-direct "$G1" direct "identity header pre-signed" "$SM/api/v1/users/me" "$CONNECTIONS" \
  "BENCH_IDENTITY=$USER_ASSERTION"
run_case users-nginx "$G1" nginx "none (static identity)" "$NG/api/v1/users/me" "$CONNECTIONS"
run_case users-nginx-waf "$G1" nginx-waf "none; CRS + limit_req" "$NW/api/v1/users/me" "$CONNECTIONS"
run_case users-gateway "$G1" gateway "bearer, cached introspection" "$GW/api/v1/users/me" "$CONNECTIONS" \
  "BENCH_AUTHORIZATION=Bearer $ADMIN_TOKEN"
mesh_cases users "$G1" /api/v1/users/me /api/v1/users-plainhop/me "$CONNECTIONS" "BENCH_AUTHORIZATION=Bearer $ADMIN_TOKEN"

G2="bench/ping"
run_case ping-direct "$G2" direct "none" "$UP/api/v1/bench/ping" "$CONNECTIONS"
run_case ping-nginx "$G2" nginx "none" "$NG/api/v1/bench/ping" "$CONNECTIONS"
run_case ping-nginx-waf "$G2" nginx-waf "none; CRS + limit_req" "$NW/api/v1/bench/ping" "$CONNECTIONS"
run_case ping-gateway "$G2" gateway "bearer, cached introspection" "$GW/api/v1/bench/ping" "$CONNECTIONS" \
  "BENCH_AUTHORIZATION=Bearer $ADMIN_TOKEN"
run_case ping-gateway-norl "$G2" gateway "bearer; route rate limiter off" "$GW/api/v1/bench-norl/ping" "$CONNECTIONS" \
  "BENCH_AUTHORIZATION=Bearer $ADMIN_TOKEN"
mesh_cases ping "$G2" /api/v1/bench/ping /api/v1/bench-plainhop/ping "$CONNECTIONS" "BENCH_AUTHORIZATION=Bearer $ADMIN_TOKEN"

G3="/alive (edge)"
run_case alive-nginx "$G3" nginx "none (return 200)" "$NG/alive" "$CONNECTIONS"
run_case alive-gateway "$G3" gateway "none (health check)" "$GW/alive" "$CONNECTIONS"

G4="upload 1 MiB"
run_case upload-direct "$G4" direct "none" "$UP/api/v1/bench/upload" "$UPLOAD_CONNECTIONS" \
  BENCH_METHOD=POST "BENCH_BODY_BYTES=$UPLOAD_BYTES"
run_case upload-nginx "$G4" nginx "none" "$NG/api/v1/bench/upload" "$UPLOAD_CONNECTIONS" \
  BENCH_METHOD=POST "BENCH_BODY_BYTES=$UPLOAD_BYTES"
run_case upload-nginx-waf "$G4" nginx-waf "none; CRS + limit_req" "$NW/api/v1/bench/upload" "$UPLOAD_CONNECTIONS" \
  BENCH_METHOD=POST "BENCH_BODY_BYTES=$UPLOAD_BYTES"
run_case upload-gateway "$G4" gateway "bearer, cached introspection" "$GW/api/v1/bench/upload" "$UPLOAD_CONNECTIONS" \
  BENCH_METHOD=POST "BENCH_BODY_BYTES=$UPLOAD_BYTES" "BENCH_AUTHORIZATION=Bearer $ADMIN_TOKEN"
mesh_cases upload "$G4" /api/v1/bench/upload /api/v1/bench-plainhop/upload "$UPLOAD_CONNECTIONS" \
  BENCH_METHOD=POST "BENCH_BODY_BYTES=$UPLOAD_BYTES" "BENCH_AUTHORIZATION=Bearer $ADMIN_TOKEN"

# One connection, one request at a time: latency with nothing queued, so the difference between rows is what a new
# connection (plain) or a full mTLS handshake (mTLS) adds to one request.
G5="ping, 1 conn"
mesh_cases hs-ping "$G5" /api/v1/bench/ping /api/v1/bench-plainhop/ping 1 "BENCH_AUTHORIZATION=Bearer $ADMIN_TOKEN"

LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- report -----------------------------------------------------------------------------------------------------
{
  printf '\nGateway benchmark (%s; gateway at %s + %s uncommitted/untracked path(s) in Gateway.Yarp, ServiceDefaults, SyncManager)\n' \
    "$(date -u +%Y-%m-%dT%H:%MZ)" "$GATEWAY_REV" "$GATEWAY_DIRTY"
  printf 'wrk -t%s -c%s (uploads -c%s) -d%ss after a %ss warm-up (and a %ss stack warm-up per target), keep-alive, HTTP/1.1, all on 127.0.0.1; %s cores shared by client and servers\n' \
    "$THREADS" "$CONNECTIONS" "$UPLOAD_CONNECTIONS" "$DURATION_S" "$WARMUP_S" "$STACK_WARMUP_S" "$CORES"
  printf 'TLS: gateway %s, nginx %s (TLS 1.2 refused by both); direct = plain HTTP to the service\n' "$TLS_GW" "$TLS_NG"
  printf 'nginx-waf: %s with ModSecurity %s and OWASP CRS %s\n' "$("$NGINX" -v 2>&1 | sed 's/.*: //')" \
    "$(dpkg-query -W -f='${Version}' libmodsecurity3 2>/dev/null || echo '?')" \
    "$(dpkg-query -W -f='${Version}' modsecurity-crs 2>/dev/null || echo '?')"
  if [ "${#RATE_ENV[@]}" -gt 0 ]; then printf 'Gateway rate limits raised via env: %s\n' "${RATE_ENV[*]}"; fi
  printf 'Load average: before %s, after %s\n\n' "$LOAD_BEFORE" "$LOAD_AFTER"
  printf '%-14s %-13s %-32s %10s %9s %9s %9s %7s %7s %7s %7s\n' case target "auth at the edge; hop" "req/s" "p50 ms" "p99 ms" "vs direct" "MiB/s" "CPU ms" non-2xx "other%"
  printf '%s\n' "$(printf '%.0s-' {1..135})"
  declare -A direct_rps=()
  for r in "${RESULTS[@]}"; do
    IFS='|' read -r group target auth rps p50 p99 non2xx sockerr requests other cpu <<<"$r"
    [ "$target" != direct ] || direct_rps[$group]="$rps"
  done
  prev=""
  for r in "${RESULTS[@]}"; do
    IFS='|' read -r group target auth rps p50 p99 non2xx sockerr requests other cpu <<<"$r"
    ratio="-"
    if [ -n "${direct_rps[$group]:-}" ] && [ "$target" != direct ]; then
      ratio="$(awk -v a="$rps" -v b="${direct_rps[$group]}" 'BEGIN { printf "%.2fx", a / b }')"
    fi
    mibs="-"
    [[ "$group" != upload* ]] || mibs="$(awk -v r="$rps" -v b="$UPLOAD_BYTES" 'BEGIN { printf "%.0f", r * b / 1048576 }')"
    flag=""
    [ "$sockerr" = 0 ] || flag=" (+$sockerr socket errors)"
    [ "$group" = "$prev" ] || [ -z "$prev" ] || printf '\n'
    prev="$group"
    printf '%-14s %-13s %-32s %10.0f %9.2f %9.2f %9s %7s %7.2f %7s %7s%s\n' "$group" "$target" "$auth" "$rps" "$p50" "$p99" "$ratio" "$mibs" "$cpu" "$non2xx" "$other" "$flag"
  done
  if [ "$MESH" = 1 ]; then
    # Per group: the mTLS hop against the plain hop through the same gateway process.
    declare -A by=()
    for r in "${RESULTS[@]}"; do
      IFS='|' read -r group target auth rps p50 p99 non2xx sockerr requests other cpu <<<"$r"
      by["$group|$target"]="$rps $p50 $p99 $cpu"
    done
    printf '\nmTLS hop vs plain hop (same gateway process, same request):\n'
    for group in "$G1" "$G2" "$G4" "$G5"; do
      for pair in "gw:plain gw:mTLS pooled connections" "gw:plain-new gw:mTLS-new new connection per request"; do
        read -r a b what <<<"$pair"
        [ -n "${by[$group|$a]:-}" ] && [ -n "${by[$group|$b]:-}" ] || continue
        awk -v g="$group" -v w="$what" -v A="${by[$group|$a]}" -v B="${by[$group|$b]}" 'BEGIN {
          split(A, x, " "); split(B, y, " ")
          printf "  %-14s %-32s req/s %.2fx, p50 %+.2f ms, p99 %+.2f ms, CPU %+.2f ms/request\n", g, w, y[1] / x[1], y[2] - x[2], y[3] - x[3], y[4] - x[4] }'
      done
    done
    if [ -n "${by[$G5|gw:plain-new]:-}" ] && [ -n "${by[$G5|gw:mTLS-new]:-}" ] && [ -n "${by[$G5|gw:plain]:-}" ]; then
      awk -v P="${by[$G5|gw:plain]}" -v PN="${by[$G5|gw:plain-new]}" -v MN="${by[$G5|gw:mTLS-new]}" 'BEGIN {
        split(P, p, " "); split(PN, pn, " "); split(MN, mn, " ")
        printf "Full handshake on the gateway->service hop, one request at a time (\"%s\" p50): TLS 1.3 with client certificate\n", "ping, 1 conn"
        printf "  %.2f ms (mTLS-new - plain-new); a new TCP connection alone %.2f ms (plain-new - plain)\n", mn[2] - pn[2], pn[2] - p[2] }'
    fi
    if [ -n "${by[$G2|gw:plain-new]:-}" ] && [ -n "${by[$G2|gw:mTLS-new]:-}" ]; then
      awk -v conns="$CONNECTIONS" -v PN="${by[$G2|gw:plain-new]}" -v MN="${by[$G2|gw:mTLS-new]}" 'BEGIN {
        split(PN, pn, " "); split(MN, mn, " ")
        printf "  CPU per handshake (bench/ping, -c%s, CPU ms/request mTLS-new - plain-new; both ends of the hop): %.2f ms\n",
          conns, mn[4] - pn[4] }'
    fi
    sed 's/^/  /' "$WORK/mesh-proof.txt"
    for line in "${HANDSHAKE_PROOF[@]}"; do printf '  gw-new, mTLS hop, %s\n' "$line"; done
  fi
  cat <<EOF

Notes:
- users/me: SyncManager answers from PostgreSQL. direct = plain HTTP with the X-Heady-Identity the gateway would add
  (signed by this script from SyncManager's own introspection answer); nginx does NO token check (it forwards a
  static pre-signed identity: it cannot introspect our tokens); the gateway validates the bearer token (Redis-cached
  introspection, refreshed from SyncManager every 30 s) and signs a fresh identity per request.
- nginx-waf is nginx doing the gateway's job except token introspection: TLS 1.3, ModSecurity v3 with the OWASP
  CRS 3.3 (paranoia 1, blocking; request line, query, headers and the first 128 KiB of a body - the nginx connector
  runs CRS's blocking phase only with body access on - while the gateway's WAF reads no body) and a per-IP
  limit_req. The gateway does all of that plus bearer-token authentication and identity signing.
- Per authenticated request the gateway makes 1 Redis round trip: one script checks the route's GCRA buckets (token
  and IP; quotas raised, not off) and the failed-auth throttle; introspection answers come from process memory
  (evicted at once on revocation through Redis pub/sub), else Redis, else SyncManager. "route rate limiter off" is
  the same bench route with RateLimiterPolicy=Disable (diagnostic only: production routes have it on).
- bench/ping and uploads: bench-only upstream (bench/gateway/Upstream), trivial handler; the gateway still
  authenticates every request, nginx and direct do not. The /alive rows are answered by the edge itself (no proxying).
- nginx streams upload bodies (proxy_request_buffering off) and pools upstream connections (keepalive), like YARP.
- gw:* rows (BENCH_MESH=1): the real gateway in mesh mode (Mesh:ServiceName=gateway, workload certificate from the
  internal CA, key in SoftHSM2) in front of SyncManager and the bench upstream as mesh workloads (TLS 1.3, client
  certificate required and validated against the CA bundle, SPIFFE ID of the service checked by the gateway). plain =
  the same gateway process forwarding to the plain-HTTP processes; -new = a second mesh gateway with
  Mesh:PooledConnectionLifetime=0 (no pooling: a new connection, and on mTLS a full handshake, per forwarded request).
- CPU ms: CPU time per completed request of every process this run started (wrk, edge, services, PostgreSQL, Redis):
  the machine's cost of one request, meaningful even when the cores were not saturated.
- other%: share of the machine's CPU used by processes this run did not start, during that case; above a few %
  the row is disturbed (other builds or tests on the machine): rerun when it is quiet.
EOF
} | tee "$WORK/results.txt"

if [ -n "${BENCH_RESULTS_FILE:-}" ]; then
  {
    printf 'case\ttarget\tauth\trps\tp50_ms\tp99_ms\tnon2xx\tsocket_errors\trequests\tother_cpu_pct\tcpu_ms_per_request\n'
    for r in "${RESULTS[@]}"; do printf '%s\n' "${r//|/$'\t'}"; done
  } >"$BENCH_RESULTS_FILE"
  log "results written to $BENCH_RESULTS_FILE"
fi

[ "$ANY_NON2XX" = 0 ] || die "some answers were not 2xx (see the non-2xx column and $WORK/logs); the figures are not valid"
