"""Live: tail public against socket.io-client and tail node against websocat on servers.js.

Rates are timed by the server, from the connection's open to the client
leaving; every run's output is checked (nothing lost, nothing moved).
"""

from __future__ import annotations

import hashlib
import json
import statistics
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import (
    CLIENT_OK,
    LIVE_FRAMES,
    LIVE_NODE,
    LIVE_PUBLIC,
    SIO_CLIENT,
    WEBSOCAT,
    Before,
    Context,
    Figure,
    Install,
    Server,
    alternate,
    count_lines,
    envelope_digest,
    file_digest,
    frame_indices,
    log,
    run_timed,
    shell,
    window_s,
)


def sio_frames_digest() -> str:
    """sha256 of the live capture's Socket.IO event texts, one a line: sio_client.js's output."""
    digest = hashlib.sha256()
    with open(LIVE_PUBLIC, "rb") as lines:
        lines.readline()  # the capture header
        for line in lines:
            row = json.loads(line)
            if row[1] == "sio":
                digest.update(row[3].encode() + b"\n")
    return digest.hexdigest()


def tail_public(install: Install, url: str, eio: str, envelopes: int) -> list[str]:
    """`install`'s tail public of `envelopes` envelopes from `url`."""
    cmd = [install.wstail, "tail", "public", "--url", url, "--eio", eio]
    return cmd + ["-n", str(envelopes), "--compact", "--retries", "0"]


def tail_node(install: Install, url: str) -> list[str]:
    """`install`'s tail node of the live frames from `url`."""
    cmd = [install.wstail, "tail", "node", "--url", url, "-n", str(LIVE_FRAMES)]
    return cmd + ["--compact", "--retries", "0"]


def tail_ws(install: Install, url: str) -> list[str]:
    """`install`'s tail ws (the generic WebSocket feed) of the live frames from `url`."""
    cmd = [install.wstail, "tail", "ws", url, "-n", str(LIVE_FRAMES)]
    return cmd + ["--compact", "--retries", "0"]


def tail_sio(install: Install, url: str, eio: str) -> list[str]:
    """`install`'s tail sio (the generic Socket.IO feed) of the live events, namespace /public."""
    cmd = [install.wstail, "tail", "sio", f"{url}/public", "--eio", eio, "--name", "bench"]
    return cmd + ["-n", str(LIVE_FRAMES), "--compact", "--retries", "0"]


def expected_sio(ctx: Context) -> tuple[int, str]:
    """What tail sio must print for the live capture: the replay of it as a generic capture."""
    generic = ctx.work / "live_public_as_sio.jsonl"
    with open(LIVE_PUBLIC, "rb") as source, open(generic, "wb") as out:
        header = json.loads(source.readline())
        header.update(source="bench", feed={"kind": "sio", "namespace": "/public"})
        out.write(json.dumps(header).encode() + b"\n")
        out.writelines(source)
    out_path = ctx.work / "expected-sio.out"
    run_timed([ctx.new.wstail, "replay", str(generic)], out_path)
    want = envelope_digest(out_path)
    out_path.unlink()
    generic.unlink()
    return want


def _public_run(
    cmd: list[str], out: Path, server: Server, want: tuple[int, str] | str
) -> dict[str, Any]:
    """One client run against `server`: its rates, and whether it printed exactly `want`.

    `want` is (lines, envelope digest) for a wstail, the events' digest for
    sio_client.js.
    """
    run = run_timed(cmd, out, timeout=180, ok=CLIENT_OK)
    stats = server.connection()
    window = window_s(stats)
    sample: dict[str, Any] = {"rc": run.rc}
    if isinstance(want, tuple):
        lines, digest = envelope_digest(out)
        sample["lines"] = lines
        sample["same_envelopes"] = run.rc == 0 and (lines, digest) == want
        sample["envelopes_per_s"] = lines / window
    else:  # every event, in order, as the server sent it
        sample["lines"] = count_lines(out)
        sample["same_events"] = run.rc == 0 and file_digest(out) == want
    sample["stderr_tail"] = run.stderr[-300:]
    sample["events_per_s"] = LIVE_FRAMES / window
    sample["wall_s"] = run.wall
    sample["peak_rss_mib"] = run.maxrss_kib / 1024
    out.unlink()
    return sample


_CHECK_KEYS = ("rc", "lines", "same_envelopes", "same_events", "stderr_tail")


def _checks(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: s[k] for k in _CHECK_KEYS if k in s} for s in samples]


def _lost(samples: list[dict[str, Any]], want_lines: int) -> float:
    """Envelopes missing (or extra) over all runs, plus one per run whose content differed."""
    return float(
        sum(abs(want_lines - s["lines"]) for s in samples)
        + sum(not s["same_envelopes"] for s in samples)
    )


def live_public(ctx: Context) -> list[Figure]:
    """tail public and socket.io-client against the fast EIO3 and EIO4 servers, alternately."""
    figures = []
    want_node = sio_frames_digest()
    want_sio = expected_sio(ctx)
    wants = {install.who: ctx.expected_public(install) for install in ctx.installs}
    want_lines = wants["wstail"][0]
    for mode in ("eio3", "eio4"):
        server = Server(mode, LIVE_PUBLIC, LIVE_FRAMES)
        url = f"http://127.0.0.1:{server.port}"
        cmds = {"wstail": tail_public(ctx.new, url, mode[-1], want_lines)}
        cmds["node"] = ["node", str(SIO_CLIENT), "--eio", mode[-1], "--url", url, "--count"]
        cmds["node"] += [str(LIVE_FRAMES)]
        cmds["sio"] = tail_sio(ctx.new, url, mode[-1])
        if ctx.before:
            cmds["before"] = tail_public(ctx.before, url, mode[-1], wants["before"][0])
        sides = {
            who: partial(
                _public_run,
                cmd,
                ctx.work / f"live-{mode}.{who}.out",
                server,
                want_node if who == "node" else want_sio if who == "sio" else wants[who],
            )
            for who, cmd in cmds.items()
        }
        try:
            samples = alternate(sides, ctx.live_runs, f"live-{mode}").samples
        finally:
            server.close()
        wstail, node = samples["wstail"], samples["node"]
        rates = [s["envelopes_per_s"] for s in wstail]
        med = statistics.median(rates)
        lossless = all(s["same_envelopes"] for s in wstail)
        node_exact = all(s["same_events"] for s in node)
        med_w = statistics.median(s["events_per_s"] for s in wstail)
        med_n = statistics.median(s["events_per_s"] for s in node)
        server_note = (
            f"bench/servers.js --mode {mode} (Node.js ws, protocol written by hand; sends "
            "as fast as the client reads)"
        )
        rate = Figure(
            f"live-{mode}",
            f"tail public ({mode.upper()}, fast server)",
            med,
            "env/s",
            25_000.0,
            wstail=f"{med:,.0f} env/s, {LIVE_FRAMES / (want_lines / med):,.0f} frames/s"
            + ("" if lossless else " (LOSSY)"),
            invalid="" if lossless else "envelopes were lost: the rate does not count",
            baseline="-",
            details={
                "server": server_note,
                "frames": LIVE_FRAMES,
                "envelopes": want_lines,
                "envelopes_per_s_runs": rates,
                "wall_s": [s["wall_s"] for s in wstail],
                "peak_rss_mib": max(s["peak_rss_mib"] for s in wstail),
                "checks": _checks(wstail),
                "timing": "envelopes / (server: connection open -> client gone)",
            },
        )
        loss = Figure(
            f"live-{mode}-loss",
            f"tail public ({mode.upper()}) envelopes lost, all runs",
            _lost(wstail, want_lines),
            "lost",
            0,
            "<=",
            wstail="exact" if lossless else "MISMATCH",
            details={"checks": _checks(wstail)},
        )
        client = "socket.io-client " + ("2.x" if mode == "eio3" else "4.x")
        invalid = []
        if not lossless:
            invalid.append("wstail lost envelopes")
        if not node_exact:
            invalid.append(f"{client} lost events")
        versus = Figure(
            f"live-{mode}-vs-node",
            f"tail public vs {client} ({mode.upper()}, events/s)",
            med_w / med_n,
            "x",
            1.0,
            wstail=f"{med_w:,.0f} ev/s" + ("" if lossless else " (LOSSY)"),
            baseline=f"{med_n:,.0f} ev/s node" + ("" if node_exact else " (LOSSY)"),
            invalid=", ".join(invalid) + ": the rates do not count" if invalid else "",
            details={
                "server": server_note,
                "frames": LIVE_FRAMES,
                "timing": "Socket.IO events (frames) / (server: connection open -> "
                "client gone); wstail and node alternately, output to a file",
                "wstail_events_per_s": [s["events_per_s"] for s in wstail],
                "node_events_per_s": [s["events_per_s"] for s in node],
                "wstail_wall_s": [s["wall_s"] for s in wstail],
                "node_wall_s": [s["wall_s"] for s in node],
                "node_checks": _checks(node),
                "wstail_cmd": shell(cmds["wstail"]),
                "node_cmd": shell(cmds["node"]),
            },
        )
        if ctx.before:
            old = samples["before"]
            rates_o = [s["envelopes_per_s"] for s in old]
            med_o = statistics.median(rates_o)
            exact_o = all(s["same_envelopes"] for s in old)
            lossy = "" if exact_o else " (LOSSY)"
            facts = {"rev": ctx.before.label, "checks": _checks(old)}
            rate.before = Before(
                med_o,
                f"{med_o:,.0f} env/s{lossy}",
                {**facts, "envelopes_per_s_runs": rates_o, "wall_s": [s["wall_s"] for s in old]},
            )
            loss.before = Before(
                _lost(old, wants["before"][0]), "exact" if exact_o else "MISMATCH", facts
            )
            events_o = [s["events_per_s"] for s in old]
            med_eo = statistics.median(events_o)
            versus.before = Before(
                med_eo / med_n,
                f"{med_eo:,.0f} ev/s{lossy}",
                {"rev": ctx.before.label, "events_per_s": events_o, "cmd": shell(cmds["before"])},
            )
        generic = samples["sio"]
        exact_s = all(s["same_envelopes"] for s in generic)
        med_s = statistics.median(s["events_per_s"] for s in generic)
        invalid_s = [] if exact_s else ["tail sio lost envelopes"]
        if not node_exact:
            invalid_s.append(f"{client} lost events")
        sio_versus = Figure(
            f"live-{mode}-sio-vs-node",
            f"tail sio vs {client} ({mode.upper()}, events/s)",
            med_s / med_n,
            "x",
            1.0,
            wstail=f"{med_s:,.0f} ev/s" + ("" if exact_s else " (LOSSY)"),
            baseline=f"{med_n:,.0f} ev/s node" + ("" if node_exact else " (LOSSY)"),
            invalid=", ".join(invalid_s) + ": the rates do not count" if invalid_s else "",
            details={
                "server": server_note,
                "frames": LIVE_FRAMES,
                "timing": "Socket.IO events / (server: connection open -> client gone); "
                "tail sio (the generic feed: one envelope an event), tail public and node "
                "alternately, output to a file, checked against the replay of the capture",
                "sio_events_per_s": [s["events_per_s"] for s in generic],
                "node_events_per_s": [s["events_per_s"] for s in node],
                "checks": _checks(generic),
                "sio_cmd": shell(cmds["sio"]),
            },
        )
        figures += [rate, loss, versus, sio_versus]
    return figures


def live_deflate(ctx: Context) -> list[Figure]:
    """tail public against the EIO3 server with permessage-deflate, as socket.io 1.x serves."""
    server = Server("eio3", LIVE_PUBLIC, LIVE_FRAMES, deflate=True)
    url = f"http://127.0.0.1:{server.port}"
    sides = {}
    for install in ctx.installs:
        want = ctx.expected_public(install)
        sides[install.who] = partial(
            _public_run,
            tail_public(install, url, "3", want[0]),
            ctx.work / f"live-eio3-deflate.{install.who}.out",
            server,
            want,
        )
    try:
        samples = alternate(sides, ctx.live_runs, "live-eio3-deflate").samples
    finally:
        server.close()
    figures: list[Figure] = []
    for who, runs in samples.items():
        rates = [s["envelopes_per_s"] for s in runs]
        med = statistics.median(rates)
        lossless = all(s["same_envelopes"] for s in runs)
        checks = [{k: s[k] for k in ("rc", "lines", "same_envelopes")} for s in runs]
        shown = f"{med:,.0f} env/s" + (", exact" if lossless else " (LOSSY)")
        if who == "before" and ctx.before:
            figures[0].before = Before(
                med,
                shown,
                {"rev": ctx.before.label, "envelopes_per_s_runs": rates, "checks": checks},
            )
            continue
        figures.append(
            Figure(
                "live-eio3-deflate",
                "tail public (EIO3, permessage-deflate)",
                med,
                "env/s",
                None,
                wstail=shown,
                baseline="-",
                invalid="" if lossless else "envelopes were lost: the rate does not count",
                details={
                    "server": "bench/servers.js --mode eio3 --deflate 1 (compresses messages of "
                    "1024 bytes or more, as socket.io 1.x does)",
                    "envelopes_per_s_runs": rates,
                    "wall_s": [s["wall_s"] for s in runs],
                    "checks": checks,
                    "timing": "envelopes / (server: connection open -> client gone)",
                },
            )
        )
    return figures


def _loss_check(who: str, cmd: list[str], out: Path, server: Server) -> dict[str, Any]:
    """An untimed run into a file: every frame there, in order?"""
    log(f"live-node: loss check ({who}, untimed)")
    run = run_timed(cmd, out, timeout=180, ok=CLIENT_OK)
    stats = server.connection()
    lines, in_order = frame_indices(out)
    out.unlink()
    return {
        "rc": run.rc,
        "lines": lines,
        "in_order": in_order,
        "server_sent": stats["sent"],
        "stderr_tail": run.stderr[-300:],
    }


def _counted_run(cmd: list[str], out: Path, server: Server) -> dict[str, Any]:
    """A timed run piped into `wc -l`: frames per second and the count."""
    run = run_timed(cmd, out, timeout=180, ok=CLIENT_OK, consumer=["wc", "-l"])
    stats = server.connection()
    counted = int(out.read_text().split()[0])
    out.unlink()
    return {
        "count": counted,
        "rate": LIVE_FRAMES / window_s(stats),
        "wall": run.wall,
        "peak_rss_mib": run.maxrss_kib / 1024,
    }


def live_node(ctx: Context) -> list[Figure]:
    """tail node against websocat on the same Node.js ws server: messages per second, no loss.

    The timed runs pipe each client into `wc -l`, a consumer far cheaper than
    either (a Python reader capped websocat near 130,000 msg/s); losses are
    checked in one untimed run each, its output in a file, frame by frame.
    """
    server = Server("node", LIVE_NODE, LIVE_FRAMES)
    url = f"ws://127.0.0.1:{server.port}/ws"
    cmds = {"wstail": tail_node(ctx.new, url), "websocat": [WEBSOCAT, "-t", "--no-close", url]}
    cmds["ws"] = tail_ws(ctx.new, url)
    if ctx.before:
        cmds["before"] = tail_node(ctx.before, url)
    try:
        timed = alternate(
            {
                who: partial(_counted_run, cmd, ctx.work / f"node-{who}.count", server)
                for who, cmd in cmds.items()
            },
            ctx.node_runs,
            "live-node",
            warmup={
                who: partial(_loss_check, who, cmd, ctx.work / f"node-{who}.out", server)
                for who, cmd in cmds.items()
            },
        )
    finally:
        server.close()
    ours = ("wstail", "websocat", "ws")
    checks = {who: [timed.warmup[who]] for who in ours}
    counted = {who: [s["count"] for s in timed.samples[who]] for who in ours}
    rates = {who: [s["rate"] for s in timed.samples[who]] for who in cmds}
    med = {who: statistics.median(rates[who]) for who in cmds}

    def lost(who: str) -> int:
        """Frames missing or out of order in the checked run, off in the counted ones."""
        check = timed.warmup[who]
        return (
            abs(LIVE_FRAMES - check["lines"])
            + (not check["in_order"])
            + sum(abs(LIVE_FRAMES - s["count"]) for s in timed.samples[who])
        )

    lost_w, lost_b = lost("wstail"), lost("websocat")
    versus = Figure(
        "live-node",
        "tail node vs websocat (msgs/s, | wc -l)",
        med["wstail"] / med["websocat"],
        "x",
        0.6,
        wstail=f"{med['wstail']:,.0f} msg/s" + (" (LOSSY)" if lost_w else ""),
        invalid="frames were lost: the rate does not count" if lost_w else "",
        baseline=f"{med['websocat']:,.0f} msg/s websocat" + (" (LOSSY)" if lost_b else ""),
        details={
            "server": "bench/servers.js --mode node (Node.js ws; pretty-printed node "
            "frames, as fast as the client reads, then close)",
            "frames": LIVE_FRAMES,
            "timing": "frames / (server: connection open -> closed); each client "
            "piped into wc -l, alternately",
            "wstail_msgs_per_s": rates["wstail"],
            "websocat_msgs_per_s": rates["websocat"],
            "wstail_wall_s": [s["wall"] for s in timed.samples["wstail"]],
            "websocat_wall_s": [s["wall"] for s in timed.samples["websocat"]],
            "wstail_peak_rss_mib": max(
                (s["peak_rss_mib"] for s in timed.samples["wstail"]), default=0.0
            ),
            "loss_checks": checks,
            "wc_lines": counted,
            "wstail_cmd": shell(cmds["wstail"]) + " | wc -l",
            "websocat_cmd": shell(cmds["websocat"]) + " | wc -l",
        },
    )
    loss = Figure(
        "live-node-loss",
        "tail node frames lost, all runs (websocat)",
        float(lost_w),
        "lost",
        0,
        "<=",
        wstail="exact, in order" if lost_w == 0 else f"{lost_w} lost",
        baseline="exact" if lost_b == 0 else f"websocat {lost_b} off",
        details={"loss_checks": checks, "wc_lines": counted},
    )
    if ctx.before:
        lost_o = lost("before")
        facts = {
            "rev": ctx.before.label,
            "loss_check": timed.warmup["before"],
            "wc_lines": [s["count"] for s in timed.samples["before"]],
        }
        versus.before = Before(
            med["before"] / med["websocat"],
            f"{med['before']:,.0f} msg/s" + (" (LOSSY)" if lost_o else ""),
            {**facts, "msgs_per_s": rates["before"], "cmd": shell(cmds["before"]) + " | wc -l"},
        )
        loss.before = Before(
            float(lost_o), "exact, in order" if lost_o == 0 else f"{lost_o} lost", facts
        )
    lost_ws = lost("ws")
    ws_versus = Figure(
        "live-ws-vs-node",
        "tail ws vs tail node (msgs/s, | wc -l)",
        med["ws"] / med["wstail"],
        "x",
        1.0,
        wstail=f"{med['ws']:,.0f} msg/s" + (" (LOSSY)" if lost_ws else ""),
        invalid="frames were lost: the rate does not count" if lost_ws or lost_w else "",
        baseline=f"{med['wstail']:,.0f} msg/s tail node" + (" (LOSSY)" if lost_w else ""),
        details={
            "server": "bench/servers.js --mode node (the same frames as live-node)",
            "frames": LIVE_FRAMES,
            "timing": "frames / (server: connection open -> closed); tail ws, tail node "
            "and websocat piped into wc -l, alternately",
            "ws_msgs_per_s": rates["ws"],
            "node_msgs_per_s": rates["wstail"],
            "websocat_msgs_per_s": rates["websocat"],
            "ws_over_websocat": med["ws"] / med["websocat"],
            "loss_check": timed.warmup["ws"],
            "ws_cmd": shell(cmds["ws"]) + " | wc -l",
        },
    )
    return [versus, loss, ws_versus]


def run(ctx: Context) -> list[Figure]:
    """The live figures: tail public (plain and deflate), then tail node."""
    return live_public(ctx) + live_deflate(ctx) + live_node(ctx)
