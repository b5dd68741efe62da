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

from deb_package import build_deb

FULL = os.environ.get("COURSER_FULL_TESTS") == "1"
COURIER = ["courier-imap", "courier-pop", "courier-base"]

pytestmark = pytest.mark.skipif(not FULL, reason="installs a package: COURSER_FULL_TESTS only")


def run(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def installed(package):
    r = run("dpkg-query", "-W", "-f=${Status}", package)
    return r.returncode == 0 and "install ok installed" in r.stdout


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


# Records its call; `deb-systemd-helper debian-installed` answers "no",
# as on a first installation.
FAKE_TOOL = """#!/bin/sh
echo "$(basename "$0") $*" >> "$FAKE_LOG"
[ "$1" != debian-installed ]
"""


def run_postinst(deb, tmp, *args, held=False):
    """The package's postinst as dpkg runs it, on a stand-in systemd: the
    running-systemd test points at a folder of the test's, and the tools
    it calls are recorders. `held`: a server listens on port 143.
    Returns (calls, standard error)."""
    control = tmp / "control"
    subprocess.run(["dpkg-deb", "-e", str(deb), str(control)], check=True)
    systemd = tmp / "run-systemd"
    systemd.mkdir(exist_ok=True)
    script = (control / "postinst").read_text().replace("/run/systemd/system", str(systemd))
    assert str(systemd) in script
    (tmp / "postinst").write_text(script)
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("deb-systemd-helper", "deb-systemd-invoke", "systemctl", "adduser"):
        (bin_dir / tool).write_text(FAKE_TOOL)
    listening = "LISTEN 0 128 *:143 *:*" if held else ""
    (bin_dir / "ss").write_text(FAKE_TOOL + f"echo '{listening}' | grep . || true\n")
    (bin_dir / "getent").write_text("#!/bin/sh\nexit 0\n")  # the user exists
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    log = tmp / "calls"
    log.write_text("")
    env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin", FAKE_LOG=str(log))
    r = subprocess.run(["sh", str(tmp / "postinst"), *args], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return log.read_text().splitlines(), r.stderr


def test_postinst_starts_only_when_the_ports_are_free(deb, tmp_path):
    calls, err = run_postinst(deb, tmp_path, "configure", "")
    assert "deb-systemd-helper enable courser.service" in calls, calls
    assert "deb-systemd-invoke start courser.service" in calls, calls
    assert not err
    # Courier (or anyone) on 143: neither enabled nor started, and why.
    calls, err = run_postinst(deb, tmp_path, "configure", "", held=True)
    assert not [c for c in calls if c.endswith(" enable courser.service")
                or c.startswith("deb-systemd-invoke")], calls
    assert "port 143 or 110 is in use" in err and "README.Debian" in err, err
    # An upgrade restarts a running server, and only a running one.
    calls, err = run_postinst(deb, tmp_path, "configure", "0.0.1-1", held=True)
    assert "deb-systemd-invoke try-restart courser.service" in calls, calls
    assert "deb-systemd-invoke start courser.service" not in calls
    assert not any(c.startswith("ss") for c in calls), calls
    assert not err


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
