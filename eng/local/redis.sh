#!/usr/bin/env bash
# Runs a private Redis server for HeadyClouds local mode / tests, without Docker.
#
# Usage: HEADY_REDIS_PASSWORD=... eng/local/redis.sh <state-dir> <port>
#
# - Stays in the FOREGROUND (supervised by the Aspire orchestrator or eng/test-servers.sh);
#   SIGTERM/SIGINT are forwarded to redis-server, and the script exits with its status.
# - Listens on 127.0.0.1:<port> only. The password goes into <state-dir>/redis.conf (mode 0600),
#   never onto a command line (where `ps` would show it).
# - No persistence (save "", appendonly no): the local cache starts empty on every run.
# - With HEADY_REDIS_TLS_DIR (the AppHost's local mode): TLS 1.3 only on <port> (plain port closed), clients must
#   present a certificate of the internal CA. The directory holds cert.pem, key.pem, ca.pem and serial (written last
#   by the AppHost, which renews the certificate); a watcher copies a changed set into a new generation directory and
#   makes the running server load it with CONFIG SET (same paths would not reload), over TLS with the server's own
#   certificate (it is certified for client use too).
set -euo pipefail

die() { printf 'redis.sh: %s\n' "$*" >&2; exit 1; }

[ "$#" -eq 2 ] || die "usage: HEADY_REDIS_PASSWORD=... $0 <state-dir> <port>"
[ -n "${HEADY_REDIS_PASSWORD:-}" ] || die "HEADY_REDIS_PASSWORD is not set"
case "$2" in '' | *[!0-9]*) die "port must be a number: $2" ;; esac
PORT="$2"
REDIS_SERVER="$(command -v redis-server || true)"
[ -n "$REDIS_SERVER" ] || die "redis-server not found; run eng/install-deps.sh"
case "$HEADY_REDIS_PASSWORD" in *$'\n'* | *$'\r'*) die "HEADY_REDIS_PASSWORD must be a single line" ;; esac

mkdir -p -- "$1"
STATE="$(cd -- "$1" && pwd -P)"
chmod 700 "$STATE"

TLS_SRC="${HEADY_REDIS_TLS_DIR:-}"
if [ -n "$TLS_SRC" ]; then
  command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found; run eng/install-deps.sh"
  for f in cert.pem key.pem ca.pem serial; do
    [ -f "$TLS_SRC/$f" ] || die "HEADY_REDIS_TLS_DIR=$TLS_SRC has no $f"
  done
fi

# The serial the AppHost wrote last (hex), empty if none.
source_serial() { tr -cd '0-9A-Fa-f' <"$TLS_SRC/serial" 2>/dev/null || true; }

# Copies the AppHost's current set into tls/<serial>/ (mode 0700) and prints that directory.
install_tls() {
  local serial dir
  serial="$(source_serial)"
  [ -n "$serial" ] || return 1
  dir="$STATE/tls/$serial"
  rm -rf -- "$dir.tmp"
  (umask 077 && mkdir -p -- "$dir.tmp" && cp -- "$TLS_SRC/cert.pem" "$TLS_SRC/key.pem" "$TLS_SRC/ca.pem" "$dir.tmp/") || return 1
  rm -rf -- "$dir"
  mv -- "$dir.tmp" "$dir"
  echo "$dir"
}

# CONFIG SET of the set in $2, presenting the client certificate in $1; the server is checked against $2's bundle.
load_tls() {
  REDISCLI_AUTH="$HEADY_REDIS_PASSWORD" redis-cli --no-auth-warning --tls --cert "$1/cert.pem" --key "$1/key.pem" \
    --cacert "$2/ca.pem" -h 127.0.0.1 -p "$PORT" \
    CONFIG SET tls-cert-file "$2/cert.pem" tls-key-file "$2/key.pem" tls-ca-cert-file "$2/ca.pem" 2>&1 | grep -qx OK
}

# Polls the AppHost's serial; a new one is copied and loaded with CONFIG SET. A failure (e.g. a set caught halfway
# through a renewal) is retried on the next round. Runs until redis-server is gone.
watch_tls() {
  local installed="$1" previous="" dir serial
  while sleep 2; do
    kill -0 "$child" 2>/dev/null || exit 0
    serial="$(source_serial)"
    [ -n "$serial" ] && [ "$STATE/tls/$serial" != "$installed" ] || continue
    dir="$(install_tls)" || continue
    # This client authenticates with the installed certificate, which the running server trusts; after a CA rollover
    # the new one may come from a CA the server does not trust yet. If the installed one has expired, the new one.
    if load_tls "$installed" "$dir" || load_tls "$dir" "$dir"; then
      echo "redis.sh: TLS certificate $serial loaded"
      [ -z "$previous" ] || rm -rf -- "$previous"
      previous="$installed"
      installed="$dir"
    else
      echo "redis.sh: loading TLS certificate $serial failed; retrying" >&2
      rm -rf -- "$dir"
    fi
  done
}

tls_dir=
if [ -n "$TLS_SRC" ]; then
  rm -rf -- "$STATE/tls"
  tls_dir="$(install_tls)" || die "could not install the TLS certificate from $TLS_SRC"
fi

# Quote for redis.conf: a double-quoted string where \ and " are escaped.
quote() {
  local s="${1//\\/\\\\}"
  printf '"%s"' "${s//\"/\\\"}"
}

CONF="$STATE/redis.conf"
(
  umask 077
  rm -f "$CONF.tmp"
  {
    echo "# Written by eng/local/redis.sh on every start; do not edit."
    echo "bind 127.0.0.1"
    if [ -n "$tls_dir" ]; then
      echo "port 0"
      echo "tls-port $PORT"
      echo "tls-cert-file $(quote "$tls_dir/cert.pem")"
      echo "tls-key-file $(quote "$tls_dir/key.pem")"
      echo "tls-ca-cert-file $(quote "$tls_dir/ca.pem")"
      echo "tls-auth-clients yes"
      echo "tls-protocols \"TLSv1.3\""
    else
      echo "port $PORT"
    fi
    echo "protected-mode yes"
    echo "requirepass $(quote "$HEADY_REDIS_PASSWORD")"
    echo "save \"\""
    echo "appendonly no"
    echo "dir $(quote "$STATE")"
    echo "dbfilename dump.rdb"
    echo "daemonize no"
    echo "supervised no"
    echo "logfile \"\""
    echo "databases 16"
  } >"$CONF.tmp"
  mv -f "$CONF.tmp" "$CONF"
)
cd "$STATE"

"$REDIS_SERVER" "$CONF" </dev/null &
child=$!
watcher=
if [ -n "$tls_dir" ]; then
  watch_tls "$tls_dir" &
  watcher=$!
fi

# shellcheck disable=SC2317 # invoked by the traps below
on_signal() {
  echo "redis.sh: $1 received, shutting down"
  kill -TERM "$child" 2>/dev/null || true # redis-server shuts down cleanly on SIGTERM
  [ -z "$watcher" ] || kill "$watcher" 2>/dev/null || true
}
trap 'on_signal SIGTERM' TERM
trap 'on_signal SIGINT' INT

# `wait` returns early (status > 128) when a trapped signal arrives: wait again while redis is
# still there. Once it has exited, `wait` has reaped it and returned its exit status.
status=0
while :; do
  if wait "$child"; then status=0; else status=$?; fi
  kill -0 "$child" 2>/dev/null || break
done
[ -z "$watcher" ] || kill "$watcher" 2>/dev/null || true
exit "$status"
