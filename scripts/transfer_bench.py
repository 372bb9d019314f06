#!/usr/bin/env python3
"""File-transfer throughput of a real session through a relay on loopback, while the screen streams.

Starts Xvfb (1280x800) with an xterm that keeps changing, a relay, `tandem share` on it and a headless
`tandem join`, then sends one file of --size bytes each way (technician -> user, then user ->
technician) and prints, per direction: MB/s from the receiver's `file_accepted` to its `file_done`,
the CPU each process used meanwhile (% of one core), and each process's peak resident memory.

    scripts/transfer_bench.py target/release/tandem [--size 2G] [--json]

Needs Xvfb and xterm (scripts/install-deps.sh). Not a test: a measurement to report.
"""

import argparse
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def parse_size(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text[-1].upper() in units:
        return int(float(text[:-1]) * units[text[-1].upper()])
    return int(text)


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class Proc:
    def __init__(self, name, args, env):
        self.name = name
        self.proc = subprocess.Popen(
            args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.events = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except json.JSONDecodeError:
                pass

    def wait(self, event, timeout=600, where=lambda e: True):
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                sys.exit(f"{self.name}: no {event} within {timeout} s")
            try:
                e = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if e.get("event") == event and where(e):
                return e
            if e.get("event") == "file_failed":
                sys.exit(f"{self.name}: transfer failed: {e.get('reason')}")

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def start_xvfb():
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,), stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        number = f.readline().strip()
    return xvfb, f":{number}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tandem")
    parser.add_argument("--size", default="2G")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    size = parse_size(args.size)

    work = tempfile.mkdtemp(prefix="tandem-transfer-bench-")
    procs = []
    xvfb = None
    try:
        xvfb, display = start_xvfb()
        env = dict(os.environ, DISPLAY=display, RUST_LOG="warn")
        # Something that keeps the screen changing, so frames flow during the transfer.
        xterm = subprocess.Popen(
            ["xterm", "-geometry", "160x50+0+0", "-e",
             "sh", "-c", "while :; do date +%T.%N; ls -l /usr/bin | head -40; sleep 0.05; done"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        relay = Proc("relay", [args.tandem, "relay", "--listen", "127.0.0.1:0",
                               "--data-dir", f"{work}/relay", "--json"], env)
        procs.append(relay)
        listening = relay.wait("listening", 30)
        flags = ["--relay", listening["addr"], "--fingerprint", listening["fingerprint"], "--json"]
        share = Proc("share", [args.tandem, "share", *flags, "--no-window", "--auto-accept", "view",
                               "--accept-files", "--downloads", f"{work}/user"], env)
        procs.append(share)
        code = share.wait("code_issued", 30)["code"]
        headless = dict(env)
        headless.pop("DISPLAY")
        join = Proc("join", [args.tandem, "join", code, *flags, "--headless", "--accept-files",
                             "--downloads", f"{work}/tech"], headless)
        procs.append(join)
        join.wait("first_frame", 60)

        source = os.path.join(work, "payload.bin")
        with open(source, "wb") as f:
            block = os.urandom(1 << 20)
            for i in range(0, size, len(block)):
                f.write(block[: min(len(block), size - i)])

        results = []
        for direction, sender, receiver in [("technician -> user", join, share),
                                            ("user -> technician", share, join)]:
            sender.send(f"send {source}")
            receiver.wait("file_accepted")
            pids = {p.name: p.proc.pid for p in procs}
            ticks = {n: cpu_ticks(pid) for n, pid in pids.items()}
            start = time.time()
            receiver.wait("file_done", where=lambda e: e.get("direction") == "received")
            secs = time.time() - start
            used = {n: (cpu_ticks(pid) - ticks[n]) / CLK_TCK / secs * 100 for n, pid in pids.items()}
            results.append({
                "direction": direction, "bytes": size, "secs": round(secs, 3),
                "mb_per_s": round(size / secs / 1e6, 1),
                "cpu_percent": {n: round(v, 1) for n, v in used.items()},
                "peak_rss_mib": {n: round(peak_rss_kib(pid) / 1024, 1) for n, pid in pids.items()},
            })
        share.send("stop")
        if args.json:
            print(json.dumps(results))
        else:
            for r in results:
                cpu = ", ".join(f"{n} {v:.0f} %" for n, v in r["cpu_percent"].items())
                rss = ", ".join(f"{n} {v:.0f} MiB" for n, v in r["peak_rss_mib"].items())
                print(f"{r['direction']}: {r['bytes'] / 1e6:.0f} MB in {r['secs']:.2f} s = "
                      f"{r['mb_per_s']:.0f} MB/s; CPU: {cpu}; peak RSS: {rss}")
        xterm.terminate()
    finally:
        for p in procs:
            p.stop()
        if xvfb:
            xvfb.terminate()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
