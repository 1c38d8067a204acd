#!/usr/bin/env bash
# Mirror benchmark: generates a synthetic repository with `git fast-import`, then times one source → one target
#   (a) full mirror     `git clone --mirror` + `git push --mirror`   vs  our engine (system git)  vs  LibGit2Sharp
#   (b) no-op sync      `git fetch` + `git push --mirror`             vs  engine                   vs  LibGit2Sharp
#   (c) incremental     the same after N new commits on main
# over local paths (BENCH_TRANSPORT=file, the default: no network, so it measures git's work and our overhead) or over
# git's smart protocol to a `git daemon` on 127.0.0.1 (BENCH_TRANSPORT=daemon). Caveats of each in
# docs/decisions/0004-git-engine.md (libgit2's local transport is slow; protocol v2 over git daemon stalls ~45 ms per
# connection on Nagle/delayed ACK). The engine and
# the LibGit2Sharp variant run in the harness bench/monorepo/MirrorBench (not in HeadyClouds.sln), which compiles in
# Monorepo.Sync/Git/GitCli.cs and Monorepo.Sync/Git/Mirror/*.cs; both plan with MirrorEngine.ComputeUpdates.
# Results: docs/decisions/0004-git-engine.md.
#
# Usage: bash bench/monorepo/mirror.sh          (~3-4 min on 2 cores with the defaults)
#
# Environment (all optional):
#   BENCH_COMMITS=20000   BENCH_FILES=5000   BENCH_REFS=200      the generated repository
#   BENCH_INCREMENTAL_COMMITS=10             commits added for (c)
#   BENCH_NOOP_RUNS=20                       measured no-op runs (median and p90 reported; one warm-up run first)
#   BENCH_TRANSPORT=file|daemon              local paths (default), or git:// to a loopback git daemon
#   BENCH_SKIP_LIBGIT2=1                     leave out the LibGit2Sharp column
#   BENCH_ARTIFACTS=<dir>                    harness build output (default bench/monorepo/artifacts, git-ignored)
#   BENCH_SKIP_BUILD=1                       use the harness already in BENCH_ARTIFACTS
#   BENCH_BUILD_RETRIES=3                    others may be building at the same time: a failed build is retried
#   BENCH_KEEP_WORKDIR=1                     keep the temporary directory (it is always kept on failure)
# Progress goes to stderr, the table to stdout.
set -euo pipefail
export LC_ALL=C

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

COMMITS="${BENCH_COMMITS:-20000}"
FILES="${BENCH_FILES:-5000}"
REFS="${BENCH_REFS:-200}"
INCREMENTAL="${BENCH_INCREMENTAL_COMMITS:-10}"
NOOP_RUNS="${BENCH_NOOP_RUNS:-20}"
SKIP_LIBGIT2="${BENCH_SKIP_LIBGIT2:-0}"
TRANSPORT="${BENCH_TRANSPORT:-file}"
ARTIFACTS="${BENCH_ARTIFACTS:-$HERE/artifacts}"
SKIP_BUILD="${BENCH_SKIP_BUILD:-0}"
BUILD_RETRIES="${BENCH_BUILD_RETRIES:-3}"
KEEP_WORKDIR="${BENCH_KEEP_WORKDIR:-0}"

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 0
fi

log() { printf '==> %s\n' "$*" >&2; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-" } else { print v[int((NR + 1) / 2)] } }'; }
p90() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-" } else { i = int(NR * 0.9 + 0.999); if (i < 1) i = 1; print v[i] } }'; }

# The same isolation the engine gives git: no user or system configuration.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

command -v git >/dev/null || { echo "git is required" >&2; exit 1; }
command -v dotnet >/dev/null || { echo "dotnet is required" >&2; exit 1; }

# --- harness ----------------------------------------------------------------------------------
HARNESS="$ARTIFACTS/bin/HeadyClouds.Bench.Mirror.dll"
if [ "$SKIP_BUILD" != "1" ]; then
  log "building the harness (Release) into $ARTIFACTS"
  attempt=1
  until dotnet build "$HERE/MirrorBench/MirrorBench.csproj" -c Release -nologo -clp:ErrorsOnly -o "$ARTIFACTS/bin" >&2; do
    if [ "$attempt" -ge "$BUILD_RETRIES" ]; then
      echo "harness build failed $attempt times" >&2
      exit 1
    fi
    attempt=$((attempt + 1))
    log "build failed (someone else building?); retrying in 20 s"
    sleep 20
  done
fi
[ -f "$HARNESS" ] || { echo "no harness at $HARNESS" >&2; exit 1; }
harness() { dotnet "$HARNESS" "$@"; }

WORK="$(mktemp -d /tmp/heady-bench-mirror.XXXXXX)"
ok=0
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ]; then
    kill "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  if [ "$ok" = "1" ] && [ "$KEEP_WORKDIR" != "1" ]; then
    rm -rf "$WORK"
  else
    log "work directory kept: $WORK"
  fi
}
trap cleanup EXIT
cd "$WORK"

# --- the repository ---------------------------------------------------------------------------
log "generating $COMMITS commits, $FILES files, $REFS refs with git fast-import"
git init --quiet --bare source.git
t0=$(now_ms)
harness generate --commits "$COMMITS" --files "$FILES" --refs "$REFS" | git -C source.git fast-import --quiet
gen_ms=$(( $(now_ms) - t0 ))
pack_kib=$(git -C source.git count-objects -v | awk '/^size-pack:/ { print $2 }')
ref_count=$(git -C source.git for-each-ref | wc -l)
commit_count=$(git -C source.git rev-list --all --count)
log "generated in ${gen_ms} ms: $commit_count commits, $ref_count refs, pack $((pack_kib / 1024)) MiB"

# --- transport --------------------------------------------------------------------------------
# url NAME: how the benchmarked tools reach repository NAME.git of the work directory.
case "$TRANSPORT" in
  file)
    url() { echo "$WORK/$1.git"; }
    clone_url="file://$WORK/source.git"
    ;;
  daemon)
    port=$(harness free-port)
    git daemon --reuseaddr --listen=127.0.0.1 --port="$port" --base-path="$WORK" --export-all \
      --enable=receive-pack --informative-errors "$WORK" 2>"$WORK/daemon.log" &
    daemon_pid=$!
    url() { echo "git://127.0.0.1:$port/$1.git"; }
    clone_url="$(url source)"
    for _ in $(seq 100); do
      git ls-remote "$clone_url" >/dev/null 2>&1 && break
      sleep 0.1
    done
    git ls-remote "$clone_url" >/dev/null || { echo "git daemon did not come up: $(cat "$WORK/daemon.log")" >&2; exit 1; }
    log "git daemon on 127.0.0.1:$port (pid $daemon_pid)"
    ;;
  *)
    echo "BENCH_TRANSPORT must be daemon or file" >&2
    exit 1
    ;;
esac

declare -A R
record() { R["$1"]="$2"; }
# RESULT <label> <impl> runs=.. fetch_ms=.. sync_ms=.. total_ms=.. min_ms=.. p90_ms=.. changes=..
run_harness() {
  local impl="$1" label="$2" runs="$3" line
  line=$(harness "$impl" --source "$(url source)" --mirror "$WORK/$impl-mirror.git" --target "$(url "$impl-target")" --runs "$runs" --label "$label" | grep '^RESULT ')
  log "$line"
  for field in fetch_ms sync_ms total_ms p90_ms; do
    record "$label.$impl.$field" "$(sed -n "s/.* $field=\([0-9]*\).*/\1/p" <<<"$line")"
  done
}

impls=(engine)
[ "$SKIP_LIBGIT2" = "1" ] || impls+=(libgit2)
for impl in "${impls[@]}"; do git init --quiet --bare "$impl-target.git"; done
git init --quiet --bare git-target.git

# --- (a) full mirror --------------------------------------------------------------------------
log "(a) full mirror"
t0=$(now_ms)
git clone --quiet --mirror --no-local "$clone_url" git-mirror.git
t1=$(now_ms)
git -C git-mirror.git push --quiet --mirror "$(url git-target)"
t2=$(now_ms)
record full.git.fetch_ms $((t1 - t0)); record full.git.sync_ms $((t2 - t1)); record full.git.total_ms $((t2 - t0))
log "git clone --mirror $((t1 - t0)) ms, git push --mirror $((t2 - t1)) ms"
for impl in "${impls[@]}"; do run_harness "$impl" full 1; done

for impl in "${impls[@]}"; do
  if ! diff <(git -C git-target.git for-each-ref) <(git -C "$impl-target.git" for-each-ref) >/dev/null; then
    echo "$impl-target.git differs from git-target.git after the full mirror" >&2
    exit 1
  fi
done

# --- (b) no-op --------------------------------------------------------------------------------
log "(b) no-op sync, $NOOP_RUNS runs each"
git -C git-mirror.git fetch --quiet --prune origin && git -C git-mirror.git push --quiet --mirror "$(url git-target)"
noop_times=()
for _ in $(seq "$NOOP_RUNS"); do
  t0=$(now_ms)
  git -C git-mirror.git fetch --quiet --prune origin
  t1=$(now_ms)
  git -C git-mirror.git push --quiet --mirror "$(url git-target)" 2>/dev/null
  t2=$(now_ms)
  noop_times+=("$((t1 - t0)) $((t2 - t1)) $((t2 - t0))")
done
record noop.git.fetch_ms "$(printf '%s\n' "${noop_times[@]}" | cut -d' ' -f1 | median)"
record noop.git.sync_ms "$(printf '%s\n' "${noop_times[@]}" | cut -d' ' -f2 | median)"
record noop.git.total_ms "$(printf '%s\n' "${noop_times[@]}" | cut -d' ' -f3 | median)"
record noop.git.p90_ms "$(printf '%s\n' "${noop_times[@]}" | cut -d' ' -f3 | p90)"
for impl in "${impls[@]}"; do run_harness "$impl" noop "$NOOP_RUNS"; done

# --- (c) incremental --------------------------------------------------------------------------
log "(c) $INCREMENTAL new commits on main"
main=$(git -C source.git rev-parse refs/heads/main)
harness append --count "$INCREMENTAL" --files "$FILES" --from "$main" | git -C source.git fast-import --quiet
t0=$(now_ms)
git -C git-mirror.git fetch --quiet --prune origin
t1=$(now_ms)
git -C git-mirror.git push --quiet --mirror "$(url git-target)"
t2=$(now_ms)
record incr.git.fetch_ms $((t1 - t0)); record incr.git.sync_ms $((t2 - t1)); record incr.git.total_ms $((t2 - t0))
for impl in "${impls[@]}"; do run_harness "$impl" incr 1; done
for impl in "${impls[@]}"; do
  [ "$(git -C "$impl-target.git" rev-parse refs/heads/main)" = "$(git -C source.git rev-parse refs/heads/main)" ] ||
    { echo "$impl-target.git main is not the source's after the incremental sync" >&2; exit 1; }
done

# --- table ------------------------------------------------------------------------------------
get() { echo "${R[$1]:--}"; }
libgit2_version=""
[ "$SKIP_LIBGIT2" = "1" ] || libgit2_version=", $(harness info | sed -n 's/^\(LibGit2Sharp [0-9.]*\).*/\1/p')"
printf '\nMirror benchmark: %s commits, %s refs, %s files, pack %s MiB; %s%s; %s cores, load %s; transport %s\n' \
  "$commit_count" "$ref_count" "$FILES" "$((pack_kib / 1024))" "$(git --version)" "$libgit2_version" "$(nproc)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" "$([ "$TRANSPORT" = daemon ] && echo "git:// (loopback git daemon)" || echo "local paths")"
printf '%-34s %22s %22s %22s\n' "ms: fetch + push = total" "git clone/push --mirror" "engine (system git)" "LibGit2Sharp"
row() {
  local label="$1" title="$2" line
  line=$(printf '%-34s' "$title")
  for impl in git engine libgit2; do
    if [ "$impl" = libgit2 ] && [ "$SKIP_LIBGIT2" = "1" ]; then
      line+=$(printf ' %22s' "-")
    else
      line+=$(printf ' %22s' "$(get "$label.$impl.fetch_ms") + $(get "$label.$impl.sync_ms") = $(get "$label.$impl.total_ms")")
    fi
  done
  echo "$line"
}
row full "(a) full mirror"
row noop "(b) no-op sync, median of $NOOP_RUNS"
printf '%-34s %22s %22s %22s\n' "(b) no-op sync, p90 total" "$(get noop.git.p90_ms)" "$(get noop.engine.p90_ms)" "$(get noop.libgit2.p90_ms)"
row incr "(c) +$INCREMENTAL commits on main"
printf '(no-op rows: each figure is its own median, so they need not add up; repository generated in %s ms)\n' "$gen_ms"
ok=1
