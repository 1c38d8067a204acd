#!/usr/bin/env bash
# Prepares a private SoftHSM2 token for the internal CA (local mode, developers), without touching the system-wide
# token directory. Idempotent: an existing token with the label is kept (it holds the CA keys).
#
# Usage: HEADY_HSM_PIN=... HEADY_HSM_SO_PIN=... eng/local/softhsm.sh <state-dir> <token-label>
#
# - Writes <state-dir>/softhsm2.conf (tokens in <state-dir>/tokens, file backend) and prints it on stdout:
#   the CA process needs SOFTHSM2_CONF=<that path> in its environment (SoftHSM reads it at C_Initialize).
# - The PINs come from the environment, never from the command line of this script (ps would show them);
#   softhsm2-util itself only takes them as arguments, briefly, during --init-token.
set -euo pipefail

die() { printf 'softhsm.sh: %s\n' "$*" >&2; exit 1; }

[ "$#" -eq 2 ] || die "usage: HEADY_HSM_PIN=... HEADY_HSM_SO_PIN=... $0 <state-dir> <token-label>"
[ -n "${HEADY_HSM_PIN:-}" ] || die "HEADY_HSM_PIN is not set"
[ -n "${HEADY_HSM_SO_PIN:-}" ] || die "HEADY_HSM_SO_PIN is not set"
command -v softhsm2-util >/dev/null 2>&1 || die "softhsm2-util not found; run eng/install-deps.sh"
[ -f /usr/lib/softhsm/libsofthsm2.so ] || die "/usr/lib/softhsm/libsofthsm2.so not found; run eng/install-deps.sh"
LABEL="$2"

mkdir -p -- "$1/tokens"
STATE="$(cd -- "$1" && pwd -P)"
chmod 700 "$STATE" "$STATE/tokens"
CONF="$STATE/softhsm2.conf"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$STATE/tokens" > "$CONF"
export SOFTHSM2_CONF="$CONF"

if ! softhsm2-util --show-slots 2>/dev/null | grep -Eq "^[[:space:]]*Label:[[:space:]]+$LABEL[[:space:]]*$"; then
  softhsm2-util --init-token --free --label "$LABEL" --pin "$HEADY_HSM_PIN" --so-pin "$HEADY_HSM_SO_PIN" >/dev/null
fi

printf '%s\n' "$CONF"
