"""What debugging costs: reaching a breakpoint late in a kernel under vgpu.debug.Session, against a
plain interpreted run of the same launch (no observer).  Prints both times and their ratio (the
target is at most 3x).

    python benchmarks/debug_overhead.py [--repeat N]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import vgpu
from vgpu import pipeline
from vgpu.debug import Session

SOURCE = """
__global__ void work(float *out, const float *x, int iters) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    float v = x[i];
    float acc = 0.0f;
    for (int k = 0; k < iters; k++) {
        if (k % 3 == threadIdx.x % 3) {
            acc += v * k;
        } else {
            acc -= 0.5f * v;
        }
    }
    out[i] = acc;
}
"""
LAST_LINE = 13                       # out[i] = acc;  reached only after every iteration


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--grid", type=int, default=4, help="blocks (more than 32 x 256 threads: several waves)")
    ap.add_argument("--last-block", action="store_true",
                    help="a conditional breakpoint that only the grid's last block satisfies")
    a = ap.parse_args()
    k = vgpu.Module(pipeline.compile_source(SOURCE, "bench.vk")).get_function("work")
    grid, block = a.grid, 256
    n = grid * block
    dev = vgpu.Device(workers=0, executor="interp")
    x = vgpu.to_device(np.linspace(0, 1, n, dtype=np.float32), device=dev)
    out = vgpu.to_device(np.zeros(n, np.float32), device=dev)
    plain, debug = [], []
    for _ in range(a.repeat):
        t = time.perf_counter()
        k(out, x, a.iters, grid=grid, block=block, device=dev)
        plain.append(time.perf_counter() - t)
        s = Session(k, out, x, a.iters, grid=grid, block=block, device=dev)
        s.break_at(LAST_LINE, cond=f"blockIdx.x == {grid - 1}" if a.last_block else None)
        t = time.perf_counter()
        stop = s.run()
        debug.append(time.perf_counter() - t)
        assert stop.reason == "breakpoint" and stop.line == LAST_LINE, stop
        steps = stop.step
        s.close()
    p, d = min(plain), min(debug)
    print(f"kernel: {grid} blocks x {block} threads, {a.iters} loop iterations, breakpoint at line {LAST_LINE}"
          + (f" if blockIdx.x == {grid - 1}" if a.last_block else ""))
    print(f"plain interpreted run:        {p * 1e3:8.1f} ms")
    print(f"debug session to breakpoint:  {d * 1e3:8.1f} ms  ({steps} scheduler steps)")
    print(f"overhead: {d / p:.2f}x  (target <= 3x)")
    dev.close()


if __name__ == "__main__":
    main()
