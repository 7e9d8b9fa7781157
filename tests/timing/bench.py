"""The microbenchmarks of /work/shared/reference/h200-timing.md run through the timing model.

In:  a preset name (default h200).
Out: `measure(preset)` -> rows (benchmark, setting, measured on the H200, modelled); `python
     tests/timing/bench.py [PRESET]` prints them as the calibration table of docs/timing.md.
Each figure is the difference of two runs with different repeat counts, divided by the extra repeats,
so launch and warm-up costs cancel.  The pointer chases over 64 MiB and 1 GiB visit each line once
(cold caches miss every time, as the real chase of a set larger than L2 does); the others run one
lap first so that the timed laps see warm caches.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import vgpu
import vgpu.timing

HERE = Path(__file__).resolve().parent
MEASURED = {   # h200-timing.md
    ("chase_global", "8 KiB"): 39.1, ("chase_global", "64 KiB"): 75.6, ("chase_global", "256 KiB"): 280.2,
    ("chase_global", "2 MiB"): 372.7, ("chase_global", "64 MiB"): 543.4, ("chase_global", "1 GiB"): 667.6,
    ("chase_shared", "cycles/load"): 28.7, ("fma_dependent", "cycles/fma"): 4.5, ("fma_throughput", "TFLOPS"): 50.7,
    ("syncthreads", "32 threads"): 14.7, ("syncthreads", "256 threads"): 28.7, ("syncthreads", "1024 threads"): 76.7,
    ("copy_bandwidth", "GB/s"): 3851.1, ("atomic_add", "one address, G/s"): 1.36,
    ("atomic_add", "distinct addresses, G/s"): 319.36,
}
_module = None


def module():
    global _module
    if _module is None:
        _module = vgpu.compile((HERE / "micro.vk").read_text(), str(HERE / "micro.vk"))
    return _module


def cycles(dev, name, *args, grid=1, block=1):
    return module().get_function(name)(*args, grid=grid, block=block, device=dev).timing.cycles


def chase_global(preset, kib: int, rng) -> float:
    lines = kib * 1024 // 128
    cold = lines > 16384
    dev = vgpu.Device(workers=0, timing=preset, global_bytes=max(64 << 20, kib * 1024 + (1 << 20)))
    base = dev.sim.malloc(kib * 1024)
    out = vgpu.zeros(1, np.uint64, device=dev)
    if cold:
        n = 512
        chosen = rng.choice(lines, n, replace=False)
    else:
        n = lines
        chosen = rng.permutation(lines)
    addr = base + chosen.astype(np.int64) * 128
    for a, b in zip(addr, np.roll(addr, -1)):
        dev.sim.write(int(a), np.array([b], np.uint64))
    start = int(addr[0])
    if cold:
        h1, h2 = n // 4, n // 2
    else:
        extra = max(64, min(n, 2048))
        h1, h2 = n + extra, n + 2 * extra
    c1 = cycles(dev, "chase_global", start, h1, out)
    c2 = cycles(dev, "chase_global", start, h2, out)
    return (c2 - c1) / (h2 - h1)


def chase_shared(preset, rng) -> float:
    dev = vgpu.Device(workers=0, timing=preset)
    n = 1024
    perm = rng.permutation(n)
    cycle = np.empty(n, np.uint32)
    cycle[perm] = np.roll(perm, -1)
    c = vgpu.to_device(cycle, device=dev)
    out = vgpu.zeros(1, np.uint32, device=dev)
    c1 = cycles(dev, "chase_shared", c, n, 256, out)
    c2 = cycles(dev, "chase_shared", c, n, 768, out)
    return (c2 - c1) / 512


def fma_dependent(preset) -> float:
    dev = vgpu.Device(workers=0, timing=preset)
    out = vgpu.zeros(32, np.float32, device=dev)
    c1 = cycles(dev, "fma_dependent", out, 16, 1.0001, 0.5, block=32)
    c2 = cycles(dev, "fma_dependent", out, 48, 1.0001, 0.5, block=32)
    return (c2 - c1) / (32 * 8)


def fma_throughput(preset) -> float:
    p = vgpu.timing.load(preset)
    dev = vgpu.Device(workers=0, timing=preset, num_sms=8)
    grid, block = p.sms, 512
    out = vgpu.zeros(grid * block, np.float32, device=dev)
    c1 = cycles(dev, "fma_throughput", out, 8, 1.0001, 0.5, grid=grid, block=block)
    c2 = cycles(dev, "fma_throughput", out, 24, 1.0001, 0.5, grid=grid, block=block)
    flops = 16 * 16 * 2 * grid * block
    return flops / ((c2 - c1) / (p.clock_ghz * 1e9)) / 1e12


def syncthreads(preset, threads: int) -> float:
    dev = vgpu.Device(workers=0, timing=preset)
    out = vgpu.zeros(1, np.int32, device=dev)
    c1 = cycles(dev, "syncthreads_loop", 16, out, block=threads)
    c2 = cycles(dev, "syncthreads_loop", 48, out, block=threads)
    return (c2 - c1) / 32


def copy_bandwidth(preset) -> float:
    p = vgpu.timing.load(preset)
    dev = vgpu.Device(workers=0, timing=preset, num_sms=16)
    grid, block = p.sms * 2, 1024
    res = []
    for per in (2, 6):
        n = grid * block * per
        a = vgpu.zeros(n, np.float32, device=dev)
        b = vgpu.zeros(n, np.float32, device=dev)
        res.append((n, cycles(dev, "copy", a, b, n, grid=grid, block=block)))
    (n1, c1), (n2, c2) = res
    return 8 * (n2 - n1) / ((c2 - c1) / (p.clock_ghz * 1e9)) / 1e9


def atomic_add(preset, distinct: bool) -> float:
    p = vgpu.timing.load(preset)
    dev = vgpu.Device(workers=0, timing=preset, num_sms=16)
    grid, block = p.sms, 256
    counters = vgpu.zeros(grid * block, np.uint32, device=dev)
    r1, r2 = (4, 20) if distinct else (1, 2)
    g = grid if distinct else 16
    c1 = cycles(dev, "atomic_add", counters, r1, int(distinct), grid=g, block=block)
    c2 = cycles(dev, "atomic_add", counters, r2, int(distinct), grid=g, block=block)
    return (r2 - r1) * g * block / ((c2 - c1) / (p.clock_ghz * 1e9)) / 1e9


def measure(preset: str = "h200", which=None, verbose: bool = False) -> list[tuple[str, str, float, float]]:
    rng = np.random.default_rng(1)
    runs = {
        ("chase_global", "8 KiB"): lambda: chase_global(preset, 8, rng),
        ("chase_global", "64 KiB"): lambda: chase_global(preset, 64, rng),
        ("chase_global", "256 KiB"): lambda: chase_global(preset, 256, rng),
        ("chase_global", "2 MiB"): lambda: chase_global(preset, 2048, rng),
        ("chase_global", "64 MiB"): lambda: chase_global(preset, 65536, rng),
        ("chase_global", "1 GiB"): lambda: chase_global(preset, 1 << 20, rng),
        ("chase_shared", "cycles/load"): lambda: chase_shared(preset, rng),
        ("fma_dependent", "cycles/fma"): lambda: fma_dependent(preset),
        ("fma_throughput", "TFLOPS"): lambda: fma_throughput(preset),
        ("syncthreads", "32 threads"): lambda: syncthreads(preset, 32),
        ("syncthreads", "256 threads"): lambda: syncthreads(preset, 256),
        ("syncthreads", "1024 threads"): lambda: syncthreads(preset, 1024),
        ("copy_bandwidth", "GB/s"): lambda: copy_bandwidth(preset),
        ("atomic_add", "one address, G/s"): lambda: atomic_add(preset, False),
        ("atomic_add", "distinct addresses, G/s"): lambda: atomic_add(preset, True),
    }
    rows = []
    for (b, s), f in runs.items():
        if which is None or b in which:
            m, x = MEASURED[(b, s)], f()
            rows.append((b, s, m, x))
            if verbose:
                print(f"| {b} | {s} | {m:g} | {x:.1f} | {x / m:.2f} |", flush=True)
    return rows


if __name__ == "__main__":
    import time
    preset = sys.argv[1] if len(sys.argv) > 1 else "h200"
    which = sys.argv[2:] or None
    print(f"| microbenchmark | setting | measured (H200) | modelled ({preset}) | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for b, s, m, x in measure(preset, which, verbose=True):
        pass


