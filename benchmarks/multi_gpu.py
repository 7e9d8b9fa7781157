"""Multi-GPU scaling and collective bandwidth on virtual GPUs, from the link model and kernel counters.

Prints three tables:
  1. strong scaling of the Jacobi stencil (examples/multi): a fixed grid over 1, 2, 4, 8 devices;
  2. weak scaling: a fixed number of rows per device;
  3. the collectives' algorithm and bus bandwidth (nccl-tests' definitions) on 2, 4, 8 devices.
Modelled time per sweep = the slowest device's kernel (launch latency + the global-memory sectors
its counters record x 32 B / HBM bandwidth) + the halo exchange (latency + bytes / link bandwidth).
Wall time is this machine's simulation time, for reference: it measures the simulator, not a GPU.

    python benchmarks/multi_gpu.py [--size 1024] [--sweeps 2] [--max-bytes 4194304] [--devices 1,2,4,8]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import vgpu  # noqa: E402
from vgpu.distribute import split  # noqa: E402

LAUNCH_LATENCY = 3e-6            # seconds from a kernel launch to its first instruction, roughly (see docs)
SECTOR = 32


def jacobi_step(devs, h: int, w: int, sweeps: int):
    """(modelled compute s, modelled halo s, wall s) per sweep of an h x w grid over devs."""
    kernel = vgpu.compile_file(ROOT / "examples/multi/jacobi.vk").get_function("jacobi")
    grid = np.random.default_rng(0).random((h, w), dtype=np.float32)
    u, v = split(grid, devs, halo=1), split(grid, devs, halo=1)
    compute = halo = 0.0
    t0 = time.perf_counter()
    for _ in range(sweeps):
        slowest = 0.0
        for i, dev in enumerate(devs):
            lo, hi = u.owned(i)
            start = u.stored[i][0]
            r0, r1 = max(lo, 1 - start), min(hi, h - 1 - start)
            res = kernel(u.parts[i], v.parts[i], w, r0, r1, grid=(-(-w // 32), -(-(r1 - r0) // 8)), block=(32, 8),
                         device=dev)
            sectors = res.stats.get("global_load_sectors", 0) + res.stats.get("global_store_sectors", 0)
            slowest = max(slowest, LAUNCH_LATENCY + dev.topology.kernel_time(sectors * SECTOR))
        compute += slowest
        u, v = v, u
        if len(devs) > 1:
            halo += u.exchange_halos()
    wall = time.perf_counter() - t0
    u.free()
    v.free()
    return compute / sweeps, halo / sweeps, wall / sweeps


def scaling(counts, size: int, sweeps: int, weak: bool) -> None:
    title = (f"Weak scaling: Jacobi, {size // 4} rows per device x {size} columns" if weak
             else f"Strong scaling: Jacobi, {size} x {size} grid")
    print(f"\n{title}, modelled per sweep (H200-like: HBM 4.8 TB/s, NVLink 4 450 GB/s, {LAUNCH_LATENCY * 1e6:.0f} us launch)")
    print(f"{'devices':>7} {'rows':>6} {'compute us':>11} {'halo us':>8} {'total us':>9} {'speedup':>8} "
          f"{'efficiency':>10} {'wall ms':>8}")
    base = None
    for n in counts:
        devs = vgpu.devices(n, workers=0, counters=True, global_bytes=64 << 20)
        rows = (size // 4) * n if weak else size
        c, hl, wall = jacobi_step(devs, rows, size, sweeps)
        total = c + hl
        base = base or total
        speedup = base / total * (n if weak else 1)
        print(f"{n:>7} {rows:>6} {c * 1e6:>11.2f} {hl * 1e6:>8.2f} {total * 1e6:>9.2f} {speedup:>8.2f} "
              f"{speedup / n:>10.0%} {wall * 1e3:>8.1f}")
        for d in devs:
            d.close()


def collectives(counts, max_bytes: int) -> None:
    print("\nCollectives (float32, sum), modelled: algbw = S / t, busbw = algbw x factor (nccl-tests' definitions)")
    print(f"{'ranks':>5} {'bytes':>9}  " + "  ".join(f"{name + ' alg/bus GB/s':>24}" for name in
                                                    ("all_reduce", "(tree)", "all_gather", "reduce_scatter",
                                                     "broadcast", "reduce")))
    sizes = [s for s in (1 << 10, 1 << 14, 1 << 18, 1 << 20, 1 << 22, 1 << 24) if s <= max_bytes]
    for n in counts:
        if n < 2:
            continue
        devs = vgpu.devices(n, workers=0, global_bytes=max(64 << 20, 4 * max_bytes))
        comm = vgpu.nccl.Communicator(devs)
        for size in sizes:
            count = size // 4
            per = count // n
            bufs = [vgpu.zeros(count, np.float32, device=d) for d in devs]
            parts = [vgpu.zeros(per, np.float32, device=d) for d in devs]
            whole = [b[:per * n] for b in bufs]
            recs = [comm.all_reduce(bufs, bufs), comm.all_reduce(bufs, bufs, algorithm="tree"),
                    comm.all_gather(parts, whole), comm.reduce_scatter(whole, parts),
                    comm.broadcast(bufs, bufs), comm.reduce(bufs, bufs)]
            print(f"{n:>5} {size:>9}  " + "  ".join(f"{r.algbw / 1e9:>11.1f} / {r.busbw / 1e9:<10.1f}" for r in recs))
            for b in (*bufs, *parts):
                b.free()
        for d in devs:
            d.close()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024, help="grid columns (and rows, strong scaling)")
    ap.add_argument("--sweeps", type=int, default=2)
    ap.add_argument("--max-bytes", type=int, default=1 << 22, help="largest collective message")
    ap.add_argument("--devices", default="1,2,4,8", help="device counts, comma-separated")
    a = ap.parse_args(argv)
    counts = [int(x) for x in a.devices.split(",")]
    t = time.perf_counter()
    scaling(counts, a.size, a.sweeps, weak=False)
    scaling(counts, a.size, a.sweeps, weak=True)
    collectives(counts, a.max_bytes)
    print(f"\n({time.perf_counter() - t:.1f} s of simulation)")


if __name__ == "__main__":
    main()
