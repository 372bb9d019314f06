#!/usr/bin/env python3
"""Adaptive quality on a shaped link (issue 8): latency, bytes and frames with and without it.

Two network namespaces joined by a veth pair shaped like tests/e2e_netem.rs (netem rate 4mbit
delay 20ms loss 0.5% on both ends; tbf rate 4mbit where the kernel has no netem). Relay and share
run in one namespace with display A (an xterm and a photo-like picture that changes every frame),
join runs in the other with a real viewer window on display B. For each of --adaptive on and off
it types into the xterm on A and times until the viewer window on B shows the change (as
scripts/latency_probe.py does), and averages the host's `rate` events (bytes/s, updates/s,
quality) and the viewer's `stats` events (frames/s, kB/s) over the probing.

A benchmark, not a test. Needs root, iproute2, python-xlib, xterm, xdotool, Xvfb.

    scripts/netem_probe.py target/debug/tandem [--probes 30] [--json] [--screenshots DIR]
"""

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from Xlib import X, display as xdisplay

HOST_NS, VIEWER_NS = f"tdp{os.getpid()}h", f"tdp{os.getpid()}v"


def sh(*args, check=True):
    return subprocess.run(args, capture_output=True, text=True, check=check)


def make_link():
    veth_h, veth_v = f"tdq{os.getpid() % 1000000}h", f"tdq{os.getpid() % 1000000}v"
    for cmd in (
        ["ip", "netns", "add", HOST_NS], ["ip", "netns", "add", VIEWER_NS],
        ["ip", "link", "add", veth_h, "type", "veth", "peer", "name", veth_v],
        ["ip", "link", "set", veth_h, "netns", HOST_NS],
        ["ip", "link", "set", veth_v, "netns", VIEWER_NS],
        ["ip", "-n", HOST_NS, "addr", "add", "10.77.0.1/24", "dev", veth_h],
        ["ip", "-n", VIEWER_NS, "addr", "add", "10.77.0.2/24", "dev", veth_v],
        ["ip", "-n", HOST_NS, "link", "set", veth_h, "up"],
        ["ip", "-n", VIEWER_NS, "link", "set", veth_v, "up"],
        ["ip", "-n", HOST_NS, "link", "set", "lo", "up"],
        ["ip", "-n", VIEWER_NS, "link", "set", "lo", "up"],
    ):
        sh(*cmd)
    for qdisc, label in (
        (["netem", "rate", "4mbit", "delay", "20ms", "loss", "0.5%"], "netem rate 4mbit delay 20ms loss 0.5%"),
        (["tbf", "rate", "4mbit", "burst", "32kbit", "latency", "400ms"], "tbf rate 4mbit (no netem here)"),
    ):
        if sh("tc", "-n", HOST_NS, "qdisc", "add", "dev", veth_h, "root", *qdisc, check=False).returncode == 0:
            sh("tc", "-n", VIEWER_NS, "qdisc", "add", "dev", veth_v, "root", *qdisc)
            return label
    raise SystemExit("cannot shape the link")


def drop_link():
    for ns in (HOST_NS, VIEWER_NS):
        sh("ip", "netns", "del", ns, check=False)


def xvfb(size):
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", "1", "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    return proc, ":" + proc.stdout.readline().decode().strip()


def photo_frames(w, h, n):
    """n photo-like BGRX frames: smooth colour waves under film grain, each a step further."""
    rng = random.Random(8)
    frames = []
    for k in range(n):
        t = k * 0.4
        out = bytearray(w * h * 4)
        i = 0
        for y in range(h):
            for x in range(w):
                g0 = rng.randint(-32, 32)
                r = 128 + 90 * math.sin((x + 0.3 * y) / 40 + t) + g0
                g = 128 + 90 * math.sin((0.4 * x + 1.1 * y) / 40 + t + 2) + g0
                b = 128 + 90 * math.sin((-0.7 * x + 0.8 * y) / 40 + t + 4) + g0
                out[i] = max(0, min(255, int(b)))
                out[i + 1] = max(0, min(255, int(g)))
                out[i + 2] = max(0, min(255, int(r)))
                i += 4
        frames.append(bytes(out))
    return frames


def show_photos(disp, frames, w, h, stop):
    d = xdisplay.Display(disp)
    screen = d.screen()
    win = screen.root.create_window(1200, 16, w, h, 0, screen.root_depth, X.InputOutput,
                                    X.CopyFromParent, background_pixel=screen.black_pixel)
    win.set_wm_name("changing photo")
    win.map()
    gc = win.create_gc()
    k = 0
    while not stop.is_set():
        data = frames[k % len(frames)]
        for top in range(0, h, 32):
            rows = min(32, h - top)
            win.put_image(gc, 0, top, w, rows, X.ZPixmap, 24, 0, data[top * w * 4:(top + rows) * w * 4])
        d.sync()
        k += 1
        time.sleep(1 / 30)


def events(proc, sink=None):
    for line in proc.stdout:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if sink is not None:
            sink.append(event)
        yield event


def wait_event(proc, name):
    for event in events(proc):
        if event.get("event") == name:
            return event
    raise SystemExit(f"no {name} event")


def collect(proc, sink):
    threading.Thread(target=lambda: [None for _ in events(proc, sink)], daemon=True).start()


def session(tandem, adaptive, probes, disp_a, disp_b, work, shots):
    procs = []
    try:
        env_a = dict(os.environ, DISPLAY=disp_a, RUST_LOG="warn")
        env_b = dict(os.environ, DISPLAY=disp_b, RUST_LOG="warn")
        netns = lambda ns: ["ip", "netns", "exec", ns, tandem]
        relay = subprocess.Popen(
            netns(HOST_NS) + ["relay", "--listen", "10.77.0.1:0", "--data-dir", work, "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(relay)
        listening = wait_event(relay, "listening")
        flags = ["--relay", listening["addr"], "--fingerprint", listening["fingerprint"]]
        share = subprocess.Popen(
            netns(HOST_NS) + ["share", *flags, "--json", "--no-window", "--auto-accept", "view",
                              "--adaptive", adaptive],
            env=env_a, stdout=subprocess.PIPE, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True)
        procs.append(share)
        code = wait_event(share, "code_issued")["code"]
        join = subprocess.Popen(
            netns(VIEWER_NS) + ["join", code, *flags, "--json", "--name", "probe",
                                "--outcome", "resolved"],
            env=env_b, stdout=subprocess.PIPE, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True)
        procs.append(join)
        wait_event(join, "first_frame")
        rates, stats = [], []
        collect(share, rates)
        collect(join, stats)

        win = subprocess.run(
            ["xdotool", "search", "--sync", "--name", "Tandem"], env=env_b, capture_output=True,
            text=True, check=True).stdout.split()[0]
        geometry = dict(line.split("=") for line in subprocess.run(
            ["xdotool", "getwindowgeometry", "--shell", win], env=env_b, capture_output=True,
            text=True, check=True).stdout.split())
        wx, wy, ww = int(geometry["X"]), int(geometry["Y"]), int(geometry["WIDTH"])
        region = (wx, wy + 150, min(ww, 600), 250)
        dpy = xdisplay.Display(disp_b)
        root = dpy.screen().root

        def grab():
            x, y, w, h = region
            return root.get_image(x, y, w, h, X.ZPixmap, 0xFFFFFFFF).data

        subprocess.run(["xdotool", "search", "--name", "probe-xterm", "windowfocus"], env=env_a)
        # Each run types on an empty line, so its letters land where the probed region is.
        subprocess.run(["xdotool", "key", "ctrl+u"], env=env_a, check=True)
        time.sleep(8)  # adaptation settles before probing (a benchmark, not a test)
        rates.clear()
        stats.clear()
        latencies = []
        letters = "abcdefghijklmnopqrstuvwxyz"
        for i in range(probes):
            before = grab()
            subprocess.run(["xdotool", "type", "--delay", "0", letters[i % 26]], env=env_a, check=True)
            sent = time.perf_counter()
            deadline = sent + 5.0
            while time.perf_counter() < deadline:
                if grab() != before:
                    latencies.append((time.perf_counter() - sent) * 1000)
                    break
            time.sleep(0.3)
        if shots:
            for disp, side in ((disp_a, "host"), (disp_b, "viewer")):
                subprocess.run(["import", "-window", "root", "-display", disp,
                                os.path.join(shots, f"{side}-adaptive-{adaptive}.png")], check=False)
        latencies.sort()
        mean = lambda xs: round(statistics.mean(xs), 1) if xs else None
        rate_events = [e for e in rates if e.get("event") == "rate"]
        stat_events = [e for e in stats if e.get("event") == "stats"]
        return {
            "adaptive": adaptive,
            "probes": probes,
            "seen": len(latencies),
            "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
            "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
            "host_bytes_per_sec": mean([e["bytes_per_sec"] for e in rate_events]),
            "host_updates_per_sec": mean([e["updates_per_sec"] for e in rate_events]),
            "quality": sorted({e["quality"] for e in rate_events}),
            "viewer_fps": mean([e["fps"] for e in stat_events if e.get("fps") is not None]),
            "viewer_kbytes_per_sec": mean([e["kbytes_per_sec"] for e in stat_events
                                           if e.get("kbytes_per_sec") is not None]),
        }
    finally:
        for proc in reversed(procs):
            proc.kill()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("tandem")
    parser.add_argument("--probes", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--screenshots", metavar="DIR",
                        help="save both displays (ImageMagick import) after each run's probes")
    args = parser.parse_args()
    tandem = os.path.abspath(args.tandem)
    procs = []
    stop = threading.Event()
    try:
        shaping = make_link()
        xa, disp_a = xvfb("1920x1080")
        xb, disp_b = xvfb("1920x1080")
        procs += [xa, xb]
        env_a = dict(os.environ, DISPLAY=disp_a)
        procs.append(subprocess.Popen(
            ["xterm", "-geometry", "100x30+0+300", "-bg", "black", "-fg", "white", "-fa",
             "Monospace", "-fs", "14", "-title", "probe-xterm"],
            env=env_a, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        w, h = 448, 320
        frames = photo_frames(w, h, 12)
        threading.Thread(target=show_photos, args=(disp_a, frames, w, h, stop), daemon=True).start()
        results = []
        for adaptive in ("on", "off"):
            with tempfile.TemporaryDirectory() as work:
                results.append(session(tandem, adaptive, args.probes, disp_a, disp_b, work,
                                       args.screenshots))
        out = {"link": shaping, "runs": results}
        print(json.dumps(out) if args.json else json.dumps(out, indent=1))
    finally:
        stop.set()
        for proc in reversed(procs):
            proc.kill()
        drop_link()


if __name__ == "__main__":
    sys.exit(main())
