"""A collective as a list of steps, run in order; the steps' actions run "at the same time".

In:  steps, each a list of actions: ("copy", dst, src, what) a peer copy of DeviceArray views,
     ("reduce", acc, src, op, what) a kernel acc = acc OP src, ("divide", acc, d, what),
     ("local", dst, src, what) a copy inside one device.
Out: the modelled seconds (per step: the slowest copy, then the slowest kernel; steps add up), and
     a trace: one line per action, prefixed by its step.
"""
from __future__ import annotations

from ..runtime.array import copy_peer
from .kernels import divide, reduce_into


def run(steps, trace: list[str]) -> float:
    total = 0.0
    for i, step in enumerate(steps):
        copy_t = kernel_t = 0.0
        for act in step:
            kind = act[0]
            if kind in ("copy", "local"):
                _, dst, src, what = act
                if not src.nbytes:
                    continue
                copy_peer(dst, src, label=what)
                t = dst.device.transfer_log[-1]
                copy_t = max(copy_t, t.seconds)
                trace.append(f"step {i:2}: {t.src} -> {t.dst} {what} ({t.nbytes} B over {t.link}, "
                             f"{t.seconds * 1e6:.2f} us)")
            elif kind == "reduce":
                _, acc, src, op, what = act
                if not acc.size:
                    continue
                kt = reduce_into(acc, src, op)
                kernel_t = max(kernel_t, kt)
                trace.append(f"step {i:2}: {acc.device.name} {op} kernel on {what} ({acc.size} elements, "
                             f"{kt * 1e6:.2f} us)")
            elif kind == "divide":
                _, acc, d, what = act
                if not acc.size:
                    continue
                kt = divide(acc, d)
                kernel_t = max(kernel_t, kt)
                trace.append(f"step {i:2}: {acc.device.name} divide by {d} on {what} ({acc.size} elements)")
            else:
                raise ValueError(f"unknown schedule action {kind!r}")
        total += copy_t + kernel_t
    return total


def bounds(count: int, parts: int) -> list[tuple[int, int]]:
    """`parts` contiguous ranges covering 0..count, sizes differing by at most one (the first ones larger)."""
    q, r = divmod(count, parts)
    out, lo = [], 0
    for i in range(parts):
        hi = lo + q + (1 if i < r else 0)
        out.append((lo, hi))
        lo = hi
    return out
