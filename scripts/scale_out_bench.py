#!/usr/bin/env python3
"""Throughput of issue 18's setup (not run by CI): `courser-bench mixed`
straight to one node, and through a Courser proxy with one, two and three
backends, all on tests/e2e/scale_out_setup.py's three nodes over one
GlusterFS volume with the accounts in PostgreSQL.

    scripts/scale_out_bench.py [--clients 50] [--secs 30] [--users 12]
                               [--json FILE]

As root, with glusterfs-server, postgresql and faketime installed (as
scripts/test.sh installs them). Uses release binaries:
$COURSER_BIN and $COURSER_BENCH_BIN, by default
${CARGO_TARGET_DIR:-target}/release/courser and courser-bench, built with
`cargo build --release -p courser -p courser-bench`. Prints a Markdown
table: operations/s and the p50 of NOOP, FETCH ENVELOPE, FETCH BODY and
LOGIN per setup. Before them, a short run straight to each node builds
its folder indexes, so that the first measured run pays no more for them
than the others.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or HERE.parent / "target")
os.environ.setdefault("COURSER_BIN", str(TARGET / "release" / "courser"))
os.environ.setdefault("COURSER_BENCH_BIN", str(TARGET / "release" / "courser-bench"))
sys.path.insert(0, str(HERE.parent / "tests" / "e2e"))

from gluster_cluster import NODES, PORT  # noqa: E402
from scale_out_setup import BENCH, PROXY_HOST, Proxy, scale_out  # noqa: E402

PASSWORD = "bench-pw"
LATENCIES = ["NOOP", "FETCH ENVELOPE", "FETCH BODY", "LOGIN"]


def mixed(host, port, args, out: Path, clients=None, secs=None):
    """One `courser-bench mixed` run; its JSON result."""
    subprocess.run(
        [BENCH, "--host", host, "--port", str(port), "--user", "user%d",
         "--users", str(args.users), "--password", PASSWORD, "--timeout", "120",
         "--json", str(out), "mixed", "--clients", str(clients or args.clients),
         "--secs", str(secs or args.secs)],
        check=True, stdout=sys.stderr)
    return json.loads(out.read_text())["result"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--secs", type=float, default=30)
    p.add_argument("--users", type=int, default=12)
    p.add_argument("--seed", type=int, default=200, help="messages per INBOX")
    p.add_argument("--json", type=Path, help="write every run's result here")
    args = p.parse_args()
    users = {f"user{i}": PASSWORD for i in range(1, args.users + 1)}
    runs = {}
    work = Path(tempfile.mkdtemp(prefix="courser-scale-bench-"))
    with scale_out(["INBOX"], users, {}, args.seed) as (cluster, auth):
        # Every node indexes every INBOX first (the indexes are per node):
        # no run pays for building them.
        for node in NODES:
            mixed(node, PORT, args, work / "warm.json", clients=args.users, secs=10)
        runs["one node, direct"] = mixed(NODES[0], PORT, args, work / "direct.json")
        for n in range(1, len(NODES) + 1):
            proxy = Proxy(cluster.root, auth, 1430 + n, NODES[:n])
            try:
                name = f"proxy, {n} backend{'s' if n > 1 else ''}"
                runs[name] = mixed(PROXY_HOST, proxy.port, args, work / f"proxy{n}.json")
            finally:
                proxy.stop()
    print(f"| setup ({args.clients} clients, {args.secs:.0f} s) | ops/s | "
          + " | ".join(f"{k} p50 ms" for k in LATENCIES) + " | failed ops |")
    print("|---|---:|" + "---:|" * len(LATENCIES) + "---:|")
    for name, r in runs.items():
        lat = [f"{r['commands'].get(k, {}).get('p50_ms', 0):.1f}" for k in LATENCIES]
        print(f"| {name} | {r['ops_per_sec']:.1f} | " + " | ".join(lat) + f" | {r['errors']} |")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2) + "\n")


if __name__ == "__main__":
    main()
