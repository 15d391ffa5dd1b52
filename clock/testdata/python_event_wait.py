"""Overshoot of threading.Event().wait(0.05), to compare with the Go benchmark.

    python3 clock/testdata/python_event_wait.py [samples]

Each sample waits 50 ms on a fresh Event (upstream Pioreactor's way of
sleeping until a pump must stop) and records how late it woke: the monotonic
time after the wait minus the deadline. Prints p50/p99/max/min in µs with the
same nearest-rank percentile as BenchmarkRealSleepOvershoot. A measuring tool,
not a test.
"""

import math
import sys
import threading
import time

WAIT_NS = 50_000_000


def percentile(sorted_ns, p):
    return sorted_ns[max(math.ceil(len(sorted_ns) * p / 100) - 1, 0)]


def main():
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    over = []
    for _ in range(samples):
        event = threading.Event()
        deadline = time.monotonic_ns() + WAIT_NS
        event.wait(WAIT_NS / 1e9)
        over.append(time.monotonic_ns() - deadline)
    over.sort()
    us = lambda ns: ns / 1000
    # The layout of a Go benchmark line, so the two read side by side.
    print(
        f"python-threading.Event.wait\t{samples} samples\t"
        f"{us(percentile(over, 50)):.1f} p50-us\t{us(percentile(over, 99)):.1f} p99-us\t"
        f"{us(over[-1]):.1f} max-us\t{us(over[0]):.1f} min-us"
    )


if __name__ == "__main__":
    main()
