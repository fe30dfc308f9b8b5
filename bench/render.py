"""The printed report: one table per phase that ran, the ratios, and the targets."""

from __future__ import annotations

from typing import Any

from bench.report import Summary, ratio, regional_ratios, table
from bench.verdict import SHARED_ROUND_TRIPS


def render(results: dict[str, Any]) -> str:
    out = _head(results)
    if "throughput" in results:
        out += _throughput(results["throughput"], results["throughput_cpus"])
    if "startup_s" in results or "peak_rss_mb" in results:
        out += _startup_and_memory(results)
    if "ceiling" in results:
        out += _ceiling(results["ceiling"])
    if "scaling" in results:
        out += _scaling(results["scaling"])
    if "proxy" in results:
        out += _proxy(results["proxy"])
    if "shared" in results:
        out += _shared(results["shared"])
    out.append(
        table(
            ["target", "", "measured", "met"],
            [
                [t["target"], "", t["measured"], "yes" if t["met"] else "NO"]
                for t in results["targets"]
            ],
        )
    )
    took = ", ".join(f"{phase} {seconds:.0f} s" for phase, seconds in results["phase_s"].items())
    out.append(f"\nelapsed: {results['elapsed_s']:.0f} s ({took})")
    return "\n".join(out)


def _head(results: dict[str, Any]) -> list[str]:
    settings, machine = results["settings"], results["machine"]
    peer = (
        f", Prism {machine['prism']} on Node {machine['node']}"
        if machine.get("prism")
        else " (Prism not run)"
    )
    scaled = " (the list's scaling: 1)" if "scaling" in results else ""
    return [
        "",
        f"make bench: {machine['cpus']} CPUs, Python {machine['python']}, {machine['wrk']}{peer}",
        f"phases: {', '.join(settings['phases'])}",
        f"wrk: {settings['connections']} connections{scaled}, 1 thread;"
        f" {settings['rounds']} interleaved"
        f" rounds of {settings['seconds']:g} s; medians (error counts: sums over the rounds)",
        "load average (1 min): "
        + ", ".join(f"{when} {value:.1f}" for when, value in results["load_average_1min"].items()),
        "",
    ]


def _throughput(throughput: dict[str, dict[str, Summary]], cpus: dict[str, Any]) -> list[str]:
    rows = []
    for name, by_server in throughput.items():
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
    out = [table([*header, "statuses", "bytes/answer"], rows)]
    out.append(
        "* answers whose status is not the right one for the workload and server"
        " (invalid create: 400 from ours, 422 from Prism)"
    )
    out.append(f"(CPUs: {cpus['described']}; the start-up phase is not pinned)")
    out.append("")
    ratios = []
    for name, by_server in throughput.items():
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
                for name, default, figures in regional_ratios(throughput)
            ],
        )
    )
    out.append(
        "(ours: the same requests through the region's prefix and through /v1.0, the two runs"
        " side by side in every round; medians of the rounds' ratios; 1.00 is the same cost)"
    )
    out.append("")
    return out


def _startup_and_memory(results: dict[str, Any]) -> list[str]:
    rows = []
    if "startup_s" in results:
        boot = results["startup_s"]
        ours, prism = boot["ours"]["median"], boot["prism"]["median"]
        rows.append(["start-up to first answer, s (median)", "", ours, prism, ratio(ours, prism)])
    if "peak_rss_mb" in results:
        peak = results["peak_rss_mb"]
        rows.append(
            [
                "peak RSS after the throughput rounds, MB",
                "",
                peak["ours"],
                peak["prism"],
                ratio(peak["ours"], peak["prism"]),
            ]
        )
    return [table(["start-up and memory", "", "ours", "Prism", "ours/Prism"], rows), ""]


def _ceiling(found: dict[str, Any]) -> list[str]:
    rows = []
    for name, label in (("ours", "ours"), ("bare", "bare uvicorn")):
        s: Summary = found[name]
        rows.append(
            [
                found["workload"],
                label,
                s.requests_per_s,
                s.p50_ms,
                s.p99_ms,
                s.wrong_status + s.socket_errors,
                s.bytes_per_response,
                found["peak_rss_mb"][name],
            ]
        )
    header = ["ceiling", "server", "req/s", "p50 ms", "p99 ms", "errors", "bytes/answer", "peak MB"]
    answer = found["answer"]
    return [
        table(header, rows),
        f"ours / bare uvicorn: req/s {found['requests_per_s_ratio']:.2f}, p50"
        f" {found['p50_ratio']:.2f} (medians of the rounds' ratios; the two runs side by side in"
        " every round, which goes first alternating)",
        f"(the bare app: uvicorn with httptools and asyncio as ours, answering every request with"
        f" ours' answer to {found['request']}: {answer['status']}, {answer['bytes']:,} bytes of"
        f" body, the same headers; {found['connections']} connections; CPUs:"
        f" {found['cpus']['described']}; other work on the machine raises the share: see the"
        " load average)",
        "",
    ]


def _scaling(scaling: dict[str, Any]) -> list[str]:
    by_size = scaling["sizes"]
    sizes = sorted(by_size, key=int)
    small = sizes[0]
    memory, pages = [], []
    for seeding, described in scaling["seedings"].items():
        base = by_size[small][seeding]
        for size in sizes:
            entry = by_size[size][seeding]
            memory.append(
                [
                    described,
                    f"{int(size):,}",
                    entry["seed_s"],
                    entry["idle_rss_mb"],
                    entry["rss_after_seed_mb"],
                    entry["peak_rss_mb"],
                    entry["rss_after_load_mb"],
                    ratio(entry["rss_after_seed_mb"], base["rss_after_seed_mb"]),
                    _seeded_how(seeding, int(size), entry),
                ]
            )
    for workload in ("first page", "deep pages"):
        for seeding, described in scaling["seedings"].items():
            base = by_size[small][seeding]["workloads"][workload]
            base_clean = by_size[small][seeding]["unstalled"][workload]
            for size in sizes:
                page: Summary = by_size[size][seeding]["workloads"][workload]
                clean: Summary | None = by_size[size][seeding]["unstalled"][workload]
                stalled = sum(1 for seen in by_size[size][seeding]["stalls_ms"][workload] if seen)
                pages.append(
                    [
                        workload,
                        described,
                        int(size),
                        page.requests_per_s,
                        page.p50_ms,
                        page.p99_ms,
                        "-" if clean is None else clean.p99_ms,
                        f"{stalled} of {len(page.rounds)}",
                        ratio(page.p50_ms, base.p50_ms),
                        "-"
                        if clean is None or base_clean is None
                        else ratio(clean.p99_ms, base_clean.p99_ms),
                        page.wrong_status + page.socket_errors,
                    ]
                )
    at = f"at {int(small):,}"
    return [
        table(
            [
                "scaling: memory",
                "backups",
                "seeding s",
                "RSS idle MB",
                "seeded MB",
                "peak MB",
                "after load MB",
                f"seeded / {at}",
                "how",
            ],
            memory,
        ),
        f"(RSS of each mock: idle, before seeding; seeded: {scaling['settle_s']:g} s after the"
        " seeding's last request, before anything else; peak: its high water mark, the seeding"
        " included; after load: after every round)",
        "",
        table(
            [
                "list, one connection",
                "seeding",
                "backups",
                "req/s",
                "p50 ms",
                "p99 ms",
                "p99 ms, unstalled",
                "CPU stalled",
                f"p50 / {at}",
                f"p99 unstalled / {at}",
                "errors",
            ],
            pages,
        ),
        "(first page: the newest 20; deep pages: pages of 20 after markers all along the list;"
        f" {scaling['connections']} connection, one mock per size and seeding; CPUs:"
        f" {scaling['cpus']['described']})",
        f"(CPU stalled: rounds in which a probe on the servers' CPU woke over"
        f" {scaling['stall_threshold_ms']:g} ms late, as every process on it did (bench/stalls.py);"
        " at one connection wrk turns one such stall into about 1% of a round's answers."
        f" Unstalled: the median of the other rounds, shown when {scaling['clean_rounds']} or more"
        " are left; the p99 target is judged on it)",
        "",
    ]


def _seeded_how(seeding: str, size: int, entry: dict[str, Any]) -> str:
    if seeding == "state":
        return f"PUT /__mock/state, {entry['seed_mb']:.1f} MB"
    return f"{size:,} x POST .../backups; ids listed in {entry['ids_read_s']:.1f} s"


def _proxy(found: dict[str, Any]) -> list[str]:
    rows = []
    for level, by_load in found["levels"].items():
        for name, c in by_load.items():
            direct, proxied = c["direct"], c["proxy"]
            rows.append(
                [
                    name,
                    level,
                    direct.requests_per_s,
                    proxied.requests_per_s,
                    c["requests_per_s_ratio"],
                    direct.p50_ms,
                    proxied.p50_ms,
                    c["p50_added_ms"],
                    direct.p99_ms,
                    proxied.p99_ms,
                    sum(s.wrong_status + s.socket_errors for s in (direct, proxied)),
                ]
            )
    header = [
        "proxy",
        "conns",
        "req/s direct",
        "req/s proxy",
        "proxy/direct",
        "p50 direct",
        "p50 proxy",
        "p50 added (ms)",
        "p99 direct",
        "p99 proxy",
        "errors",
    ]
    verdicts = found["violations"]
    violating = verdicts["violating_exchanges"]
    out = [
        table(header, rows),
        "(the mock called directly, and through `mockserver --upstream` in front of it: the two"
        " runs side by side in every round, which goes first alternating; req/s, and p50 and p99"
        " in ms: medians of the rounds; proxy/direct and p50 added: medians of the rounds'"
        " ratios and differences)",
        f"(CPUs: {found['cpus']['described']}: the proxy and its upstream share the servers'"
        f" CPUs; at {found['target_connections']} connections p50 is mostly the wait in line,"
        f" about connections / req/s; '{found['judged_level']}': each connection waits after an"
        f" answer, offering {found['paced']['share']:.0%} of the proxy's saturated req/s"
        f" ({_offers(found['paced'])}), the same to both, and the target is judged there;"
        " at 1, the time of one request)",
        f"contract: {verdicts['exchanges']:,} exchanges through the proxy, {violating:,} violating"
        f" (GET /__mock/violations); peak RSS: upstream {found['peak_rss_mb']['direct']} MB,"
        f" proxy {found['peak_rss_mb']['proxy']} MB",
    ]
    if violating:
        groups = "; ".join(
            f"{g['count']} x {g['operation']} {g['rule']}" for g in verdicts["groups"]
        )
        out.append(
            f"!! FLAGGED: the proxy found violations in the bench's valid traffic ({groups}); the"
            " figures above include their cost (journal, one log line each)"
        )
    out.append("")
    return out


def _shared(found: dict[str, Any]) -> list[str]:
    base = found["base"]
    rows = []
    for name, measured in found["workloads"].items():
        for configuration, s in measured["servers"].items():
            to_base = measured["to_base"].get(configuration)
            rows.append(
                [
                    name,
                    configuration,
                    s.requests_per_s,
                    s.p50_ms,
                    s.p99_ms,
                    *(
                        [to_base[f] for f in ("requests_per_s", "p50_ms", "p99_ms")]
                        if to_base
                        else ["", "", ""]
                    ),
                    s.wrong_status,
                    s.socket_errors,
                    "/".join(sorted(s.statuses)),
                ]
            )
    header = ["shared state", "configuration", "req/s", "p50 ms", "p99 ms"]
    ratios = [f"{figure} / {base}" for figure in ("req/s", "p50", "p99")]
    trips = []
    for name, measured in found["workloads"].items():
        kind = found["kinds"][name]
        counted = measured["round_trips"]
        trips.append(
            [
                name,
                kind,
                counted["per_request"],
                f"<= {SHARED_ROUND_TRIPS[kind]:g}",
                counted["scripts_per_request"],
                counted["answered"],
                counted["wrk_requests"],
                _per_request(counted["calls"], counted["answered"]),
            ]
        )
    trips_header = ["Redis round trips", "kind", "a request", "goal", "scripts", "answered"]
    processes, cpus = found["workers"] + 1, len(found["cpus"]["servers"])  # 0: not pinned
    crowded = []
    if 0 < cpus < processes:
        crowded.append(
            f"(here the {found['workers']} workers and Redis, {processes} processes, share {cpus}"
            " CPU(s): more processes add no CPU time, and each worker also replays the other's"
            " writes)"
        )
    return [
        table([*header, *ratios, "non-2xx*", "sock err", "statuses"], rows),
        "* answers whose status is not the workload's right one (invalid create: 400)",
        f"(ours as the throughput phase runs it, its state in memory, in Redis {found['redis']}"
        f" (--store), and in Redis behind --workers {found['workers']}; the three side by side"
        " in every round, which goes first rotating; req/s, p50 and p99: medians of the rounds;"
        f" the ratios to {base}: medians of the rounds' ratios; CPUs: {found['cpus']['described']}"
        " (Redis is one of the servers))",
        "(Redis runs without persistence, --save '' --appendonly no: the phase measures the mock"
        " and its round trips, not a disk)",
        *crowded,
        "",
        table([*trips_header, "wrk requests", "commands a request (scripts' own included)"], trips),
        f"(counted around every run of {found['counted']}: the replies Redis wrote to a socket,"
        " one a round trip (INFO's total_writes_processed), over the requests the mock answered"
        " (its coverage: wrk does not count those still in flight when it stops); scripts:"
        " EVALSHA and EVAL, one round trip each; the commands, from INFO commandstats, include"
        " those the scripts run inside Redis, which cost no round trip)",
        "",
    ]


def _per_request(calls: dict[str, int], answered: int) -> str:
    return ", ".join(f"{command} {count / answered:.2f}" for command, count in calls.items())


def _offers(paced: dict[str, Any]) -> str:
    return ", ".join(
        f"{name} ~{offered:,}/s, a wait of ~{paced['pace_ms'][name]} ms"
        for name, offered in paced["offered_per_s"].items()
    )
