#!/usr/bin/env python3
"""Screen-change-to-pixel latency of a live Tandem session, read back from the viewer's own screen.

Two Xvfb displays: A (the shared screen, an xterm) and B (the technician's real viewer window).
Each probe types one character into the xterm on A with xdotool and times until the viewer window
on B shows a changed pixel where the xterm's text is. That is capture + encode + relay + decode +
upload + present; the input path (viewer -> host injection, a few ms) is not included.

A benchmark, not a test: it prints p50/p95, the CPU each process used while probing, and first
the CPU each used over a still screen (--still seconds). With --transfer SIZE, the user (or with
--transfer-from technician, the technician) sends a file of SIZE bytes over and over while probing,
to show what a large transfer does to the picture. Needs python-xlib (`pip install python-xlib`),
xterm, xdotool, Xvfb.

    scripts/latency_probe.py target/release/tandem [--probes 40] [--transfer 1G] [--json]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from Xlib import X, display as xdisplay


def xvfb(size):
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", "1", "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    return proc, ":" + proc.stdout.readline().decode().strip()


def events(proc):
    for line in proc.stdout:
        try:
            yield json.loads(line)
        except ValueError:
            continue


def wait_event(proc, name):
    for event in events(proc):
        if event.get("event") == name:
            return event
    raise SystemExit(f"no {name} event")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("tandem")
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--still", type=float, default=10.0,
                        help="seconds of a still screen to measure CPU over first (0: skip)")
    parser.add_argument("--transfer", default=None,
                        help="bytes the user keeps sending the technician while probing (e.g. 1G)")
    parser.add_argument("--transfer-from", choices=["user", "technician"], default="user",
                        help="who sends: the user (the screen's path) or the technician")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    procs = []
    try:
        xa, disp_a = xvfb("1920x1080")
        xb, disp_b = xvfb("1920x1080")
        procs += [xa, xb]
        env_a = dict(os.environ, DISPLAY=disp_a, RUST_LOG="warn")
        env_b = dict(os.environ, DISPLAY=disp_b, RUST_LOG="warn")
        xterm = subprocess.Popen(
            ["xterm", "-geometry", "100x30+0+300", "-bg", "black", "-fg", "white", "-fa",
             "Monospace", "-fs", "14"],
            env=env_a, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        procs.append(xterm)
        data = tempfile.mkdtemp()
        relay = subprocess.Popen(
            [args.tandem, "relay", "--listen", "127.0.0.1:0", "--data-dir", data, "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        procs.append(relay)
        listening = wait_event(relay, "listening")
        flags = ["--relay", listening["addr"], "--fingerprint", listening["fingerprint"]]
        share = subprocess.Popen(
            [args.tandem, "share", *flags, "--json", "--no-window", "--auto-accept", "view",
             "--fps", "60", "--accept-files", "--downloads", os.path.join(data, "user")],
            env=env_a, stdout=subprocess.PIPE, stdin=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True,
        )
        procs.append(share)
        code = wait_event(share, "code_issued")["code"]
        join = subprocess.Popen(
            [args.tandem, "join", code, *flags, "--json", "--name", "probe", "--accept-files",
             "--downloads", os.path.join(data, "tech")],
            env=env_b, stdout=subprocess.PIPE, stdin=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True,
        )
        procs.append(join)
        wait_event(join, "first_frame")

        # The viewer window and the picture's top-left area inside it (below the status bar).
        win = subprocess.run(
            ["xdotool", "search", "--sync", "--name", "Tandem"],
            env=env_b, capture_output=True, text=True, check=True,
        ).stdout.split()[0]
        geometry = dict(
            line.split("=") for line in subprocess.run(
                ["xdotool", "getwindowgeometry", "--shell", win],
                env=env_b, capture_output=True, text=True, check=True,
            ).stdout.split()
        )
        wx, wy, ww = int(geometry["X"]), int(geometry["Y"]), int(geometry["WIDTH"])
        region = (wx, wy + 150, min(ww, 600), 250)
        dpy = xdisplay.Display(disp_b)
        root = dpy.screen().root

        def grab():
            x, y, w, h = region
            return root.get_image(x, y, w, h, X.ZPixmap, 0xFFFFFFFF).data

        xdotool_a = ["xdotool", "type", "--delay", "0"]
        subprocess.run(["xdotool", "mousemove", "300", "450"], env=env_a, check=True)
        time.sleep(2)  # let the first frames settle before the probes (a benchmark, not a test)
        measured = (("share", share), ("join", join), ("relay", relay))
        still = {}
        if args.still > 0:
            before = {p: cpu_seconds(proc.pid) for p, proc in measured}
            t = time.time()
            time.sleep(args.still)
            dt = time.time() - t
            still = {p: round(100 * (cpu_seconds(proc.pid) - before[p]) / dt, 1)
                     for p, proc in measured}
        transferred = {"files": 0}
        if args.transfer:
            units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
            size = args.transfer
            size = int(float(size[:-1]) * units[size[-1].upper()]) if size[-1].upper() in units \
                else int(size)
            payload = os.path.join(data, "payload.bin")
            with open(payload, "wb") as f:
                block = os.urandom(1 << 20)
                for i in range(0, size, len(block)):
                    f.write(block[: min(len(block), size - i)])

            sender, receiver, inbox = (share, join, "tech") if args.transfer_from == "user" \
                else (join, share, "user")

            def keep_sending():
                # The receiving side reports each file done; send the next one then.
                sender.stdin.write(f"send {payload}\n")
                sender.stdin.flush()
                for event in events(receiver):
                    if event.get("event") == "file_done":
                        transferred["files"] += 1
                        for f in os.listdir(os.path.join(data, inbox)):
                            if f.startswith("payload"):
                                os.remove(os.path.join(data, inbox, f))
                        sender.stdin.write(f"send {payload}\n")
                        sender.stdin.flush()

            threading.Thread(target=keep_sending, daemon=True).start()
            time.sleep(1)  # the transfer is under way before the first probe
        cpu_before = {p: cpu_seconds(proc.pid) for p, proc in measured}
        started = time.time()
        latencies = []
        letters = "abcdefghijklmnopqrstuvwxyz"
        for i in range(args.probes):
            before = grab()
            t0 = time.perf_counter()
            subprocess.run(xdotool_a + [letters[i % 26]], env=env_a, check=True)
            sent = time.perf_counter()
            deadline = t0 + 2.0
            while time.perf_counter() < deadline:
                if grab() != before:
                    latencies.append((time.perf_counter() - sent) * 1000)
                    break
            time.sleep(0.15)
        elapsed = time.time() - started
        cpu = {p: round(100 * (cpu_seconds(proc.pid) - cpu_before[p]) / elapsed, 1)
               for p, proc in (("share", share), ("join", join), ("relay", relay))}
        latencies.sort()
        result = {
            "probes": args.probes,
            "seen": len(latencies),
            "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
            "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
            "cpu_pct": cpu,
            "still_cpu_pct": still,
            "files_transferred_while_probing": transferred["files"] if args.transfer else None,
        }
        print(json.dumps(result) if args.json else
              f"change -> viewer pixel: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms "
              f"({len(latencies)}/{args.probes} seen); CPU % of a core while probing: {cpu}, "
              f"on a still screen: {still}"
              + (f"; files of {args.transfer} sent meanwhile: {transferred['files']}"
                 if args.transfer else ""))
    finally:
        for proc in reversed(procs):
            proc.kill()


if __name__ == "__main__":
    sys.exit(main())
