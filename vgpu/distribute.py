"""Data distribution over several devices: split (scatter) an array along an axis, gather it back,
exchange halos for stencils.

In:  a numpy array, the devices, an axis and a layout: even (default), `weights=[...]` (sizes in
     proportion), or `block=b` (block-cyclic: blocks of b along the axis dealt round-robin);
     `halo=h` adds h rows on each side of every part (axis 0, even or weighted layouts).
Out: a `Distributed` with one DeviceArray per device (`parts`), the global index ranges each part
     owns (`ranges`), `gather()` -> numpy, and `exchange_halos()` (peer copies between neighbours;
     returns the modelled seconds of the step).

    d = vgpu.distribute.split(grid, devs, axis=0, halo=1)
    kernel(d.parts[i], ..., device=devs[i]) for each i; d.exchange_halos(); result = d.gather()
"""
from __future__ import annotations

import numpy as np

from .runtime.array import DeviceArray, copy_peer, to_device
from .runtime.device import Device


def _even(n: int, k: int) -> list[int]:
    q, r = divmod(n, k)
    return [q + (1 if i < r else 0) for i in range(k)]


def _weighted(n: int, weights) -> list[int]:
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"weights must be non-negative numbers, not all zero: {list(weights)!r}")
    exact = n * w / w.sum()
    sizes = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - sizes), kind="stable")          # largest remainders get the rest
    for i in order[: n - int(sizes.sum())]:
        sizes[i] += 1
    return [int(s) for s in sizes]


class Distributed:
    """An array split over devices.  parts[i] lives on devices[i] and holds, along `axis`, the global
    indices in ranges[i] (a list of (lo, hi), in order), plus `halo` rows each side where they exist."""

    def __init__(self, parts, devices, ranges, shape, dtype, axis: int, halo: int, stored):
        self.parts: list[DeviceArray] = parts
        self.devices: list[Device] = devices
        self.ranges: list[list[tuple[int, int]]] = ranges
        self.shape, self.dtype, self.axis, self.halo = shape, dtype, axis, halo
        self.stored = stored                     # per part: the global (lo, hi) its rows cover (halo layouts)

    def owned(self, i: int) -> tuple[int, int]:
        """Local rows [lo, hi) of parts[i] that it owns (the rest are halo rows)."""
        lo, hi = self.ranges[i][0]
        start = self.stored[i][0]
        return lo - start, hi - start

    def gather(self) -> np.ndarray:
        """The whole array on the host (each part copied back; halo rows left out)."""
        out = np.empty(self.shape, self.dtype)
        for i, part in enumerate(self.parts):
            host = part.copy_to_host()
            offset = self.stored[i][0] if self.stored else 0
            pos = 0
            for lo, hi in self.ranges[i]:
                a = lo - offset if self.stored else pos
                src = np.take(host, np.arange(a, a + hi - lo), axis=self.axis)
                idx = [slice(None)] * len(self.shape)
                idx[self.axis] = slice(lo, hi)
                out[tuple(idx)] = src
                pos += hi - lo
        return out

    def exchange_halos(self) -> float:
        """Copy each part's edge rows into its neighbours' halo rows; returns the modelled seconds
        (the copies run at the same time: the slowest one)."""
        if not self.halo:
            raise ValueError("exchange_halos: the array was split without halo rows (split(..., halo=h))")
        slowest = 0.0
        for i in range(len(self.parts) - 1):
            a, b = self.parts[i], self.parts[i + 1]
            (_, ahi), (blo, _) = self.owned(i), self.owned(i + 1)
            pairs = [(b[0:blo], a[ahi - blo:ahi], f"halo {i} -> {i + 1}"),           # a's last rows -> b's top halo
                     (a[ahi:a.shape[0]], b[blo:blo + a.shape[0] - ahi], f"halo {i + 1} -> {i}")]
            for dst, src, what in pairs:
                if src.nbytes:
                    copy_peer(dst, src, label=what)
                    slowest = max(slowest, dst.device.transfer_log[-1].seconds)
        return slowest

    def free(self) -> None:
        for p in self.parts:
            p.free()

    def __repr__(self) -> str:
        return (f"Distributed(shape={self.shape}, dtype={self.dtype}, axis={self.axis}, halo={self.halo}, "
                f"ranges={self.ranges})")


def split(array, devices, axis: int = 0, weights=None, block: int | None = None, halo: int = 0) -> Distributed:
    """Scatter `array` over `devices` along `axis` (see the module docstring for the layouts)."""
    host = np.asarray(array)
    devices = list(devices)
    if not devices:
        raise ValueError("split: no devices given")
    if host.ndim == 0:
        raise ValueError("split: a 0-dimensional array cannot be split")
    if not -host.ndim <= axis < host.ndim:
        raise ValueError(f"split: axis {axis} is out of range for an array of {host.ndim} dimensions")
    axis %= host.ndim
    n, k = host.shape[axis], len(devices)
    if weights is not None and block is not None:
        raise ValueError("split: give weights= or block=, not both")
    if weights is not None and len(weights) != k:
        raise ValueError(f"split: {len(weights)} weights for {k} devices")
    if block is not None:
        if not isinstance(block, (int, np.integer)) or block < 1:
            raise ValueError(f"split: block must be a positive integer, not {block!r}")
        if halo:
            raise ValueError("split: halo rows need a contiguous layout (even or weighted), not block-cyclic")
        nblocks = -(-n // block)
        ranges = [[(b * block, min((b + 1) * block, n)) for b in range(i, nblocks, k)] for i in range(k)]
    else:
        sizes = _weighted(n, weights) if weights is not None else _even(n, k)
        ranges, lo = [], 0
        for s in sizes:
            ranges.append([(lo, lo + s)])
            lo += s
    if halo < 0 or (halo and axis != 0):
        raise ValueError("split: halo must be >= 0 and needs axis=0")
    if halo and any(hi - lo < halo for (lo, hi), in ranges):
        raise ValueError(f"split: every part must own at least halo={halo} rows; sizes "
                         f"{[hi - lo for (lo, hi), in ranges]}")
    parts, stored = [], []
    for dev, rs in zip(devices, ranges):
        if halo:
            lo, hi = max(rs[0][0] - halo, 0), min(rs[0][1] + halo, n)
            stored.append((lo, hi))
            piece = host[lo:hi]
        else:
            idx = np.concatenate([np.arange(lo, hi) for lo, hi in rs]) if rs else np.arange(0)
            piece = np.take(host, idx, axis=axis)
        parts.append(to_device(np.ascontiguousarray(piece), device=dev))
    return Distributed(parts, devices, ranges, host.shape, parts[0].dtype, axis, halo, stored)


scatter = split


def gather(dist: Distributed) -> np.ndarray:
    """The array `dist` holds, on the host."""
    return dist.gather()
