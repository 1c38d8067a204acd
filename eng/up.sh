#!/usr/bin/env bash
# Brings the whole stack up on this machine, with or without a container engine, and prints the dashboard and
# gateway URLs. Installs what local mode needs (Debian packages, npm) when it is missing.
#   bash eng/up.sh                    # auto: containers if a healthy engine answers, else local executables
#   HeadyClouds__DataTier=local bash eng/up.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

bash eng/install-deps.sh

# Local-mode state and the first admin's token live outside the repository (see docs/development.md).
if [ "$(id -u)" = "0" ]; then state="${HeadyClouds__StateDirectory:-/var/tmp/headyclouds}"; else state="${HeadyClouds__StateDirectory:-${XDG_STATE_HOME:-$HOME/.local/state}/headyclouds}"; fi
mkdir -p "$state"
chmod 755 "$state"
token_file="$state/admin-token"
if [ ! -s "$token_file" ]; then
  (umask 077; printf 'hc_admin_%s' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$token_file")
fi
export HeadyClouds__StateDirectory="$state"

echo "==> Admin API token: $token_file (send it as 'Authorization: Bearer <token>')"
# The http profile serves the dashboard without TLS on localhost (ASPIRE_ALLOW_UNSECURED_TRANSPORT), so no
# developer certificate is needed; on a machine with one, plain 'dotnet run --project HeadyClouds.AppHost' uses https.
# 'env' sets a name with a hyphen, which bash cannot export.
env "Parameters__admin-token=$(cat "$token_file")" \
  dotnet run --project HeadyClouds.AppHost --launch-profile http -- "$@" 2>&1 |
  while IFS= read -r line; do
    printf '%s\n' "$line"
    case "$line" in
      *"Login to the dashboard at"*)
        printf '==> Dashboard: %s\n' "${line##*Login to the dashboard at }"
        printf '==> Gateway:   http://localhost:5300  (try: curl -H "Authorization: Bearer $(cat %s)" http://localhost:5300/api/v1/users/me)\n' "$token_file"
        ;;
    esac
  done
