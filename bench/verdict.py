"""The issue's targets, judged from the results (of the phases that ran)."""

from __future__ import annotations

from typing import Any

from bench.report import ratio, regional_ratios

# A regional path costs no more than the default one: its req/s within the noise of a shared
# machine of the default's (rounds interleaved, medians), and so its median latency.
REGIONAL_FLOOR = 0.9
REGIONAL_CEILING = 1.1
# Issue 15: the proxy adds at most this to p50 at 50 connections over calling the upstream.
PROXY_P50_ADDED_MS = 1.0
# "Performance where it is still thin": ours' req/s over Prism's, per workload (2 for the rest).
SPEED_FLOOR = {"create": 5.0, "invalid create": 5.0}
DEFAULT_SPEED_FLOOR = 2.0
# The list as the account grows, at one connection: the largest size against the smallest.
SCALING_SMALL, SCALING_LARGE = 100, 100_000  # the sizes must reach both for the targets
SCALING_P50_CEILING = 1.5
SCALING_P99_CEILING = 2.0
HELD_MB = 200.0  # RSS after seeding the largest size
# ours' show req/s over the bare uvicorn app's, which replays its answer (bench/ceiling.py).
CEILING_SHARE = 0.5
# A shared state's design (--store): Redis round trips a request, at most, by kind of request
# (bench/shared.py): a read only syncs; a write takes the lock, then logs and gives it back.
SHARED_ROUND_TRIPS = {"read": 1.0, "write": 2.0}


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if "throughput" in results:
        rows += _throughput(results["throughput"])
    if "ceiling" in results:
        rows.append(_ceiling(results["ceiling"]))
    if "scaling" in results:
        rows += _scaling(results["scaling"])
    if "throughput" in results:
        rows += _regional(results["throughput"])
    if "proxy" in results:
        rows += _proxy(results["proxy"])
    if "shared" in results:
        rows += _shared(results["shared"])
    if "startup_s" in results:
        boot = results["startup_s"]["ours"]["median"]
        rows.append(_target("start-up to first answer < 1.5 s", f"{boot:.2f} s", boot < 1.5))
    return rows


def _throughput(throughput: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, by_server in throughput.items():
        if "prism" not in by_server:
            continue
        ours, prism = by_server["ours"], by_server["prism"]
        speed = ratio(ours.requests_per_s, prism.requests_per_s)
        floor = SPEED_FLOOR.get(name, DEFAULT_SPEED_FLOOR)
        rows.append(
            _target(f"{name}: req/s ours/Prism >= {floor:g}", f"{speed:.2f}x", speed >= floor)
        )
        tail = ratio(ours.p99_ms, prism.p99_ms)
        rows.append(_target(f"{name}: p99 ours/Prism <= 1", f"{tail:.2f}x", tail <= 1))
    return rows


def _scaling(scaling: dict[str, Any]) -> list[dict[str, Any]]:
    """Per way of seeding: each workload's p50 and p99 at the largest size over the smallest, and
    what the process holds at the largest; only when the sizes reach the issue's 100 and 100,000
    (a run with other sizes shows its figures and judges none)."""
    by_size = scaling["sizes"]
    sizes = sorted(by_size, key=int)
    small, large = sizes[0], sizes[-1]
    if int(small) > SCALING_SMALL or int(large) < SCALING_LARGE:
        return []
    at = f"at {int(large):,} / at {int(small):,}"
    rows = []
    for seeding, described in scaling["seedings"].items():
        smallest, largest = by_size[small][seeding], by_size[large][seeding]
        for workload in largest["workloads"]:
            base, grown = smallest["workloads"][workload], largest["workloads"][workload]
            slower = ratio(grown.p50_ms, base.p50_ms)
            rows.append(
                _target(
                    f"{workload} p50 {at}, {described}, one connection <= {SCALING_P50_CEILING:g}",
                    f"{slower:.2f}x",
                    slower <= SCALING_P50_CEILING,
                )
            )
            # p99 over the rounds the machine did not stall in (bench/stalls.py): one stall of
            # the CPU is a round's p99 at one connection, whichever mock it falls on.
            name = (
                f"{workload} p99 {at}, {described}, one connection, rounds without a CPU stall"
                f" <= {SCALING_P99_CEILING:g}"
            )
            base, grown = smallest["unstalled"][workload], largest["unstalled"][workload]
            if base is None or grown is None:
                left = f"fewer than {scaling['clean_rounds']} rounds without a stall"
                rows.append(_target(name, f"cannot judge: {left}", False))
                continue
            slower = ratio(grown.p99_ms, base.p99_ms)
            rows.append(_target(name, f"{slower:.2f}x", slower <= SCALING_P99_CEILING))
        held = largest["rss_after_seed_mb"]
        rows.append(
            _target(
                f"{int(large):,} backups {described} held in < {HELD_MB:g} MB",
                f"{held:.0f} MB",
                held < HELD_MB,
            )
        )
    return rows


def _ceiling(found: dict[str, Any]) -> dict[str, Any]:
    share = found["requests_per_s_ratio"]
    return _target(
        f"{found['workload']} req/s / bare uvicorn's (the ceiling) >= {CEILING_SHARE:g}",
        f"{share:.2f}",
        share >= CEILING_SHARE,
    )


def _regional(throughput: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, _, figures in regional_ratios(throughput):
        speed, p50 = figures[0], figures[1]
        rows.append(
            _target(
                f"{name}: req/s regional/default >= {REGIONAL_FLOOR}",
                f"{speed:.2f}x",
                speed >= REGIONAL_FLOOR,
            )
        )
        rows.append(
            _target(
                f"{name}: p50 regional/default <= {REGIONAL_CEILING}",
                f"{p50:.2f}x",
                p50 <= REGIONAL_CEILING,
            )
        )
    return rows


def _proxy(found: dict[str, Any]) -> list[dict[str, Any]]:
    """At the bench's connections (the requirement's 50), paced below saturation (see
    bench/proxy.py): the saturated level measures the proxy's throughput (a queue's length at p50)
    and the unloaded one its time for one request; both are shown, not judged."""
    level = found["judged_level"]
    rows = []
    for name, compared in found["levels"][level].items():
        added = compared["p50_added_ms"]
        offered = found["paced"]["offered_per_s"][name]
        rows.append(
            _target(
                f"proxy, {name}: p50 added <= {PROXY_P50_ADDED_MS:g} ms at {level} connections"
                f" (~{offered:,} req/s offered)",
                f"{added:.2f} ms",
                added <= PROXY_P50_ADDED_MS,
            )
        )
    # The bench's traffic is valid: a violation means the proxy (or the mock) is wrong, and the
    # figures above then include the cost of recording and logging violations.
    violating = found["violations"]["violating_exchanges"]
    rows.append(
        _target(
            "proxy: no contract violation in the bench's traffic",
            f"{violating:,} violating",
            violating == 0,
        )
    )
    return rows


def _shared(found: dict[str, Any]) -> list[dict[str, Any]]:
    """Each workload's round trips a request against its kind's goal, as the report shows them
    (to 2 decimals: a stray round trip, such as the health check's PING of an idle connection,
    is not one of every request's)."""
    rows = []
    for name, measured in found["workloads"].items():
        kind = found["kinds"][name]
        goal = SHARED_ROUND_TRIPS[kind]
        trips = round(measured["round_trips"]["per_request"], 2)
        rows.append(
            _target(
                f"shared, {name}: Redis round trips a {kind} <= {goal:g} ({found['counted']})",
                f"{trips:.2f}",
                trips <= goal,
            )
        )
    return rows


def _target(name: str, measured: str, met: bool) -> dict[str, Any]:
    return {"target": name, "measured": measured, "met": met}
