"""The fixed host cost of a launch: microseconds of Python per launch of a tiny kernel.

    python benchmarks/launch_overhead.py [--repeat N] [--rounds N]

Prints, per executor (compiled, interp) and grid (1 and 64 blocks of 256 threads, vector_add on
256 floats, every block adding the same 256 elements), the minimum and median microseconds per
launch on a `SimDevice(workers=0)`, then the same through the user API (`vgpu.Device`, a `Kernel`
called with numpy-backed `DeviceArray`s).  Each figure times `--rounds` rounds of `--repeat`
launches (after a warm-up that translates the kernel); the result bytes are checked.  Issue #12's
target: the compiled executor at grid 1 within 32 us.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as R  # noqa: E402

from vgpu.sim.device import SimDevice  # noqa: E402


def per_launch_us(fn, repeat: int, rounds: int) -> tuple[float, float]:
    """(min, median) over `rounds` of the mean microseconds of one call of `fn` in `repeat` calls."""
    fn()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        times.append((time.perf_counter() - t0) / repeat * 1e6)
    return min(times), statistics.median(times)


def sim_figures(executor: str, repeat: int, rounds: int) -> list[tuple[str, float, float]]:
    """The simulator API (`SimDevice.launch` with packed parameter bytes)."""
    dev = SimDevice(workers=0, echo_printf=False, executor=executor)
    mod = dev.load(R.compile_source(R.KERNELS, "b.vk"))
    n = 256
    pa, pb, pc = (R._put(dev, np.full(n, i + 1, np.float32)) for i in range(3))
    prm = R.params(mod, "vector_add", [pa, pb, pc, n])
    out = []
    for grid in (1, 64):
        dev.launch(mod, "vector_add", prm, grid=grid, block=256)
        assert (R._get(dev, pc, np.float32, n) == 3).all()
        lo, med = per_launch_us(lambda: dev.launch(mod, "vector_add", prm, grid=grid, block=256), repeat, rounds)
        out.append((f"SimDevice  {executor:8s} grid {grid:2d}", lo, med))
    return out


def api_figures(executor: str, repeat: int, rounds: int) -> list[tuple[str, float, float]]:
    """The user API: `vgpu.Device`, `vgpu.compile` and a `Kernel` called with DeviceArrays."""
    import vgpu
    dev = vgpu.Device(workers=0, executor=executor)
    mod = vgpu.compile(R.KERNELS, filename="b.vk")
    n = 256
    a, b = (vgpu.to_device(np.full(n, i + 1, np.float32), device=dev) for i in range(2))
    c = vgpu.to_device(np.zeros(n, np.float32), device=dev)
    k = mod.get_function("vector_add")
    out = []
    for grid in (1, 64):
        k(a, b, c, n, grid=grid, block=256, device=dev)
        assert (c.copy_to_host() == 3).all()
        lo, med = per_launch_us(lambda: k(a, b, c, n, grid=grid, block=256, device=dev), repeat, rounds)
        out.append((f"vgpu.Device {executor:8s} grid {grid:2d}", lo, med))
    dev.close()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=500, help="launches per round")
    ap.add_argument("--rounds", type=int, default=7, help="rounds (min and median are over rounds)")
    a = ap.parse_args(argv)
    rows = []
    for executor in ("compiled", "interp"):
        rows += sim_figures(executor, a.repeat, a.rounds)
    for executor in ("compiled", "interp"):
        rows += api_figures(executor, a.repeat, a.rounds)
    print(f"{'launch':34s} {'min us':>8s} {'median us':>10s}")
    for name, lo, med in rows:
        print(f"{name:34s} {lo:8.1f} {med:10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
