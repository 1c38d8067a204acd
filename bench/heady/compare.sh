#!/usr/bin/env bash
# rsync and rclone on the same data set as the heady benchmark (SMALL × 4 KiB files in d000..d099 + one BIG MiB file),
# the same steps: initial sync, no-op re-sync, re-sync after rewriting 1 % of the small files, re-sync after a 1-byte
# edit in the middle of the big file. Called by run.sh; usable alone: bash bench/heady/compare.sh [small] [big MiB]
#   rsync  local dir → local dir (its default for local copies is --whole-file; the 1-byte edit is also shown with
#          --no-whole-file, its delta algorithm), and over ssh to 127.0.0.1 (a private sshd on a free port, when sshd
#          is installed and we are root; BENCH_NO_SSH=1 skips it)
#   rclone sync local → local, and to the S3 server of $HEADY_TEST_S3 (eng/test-servers.sh's s3rver) when set, plus
#          a fresh download from there (the counterpart of heady's second-device pull)
# Table rows on stdout (same columns as the heady table), progress on stderr.
set -euo pipefail
export LC_ALL=C
SMALL="${1:-10000}"
BIG="${2:-1024}"
for tool in rsync rclone python3; do command -v "$tool" >/dev/null || { echo "compare.sh: $tool missing" >&2; exit 1; }; done

TMP="$(mktemp -d /tmp/heady-compare.XXXXXX)"
SSHD_PID=""
cleanup() {
  [ -z "$SSHD_PID" ] || kill "$SSHD_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
SRC="$TMP/src"
export RCLONE_CONFIG="$TMP/rclone.conf"
rclone() { env -u AWS_CA_BUNDLE rclone "$@"; } # a CA bundle in the environment breaks rclone's S3 client even for http://
: >"$RCLONE_CONFIG"

echo "compare: generating $SMALL × 4 KiB + $BIG MiB in $SRC ..." >&2
python3 - "$SRC" "$SMALL" "$BIG" <<'EOF'
import os, sys
root, small, big = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(small):
    d = os.path.join(root, "d%03d" % (i % 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d.bin" % i), "wb") as f:
        f.write(os.urandom(4096))
with open(os.path.join(root, "big.bin"), "wb") as f:
    for _ in range(big):
        f.write(os.urandom(1 << 20))
EOF

# Rows: | step | time | files/s | MB/s | files sent | bytes sent |   (files/s and MB/s over the step's logical payload)
row() { # name seconds files bytes sentFiles sentBytes
  python3 - "$@" <<'EOF'
import sys
name, secs, files, nbytes, sent_files, sent_bytes = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
fps = "%.0f" % (files / secs) if files and secs > 0 else "-"
mbs = "%.0f" % (nbytes / 1e6 / secs) if nbytes and secs > 0 else "-"
print("| %s | %.1f s | %s | %s | %s files | %s |" % (name, secs, fps, mbs, sent_files, "{:,}".format(int(sent_bytes))))
EOF
}

now() { date +%s.%N; }

# rsync with --stats: files transferred and the literal (actually sent) data.
run_rsync() { # name files bytes rsync-args...
  local name="$1" files="$2" bytes="$3"; shift 3
  local s e out
  s=$(now); out="$(rsync -a --stats "$@")"; e=$(now)
  row "$name" "$(echo "$e - $s" | bc)" "$files" "$bytes" \
    "$(sed -n 's/^Number of regular files transferred: //p' <<<"$out" | tr -d ,)" \
    "$(sed -n 's/^Literal data: \([0-9,]*\) bytes.*/\1/p' <<<"$out" | tr -d ,)"
}

# rclone with its final stats: files and bytes transferred.
run_rclone() { # name files bytes rclone-args...
  local name="$1" files="$2" bytes="$3"; shift 3
  local s e out sent_files sent_bytes
  s=$(now); out="$(rclone "$@" --stats 1h --stats-log-level NOTICE --stats-unit bytes 2>&1)" || { echo "$out" >&2; return 1; }; e=$(now)
  sent_bytes="$(grep -oE 'Transferred:[[:space:]]+[0-9.]+ [KMGT]?i?B /' <<<"$out" | head -1 | sed -E 's/Transferred:[[:space:]]+//; s/ \/$//' || true)"
  sent_files="$({ grep -E 'Transferred:[[:space:]]+[0-9]+ / [0-9]+, ' <<<"$out" || true; } | { grep -v B || true; } | sed -E 's/Transferred:[[:space:]]+([0-9]+) .*/\1/' | head -1)"
  row "$name" "$(echo "$e - $s" | bc)" "$files" "$bytes" "${sent_files:-0}" "$(python3 -c '
import sys
v = sys.argv[1].split()
units = {"B": 1, "KiB": 1024, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
print(int(float(v[0]) * units[v[1]]) if len(v) == 2 else 0)' "${sent_bytes:-0 B}")"
}

SSH=""
if [ "${BENCH_NO_SSH:-0}" != 1 ] && [ "$(id -u)" -eq 0 ] && [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null; then
  mkdir -p "$TMP/ssh" /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$TMP/ssh/host"
  ssh-keygen -q -t ed25519 -N '' -f "$TMP/ssh/client"
  cp "$TMP/ssh/client.pub" "$TMP/ssh/authorized_keys"
  PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  /usr/sbin/sshd -D -f /dev/null -E "$TMP/ssh/sshd.log" -o ListenAddress=127.0.0.1 -o Port="$PORT" -o HostKey="$TMP/ssh/host" \
    -o AuthorizedKeysFile="$TMP/ssh/authorized_keys" -o StrictModes=no -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
    -o UsePAM=no -o PermitRootLogin=prohibit-password -o PidFile=none &
  SSHD_PID=$!
  SSH="ssh -p $PORT -i $TMP/ssh/client -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes"
  for _ in $(seq 50); do $SSH "$(id -un)@127.0.0.1" true 2>/dev/null && break; sleep 0.2; done
  $SSH "$(id -un)@127.0.0.1" true || { echo "compare: sshd on 127.0.0.1:$PORT not reachable, skipping rsync over ssh" >&2; SSH=""; }
fi

S3=""
if [ -n "${HEADY_TEST_S3:-}" ]; then
  s3_field() { tr ';' '\n' <<<"$HEADY_TEST_S3" | sed -n "s/^$1=//p"; }
  export RCLONE_CONFIG_HS3_TYPE=s3 RCLONE_CONFIG_HS3_PROVIDER=Other RCLONE_CONFIG_HS3_FORCE_PATH_STYLE=true
  RCLONE_CONFIG_HS3_ENDPOINT="$(s3_field Endpoint)"; RCLONE_CONFIG_HS3_ACCESS_KEY_ID="$(s3_field AccessKey)"
  RCLONE_CONFIG_HS3_SECRET_ACCESS_KEY="$(s3_field SecretKey)"
  export RCLONE_CONFIG_HS3_ENDPOINT RCLONE_CONFIG_HS3_ACCESS_KEY_ID RCLONE_CONFIG_HS3_SECRET_ACCESS_KEY
  S3="hs3:rclone-bench-$(date +%s)"
  rclone mkdir "$S3" 2>/dev/null || { echo "compare: cannot create an S3 bucket at $RCLONE_CONFIG_HS3_ENDPOINT, skipping rclone → S3" >&2; S3=""; }
fi

TOTAL=$((SMALL * 4096 + BIG * 1048576))
FILES=$((SMALL + 1))
TOUCHED=$((SMALL / 100))
step() { # label files bytes extra-rsync-args (for the local rsync only)
  local label="$1" files="$2" bytes="$3" extra="${4:-}"
  echo "compare: $label ..." >&2
  # shellcheck disable=SC2086
  run_rsync "rsync -a local: $label" "$files" "$bytes" $extra "$SRC/" "$TMP/dst-rsync/"
  [ -z "$SSH" ] || run_rsync "rsync -a over ssh (127.0.0.1): $label" "$files" "$bytes" -e "$SSH" "$SRC/" "$(id -un)@127.0.0.1:$TMP/dst-ssh/"
  run_rclone "rclone sync local: $label" "$files" "$bytes" sync "$SRC" "$TMP/dst-rclone"
  [ -z "$S3" ] || run_rclone "rclone sync → S3 (s3rver): $label" "$files" "$bytes" sync "$SRC" "$S3"
}

step "initial" "$FILES" "$TOTAL"
step "no-op re-sync" 0 0
python3 - "$SRC" "$SMALL" <<'EOF'
import os, sys
root, small = sys.argv[1], int(sys.argv[2])
for i in range(small // 100):  # the same files heady's benchmark rewrites
    n = i * 100
    with open(os.path.join(root, "d%03d" % (n % 100), "f%06d.bin" % n), "wb") as f:
        f.write(os.urandom(4096))
EOF
step "re-sync after touching 1 % ($TOUCHED files)" "$TOUCHED" $((TOUCHED * 4096))
python3 - "$SRC/big.bin" <<'EOF'
import os, sys, time
with open(sys.argv[1], "r+b") as f:
    f.seek(0, 2); middle = f.tell() // 2
    f.seek(middle); b = f.read(1)
    f.seek(middle); f.write(bytes([b[0] ^ 0xFF]))
t = time.time() + 5
os.utime(sys.argv[1], (t, t))
EOF
# The local rsync is shown twice for the edit: whole-file (its local default) and with its delta algorithm.
cp -a "$TMP/dst-rsync" "$TMP/dst-rsync-delta"
step "re-sync after a 1-byte edit in the big file" 1 0
run_rsync "rsync -a --no-whole-file local: re-sync after a 1-byte edit in the big file" 1 0 --no-whole-file "$SRC/" "$TMP/dst-rsync-delta/"
rm -rf "$TMP/dst-rsync-delta"
if [ -n "$S3" ]; then
  echo "compare: second device's initial download from S3 ..." >&2
  run_rclone "rclone sync S3 (s3rver) → new local dir: initial pull" "$FILES" "$TOTAL" sync "$S3" "$TMP/dst-from-s3"
  rclone purge "$S3" >/dev/null 2>&1 || true
fi
