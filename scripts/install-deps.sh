#!/usr/bin/env bash
# Installs what schwarm needs to build and test, from Debian packages. Runs as root or via sudo.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PKGS=(build-essential cmake ccache pkg-config
      libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
      libgtest-dev libgmock-dev googletest libbenchmark-dev libpcre2-dev
      libutf8proc-dev libedit-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
