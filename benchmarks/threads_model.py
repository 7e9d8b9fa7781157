"""How a compiled launch would spread over N threads, predicted from this machine's one-thread times.

    python benchmarks/threads_model.py [--threads 2 16 ...] [--big] [--only NAME ...] [--repeat N]
                                       [--asleep futex|locks]

For each kernel of benchmarks/run.py it measures every block's native time on one thread (groups
of consecutive blocks of ~0.1 ms, best of --repeat, less the Python of a call, shared evenly by their
blocks; a heavy block is a group of its own), then replays the launch's plan
(`vgpu.sim.compiled.threads.plan`, with the block times the launch itself would have measured) on N
threads: a launch soon after another finds the pool's threads spinning (vgpu/sim/compiled/pool.py),
so each starts SPIN_US after the launch; with --asleep they start as the launch wakes them: `futex`
(Linux) one system call wakes them all, FUTEX_US per thread woken, each starting LATENCY_US after
its wake; `locks` (elsewhere) a tree of Python lock releases, each costing the waker WAKE_US, the
woken thread starting LATENCY_US later.  Each thread takes
the next chunk as soon as it is free and pays CHUNK_US per chunk (the native chunk loop's own).  It
prints the predicted speedup over one thread, the launch's Python counted on both sides (ONE_US,
THREADED_US), and the threads' busy share.  What it leaves out is
what a real many-core machine adds: memory bandwidth shared by the threads and frequency changes.
So it bounds what the plan allows; `benchmarks/run.py --threads N` measures what a machine gives.
"""
from __future__ import annotations

import argparse
import heapq
import os
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402

from vgpu.pipeline import compile_source  # noqa: E402
from vgpu.sim import SimDevice  # noqa: E402
from vgpu.sim.compiled import runtime as crt, threads  # noqa: E402

WAKE_US = 10.0        # a lock release: a system call, made holding the GIL (~10 us on a virtual machine)
FUTEX_US = 1.0        # the kernel's work per thread in one futex wake of them all
LATENCY_US = 10.0     # from the release (or the wake) to the woken thread's first chunk
SPIN_US = 1.0         # from the launch's opening to a spinning thread's first chunk
CHUNK_US = 0.2        # the chunk loop's own work per chunk (chunks.py: an atomic add, ctx words, the clock)
ONE_US = 20.0         # the Python of a launch on one thread (validation, result), outside native code
THREADED_US = 30.0    # the same on threads: the plan, the launch buffer, the threads' counts and times
                      # (both measured on the 2-core development machine: vector_add 2^20 18-21 and
                      # 25-28 us, the histogram 26-29 and 37-40 us)


def block_seconds(launch, repeat: int) -> tuple[np.ndarray, int, object]:
    """(Each block's native seconds, the launch's wave, its native) after one launch on one thread:
    groups of consecutive blocks of ~GROUP_SECONDS each, timed (best of `repeat`) less the Python of
    a call, shared evenly by their blocks (a block of a few warps takes less than that Python)."""
    launch()
    nat = crt._last[0]
    nblocks = nat.cfg.grid[0] * nat.cfg.grid[1] * nat.cfg.grid[2]
    atom = nat.ck.atomics
    if atom is not None and atom.priv is not None:          # as the launch runs: privatized
        nat.privatize(atom.priv, atom.kind)
    nat.clear()
    blocks = np.arange(nblocks, dtype=np.int64)
    best = lambda s, e: min(_timed(nat, blocks[s:e]) for _ in range(repeat))     # noqa: E731
    g0 = min(nblocks, 256)
    per = best(0, g0) / g0
    python = max(best(0, 1) - per, 0.0)                     # the Python around one call
    group = int(min(nblocks, max(1, round(GROUP_SECONDS / max(per, 1e-9)))))
    out = np.empty(nblocks)
    for s in range(0, nblocks, group):
        e = min(s + group, nblocks)
        out[s:e] = max(best(s, e) - python, 0.0) / (e - s)
    nat.privatize(None, None)
    return out, nat.wave_blocks, nat


GROUP_SECONDS = 1e-4


def _timed(nat, blocks) -> float:
    t0 = time.perf_counter()
    if nat.call(blocks, log=True) != 0:
        raise SystemExit("a block bailed out: the model needs a kernel that runs natively")
    return time.perf_counter() - t0


def starts(n: int, asleep="locks") -> list[float]:
    """Microseconds until each of n threads takes its first chunk: spinning (asleep None), SPIN_US
    (the launching thread at once); asleep on a futex, after the one wake of them all; asleep on
    locks, as the pool's tree of wakes reaches it."""
    if not asleep:
        return [0.0] + [SPIN_US] * (n - 1)
    if asleep == "futex":
        return [FUTEX_US * (n - 1)] + [FUTEX_US * t + LATENCY_US for t in range(1, n)]
    at = [0.0] * n
    begin = [0.0] * n                   # when each thread is awake (the caller: at once)
    for t in range(n):
        wakes = [c for c in ((1,) if t == 0 else (2 * t, 2 * t + 1)) if c < n]
        for k, c in enumerate(wakes):
            begin[c] = begin[t] + WAKE_US * (k + 1) + LATENCY_US
        at[t] = begin[t] + WAKE_US * len(wakes)
    return at


def replay(times: np.ndarray, chunks, n: int, asleep="locks") -> tuple[float, float]:
    """(Makespan, busy share) in seconds of the chunks on n threads taking them in order."""
    free = [(s * 1e-6, t) for t, s in enumerate(starts(n, asleep))]
    heapq.heapify(free)
    busy = 0.0
    sums = np.concatenate([[0.0], np.cumsum(times)])
    end = 0.0
    for s, e in chunks:
        at, t = heapq.heappop(free)
        work = sums[e] - sums[s] + CHUNK_US * 1e-6
        busy += work
        end = max(end, at + work)
        heapq.heappush(free, (at + work, t))
    return end, busy / (n * end)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="*", default=[2, 4, 8, 16])
    ap.add_argument("--big", action="store_true", help="2^22 elements, matmul 512, Collatz 2^18")
    ap.add_argument("--only", nargs="*", help="kernels to model")
    ap.add_argument("--repeat", type=int, default=3, help="runs per block; the fastest counts")
    ap.add_argument("--asleep", choices=("futex", "locks"), help="the threads sleep when the launch comes (a first "
                    "launch, or one over a millisecond after the last): woken by one futex wake (Linux) or as a "
                    "tree of lock releases")
    args = ap.parse_args(argv)
    dev = SimDevice(workers=0, echo_printf=False, executor="compiled")
    mod = dev.load(compile_source(bench.KERNELS, "benchmarks.vk"))
    how = (f"asleep on a futex: one wake, {FUTEX_US:g} us a thread, each starting {LATENCY_US:g} us later"
           if args.asleep == "futex" else
           f"asleep on locks: woken as a tree, {WAKE_US:g} us + {LATENCY_US:g} us a wake") if args.asleep else \
        f"threads spinning: each starts {SPIN_US:g} us in"
    print(f"predicted speedup over one thread (busy share of the threads); {how}, {CHUNK_US:g} us per chunk, "
          f"the launch's Python {ONE_US:g} us on one thread, {THREADED_US:g} us on threads"
          f"{', big sizes' if args.big else ''}")
    print(f"{'kernel':12s} {'blocks':>7s} {'one thread':>11s}  " + "  ".join(f"{n:>14d}" for n in args.threads))
    for name, _, launch, _ in bench.cases(dev, mod, np.random.default_rng(1), args.big):
        if args.only and name not in args.only:
            continue
        times, wave, nat = block_seconds(launch, args.repeat)
        one = times.sum()
        per_chunk = max(1, crt.CHUNK_THREADS // max(wave * nat.cfg.threads_per_block, 1))
        cells = []
        for n in args.threads:
            n = min(n, times.size)
            chunks, _ = threads.plan(times.size, wave, n, per_chunk, one / times.size)
            span, share = replay(times, chunks, n, args.asleep)
            cells.append(f"{(one + ONE_US * 1e-6) / (span + THREADED_US * 1e-6):6.2f}x ({share:4.0%})")
        print(f"{name:12s} {times.size:7d} {one * 1e3:8.3f} ms  " + "  ".join(f"{c:>14s}" for c in cells),
              flush=True)
    dev.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
