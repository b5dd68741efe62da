#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine (run as root): installs what
# the tests need, builds, and runs unit, integration and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
packages=(
  courier-imap       # differential and on-disk compatibility tests
  courier-pop        # POP3 differential tests (its courierpop3d)
  fetchmail          # a real POP3 client
  dovecot-core       # differential tests (its imap binary: see below)
  isync offlineimap3 curl   # real IMAP clients
  whois              # mkpasswd, for password-scheme vectors
  fail2ban           # fail2ban-regex: log lines cannot be forged (test_prelogin.py),
                     # Debian's courier-auth filter reads our Courier-format
                     # lines (test_courier_log.py)
  rsyslog            # a private rsyslogd writes mail.log for fail2ban (test_courier_log.py)
  faketime           # a server a week ahead: Trash emptied (test_trash.py);
                     # a half-hour autologout in seconds (test_courier_log.py);
                     # a node 30 s behind (test_shared_storage.py)
  glusterfs-server glusterfs-client  # three nodes on one volume (test_shared_storage.py)
  lintian            # checks the Debian package (test_deb.py)
  exim4-daemon-light # a real sendmail for the Outbox (test_outbox.py)
  # Roundcube on PHP's built-in server, driven by headless Chromium
  # through Selenium (test_roundcube.py):
  roundcube-core roundcube-sqlite3 php-cli php-sqlite3 chromium chromium-driver
  # Authentication backends (tests/e2e/test_auth_backends.py starts each in
  # a throwaway directory on loopback and stops it at the end):
  postgresql mariadb-server sqlite3 slapd ldap-utils
  courier-authdaemon courier-authlib-userdb   # Courier's authdaemond, makeuserdb
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
# Dovecot's imap binary for the differential tests: dovecot-imapd conflicts
# with courier-imap, so it is unpacked beside dovecot-core, not installed.
dovecot_dir=/opt/courser-test/dovecot-imapd
if [ ! -x "$dovecot_dir/usr/lib/dovecot/imap" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing $dovecot_dir (run as root to unpack dovecot-imapd there)" >&2
    exit 1
  fi
  dl=$(mktemp -d)
  chown _apt "$dl" 2>/dev/null || true
  version=$(dpkg-query -W -f='${Version}' dovecot-core)
  (cd "$dl" && { apt-get download -qq "dovecot-imapd=$version" 2>/dev/null ||
    { apt-get update -qq && apt-get download -qq "dovecot-imapd=$version"; }; })
  mkdir -p "$dovecot_dir"
  dpkg -x "$dl"/dovecot-imapd_*.deb "$dovecot_dir"
  rm -rf "$dl"
fi
export COURSER_DOVECOT_IMAP="$dovecot_dir/usr/lib/dovecot/imap"
python3 -c 'import pytest' 2>/dev/null || python3 -m pip install -q pytest
python3 -c 'import selenium' 2>/dev/null || python3 -m pip install -q selenium

# Tests that need the tools above fail instead of skipping when this is set.
export COURSER_FULL_TESTS=1

# Style gates first: they fail fast and cost little.
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
# Doc comments link to what they name: a broken or private link fails here.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
# Licenses, duplicate crates and sources (deny.toml). RustSec advisories
# need the advisory database from GitHub, which this machine may not reach:
# a fresh copy is used when it can be fetched, a copy already on the
# machine (~/.cargo/advisory-dbs) when not, and otherwise the check says it
# was skipped.
command -v cargo-deny >/dev/null || cargo install --locked cargo-deny
if cargo deny fetch db >/dev/null 2>&1; then
  cargo deny check
elif ls -d "$HOME"/.cargo/advisory-dbs/advisory-db-*/crates >/dev/null 2>&1; then
  echo "cargo deny: advisory database not fetched; checking against the copy on this machine"
  cargo deny --offline check
else
  echo "cargo deny: advisory database unreachable; advisories not checked"
  cargo deny check licenses bans sources
fi
cargo build --workspace --all-targets
# The response validator the end-to-end fixture runs over every transcript.
cargo build -p courser-imap --features validate --examples
cargo test --workspace
if [ -d tests/e2e ]; then
  COURSER_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/courser" python3 -m pytest -q tests/e2e
fi
