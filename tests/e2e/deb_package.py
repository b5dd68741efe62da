"""The Debian package of the binary under test: COURSER_DEB names a
prebuilt one; otherwise scripts/deb.sh packages COURSER_BIN (its target
directory and profile) without building again."""

import os
import subprocess
from pathlib import Path

from conftest import BIN

ROOT = Path(__file__).resolve().parents[2]


def build_deb():
    """The package's path."""
    if os.environ.get("COURSER_DEB"):
        return Path(os.environ["COURSER_DEB"])
    binary = Path(BIN).resolve()
    profile_dir = binary.parent
    env = dict(os.environ, CARGO_TARGET_DIR=str(profile_dir.parent),
               PROFILE="dev" if profile_dir.name == "debug" else profile_dir.name)
    r = subprocess.run([str(ROOT / "scripts" / "deb.sh"), "--no-build"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout + r.stderr
    return Path(r.stdout.strip().splitlines()[-1])
