#!/usr/bin/env bash
# Subtree split benchmark: `git subtree split --prefix=P` (git's contrib script) vs Monorepo.Sync's SubtreeSplitter
# (through the bench-only harness bench/monorepo/SplitBench), on a generated repository:
#   1. from scratch on the generated history,
#   2. after SPLIT_BENCH_NEW more commits: git subtree again (it has no incremental mode without --rejoin) vs our
#      splitter given the map of run 1 (and, for reference, ours from scratch on the new tip).
# Every run's head id is compared with git subtree's; a difference fails the script (exit 1).
#
# Usage: bash bench/monorepo/split.sh          (~1.5 min on 2 cores with the defaults; git subtree takes nearly all)
#
# Environment (all optional):
#   SPLIT_BENCH_COMMITS=5000      commits to generate. git subtree needs ~6-9 ms per commit here, and runs twice, so
#                                 20000 commits (the size of the target repository) take 5-6.5 min in all; the
#                                 default is 5000 to stay well under 5 min. SPLIT_BENCH_SKIP_GIT_SUBTREE=1 makes 20000 quick
#                                 (ours only; the ids are then not compared).
#   SPLIT_BENCH_FILES=5000        files in the tree (1/20 of them under the prefix)
#   SPLIT_BENCH_TOUCH=0.2         share of commits that change a file under the prefix (each commit changes 1-3 files)
#   SPLIT_BENCH_PREFIX=packages/ui
#   SPLIT_BENCH_NEW=10            commits added (all touching the prefix) before the incremental run
#   SPLIT_BENCH_SEED=1            generator seed (the history is deterministic for a seed)
#   SPLIT_BENCH_REPO=<path>       use this existing repository (bare or not) instead of generating one; it is cloned
#                                 first (the new commits go to the clone), and SPLIT_BENCH_REV names the tip (HEAD)
#   SPLIT_BENCH_SKIP_GIT_SUBTREE=1   only time ours
#   SPLIT_BENCH_KEEP=1            keep the work directory (/tmp/heady-bench-split.*)
#   SPLIT_BENCH_BUILD_RETRIES=3   others may be building at the same time: a failed build is retried
#
# The generated history: one commit with SPLIT_BENCH_FILES files, then commits of 1-3 file changes, a file under the
# prefix with probability SPLIT_BENCH_TOUCH; every 40 commits a side branch runs in parallel for 19 commits and is
# merged back (a real two-parent merge), authors in 7 names and 10 time zones. Written with `git fast-import`.
set -euo pipefail
export LC_ALL=C GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

COMMITS="${SPLIT_BENCH_COMMITS:-5000}"
FILES="${SPLIT_BENCH_FILES:-5000}"
TOUCH="${SPLIT_BENCH_TOUCH:-0.2}"
PREFIX="${SPLIT_BENCH_PREFIX:-packages/ui}"
NEW="${SPLIT_BENCH_NEW:-10}"
SEED="${SPLIT_BENCH_SEED:-1}"
REPO="${SPLIT_BENCH_REPO:-}"
REV="${SPLIT_BENCH_REV:-HEAD}"
SKIP_GIT_SUBTREE="${SPLIT_BENCH_SKIP_GIT_SUBTREE:-0}"
KEEP="${SPLIT_BENCH_KEEP:-0}"
BUILD_RETRIES="${SPLIT_BENCH_BUILD_RETRIES:-3}"

log() { printf '==> %s\n' "$*" >&2; }
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

command -v git >/dev/null || die "git is required"
command -v dotnet >/dev/null || die "dotnet is required"
[ "$SKIP_GIT_SUBTREE" = 1 ] || [ -x "$(git --exec-path)/git-subtree" ] || die "git subtree is not installed (contrib/subtree)"

WORK="$(mktemp -d /tmp/heady-bench-split.XXXXXX)"
cleanup() {
  if [ "$KEEP" = 1 ] || [ "${ok:-0}" != 1 ]; then
    log "work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# ---- harness ------------------------------------------------------------------------------------------------------
log "building the harness (Release)"
attempt=1
until dotnet build "$HERE/SplitBench/SplitBench.csproj" -c Release -nologo -clp:ErrorsOnly -o "$WORK/harness" >"$WORK/build.log" 2>&1; do
  [ "$attempt" -ge "$BUILD_RETRIES" ] && { cat "$WORK/build.log" >&2; die "harness build failed"; }
  log "build failed (attempt $attempt; others may be building), retrying in 20 s"
  attempt=$((attempt + 1))
  sleep 20
done
harness() { dotnet "$WORK/harness/HeadyClouds.Bench.SplitBench.dll" "$@"; }

seconds_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

# ---- repository ---------------------------------------------------------------------------------------------------
SRC="$WORK/source.git"
generate() { # emits a fast-import stream (see the header)
  awk -v seed="$SEED" -v files="$FILES" -v commits="$COMMITS" -v touch="$TOUCH" -v prefix="$PREFIX" '
    function data(s) { printf "data %d\n%s\n", length(s), s }
    BEGIN {
      srand(seed + 0); t = 1600000000
      printf "commit refs/heads/main\nmark :1\nauthor Bench Author <author@example.com> %d +0000\n", t
      printf "committer Bench Committer <committer@example.com> %d +0000\n", t
      data("initial tree")
      nprefix = int(files / 20); if (nprefix < 1) nprefix = 1
      for (i = 0; i < files; i++) {
        if (i < nprefix) path[i] = prefix "/d" int(i / 50) "/f" i ".txt"; else path[i] = "src/d" int(i / 100) "/f" i ".txt"
        printf "M 100644 inline %s\n", path[i]; data("file " i " rev 0\n")
      }
      printf "\n"
      mainmark = 1; sidemark = 1
      for (c = 2; c <= commits; c++) {
        t += 60 + int(rand() * 600)
        phase = c % 40
        onside = (phase >= 20 && phase <= 38 && phase % 2 == 1)
        if (phase == 20) { sidemark = mainmark; delete sidecontent }
        printf "commit refs/heads/%s\nmark :%d\n", (onside ? "side" : "main"), c
        printf "author A%d Author <a%d@example.com> %d %s0%d00\n", c % 7, c % 7, t, (c % 3 ? "+" : "-"), c % 10
        printf "committer Bench Committer <committer@example.com> %d +0000\n", t + 5
        data("commit " c "\n\nbody line for commit " c)
        printf "from :%d\n", (onside ? sidemark : mainmark)
        if (phase == 39) printf "merge :%d\n", sidemark
        n = 1 + int(rand() * 3)
        for (k = 0; k < n; k++) {
          if (rand() < touch) f = int(rand() * nprefix); else f = nprefix + int(rand() * (files - nprefix))
          s = "file " f " rev " c "\n"
          printf "M 100644 inline %s\n", path[f]; data(s)
          if (onside) sidecontent[f] = s
        }
        if (phase == 39) { for (f in sidecontent) { printf "M 100644 inline %s\n", path[f]; data(sidecontent[f]) }; delete sidecontent }
        printf "\n"
        if (onside) sidemark = c; else mainmark = c
      }
      printf "reset refs/heads/main\nfrom :%d\n\n", mainmark
    }'
}

if [ -n "$REPO" ]; then
  log "cloning $REPO"
  git clone --quiet --bare "$REPO" "$SRC"
  TIP="$(git -C "$SRC" rev-parse --verify "$REV^{commit}")"
  git -C "$SRC" update-ref refs/heads/bench-tip "$TIP"
  git -C "$SRC" symbolic-ref HEAD refs/heads/bench-tip
else
  log "generating $COMMITS commits, $FILES files, prefix $PREFIX touched by ~$TOUCH of the commits (fast-import)"
  git init --quiet --bare "$SRC"
  git -C "$SRC" symbolic-ref HEAD refs/heads/main
  start=$(date +%s.%N)
  generate | git -C "$SRC" fast-import --quiet
  log "generated in $(seconds_since "$start") s"
fi
BRANCH="$(git -C "$SRC" symbolic-ref --short HEAD)"
WALKED="$(git -C "$SRC" rev-list --count HEAD)"
MERGES="$(git -C "$SRC" rev-list --merges --count HEAD)"

# git subtree needs a work tree that has the prefix in it; a no-checkout clone with the directory made is enough.
CLONE="$WORK/clone"
git clone --quiet --no-checkout "$SRC" "$CLONE"
mkdir -p "$CLONE/$PREFIX"

declare -a ROWS=()
row() { ROWS+=("$(printf '%-34s %10s %10s %9s %9s  %s' "$@")"); }
failures=0
check() { # label ours theirs
  if [ "$3" != "-" ] && [ "$2" != "$3" ]; then
    printf 'bench: MISMATCH in %s: ours %s, git subtree %s\n' "$1" "$2" "$3" >&2
    failures=$((failures + 1))
  fi
}
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -1; }

run_git_subtree() { # -> "seconds head"
  local start head
  git -C "$CLONE" fetch --quiet origin "+refs/heads/*:refs/remotes/origin/*"
  start=$(date +%s.%N)
  head="$(git -C "$CLONE" subtree split --prefix="$PREFIX" "origin/$BRANCH" 2>"$WORK/subtree.err")" || { cat "$WORK/subtree.err" >&2; head=FAILED; }
  echo "$(seconds_since "$start") $head"
}

# ---- 1. from scratch ------------------------------------------------------------------------------------------------
theirs1="-"
if [ "$SKIP_GIT_SUBTREE" != 1 ]; then
  log "git subtree split from scratch ($WALKED commits, $MERGES merges)"
  read -r t1 theirs1 < <(run_git_subtree)
  row "git subtree split (scratch)" "$t1" "$WALKED" "-" "-" "$theirs1"
fi
log "ours from scratch"
ours1="$(harness "$SRC" "$PREFIX" "$BRANCH" --map-out "$WORK/map.tsv")"
check "scratch" "$(field head "$ours1")" "$theirs1"
row "ours (scratch)" "$(field seconds "$ours1")" "$(field walked "$ours1")" "$(field examined "$ours1")" "$(field created "$ours1")" "$(field head "$ours1") git_processes=$(field git_processes "$ours1")"

# ---- 2. after new commits -----------------------------------------------------------------------------------------
log "adding $NEW commits that touch $PREFIX"
{
  t=1900000000
  for i in $(seq 1 "$NEW"); do
    t=$((t + 60))
    printf 'commit refs/heads/%s\n' "$BRANCH"
    printf 'author New Author <new@example.com> %d +0200\ncommitter New Committer <new@example.com> %d +0200\n' "$t" "$t"
    msg="new commit $i"
    printf 'data %d\n%s\n' "${#msg}" "$msg"
    [ "$i" = 1 ] && printf 'from refs/heads/%s^0\n' "$BRANCH"
    content="new $i"
    printf 'M 100644 inline %s/new-%d.txt\ndata %d\n%s\n\n' "$PREFIX" "$i" "${#content}" "$content"
  done
} | git -C "$SRC" fast-import --quiet
WALKED2="$(git -C "$SRC" rev-list --count HEAD)"

theirs2="-"
if [ "$SKIP_GIT_SUBTREE" != 1 ]; then
  log "git subtree split again ($WALKED2 commits; it re-walks everything)"
  read -r t2 theirs2 < <(run_git_subtree)
  row "git subtree split (+$NEW commits)" "$t2" "$WALKED2" "-" "-" "$theirs2"
fi
log "ours incremental (map of the first run)"
ours2="$(harness "$SRC" "$PREFIX" "$BRANCH" --map-in "$WORK/map.tsv" --map-out "$WORK/map2.tsv")"
check "incremental" "$(field head "$ours2")" "$theirs2"
row "ours incremental (+$NEW, with map)" "$(field seconds "$ours2")" "$(field walked "$ours2")" "$(field examined "$ours2")" "$(field created "$ours2")" "$(field head "$ours2") git_processes=$(field git_processes "$ours2")"
log "ours from scratch on the new tip (reference)"
ours3="$(harness "$SRC" "$PREFIX" "$BRANCH")"
check "scratch on the new tip" "$(field head "$ours3")" "$theirs2"
row "ours (scratch, +$NEW)" "$(field seconds "$ours3")" "$(field walked "$ours3")" "$(field examined "$ours3")" "$(field created "$ours3")" "$(field head "$ours3") git_processes=$(field git_processes "$ours3")"

# ---- table ----------------------------------------------------------------------------------------------------------
echo
echo "subtree split of '$PREFIX': $WALKED commits ($MERGES merges), $FILES files, touch ~$TOUCH, $(nproc) cores, $(git --version)"
printf '%-34s %10s %10s %9s %9s  %s\n' "run" "seconds" "walked" "examined" "created" "head"
for r in "${ROWS[@]}"; do echo "$r"; done
if [ "$SKIP_GIT_SUBTREE" != 1 ]; then
  if [ "$failures" = 0 ]; then echo "ids: all equal to git subtree split's"; else echo "ids: $failures MISMATCH(ES)"; fi
fi
[ "$failures" = 0 ] || exit 1
ok=1
