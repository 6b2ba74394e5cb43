"""A bench-only extension: counts what handle() saw, its push-to-handle latency and per-key order.

Installed next to AllCaps (Q2EXT_INSTALLED_EXTENSIONS=AllCaps,q2bench_probe), it wraps the
handle() of every Message Bus handler already loaded and serves GET /_bench/stats[?reset=1].
Q2BENCH_LATENCIES=0 keeps only counts (the memory case must not grow by the probe's own data).
"""
