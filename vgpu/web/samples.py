"""The examples the explorer offers in its menu: the `.vk` files of `examples/` (copied into the
package as vgpu/web/examples/*.vk, so that an installed wheel has them; tests/test_web_api.py checks
the copies equal the originals) and, per example, a run that finishes in about a second.

Out: `examples()` -> [{name, title, source, kernel, grid, block, args, constants}] (args in /run's form).
"""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent / "examples"

RUNS = {  # file: (title, kernel, grid, block, args, constants)
    "saxpy.vk": ("saxpy (grid-stride loop)", "saxpy", 8, 128,
                 {"alpha": 2.5, "x": {"random": 4096, "seed": 1}, "y": {"random": 4096, "seed": 2}, "n": 4096}, {}),
    "vector_add.vk": ("vector add", "vector_add", 4, 256,
                      {"a": {"random": 1000, "seed": 1}, "b": {"random": 1000, "seed": 2}, "c": {"zeros": 1000},
                       "n": 1000}, {}),
    "collatz.vk": ("divergent kernel (Collatz)", "collatz", 4, 128,
                   {"start": {"arange": 512, "dtype": "uint32"}, "steps": {"zeros": 512}, "n": 512}, {}),
    "reduce.vk": ("shared-memory reduction", "reduce_sum", 8, 256,
                  {"in": {"random": 4096, "seed": 3}, "partial": {"zeros": 8}, "n": 4096}, {}),
    "matmul.vk": ("tiled matrix multiply", "matmul", [2, 2], [16, 16],
                  {"A": {"random": 1024, "seed": 1}, "B": {"random": 1024, "seed": 2}, "C": {"zeros": 1024},
                   "n": 32}, {}),
    "histogram.vk": ("histogram with atomics", "histogram", 8, 128,
                     {"data": {"arange": 4096}, "hist": {"zeros": 64}, "n": 4096}, {}),
    "warp_scan.vk": ("warp-shuffle scan", "warp_scan", 4, 256,
                     {"in": {"arange": 1000}, "out": {"zeros": 1000}, "n": 1000}, {}),
    "conv1d_constant.vk": ("1-D convolution, filter in __constant__", "conv1d", 4, 256,
                           {"in": {"random": 1000, "seed": 1}, "out": {"zeros": 1000}, "n": 1000},
                           {"filter": {"random": 9, "seed": 4}}),
    "mixed_precision.vk": ("mixed precision: __half storage, float32 accumulation", "matvec_half", 2, 32,
                           {"W": {"random": 64 * 32, "seed": 1, "dtype": "float16"},
                            "x": {"random": 32, "seed": 2, "dtype": "float16"},
                            "y": {"zeros": 64, "dtype": "float16"}, "rows": 64, "cols": 32}, {}),
    "raytrace.vk": ("ray tracer in C++ classes", "render", [4, 3], [16, 16],
                    {"img": {"zeros": 64 * 48}, "width": 64, "height": 48}, {}),
    "soa_vs_aos.vk": ("particles, struct of arrays", "step_soa", 4, 256,
                      {**{k: {"random": 1024, "seed": i} for i, k in enumerate(("x", "y", "z", "vx", "vy", "vz"))},
                       "n": 1024, "dt": 0.01}, {}),
}


def examples() -> list[dict]:
    out = []
    for path in sorted(HERE.glob("*.vk")):
        title, kernel, grid, block, args, constants = RUNS.get(path.name, (path.stem, None, 1, 32, {}, {}))
        out.append({"name": path.name, "title": title, "source": path.read_text(), "kernel": kernel, "grid": grid,
                    "block": block, "args": args, "constants": constants})
    return out
