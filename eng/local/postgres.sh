#!/usr/bin/env bash
# Runs a private PostgreSQL 15 server for HeadyClouds local mode / tests, without Docker.
#
# Usage: HEADY_PG_PASSWORD=... eng/local/postgres.sh <data-dir> <port>
#
# - Stays in the FOREGROUND: the Aspire orchestrator (or eng/test-servers.sh) supervises it.
#   SIGTERM/SIGINT are forwarded to the postmaster as SIGINT (= "fast" shutdown), then it exits
#   with the server's status.
# - First run: initdb into <data-dir> (UTF8, C.UTF-8 locale, superuser "postgres",
#   local=trust, host=scram-sha-256).
# - Listens on 127.0.0.1:<port> only; the unix socket lives in <data-dir> (not /var/run).
# - After every start the "postgres" role's password is (re)set from $HEADY_PG_PASSWORD through
#   the local socket, so a changed password takes effect. The password is never printed.
# - As root, PostgreSQL (which refuses to run as root) runs as the "postgres" OS user through
#   `runuser -u postgres --`; the data dir is chowned to it.
# - With HEADY_PG_TLS_DIR (the AppHost's local mode): TLS 1.3 only over TCP (non-TLS TCP connections are rejected by
#   pg_hba), with the certificate of the internal CA found there (cert.pem, key.pem, ca.pem, serial — serial written
#   last by the AppHost, which renews the certificate). The files are copied into <data-dir>/server-tls owned by the
#   server's user (PostgreSQL refuses a key others can read); a watcher copies a renewed set and reloads the server.
#   Every TCP client must also present a certificate of the internal CA (ca.pem, the trust bundle) besides the password
#   (pg_hba clientcert=verify-ca): two factors. PostgreSQL cannot map a certificate's identity to a role together with
#   password authentication, so which mesh service presents it is not checked here (only services hold the password).
set -euo pipefail

PG_BIN="${HEADY_PG_BIN:-/usr/lib/postgresql/15/bin}"

die() { printf 'postgres.sh: %s\n' "$*" >&2; exit 1; }

[ "$#" -eq 2 ] || die "usage: HEADY_PG_PASSWORD=... $0 <data-dir> <port>"
[ -n "${HEADY_PG_PASSWORD:-}" ] || die "HEADY_PG_PASSWORD is not set"
case "$2" in '' | *[!0-9]*) die "port must be a number: $2" ;; esac
PORT="$2"
for tool in initdb postgres pg_ctl pg_isready psql; do
  [ -x "$PG_BIN/$tool" ] || die "$PG_BIN/$tool not found; run eng/install-deps.sh"
done

mkdir -p -- "$1"
DATA="$(cd -- "$1" && pwd -P)"
# The socket path (<data-dir>/.s.PGSQL.<port>) must fit in sun_path (107 bytes).
[ "$(( ${#DATA} + 18 ))" -le 107 ] || die "data dir path too long for a unix socket: $DATA"

# Run a command as the OS user that owns the server.
AS_PG=()
if [ "$(id -u)" -eq 0 ]; then
  id -u postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' OS user; run eng/install-deps.sh"
  AS_PG=(runuser -u postgres --)
  chown postgres:postgres "$DATA"
  # Every parent must be traversable by "postgres" (e.g. /root is usually mode 700).
  if ! runuser -u postgres -- test -x "$DATA" -a -r "$DATA" -a -w "$DATA"; then
    dir="$DATA"
    while [ "$dir" != / ]; do
      dir="$(dirname "$dir")"
      if ! runuser -u postgres -- test -x "$dir"; then
        die "PostgreSQL runs as OS user 'postgres', which cannot traverse $dir ($(stat -c '%A %U' "$dir")). Use a data dir outside it (e.g. under /var/tmp or /tmp) or make it traversable (chmod o+x $dir)."
      fi
    done
    die "OS user 'postgres' cannot use $DATA"
  fi
fi
chmod 700 "$DATA"
cd / # the server and psql must not start in a dir the postgres user cannot read (e.g. /root)

# Signals are trapped from the start: a SIGTERM/SIGINT during the first run's initdb stops it
# (no half-made cluster is left behind) and we exit; once the server is launched, the postmaster
# gets SIGINT (fast shutdown) and we exit with its status.
child=
launched=0
stopping=0

# The postmaster's pid (runuser sits in between when we are root), once it has written it.
postmaster_pid() {
  local pid
  pid="$(head -n1 "$DATA/postmaster.pid" 2>/dev/null || true)"
  case "$pid" in '' | *[!0-9]*) return 1 ;; *) echo "$pid" ;; esac
}

# Fast shutdown; waits (up to 10 s) for the postmaster to write its pid when it is just starting.
shutdown_server() {
  local pid
  for _ in $(seq 1 100); do
    if pid="$(postmaster_pid)"; then
      kill -INT "$pid" 2>/dev/null || true
      return 0
    fi
    kill -0 "$child" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -TERM "$child" 2>/dev/null || true
}

# shellcheck disable=SC2317 # invoked by the traps below
on_signal() {
  stopping=1
  if [ "$launched" -eq 1 ]; then
    echo "postgres.sh: $1 received, fast shutdown"
    local pid
    # If the pid is not known yet, the main flow calls shutdown_server once it stops waiting.
    if pid="$(postmaster_pid)"; then kill -INT "$pid" 2>/dev/null || true; fi
  elif [ -n "$child" ]; then
    echo "postgres.sh: $1 received, stopping initdb"
    kill -TERM "$child" 2>/dev/null || true
  else
    echo "postgres.sh: $1 received, exiting"
    exit 143
  fi
}
trap 'on_signal SIGTERM' TERM
trap 'on_signal SIGINT' INT

# Waits for $child; `wait` returns early (status > 128) when a trapped signal arrives, so wait
# again while it is still there. Once it has exited, `wait` reaped it and returned its status.
wait_child() {
  local status
  while :; do
    if wait "$child"; then status=0; else status=$?; fi
    kill -0 "$child" 2>/dev/null || break
  done
  return "$status"
}

# --- first run: initdb ----------------------------------------------------------------------
# initdb writes into <data-dir>/initdb.tmp, whose content is moved up (PG_VERSION last) only
# when complete: PG_VERSION in <data-dir> always means a whole cluster.
if [ ! -f "$DATA/PG_VERSION" ]; then
  rm -rf -- "$DATA/initdb.tmp" # left over by an interrupted first run
  if [ -n "$(ls -A "$DATA")" ]; then
    die "$DATA is not empty but holds no PostgreSQL cluster (no PG_VERSION); remove it or use another dir"
  fi
  locale=C
  if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then locale=C.UTF-8; fi
  echo "postgres.sh: initializing a new cluster in $DATA (locale $locale)"
  "${AS_PG[@]}" "$PG_BIN/initdb" -D "$DATA/initdb.tmp" -U postgres --encoding=UTF8 --locale="$locale" \
    --auth-local=trust --auth-host=scram-sha-256 --no-instructions >/dev/null &
  child=$!
  if ! wait_child || [ "$stopping" -eq 1 ]; then
    rm -rf -- "$DATA/initdb.tmp"
    [ "$stopping" -eq 1 ] && exit 143
    die "initdb failed"
  fi
  child=
  for entry in "$DATA/initdb.tmp"/*; do
    [ "${entry##*/}" = PG_VERSION ] || mv -- "$entry" "$DATA/"
  done
  mv -- "$DATA/initdb.tmp/PG_VERSION" "$DATA/PG_VERSION"
  rmdir -- "$DATA/initdb.tmp"
fi

# A server left running by a killed supervisor still holds the data dir: stop it first.
# A pid file whose process is gone (or is not a postgres any more) is stale: remove it, so the
# pid file only ever names our own postmaster.
if old_pid="$(postmaster_pid)"; then
  if [ "$(cat "/proc/$old_pid/comm" 2>/dev/null || true)" = postgres ]; then
    echo "postgres.sh: stopping a server left running on $DATA (pid $old_pid)"
    "${AS_PG[@]}" "$PG_BIN/pg_ctl" stop -D "$DATA" -m fast -w -t 60 >/dev/null
  else
    rm -f -- "$DATA/postmaster.pid"
  fi
fi

# max_connections is given on the command line below; the same value in the file keeps a reload (TLS renewal) from
# logging that the file "contains errors" (a postmaster-only setting that differs from the running one).
"${AS_PG[@]}" sed -i -E 's/^#?max_connections = [0-9]+/max_connections = 200/' "$DATA/postgresql.conf"

# --- TLS (optional) ---------------------------------------------------------------------------
TLS_SRC="${HEADY_PG_TLS_DIR:-}"
TLS_DST="$DATA/server-tls"
TLS_ARGS=()

# The serial the AppHost wrote last (hex), empty if none.
source_serial() { tr -cd '0-9A-Fa-f' <"$TLS_SRC/serial" 2>/dev/null || true; }

# Copies the current set next to the data (each file replaced atomically) and prints its serial.
install_tls() {
  local serial f
  serial="$(source_serial)"
  [ -n "$serial" ] || return 1
  for f in cert.pem key.pem ca.pem; do
    if [ "${#AS_PG[@]}" -gt 0 ]; then
      install -o postgres -g postgres -m 600 -- "$TLS_SRC/$f" "$TLS_DST/$f.tmp" || return 1
    else
      install -m 600 -- "$TLS_SRC/$f" "$TLS_DST/$f.tmp" || return 1
    fi
    mv -f -- "$TLS_DST/$f.tmp" "$TLS_DST/$f"
  done
  echo "$serial"
}

# Polls the AppHost's serial; a new set is copied and the server reloaded (PostgreSQL re-reads its certificate and key
# on SIGHUP and keeps the old ones if the new pair does not load; the next round then copies again).
watch_tls() {
  local installed="$1" serial
  while sleep 2; do
    kill -0 "$child" 2>/dev/null || exit 0
    serial="$(source_serial)"
    [ -n "$serial" ] && [ "$serial" != "$installed" ] || continue
    installed="$(install_tls)" || { installed=; continue; }
    if "${AS_PG[@]}" "$PG_BIN/pg_ctl" reload -D "$DATA" -s; then
      echo "postgres.sh: TLS certificate $installed installed, configuration reloaded"
    else
      echo "postgres.sh: reloading after TLS certificate $installed failed" >&2
    fi
  done
}

if [ -n "$TLS_SRC" ]; then
  for f in cert.pem key.pem ca.pem serial; do
    [ -f "$TLS_SRC/$f" ] || die "HEADY_PG_TLS_DIR=$TLS_SRC has no $f"
  done
  mkdir -p -- "$TLS_DST"
  chmod 700 "$TLS_DST"
  [ "${#AS_PG[@]}" -eq 0 ] || chown postgres:postgres "$TLS_DST"
  tls_serial="$(install_tls)" || die "could not install the TLS certificate from $TLS_SRC"
  # The unix socket (in the private data dir) stays trusted for this script's own psql; TCP only over TLS.
  hba="$DATA/pg_hba_tls.conf"
  cat >"$hba.tmp" <<'HBA'
# Written by eng/local/postgres.sh on every start in TLS mode; do not edit.
local     all  all                 trust
hostssl   all  all  127.0.0.1/32   scram-sha-256  clientcert=verify-ca
hostssl   all  all  ::1/128        scram-sha-256  clientcert=verify-ca
hostnossl all  all  0.0.0.0/0      reject
hostnossl all  all  ::/0           reject
HBA
  mv -f -- "$hba.tmp" "$hba"
  [ "${#AS_PG[@]}" -eq 0 ] || chown postgres:postgres "$hba"
  # ssl_ca_file: the trust bundle client certificates are verified against (re-read on reload, like the key pair).
  TLS_ARGS=(-c ssl=on -c "ssl_cert_file=$TLS_DST/cert.pem" -c "ssl_key_file=$TLS_DST/key.pem" -c "ssl_ca_file=$TLS_DST/ca.pem"
    -c ssl_min_protocol_version=TLSv1.3 -c "hba_file=$hba")
fi

# --- run --------------------------------------------------------------------------------------
# Settings are given on the command line so they apply on every start, whatever the conf says.
launched=1
"${AS_PG[@]}" "$PG_BIN/postgres" -D "$DATA" \
  -c listen_addresses=127.0.0.1 \
  -c port="$PORT" \
  -c unix_socket_directories="$DATA" \
  -c max_connections=200 \
  -c password_encryption=scram-sha-256 \
  -c logging_collector=off \
  "${TLS_ARGS[@]}" \
  </dev/null &
child=$! # runuser (as root) or postgres itself
watcher=
if [ -n "$TLS_SRC" ]; then
  watch_tls "$tls_serial" &
  watcher=$!
fi

# Wait until the server accepts connections on its socket, then set the password.
ready=0
failed=0
for _ in $(seq 1 600); do # up to 60 s
  kill -0 "$child" 2>/dev/null || break
  [ "$stopping" -eq 0 ] || break
  if "${AS_PG[@]}" "$PG_BIN/pg_isready" -q -h "$DATA" -p "$PORT" -d postgres -U postgres; then ready=1; break; fi
  sleep 0.1
done
if [ "$ready" -eq 1 ]; then
  # \getenv keeps the password off every command line; it travels only inside the statement,
  # and this session's settings keep that statement out of the server log even if it fails.
  if ! "${AS_PG[@]}" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DATA" -p "$PORT" -U postgres -d postgres >/dev/null <<'SQL'
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
SET log_min_duration_statement = -1;
\getenv heady_pw HEADY_PG_PASSWORD
ALTER ROLE postgres WITH PASSWORD :'heady_pw';
SQL
  then
    echo "postgres.sh: could not set the postgres password; stopping" >&2
    failed=1
    stopping=1
  else
    echo "postgres.sh: ready on 127.0.0.1:$PORT (socket dir $DATA), password set"
  fi
elif [ "$stopping" -eq 0 ] && kill -0 "$child" 2>/dev/null; then
  echo "postgres.sh: server not ready after 60 s; stopping" >&2
  failed=1
  stopping=1
fi
if [ "$stopping" -eq 1 ]; then shutdown_server; fi

if wait_child; then status=0; else status=$?; fi
[ -z "$watcher" ] || kill "$watcher" 2>/dev/null || true
# Not ready in time, or no password set: a failure even though the shutdown itself went fine.
if [ "$failed" -eq 1 ] && [ "$status" -eq 0 ]; then status=1; fi
exit "$status"
