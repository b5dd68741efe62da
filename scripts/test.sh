#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine (run as root): installs what
# the tests need, builds, and runs unit, integration and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
packages=(
  courier-imap       # differential and on-disk compatibility tests
  isync offlineimap3 curl   # real IMAP clients
  whois              # mkpasswd, for password-scheme vectors
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
python3 -c 'import pytest' 2>/dev/null || python3 -m pip install -q pytest

# Tests that need the tools above fail instead of skipping when this is set.
export COURSER_FULL_TESTS=1

cargo build --workspace --all-targets
cargo test --workspace
if [ -d tests/e2e ]; then
  COURSER_BIN="$PWD/target/debug/courser" python3 -m pytest -q tests/e2e
fi
