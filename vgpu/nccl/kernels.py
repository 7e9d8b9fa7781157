"""The element-wise kernels the collectives launch (kernels.vk), compiled once per process.

In:  an operation ('sum', 'prod', 'max', 'min'; 'avg' divides after a sum) and a numpy dtype.
Out: `reduce_into(acc, src, op)` launches acc = acc OP src on acc's device; `divide(acc, d)` launches
     acc = acc / d; both return the modelled seconds of a memory-bound kernel (bytes / HBM bandwidth).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

OPS = ("sum", "prod", "max", "min", "avg")
SUFFIX = {np.dtype(np.int8): "i8", np.dtype(np.uint8): "u8", np.dtype(np.int32): "i32",
          np.dtype(np.uint32): "u32", np.dtype(np.int64): "i64", np.dtype(np.uint64): "u64",
          np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}
BLOCK = 256
MAX_GRID = 32
_module = None


def module():
    """The compiled kernels.vk (a vgpu.Module), compiled on first use."""
    global _module
    if _module is None:
        from ..runtime.module import Module
        from .. import pipeline
        _module = Module(pipeline.compile_path(Path(__file__).with_name("kernels.vk")))
    return _module


def check_op(op: str) -> str:
    if op not in OPS:
        raise ValueError(f"unknown reduction op {op!r}: use one of {', '.join(OPS)}")
    return op


def suffix(dtype) -> str:
    dt = np.dtype(dtype)
    if dt not in SUFFIX:
        have = ", ".join(str(d) for d in SUFFIX)
        raise TypeError(f"vgpu.nccl reduces {have}, not {dt}")
    return SUFFIX[dt]


def _grid(n: int) -> int:
    return max(1, min(MAX_GRID, -(-n // BLOCK)))


def reduce_into(acc, src, op: str) -> float:
    """acc = acc OP src element-wise (both DeviceArrays on the same device, same dtype and size)."""
    n = acc.size
    if n == 0:
        return 0.0
    name = ("sum" if op == "avg" else op) + "_" + suffix(acc.dtype)
    module().get_function(name)(acc, src, n, grid=_grid(n), block=BLOCK, device=acc.device)
    return acc.device.topology.kernel_time(3 * acc.nbytes)


def divide(acc, d: int) -> float:
    """acc = acc / d element-wise (C division: integers truncate toward zero)."""
    n = acc.size
    if n == 0 or d == 1:
        return 0.0
    module().get_function("avg_" + suffix(acc.dtype))(acc, n, d, grid=_grid(n), block=BLOCK, device=acc.device)
    return acc.device.topology.kernel_time(2 * acc.nbytes)
