"""A 2-D Jacobi stencil split by rows over virtual GPUs, with a halo exchange after every sweep.

In:  a grid (H x W float32; its border is fixed), the devices, the number of sweeps.
Out: the grid after the sweeps (bit for bit numpy's `reference`), and the modelled seconds of the
     halo exchanges and of the sweeps (a launch latency plus the bytes / HBM bandwidth).

    python examples/multi/jacobi.py [--devices 4] [--size 64] [--sweeps 50]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import vgpu
from vgpu.distribute import split

KERNELS = Path(__file__).with_name("jacobi.vk")
BLOCK = (16, 8)
LAUNCH_LATENCY = 3e-6            # seconds per kernel launch in the modelled sweep time


def make_grid(h: int = 64, w: int = 64) -> np.ndarray:
    g = np.zeros((h, w), np.float32)
    g[0, :] = 1.0                        # a hot top edge
    g[:, 0] = np.linspace(1.0, 0.0, h, dtype=np.float32)
    return g


def solve(devices, grid: np.ndarray, sweeps: int = 50):
    """The grid after `sweeps` sweeps on `devices`; returns (grid, stats)."""
    h, w = grid.shape
    kernel = vgpu.compile_file(KERNELS).get_function("jacobi")
    u, v = split(grid, devices, halo=1), split(grid, devices, halo=1)
    halo_s = 0.0
    rows = max(hi - lo for (lo, hi), in u.ranges)
    sweep_s = LAUNCH_LATENCY + devices[0].topology.kernel_time(rows * w * 4 * 5)   # 4 loads and a store per point
    for _ in range(sweeps):
        for i, dev in enumerate(devices):
            lo, hi = u.owned(i)
            start = u.stored[i][0]
            r0, r1 = max(lo, 1 - start), min(hi, h - 1 - start)       # global rows 0 and h-1 stay fixed
            if r1 > r0:
                grid_dims = (-(-w // BLOCK[0]), -(-(r1 - r0) // BLOCK[1]))
                kernel(u.parts[i], v.parts[i], w, r0, r1, grid=grid_dims, block=BLOCK, device=dev)
        u, v = v, u
        if len(devices) > 1:
            halo_s += u.exchange_halos()
    out = u.gather()
    u.free()
    v.free()
    return out, {"halo_seconds": halo_s, "compute_seconds": sweeps * sweep_s, "sweeps": sweeps}


def reference(grid: np.ndarray, sweeps: int = 50) -> np.ndarray:
    u = grid.copy()
    for _ in range(sweeps):
        v = u.copy()
        v[1:-1, 1:-1] = np.float32(0.25) * (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:])
        u = v
    return u


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=4)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--sweeps", type=int, default=50)
    a = ap.parse_args(argv)
    devs = vgpu.devices(a.devices, workers=0)
    g = make_grid(a.size, a.size)
    out, stats = solve(devs, g, a.sweeps)
    same = np.array_equal(out, reference(g, a.sweeps))
    print(f"{a.size}x{a.size} grid, {a.sweeps} sweeps on {a.devices} devices: equal to numpy: {same}")
    print(f"modelled: halo exchanges {stats['halo_seconds'] * 1e6:.1f} us, sweeps {stats['compute_seconds'] * 1e6:.1f} us")
    for d in devs:
        d.close()


if __name__ == "__main__":
    main()
