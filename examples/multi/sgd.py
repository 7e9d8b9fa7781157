"""Data-parallel SGD of a linear model on 1, 2, 4 ... virtual GPUs (the same weights on each count).

In:  X (N x d float32), y (N), the devices, steps, learning rate, rows per gradient block.
Out: the weights after `steps` full-batch gradient steps, the modelled communication seconds, and
     the modelled compute seconds (per kernel: a launch latency plus its bytes / HBM bandwidth).

Each device holds N / n rows (a whole number of blocks).  Per step: `partial_grad` on every device,
`all_gather` of the block gradients (vgpu.nccl), `update` on every device (sums blocks in order).

    python examples/multi/sgd.py [--devices 4] [--steps 20] [--process]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import vgpu
from vgpu.distribute import split

KERNELS = Path(__file__).with_name("sgd.vk")
LAUNCH_LATENCY = 3e-6            # seconds per kernel launch in the modelled compute time


def make_data(n: int = 256, d: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    w_true = rng.standard_normal(d).astype(np.float32)
    y = (X @ w_true + 0.01 * rng.standard_normal(n)).astype(np.float32)
    return X, y, w_true


def train(devices, X, y, steps: int = 20, lr: float = 0.1, rows: int = 16):
    """Weights after `steps` steps on `devices`; returns (w, stats) with stats' modelled seconds."""
    n, d = X.shape
    k = len(devices)
    nblocks = n // rows
    if n % rows or nblocks % k:
        raise ValueError(f"{n} rows must be whole blocks of {rows}, and {nblocks} blocks must split over {k} devices")
    mod = vgpu.compile_file(KERNELS)
    grad, update = mod.get_function("partial_grad"), mod.get_function("update")
    Xs, ys = split(X, devices), split(y, devices)
    local = nblocks // k
    w = [vgpu.zeros(d, np.float32, device=dev) for dev in devices]
    part = [vgpu.empty(local * d, np.float32, device=dev) for dev in devices]
    gathered = [vgpu.empty(nblocks * d, np.float32, device=dev) for dev in devices]
    comm = vgpu.nccl.Communicator(devices)
    scale = np.float32(lr / n)
    comm_s = 0.0
    topo = devices[0].topology
    compute_s = (2 * LAUNCH_LATENCY + topo.kernel_time((n // k) * (d + 1) * 4 + local * d * 4)
                 + topo.kernel_time(nblocks * d * 4 + 2 * d * 4))
    for _ in range(steps):
        for i, dev in enumerate(devices):
            grad(Xs.parts[i], ys.parts[i], w[i], part[i], local, rows, d, grid=-(-local * d // 64), block=64,
                 device=dev)
        comm_s += comm.all_gather(part, gathered).seconds
        for i, dev in enumerate(devices):
            update(w[i], gathered[i], nblocks, d, scale, grid=1, block=max(32, d), device=dev)
    out = w[0].copy_to_host()
    for i in range(1, k):
        if not np.array_equal(w[i].copy_to_host(), out):
            raise AssertionError(f"replica {i} differs from replica 0")
    for a in (*w, *part, *gathered):
        a.free()
    Xs.free()
    ys.free()
    return out, {"comm_seconds": comm_s, "compute_seconds": steps * compute_s, "steps": steps}


def reference(X, y, steps: int = 20, lr: float = 0.1, rows: int = 16) -> np.ndarray:
    """The same computation in numpy, float32, (not bit-identical: numpy sums in its own order)."""
    w = np.zeros(X.shape[1], np.float32)
    for _ in range(steps):
        w = w - np.float32(lr / len(X)) * (X.T @ (X @ w - y))
    return w


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=4)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--process", action="store_true", help="each device in its own process")
    a = ap.parse_args(argv)
    X, y, w_true = make_data()
    devs = vgpu.devices(a.devices, process=a.process, workers=0)
    w, stats = train(devs, X, y, steps=a.steps)
    print("weights      ", np.array2string(w, precision=4))
    print("true weights ", np.array2string(w_true, precision=4))
    print(f"modelled: communication {stats['comm_seconds'] * 1e6:.1f} us, compute {stats['compute_seconds'] * 1e6:.1f} us")
    for d in devs:
        d.close()


if __name__ == "__main__":
    main()
