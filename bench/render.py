"""The printed report: one table per phase, the ratios, and the targets."""

from __future__ import annotations

from typing import Any

from bench.report import Summary, ratio, regional_ratios, table


def render(results: dict[str, Any]) -> str:
    settings, machine = results["settings"], results["machine"]
    out = [
        "",
        f"make bench: {machine['cpus']} CPUs, Python {machine['python']}, {machine['wrk']},"
        f" Prism {machine['prism']} on Node {machine['node']}",
        f"wrk: {settings['connections']} connections, 1 thread; {settings['rounds']} interleaved"
        f" rounds of {settings['seconds']:g} s; medians (error counts: sums over the rounds)",
        "load average (1 min) at start, after the throughput rounds, at the end: "
        + ", ".join(f"{v:.1f}" for v in results["load_average_1min"]),
        "",
    ]
    rows = []
    for name, by_server in results["throughput"].items():
        for server, s in by_server.items():
            rows.append(
                [
                    name,
                    server,
                    s.requests_per_s,
                    s.p50_ms,
                    s.p99_ms,
                    s.wrong_status,
                    s.socket_errors,
                    "/".join(sorted(s.statuses)),
                    s.bytes_per_response,
                ]
            )
    header = ["workload", "server", "req/s", "p50 ms", "p99 ms", "non-2xx*", "sock err"]
    out.append(table([*header, "statuses", "bytes/answer"], rows))
    out.append(
        "* answers whose status is not the right one for the workload and server"
        " (invalid create: 400 from ours, 422 from Prism)"
    )
    out.append("")
    ratios = []
    for name, by_server in results["throughput"].items():
        if "prism" not in by_server:
            continue
        ours, bare, prism = (
            by_server["ours"],
            by_server["ours, no response validation"],
            by_server["prism"],
        )
        ratios.append(
            [
                name,
                "",
                ratio(ours.requests_per_s, prism.requests_per_s),
                ratio(ours.p99_ms, prism.p99_ms),
                ratio(bare.requests_per_s, prism.requests_per_s),
                ratio(bare.p99_ms, prism.p99_ms),
            ]
        )
    out.append(
        table(
            ["ours / Prism", "", "req/s", "p99", "req/s, no resp. valid.", "p99, no resp. valid."],
            ratios,
        )
    )
    out.append("")
    out.append(
        table(
            [
                "regional / default",
                "prefix",
                "req/s",
                "p50",
                "p99",
                "req/s, no resp. valid.",
                "p50, no resp. valid.",
            ],
            [
                [default, name.partition(" at ")[2], *figures]
                for name, default, figures in regional_ratios(results["throughput"])
            ],
        )
    )
    out.append(
        "(ours: the same requests through the region's prefix and through /v1.0, the two runs"
        " side by side in every round; medians of the rounds' ratios; 1.00 is the same cost)"
    )
    out.append("")
    boot, peak = results["startup_s"], results["peak_rss_mb"]
    out.append(
        table(
            ["start-up and memory", "", "ours", "Prism", "ours/Prism"],
            [
                [
                    "start-up to first answer, s (median)",
                    "",
                    boot["ours"]["median"],
                    boot["prism"]["median"],
                    ratio(boot["ours"]["median"], boot["prism"]["median"]),
                ],
                [
                    "peak RSS after the throughput rounds, MB",
                    "",
                    peak["ours"],
                    peak["prism"],
                    ratio(peak["ours"], peak["prism"]),
                ],
            ],
        )
    )
    out.append("")
    sizes = sorted(results["scaling"], key=int)
    base = results["scaling"][sizes[0]]
    scale_rows = []
    for size in sizes:
        entry = results["scaling"][size]
        page: Summary = entry["list"]
        scale_rows.append(
            [
                f"{int(size):,}",
                f"{entry['seed_mb']:.1f} MB in {entry['seed_s']:.1f} s",
                page.requests_per_s,
                page.p50_ms,
                page.p99_ms,
                ratio(page.p50_ms, base["list"].p50_ms),
                page.wrong_status + page.socket_errors,
                entry["rss_after_seed_mb"],
                entry["peak_rss_mb"],
                ratio(entry["rss_after_seed_mb"], base["rss_after_seed_mb"]),
            ]
        )
    out.append(
        table(
            [
                "backups",
                "PUT /__mock/state",
                "list req/s",
                "p50 ms",
                "p99 ms",
                f"p50 / at {int(sizes[0]):,}",
                "errors",
                "RSS MB",
                "peak MB",
                f"RSS / at {int(sizes[0]):,}",
            ],
            scale_rows,
        )
    )
    out.append(
        "(list: pages of 20 from all along the list; RSS: 1 s after the PUT; peak: its high"
        " water mark, the PUT included)"
    )
    out.append("")
    out.append(
        table(
            ["target", "", "measured", "met"],
            [
                [t["target"], "", t["measured"], "yes" if t["met"] else "NO"]
                for t in results["targets"]
            ],
        )
    )
    out.append(f"\nelapsed: {results['elapsed_s']:.0f} s")
    return "\n".join(out)
