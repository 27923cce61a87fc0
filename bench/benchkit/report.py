"""The driver's outputs: a text table of medians and ratios, the JSON file, and a PNG of the
ratios (matplotlib, Agg backend: no display needed)."""
import json
import os

from . import large, prefix, restart, scaling


def _f(v, fmt):
    return format(v, fmt) if isinstance(v, (int, float)) else "-"


def _section(lines, results, key, table_lines):
    """A blank line and a step's own table, when the run has that step."""
    r = results.get(key)
    if r:
        lines.append("")
        lines.extend(table_lines(r))


def table(results):
    lines = []
    cpu = results.get("cpu")
    if cpu:
        lines.append(f"Server CPU per operation (median of {results['config']['rounds']} rounds "
                     f"x 2 interleaved runs; -t {results['config']['threads']})")
        lines.append(f"{'workload':<13} {'cachet us/op':>12} {'memcached':>10} {'floor':>8} "
                     f"{'cachet/memcached':>17} {'cachet/floor':>13}   ops/s c / m / floor")
        for w, row in cpu.items():
            s, r = row["servers"], row["ratios"]
            c, m, n = (s.get(k, {}) for k in ("cachet", "memcached", "noop"))
            lines.append(
                f"{w:<13} {_f(c.get('cpu_us_per_op'), '.3f'):>12} "
                f"{_f(m.get('cpu_us_per_op'), '.3f'):>10} {_f(n.get('cpu_us_per_op'), '.3f'):>8} "
                f"{_f(r.get('cachet/memcached'), '.2f'):>17} {_f(r.get('cachet/floor'), '.2f'):>13}"
                f"   {_f(c.get('ops_per_sec'), ',.0f')} / {_f(m.get('ops_per_sec'), ',.0f')} / "
                f"{_f(n.get('ops_per_sec'), ',.0f')}")
        errs = {f"{w}/{n}": v["errors"] for w, row in cpu.items()
                for n, v in row["servers"].items() if v["errors"]}
        mism = {f"{w}/{n}": v["stats_mismatch"] for w, row in cpu.items()
                for n, v in row["servers"].items() if v["stats_mismatch"] > 0.001}
        if errs:
            lines.append(f"ERRORS in replies: {errs}")
        if mism:
            lines.append(f"loadgen ops and server cmd_get+cmd_set differ: {mism}")
    _section(lines, results, "large", large.table_lines)
    _section(lines, results, "scaling", scaling.table_lines)
    t = results.get("tls")
    if t:
        lines.append("")
        lines.append(f"TLS (-Z), server CPU per operation (median of {results['config']['rounds']}"
                     f" rounds x 2 interleaved runs)")
        lines.append(f"{'workload':<13} {'cachet us/op':>12} {'memcached':>10} "
                     f"{'cachet/memcached':>17}   ops/s c / m")
        for w, row in t["cpu"].items():
            c, m = row["servers"].get("cachet", {}), row["servers"].get("memcached", {})
            lines.append(f"{w:<13} {_f(c.get('cpu_us_per_op'), '.3f'):>12} "
                         f"{_f(m.get('cpu_us_per_op'), '.3f'):>10} "
                         f"{_f(row['ratios'].get('cachet/memcached'), '.2f'):>17}   "
                         f"{_f(c.get('ops_per_sec'), ',.0f')} / {_f(m.get('ops_per_sec'), ',.0f')}")
        h = t.get("handshakes")
        if h:
            lines.append(f"TLS handshakes, one client thread, {h['count']} per run:")
            for n, v in h["servers"].items():
                lines.append(f"  {n:<10} {v['per_sec']:8,.0f}/s  {v['cpu_us_per_handshake']:7.1f}"
                             f" us server CPU each")
            r = h["ratios"]
            lines.append(f"  rate cachet/memcached {_f(r.get('rate cachet/memcached'), '.2f')}, "
                         f"CPU cachet/memcached {_f(r.get('cpu cachet/memcached'), '.2f')}")
    lat = results.get("latency")
    if lat:
        lines.append("")
        lines.append(f"Latency at {lat['rate']:,} req/s, {lat['connections']} connections "
                     f"(90 % get, 10 % set; medians of runs)")
        for n, v in lat["servers"].items():
            lines.append(f"  {n:<10} p50 {v['p50']:8.1f} us  p99 {v['p99']:8.1f} us  "
                         f"p99.9 {v['p999']:8.1f} us  ({v['achieved_rps']:,.0f} req/s)")
        lines.append(f"  p99 cachet/memcached: {_f(lat.get('p99_ratio'), '.2f')}")
    hr = results.get("hit_ratio")
    if hr:
        lines.append("")
        lines.append(f"Hit ratio, look-aside Zipf({hr['zipf_theta']}) over {hr['keys']:,} keys, "
                     f"-m {hr['memory_mb']}, {hr['key_size']} B / {hr['value_size']} B, "
                     f"{hr['requests']:,} gets after {hr['warmup']:,} warm-up")
        for n, v in hr["servers"].items():
            lines.append(f"  {n:<10} hit {v['hit_ratio']:.4f}  miss {v['miss_ratio']:.4f}")
        lines.append(f"  miss ratio cachet/memcached: "
                     f"{_f(hr.get('miss_ratio_cachet_over_memcached'), '.3f')}")
    dens = results.get("density")
    if dens:
        lines.append("")
        lines.append(f"Density (-m {dens[0]['memory_mb']}, -t {results['config']['density_threads']}"
                     f"): items per MiB of -m, RSS bytes per item")
        for row in dens:
            c, m = row["servers"].get("cachet", {}), row["servers"].get("memcached", {})
            lines.append(f"  {row['key']:>3} B / {row['value']:>5} B   memcached "
                         f"{_f(m.get('items_per_mib'), ',.0f'):>7} ({_f(m.get('rss_bytes_per_item'), '.0f')} B)"
                         f"   cachet {_f(c.get('items_per_mib'), ',.0f'):>7} "
                         f"({_f(c.get('rss_bytes_per_item'), '.0f')} B)   ratio {_f(row['ratio'], '.2f')}x")
    _section(lines, results, "restart", restart.table_lines)
    _section(lines, results, "prefix", lambda pf: [prefix.table(pf)])
    micro = results.get("micro")
    if micro:
        lines.append("")
        lines.append("Micro benchmarks (ns per iteration, this machine only)")
        for b in micro:
            lines.append(f"  {b['name']:<28} {b['ns']:10.1f}")
    return "\n".join(lines)


def write_json(results, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f, indent=1)


def plot(results, path):
    """Left: CPU per op ratios per workload; right: the other cachet/memcached ratios. Below 1
    is better for cachet except density (items per MiB: above 1 is better)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8),
                                   gridspec_kw={"width_ratios": [3, 2]})
    cpu = dict(results.get("cpu") or {})
    # The TLS rows (cachet -Z vs memcached -Z; no floor) beside the plaintext ones.
    for w, row in ((results.get("tls") or {}).get("cpu") or {}).items():
        cpu["TLS " + w] = row
    names = list(cpu)
    x = range(len(names))
    for i, (label, color) in enumerate((("cachet/memcached", "tab:blue"),
                                        ("cachet/floor", "tab:gray"))):
        vals = [cpu[w]["ratios"].get(label) or 0 for w in names]
        bars = ax1.bar([p + (i - 0.5) * 0.38 for p in x], vals, 0.38, label=label, color=color)
        ax1.bar_label(bars, fmt="%.2f", fontsize=7)
    ax1.axhline(1, color="black", linewidth=0.8)
    ax1.set_xticks(list(x), names, rotation=20, fontsize=8)
    ax1.set_ylabel("server CPU per op, ratio")
    ax1.set_title(f"CPU per operation (-t {results['config']['threads']}; lower is better)")
    ax1.legend(fontsize=8)

    labels, vals = [], []
    for row in results.get("density") or []:
        labels.append(f"items/MiB\n{row['key']}/{row['value']}")
        vals.append(row["ratio"] or 0)
    hr = results.get("hit_ratio")
    if hr and hr.get("miss_ratio_cachet_over_memcached") is not None:
        labels.append("miss ratio")
        vals.append(hr["miss_ratio_cachet_over_memcached"])
    lat = results.get("latency")
    if lat and lat.get("p99_ratio") is not None:
        labels.append(f"p99 @{lat['rate'] // 1000}k/s")
        vals.append(lat["p99_ratio"])
    bars = ax2.bar(range(len(vals)), vals, color="tab:blue")
    ax2.bar_label(bars, fmt="%.2f", fontsize=7)
    ax2.axhline(1, color="black", linewidth=0.8)
    ax2.set_xticks(range(len(labels)), labels, fontsize=7)
    ax2.set_title("cachet/memcached (items/MiB: higher is better; miss ratio, p99: lower)",
                  fontsize=10)
    fig.suptitle("cachet vs memcached 1.6.18 vs no-op floor: " + results["meta"]["when"],
                 fontsize=9)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
