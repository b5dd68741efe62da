#!/usr/bin/env bash
# Builds the Debian package with cargo-deb and prints its path
# ($CARGO_TARGET_DIR or target, then debian/courser_<version>_<arch>.deb).
#   scripts/deb.sh            release build, then the package
#   scripts/deb.sh --no-build package the binary already built
#   PROFILE=dev scripts/deb.sh --no-build   package the debug build (tests)
# Other arguments go to cargo deb.
# The man pages are generated from the command line definitions
# (`courser man`) beside the binary, where the package's assets expect them.
set -euo pipefail
cd "$(dirname "$0")/.."

# cargo-deb 3.8 is the newest that builds with the project's Rust (1.95).
CARGO_DEB_VERSION=3.8.0
if ! cargo deb --version 2>/dev/null | grep -qF "$CARGO_DEB_VERSION"; then
  cargo install --locked cargo-deb --version "$CARGO_DEB_VERSION"
fi

profile=${PROFILE:-release}
case "$profile" in
  dev) dir=debug ;;
  *) dir=$profile ;;
esac
target=${CARGO_TARGET_DIR:-target}
build=yes
args=()
for a in "$@"; do
  if [ "$a" = --no-build ]; then build=no; else args+=("$a"); fi
done
if [ "$build" = yes ]; then
  cargo build --profile "$profile" -p courser
fi
rm -rf "$target/$dir/man"
"$target/$dir/courser" man --out "$target/$dir/man" >/dev/null
gzip -9n "$target/$dir/man"/*.8
# Prints the package's path.
cargo deb -p courser --profile "$profile" --no-build "${args[@]}"
