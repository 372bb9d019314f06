#!/usr/bin/env python3
"""Quantiles of a Prometheus histogram read off its buckets: hist_q.py METRICS_URL NAME."""
import sys, re, urllib.request
text = urllib.request.urlopen(sys.argv[1]).read().decode()
name = sys.argv[2]
b = []
for line in text.splitlines():
    m = re.match(name + r'_bucket\{le="([^"]+)"\} (\S+)', line)
    if m: b.append((float('inf') if m.group(1) == '+Inf' else float(m.group(1)), float(m.group(2))))
tot = b[-1][1] if b else 0
out = []
for q in (0.5, 0.9, 0.99, 0.999):
    for le, n in b:
        if n >= q * tot:
            out.append(f"p{q*100:g}<={le*1000:.3g}ms"); break
print(f"{name}: count={tot:.0f}", " ".join(out))
