#!/usr/bin/env bash
# Starts / stops the data tier for the test command: PostgreSQL 15, Redis and the local S3 server
# (eng/s3rver/server.js), in the background on free loopback ports, with random credentials,
# all state under <dir>. No Docker.
#
# Usage:
#   eng/test-servers.sh start <dir>   # fresh servers; waits until each really answers; writes
#                                     # <dir>/servers.env (source it) with:
#       HEADY_TEST_POSTGRES  Host=127.0.0.1;Port=..;Username=postgres;Password=..   (Npgsql, no Database)
#       HEADY_TEST_REDIS     127.0.0.1:PORT,password=..                            (StackExchange.Redis)
#       HEADY_TEST_S3        Endpoint=http://127.0.0.1:PORT;AccessKey=..;SecretKey=..
#   eng/test-servers.sh stop <dir>    # stops them (pids in <dir>/pids) and waits until they are gone
#
# <dir> must be reachable by the "postgres" OS user when running as root (e.g. under /tmp, not
# /root). Logs: <dir>/logs/{postgres,redis,s3}.log. Ready timeout: $HEADY_TEST_SERVERS_TIMEOUT
# seconds (default 90). `start` on a dir whose servers still run stops them first.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_BIN=/usr/lib/postgresql/15/bin
NAMES=(postgres redis s3)

die() { printf 'test-servers: %s\n' "$*" >&2; exit 1; }
log() { printf 'test-servers: %s\n' "$*"; }

usage() { die "usage: $0 start|stop <dir>"; }

# --- process helpers ------------------------------------------------------------------------
# The script/program each pid file must point at (guards against a recycled pid).
marker() {
  case "$1" in
    postgres) echo "eng/local/postgres.sh" ;;
    redis) echo "eng/local/redis.sh" ;;
    s3) echo "eng/s3rver/server.js" ;;
  esac
}

# Alive = exists and is not a zombie (orphans are reaped by init, sometimes late).
alive() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat="${stat##*) }"
  [ "${stat%% *}" != Z ]
}

ours() { # ours <pid> <name>
  alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "$(marker "$2")"
}

# Live (non-zombie) members of a process group; each server runs in its own (setsid).
group_members() {
  local f stat state _ppid pgrp _rest
  for f in /proc/[0-9]*/stat; do
    { read -r stat <"$f"; } 2>/dev/null || continue
    read -r state _ppid pgrp _rest <<<"${stat##*) }"
    if [ "$pgrp" = "$1" ] && [ "$state" != Z ]; then
      f="${f#/proc/}"
      echo "${f%/stat}"
    fi
  done
}

stop_all() { # stop_all <dir>
  local dir="$1" name pid pids=() deadline
  for name in "${NAMES[@]}"; do
    [ -f "$dir/pids/$name.pid" ] || continue
    pid="$(cat "$dir/pids/$name.pid")"
    if ours "$pid" "$name"; then
      kill -TERM "$pid" 2>/dev/null || true # the scripts forward it (fast shutdown)
      pids+=("$pid")
    fi
  done
  deadline=$((SECONDS + 30))
  for pid in "${pids[@]}"; do
    while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
  done
  for pid in "${pids[@]}"; do
    # Anything left in the server's process group (or a server that ignored SIGTERM) is killed.
    local left
    left="$(group_members "$pid")"
    if [ -n "$left" ]; then
      log "killing leftover processes of group $pid: ${left//$'\n'/ }"
      kill -KILL -- "-$pid" 2>/dev/null || true
      deadline=$((SECONDS + 10))
      while [ -n "$(group_members "$pid")" ] && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
    fi
  done
  rm -f "$dir"/pids/*.pid "$dir/servers.env"
}

# --- start helpers --------------------------------------------------------------------------
free_ports() { # free_ports <n>: n distinct ports the kernel considers free right now
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

log_tail() { # log_tail <name>
  local f="$DIR/logs/$1.log"
  printf -- '--- last lines of %s ---\n' "$f" >&2
  tail -n 40 "$f" >&2 2>/dev/null || true
  printf -- '--- end of %s ---\n' "$f" >&2
}

check_ready() { # check_ready <name>
  case "$1" in
    postgres)
      "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d postgres -U postgres || return 1
      # A real login with the password (postgres.sh sets it once the server is up).
      [ "$(PGPASSWORD="$PG_PASSWORD" PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -X -q -w -tA \
        -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c 'select 1' 2>/dev/null)" = 1 ]
      ;;
    redis)
      [ "$(REDISCLI_AUTH="$REDIS_PASSWORD" timeout 3 redis-cli --no-auth-warning \
        -h 127.0.0.1 -p "$REDIS_PORT" PING 2>/dev/null)" = PONG ]
      ;;
    s3)
      node -e '
        const req = require("http").get(
          { host: "127.0.0.1", port: Number(process.argv[1]), path: "/_health", timeout: 3000 },
          (res) => process.exit(res.statusCode === 200 ? 0 : 1));
        req.on("error", () => process.exit(1));
        req.on("timeout", () => process.exit(1));' "$S3_PORT"
      ;;
  esac
}

cmd_start() {
  mkdir -p -- "$1"
  DIR="$(cd -- "$1" && pwd -P)"
  local timeout="${HEADY_TEST_SERVERS_TIMEOUT:-90}"

  if ! [ -x "$PG_BIN/postgres" ] || ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null ||
    ! command -v node >/dev/null || ! [ -d "$ROOT/eng/s3rver/node_modules/s3rver" ]; then
    die "dependencies missing; run eng/install-deps.sh"
  fi

  # Fresh servers every time: stop whatever still runs from this dir and drop its state.
  stop_all "$DIR"
  rm -rf -- "${DIR:?}/pg" "$DIR/redis" "$DIR/s3" "$DIR/logs" "$DIR/pids"
  mkdir -p "$DIR/logs" "$DIR/pids" "$DIR/s3"
  # PostgreSQL runs as the "postgres" OS user when we are root: it must traverse <dir>.
  if [ "$(id -u)" -eq 0 ]; then chmod go+x "$DIR"; fi

  read -r PG_PORT REDIS_PORT S3_PORT <<<"$(free_ports 3)"
  PG_PASSWORD="$(random_hex 16)"
  REDIS_PASSWORD="$(random_hex 16)"
  S3_ACCESS_KEY="test$(random_hex 8)"
  S3_SECRET_KEY="$(random_hex 20)"

  # Each server gets its own session/process group (setsid) so `stop` can clean up all of it.
  # Secrets go through the environment, never the command line.
  HEADY_PG_PASSWORD="$PG_PASSWORD" setsid "$ROOT/eng/local/postgres.sh" "$DIR/pg/data" "$PG_PORT" \
    </dev/null >"$DIR/logs/postgres.log" 2>&1 &
  echo $! >"$DIR/pids/postgres.pid"
  HEADY_REDIS_PASSWORD="$REDIS_PASSWORD" setsid "$ROOT/eng/local/redis.sh" "$DIR/redis" "$REDIS_PORT" \
    </dev/null >"$DIR/logs/redis.log" 2>&1 &
  echo $! >"$DIR/pids/redis.pid"
  HEADY_S3_ACCESS_KEY="$S3_ACCESS_KEY" HEADY_S3_SECRET_KEY="$S3_SECRET_KEY" \
    setsid node "$ROOT/eng/s3rver/server.js" --address 127.0.0.1 --port "$S3_PORT" --directory "$DIR/s3/data" \
    </dev/null >"$DIR/logs/s3.log" 2>&1 &
  echo $! >"$DIR/pids/s3.pid"

  local start=$EPOCHREALTIME name pid pending=("${NAMES[@]}") still failed=()
  local deadline=$((SECONDS + timeout))
  while [ "${#pending[@]}" -gt 0 ]; do
    still=()
    for name in "${pending[@]}"; do
      pid="$(cat "$DIR/pids/$name.pid")"
      if ! alive "$pid"; then
        failed+=("$name")
        continue
      fi
      if check_ready "$name"; then
        log "$name ready in $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
      else
        still+=("$name")
      fi
    done
    pending=("${still[@]+"${still[@]}"}")
    if [ "${#failed[@]}" -gt 0 ] || { [ "${#pending[@]}" -gt 0 ] && [ "$SECONDS" -ge "$deadline" ]; }; then
      [ "${#failed[@]}" -eq 0 ] || printf 'test-servers: %s exited during startup\n' "${failed[*]}" >&2
      [ "${#pending[@]}" -eq 0 ] || [ "${#failed[@]}" -gt 0 ] ||
        printf 'test-servers: not ready after %s s: %s\n' "$timeout" "${pending[*]}" >&2
      for name in "${failed[@]}" "${pending[@]}"; do log_tail "$name"; done
      stop_all "$DIR"
      exit 1
    fi
    [ "${#pending[@]}" -eq 0 ] || sleep 0.1
  done

  (
    umask 077
    cat >"$DIR/servers.env.tmp" <<EOF
# Written by eng/test-servers.sh; source it. Credentials are random per start.
export HEADY_TEST_POSTGRES='Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Password=$PG_PASSWORD'
export HEADY_TEST_REDIS='127.0.0.1:$REDIS_PORT,password=$REDIS_PASSWORD'
export HEADY_TEST_S3='Endpoint=http://127.0.0.1:$S3_PORT;AccessKey=$S3_ACCESS_KEY;SecretKey=$S3_SECRET_KEY'
EOF
    mv -f "$DIR/servers.env.tmp" "$DIR/servers.env"
  )
  log "postgres 127.0.0.1:$PG_PORT, redis 127.0.0.1:$REDIS_PORT, s3 http://127.0.0.1:$S3_PORT; env in $DIR/servers.env"
}

cmd_stop() {
  [ -d "$1" ] || { log "nothing to stop in $1"; return 0; }
  DIR="$(cd -- "$1" && pwd -P)"
  stop_all "$DIR"
  log "stopped"
}

[ "$#" -eq 2 ] || usage
case "$1" in
  start) cmd_start "$2" ;;
  stop) cmd_stop "$2" ;;
  *) usage ;;
esac
