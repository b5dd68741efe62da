"""The Debian package (scripts/deb.sh, cargo-deb): its contents, lintian,
and a real `dpkg -i` next to Debian's courier-imap, undone by a purge at
the end. Root and COURSER_FULL_TESTS only: it installs a package on this
machine. COURSER_DEB names a prebuilt package; otherwise the binary under
test (COURSER_BIN) is packaged without building again."""

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import BIN

FULL = os.environ.get("COURSER_FULL_TESTS") == "1"
ROOT = Path(__file__).resolve().parents[2]
COURIER = ["courier-imap", "courier-pop", "courier-base"]

pytestmark = pytest.mark.skipif(not FULL, reason="installs a package: COURSER_FULL_TESTS only")


def run(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def installed(package):
    r = run("dpkg-query", "-W", "-f=${Status}", package)
    return r.returncode == 0 and "install ok installed" in r.stdout


def build_deb():
    if os.environ.get("COURSER_DEB"):
        return Path(os.environ["COURSER_DEB"])
    binary = Path(BIN).resolve()
    profile_dir = binary.parent
    env = dict(os.environ, CARGO_TARGET_DIR=str(profile_dir.parent),
               PROFILE="dev" if profile_dir.name == "debug" else profile_dir.name)
    r = run(str(ROOT / "scripts" / "deb.sh"), "--no-build", env=env, cwd=ROOT, timeout=1800)
    assert r.returncode == 0, r.stdout + r.stderr
    return Path(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def deb():
    if os.getuid() != 0:
        pytest.fail("this test needs root")
    for tool in ("dpkg", "dpkg-deb", "adduser"):
        assert shutil.which(tool), f"{tool} is missing"
    path = build_deb()
    assert path.is_file(), path
    return path


def package_files(deb):
    out = run("dpkg-deb", "--contents", str(deb)).stdout
    # "-rw-r--r-- root/root 123 2026-12-04 20:00 ./usr/sbin/courser"
    return {line.split(None, 5)[5].removeprefix(".").split(" -> ")[0]
            for line in out.splitlines() if not line.startswith("d")}


def test_contents_and_control(deb):
    files = package_files(deb)
    unit = next((f for f in files if f.endswith("/systemd/system/courser.service")), None)
    assert unit, sorted(files)
    for f in ["/usr/sbin/courser", "/etc/courser/courser.toml",
              "/usr/share/man/man8/courser.8.gz", "/usr/share/man/man8/courser-serve.8.gz",
              "/usr/share/man/man8/courser-passwd.8.gz",
              "/usr/share/doc/courser/README.Debian", "/usr/share/doc/courser/copyright"]:
        assert f in files, (f, sorted(files))
    # Internal subcommands have no page.
    assert not any("auth-server" in f or "courser-man." in f for f in files)
    control = Path(tempfile.mkdtemp(prefix="courser-deb-"))
    try:
        subprocess.run(["dpkg-deb", "-e", str(deb), str(control)], check=True)
        assert (control / "conffiles").read_text().split() == ["/etc/courser/courser.toml"]
        fields = (control / "control").read_text()
        assert "adduser" in fields and "Package: courser" in fields, fields
        assert "libpam" not in fields, "libpam is opened at run time, not a dependency"
    finally:
        shutil.rmtree(control)
    # Nothing a Courier package installs.
    for package in COURIER:
        if installed(package):
            theirs = set(run("dpkg", "-L", package).stdout.split())
            shared = {f for f in files & theirs if not os.path.isdir(f)}
            assert not shared, (package, shared)


def test_lintian(deb):
    if not shutil.which("lintian"):
        pytest.skip("lintian is not installed")
    r = run("lintian", "--no-tag-display-limit", str(deb), timeout=600)
    tags = r.stdout.splitlines()
    print("\n".join(tags))  # warnings are reported, not failed
    errors = [t for t in tags if t.startswith("E:")]
    assert not errors, "\n".join(errors)


def test_install_beside_courier_and_purge(deb):
    assert not installed("courser"), "courser is installed already; this test would remove it"
    user_before = _user("courser")
    courier = [p for p in COURIER if installed(p)]
    try:
        r = run("dpkg", "-i", str(deb))
        assert r.returncode == 0, r.stdout + r.stderr
        assert installed("courser")
        version = run("/usr/sbin/courser", "--version")
        assert version.returncode == 0 and version.stdout.startswith("courser "), version
        # The default config is valid as shipped.
        r = run("/usr/sbin/courser", "check-config", "--config", "/etc/courser/courser.toml")
        assert r.returncode == 0, r.stderr
        user = _user("courser")
        assert user and user.pw_uid < 1000, user
        assert user.pw_shell.endswith("nologin"), user
        unit = next(Path(d) / "courser.service" for d in ("/usr/lib/systemd/system",
                                                         "/lib/systemd/system")
                    if (Path(d) / "courser.service").exists())
        if shutil.which("systemd-analyze"):
            r = run("systemd-analyze", "verify", str(unit))
            assert r.returncode == 0, r.stdout + r.stderr
        # Courier's files are untouched.
        for package in courier:
            r = run("dpkg", "--verify", package)
            assert r.returncode == 0 and not r.stdout.strip(), (package, r.stdout)
    finally:
        r = run("dpkg", "--purge", "courser")
        assert r.returncode == 0, r.stdout + r.stderr
    assert not installed("courser")
    assert not Path("/etc/courser").exists()
    assert not Path("/usr/sbin/courser").exists()
    # The system user stays after a purge (Debian's habit); the test
    # removes the one it made, to leave the machine as it found it.
    assert _user("courser")
    if not user_before:
        subprocess.run(["deluser", "--system", "--quiet", "courser"], check=True)
        subprocess.run(["delgroup", "--system", "--quiet", "courser"], check=False)
    for package in courier:
        assert installed(package)


def _user(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None
