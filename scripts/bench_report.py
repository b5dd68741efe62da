#!/usr/bin/env python3
"""Turns the JSON files of scripts/bench.sh into docs/benchmarks.md and PNG
plots (latency percentiles, memory per connection, big-folder timings).

    scripts/bench_report.py RESULTS_DIR OUT_DIR

RESULTS_DIR holds SERVER-PASS-WORKLOAD.json (pass: first, cold, warm),
SERVER-warm-imaptestN.txt (imaptest's stress output with N clients, when
bench.sh was given --imaptest) and machine.txt. Ratios are Courser / peer: below 1 is better for times and
memory, above 1 is better for rates."""

import json
import sys
from pathlib import Path

SERVERS = ["courser", "dovecot", "courier"]
PEERS = ["dovecot", "courier"]
BIG_STEPS = [
    "SELECT", "FETCH FLAGS", "FETCH ENVELOPE", "SEARCH SUBJECT", "SEARCH BODY",
    "SORT DATE", "SORT SUBJECT", "THREAD REFS", "POP3 LOGIN+UIDL", "LOGIN",
]
MIXED_CMDS = [
    "CONNECT", "LOGIN", "SELECT", "FETCH ENVELOPE", "FETCH BODY", "STORE", "APPEND",
    "EXPUNGE", "NOOP", "LOGOUT",
]


def load(results):
    data = {}
    for f in results.glob("*.json"):
        server, pas, workload = f.stem.split("-", 2)
        try:
            data[(server, pas, workload)] = json.loads(f.read_text())
        except ValueError:
            pass
    return data


def imaptest_runs(results):
    """{(server, clients): (operations/s, errors, secs)} from imaptest's
    stress output: the counts line of its Totals block summed over the
    run, and its "Error:" lines."""
    runs = {}
    for f in results.glob("*-warm-imaptest*.txt"):
        server, _, rest = f.stem.split("-", 2)
        clients = int(rest[len("imaptest"):])
        text = f.read_text(errors="replace").splitlines()
        errors = sum(1 for ln in text if ln.startswith("Error:"))
        total = None
        if "Totals:" in text:
            for ln in text[text.index("Totals:") + 1:]:
                cells = ln.split()
                if cells and all(c.isdigit() for c in cells):
                    total = sum(int(c) for c in cells)
        secs = None
        m = machine(results).get("params", "")
        for kv in m.split():
            if kv.startswith("secs="):
                secs = int(kv[5:])
        ops = total / secs if total is not None and secs else None
        runs[(server, clients)] = (ops, errors)
    return runs


def imaptest_table(results, servers, out):
    runs = imaptest_runs(results)
    if not runs:
        return
    out.append("### imaptest stress profile (warm; one account, random commands, every "
               "session's view checked)\n")
    out.append("Throughput counts only where errors are 0.\n")
    line = "| clients | " + " | ".join(f"{s} ops/s | {s} errors" for s in servers) + " |"
    out.append(line)
    out.append("|---" * (1 + 2 * len(servers)) + "|")
    for c in sorted({k[1] for k in runs}):
        cells = []
        for s in servers:
            ops, errs = runs.get((s, c), (None, None))
            cells += [fmt(ops), "n/a" if errs is None else str(errs)]
        out.append(f"| {c} | " + " | ".join(cells) + " |")
    out.append("")


def machine(results):
    info = {}
    p = results / "machine.txt"
    if p.exists():
        for line in p.read_text().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                info[k] = v
    return info


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if v >= 100:
        s = f"{v:,.0f}"
    elif v >= 10:
        s = f"{v:.1f}"
    else:
        s = f"{v:.2f}"
    return s + unit


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}"


def big_ms(data, server, pas, step):
    d = data.get((server, pas, "bigfolder"))
    if not d:
        return None
    for s in d["result"]["steps"]:
        if s["name"] == step:
            return s["ms"]
    return None


def present(data):
    return [s for s in SERVERS if any(k[0] == s for k in data)]


def big_table(data, servers, out):
    out.append("### Big folder (milliseconds, one client; cold / warm)\n")
    head = "| step | " + " | ".join(servers)
    head += "".join(f" | Courser/{p.capitalize()} warm" for p in PEERS if p in servers and "courser" in servers)
    out.append(head + " |")
    out.append("|---" * (head.count("|")) + "|")
    for step in ["SELECT (first open)"] + BIG_STEPS:
        if step == "SELECT (first open)":
            vals = {s: (big_ms(data, s, "first", "SELECT"), None) for s in servers}
            cells = [fmt(vals[s][0]) for s in servers]
        else:
            vals = {s: (big_ms(data, s, "cold", step), big_ms(data, s, "warm", step)) for s in servers}
            cells = [f"{fmt(vals[s][0])} / {fmt(vals[s][1])}" for s in servers]
        row = f"| {step} | " + " | ".join(cells)
        if "courser" in servers:
            idx = 0 if step.endswith("(first open)") else 1
            for p in PEERS:
                if p in servers:
                    row += f" | {ratio(vals['courser'][idx], vals[p][idx])}"
        out.append(row + " |")
    out.append("")


def idle_table(data, servers, out):
    out.append("### Idle connections (cold / warm)\n")
    out.append("| server | connections | PSS before (KiB) | PSS idle (KiB) | KiB per connection | push p50 (ms) | push to last client (ms) |")
    out.append("|---|---|---|---|---|---|---|")
    for s in servers:
        cells = []
        for key, f in [
            ("established", lambda v: str(v)),
            ("pss_before_kib", lambda v: f"{v:,}"),
            ("pss_idle_kib", lambda v: f"{v:,}"),
            ("kib_per_connection", fmt),
            ("push_p50_ms", fmt),
            ("push_last_ms", fmt),
        ]:
            vs = []
            for p in ("cold", "warm"):
                d = data.get((s, p, "idle"))
                v = d["result"].get(key) if d else None
                vs.append("n/a" if v is None else f(v))
            cells.append(" / ".join(vs))
        out.append(f"| {s} | " + " | ".join(cells) + " |")
    if "courser" in servers:
        for p in PEERS:
            if p in servers:
                a = idle_val(data, "courser", "kib_per_connection")
                b = idle_val(data, p, "kib_per_connection")
                c = idle_val(data, "courser", "push_last_ms")
                d = idle_val(data, p, "push_last_ms")
                e = idle_val(data, "courser", "pss_idle_kib")
                f = idle_val(data, p, "pss_idle_kib")
                out.append(f"\nCourser/{p.capitalize()} (warm): memory per connection {ratio(a, b)}, "
                           f"total server memory with the connections idle {ratio(e, f)} "
                           "(the per-connection slope sits on the server's base), "
                           f"push latency to the last client {ratio(c, d)}.")
    out.append("")


def idle_val(data, s, key, pas="warm"):
    d = data.get((s, pas, "idle"))
    return d["result"].get(key) if d else None


def mixed_cmd(data, s, pas, cmd, key, workload="mixed"):
    d = data.get((s, pas, workload))
    if not d:
        return None
    c = d["result"]["commands"].get(cmd)
    return c.get(key) if c else None


def mixed_table(data, servers, out, workload="mixed", title="Mixed sessions (warm pass; ops/s and latency in ms)"):
    if not any(data.get((s, "warm", workload)) for s in servers):
        return
    out.append(f"### {title}\n")
    line = "| | " + " | ".join(servers)
    peers = [p for p in PEERS if p in servers and "courser" in servers]
    line += "".join(f" | Courser/{p.capitalize()}" for p in peers)
    out.append(line + " |")
    out.append("|---" * line.count("|") + "|")

    def total(s, key):
        d = data.get((s, "warm", workload))
        return d["result"].get(key) if d else None

    for label, key in [("operations/s (all but LOGIN/SELECT/LOGOUT)", "ops_per_sec"), ("failed operations", "errors"), ("broken sessions", "broken_sessions")]:
        vals = {s: total(s, key) for s in servers}
        row = f"| {label} | " + " | ".join(fmt(vals[s]) if key == "ops_per_sec" else str(vals[s]) for s in servers)
        row += "".join(f" | {ratio(vals['courser'], vals[p])}" if key == "ops_per_sec" else " | " for p in peers)
        out.append(row + " |")
    for cmd in MIXED_CMDS:
        for key, name in [("per_sec", "/s"), ("p50_ms", "p50"), ("p99_ms", "p99")]:
            vals = {s: mixed_cmd(data, s, "warm", cmd, key, workload) for s in servers}
            if all(v is None for v in vals.values()):
                continue
            row = f"| {cmd} {name} | " + " | ".join(fmt(vals[s]) for s in servers)
            row += "".join(f" | {ratio(vals['courser'], vals[p])}" for p in peers)
            out.append(row + " |")
    out.append("")


def login_table(data, servers, out):
    out.append("### Login storm over TLS (8 workers; cold / warm)\n")
    out.append("| server | logins/s | cycle p50 (ms) | cycle p99 (ms) | TLS connect p50 (ms) | LOGIN p50 (ms) | failed |")
    out.append("|---|---|---|---|---|---|---|")
    for s in servers:
        cells = []
        for getter in [
            lambda r: r.get("logins_per_sec"),
            lambda r: r["parts"].get("CYCLE", {}).get("p50_ms"),
            lambda r: r["parts"].get("CYCLE", {}).get("p99_ms"),
            lambda r: r["parts"].get("CONNECT", {}).get("p50_ms"),
            lambda r: r["parts"].get("LOGIN", {}).get("p50_ms"),
        ]:
            vs = []
            for p in ("cold", "warm"):
                d = data.get((s, p, "logins"))
                vs.append(fmt(getter(d["result"])) if d else "n/a")
            cells.append(" / ".join(vs))
        errs = [str(data[(s, p, "logins")]["result"]["errors"]) if (s, p, "logins") in data else "n/a" for p in ("cold", "warm")]
        out.append(f"| {s} | " + " | ".join(cells) + f" | {' / '.join(errs)} |")
    if "courser" in servers:
        for p in PEERS:
            if p in servers:
                a = data.get(("courser", "warm", "logins"))
                b = data.get((p, "warm", "logins"))
                if a and b:
                    out.append(f"\nCourser/{p.capitalize()} logins/s (warm): {ratio(a['result']['logins_per_sec'], b['result']['logins_per_sec'])}.")
    out.append("")


def problems(data, out):
    lines = []
    for (s, p, w), d in sorted(data.items()):
        for pr in d.get("problems", []):
            lines.append(f"- {s} {p} {w}: {pr}")
    if lines:
        out.append("### Checks that failed during the run\n")
        out.extend(lines)
        out.append("")


def plots(data, servers, outdir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plots", file=sys.stderr)
        return []
    made = []
    colors = {"courser": "#1f77b4", "dovecot": "#2ca02c", "courier": "#d62728"}
    # Latency percentiles of the mixed workload (warm).
    cmds = [c for c in MIXED_CMDS if any(mixed_cmd(data, s, "warm", c, "p50_ms") is not None for s in servers)]
    if cmds:
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharey=True)
        width = 0.8 / max(1, len(servers))
        for ax, key in zip(axes, ["p50_ms", "p90_ms", "p99_ms"]):
            for i, s in enumerate(servers):
                vals = [mixed_cmd(data, s, "warm", c, key) or 0 for c in cmds]
                ax.bar([x + i * width for x in range(len(cmds))], vals, width, label=s, color=colors.get(s))
            ax.set_title(f"mixed workload, {key[:3]} latency")
            ax.set_xticks([x + width for x in range(len(cmds))])
            ax.set_xticklabels(cmds, rotation=45, ha="right", fontsize=8)
            ax.set_yscale("log")
        axes[0].set_ylabel("ms (log scale)")
        axes[0].legend()
        fig.tight_layout()
        fig.savefig(outdir / "bench-latency.png", dpi=90)
        plt.close(fig)
        made.append("bench-latency.png")
    # Memory per idle connection.
    vals = [(s, idle_val(data, s, "kib_per_connection"), idle_val(data, s, "kib_per_connection", "cold")) for s in servers]
    if any(v[1] is not None for v in vals):
        fig, ax = plt.subplots(figsize=(6, 4))
        xs = range(len(vals))
        ax.bar([x - 0.2 for x in xs], [v[2] or 0 for v in vals], 0.4, label="cold", color="#999999")
        ax.bar([x + 0.2 for x in xs], [v[1] or 0 for v in vals], 0.4, label="warm", color=[colors.get(v[0]) for v in vals])
        for x, v in zip(xs, vals):
            if v[1] is not None:
                ax.text(x + 0.2, v[1], f"{v[1]:.0f}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(list(xs))
        ax.set_xticklabels([v[0] for v in vals])
        ax.set_ylabel("KiB PSS per IDLE connection")
        ax.set_title("memory per authenticated IDLE connection")
        ax.legend()
        fig.tight_layout()
        fig.savefig(outdir / "bench-memory.png", dpi=90)
        plt.close(fig)
        made.append("bench-memory.png")
    # Big folder, warm.
    steps = [st for st in BIG_STEPS if any(big_ms(data, s, "warm", st) is not None for s in servers)]
    if steps:
        fig, ax = plt.subplots(figsize=(10, 4.5))
        width = 0.8 / max(1, len(servers))
        for i, s in enumerate(servers):
            ax.bar([x + i * width for x in range(len(steps))], [big_ms(data, s, "warm", st) or 0 for st in steps], width, label=s, color=colors.get(s))
        ax.set_xticks([x + width for x in range(len(steps))])
        ax.set_xticklabels(steps, rotation=30, ha="right", fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("ms (log scale)")
        ax.set_title("big folder, warm")
        ax.legend()
        fig.tight_layout()
        fig.savefig(outdir / "bench-bigfolder.png", dpi=90)
        plt.close(fig)
        made.append("bench-bigfolder.png")
    return made


def main():
    results, outdir = Path(sys.argv[1]), Path(sys.argv[2])
    data = load(results)
    info = machine(results)
    servers = present(data)
    out = ["# Benchmarks: Courser beside Dovecot and Courier-IMAP", ""]
    out.append("Generated by `scripts/bench.sh` (see `crates/bench` for the workloads). "
               "Ratios are Courser / peer: below 1 is better for times and memory, above 1 for rates.")
    out.append("")
    out.append("## Machine and versions\n")
    for k in ["date", "cpu", "nproc", "memory", "kernel", "os", "courser", "dovecot", "courier", "params"]:
        if k in info:
            out.append(f"- **{k}**: {info[k]}")
    out.append("")
    out.append("## Figures\n")
    big_table(data, servers, out)
    idle_table(data, servers, out)
    mixed_table(data, servers, out)
    rate = next((data[(s, "warm", "paced")]["result"].get("rate") for s in servers if (s, "warm", "paced") in data), None)
    mixed_table(data, servers, out, "paced",
                f"The same mix paced at {fmt(rate)} operations/s for every server (warm pass; latency in ms)")
    mixed_table(data, servers, out, "steady",
                "The same mix closed loop in one session per client (warm pass; ops/s and latency in ms)")
    login_table(data, servers, out)
    imaptest_table(results, servers, out)
    problems(data, out)
    made = plots(data, servers, outdir)
    if made:
        out.append("## Plots\n")
        for m in made:
            out.append(f"![{m}]({m})\n")
    notes = Path(__file__).resolve().parents[1] / "crates" / "bench" / "assets" / "notes.md"
    if notes.exists():
        out.append(notes.read_text())
    (outdir / "benchmarks.md").write_text("\n".join(out) + "\n")
    print(f"wrote {outdir / 'benchmarks.md'} and {', '.join(made) or 'no plots'}")


if __name__ == "__main__":
    main()
