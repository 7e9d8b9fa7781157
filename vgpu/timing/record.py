"""The recorder: an Observer that writes down, during the functional run, what the timing pass replays.

In:  the hooks of `vgpu.sim.observer` for one launch (attach it with `trace=` / `observer.combine`);
     `keep(nblocks)`: which blocks to record (the replay simulates a sample of the preset's SMs).
Out: `steps` (per scheduler step: pc and the global warp ids, block * warps_per_block + warp, that
     issued it), `mem` (per (step, global warp): what its memory access touched: 32-byte sectors of
     global and local memory, shared-memory wavefronts, distinct constant words, atomic addresses with
     their lane counts), and per-pc thread counts (`threads`, for the flops of the roofline).
"""
from __future__ import annotations

import numpy as np

from ..sim.memory import CONST, LOCAL, LOCAL_BASE, NONE, SHARED, SHARED_BASE, windows_of
from ..sim.observer import Observer

LOCAL_TAG = 1 << 50          # local sectors live in a key space of their own, per warp


class Recorder(Observer):
    """Records one launch's instruction streams and memory footprints (see the module docstring)."""

    def __init__(self, keep=None):
        self.keep_fn = keep              # keep(nblocks) -> bool array over blocks, or None: all
        self.keep = None
        self.kernel = None
        self.steps: list = []            # (pc, global warp ids)
        self.mem: dict = {}              # (step, gwarp) -> record
        self.threads = None

    def wave_start(self, wave):
        if self.kernel is None:
            self.kernel, self.wpb, self.cfg = wave.kernel, wave.warps_per_block, wave.cfg
            self.threads = np.zeros(len(wave.ops), np.int64)
            if self.keep_fn is not None:
                self.keep = self.keep_fn(wave.cfg.nblocks)
        self.blocks = wave.block_ids[:wave.nblocks].copy()
        self._base = self.blocks * self.wpb

    def wave_end(self, wave):
        self.threads += np.asarray(wave.result.op_threads[:len(self.threads)], np.int64)

    def issue(self, wave, pc, warps, masks):
        wpb = self.wpb
        slot = warps // wpb
        g = self._base[slot] + (warps - slot * wpb)
        if self.keep is not None:
            g = g[self.keep[self.blocks[slot]]]
            if not g.size:
                self.steps.append(None)
                return
        self.steps.append((pc, g))

    def memory(self, wave, pc, kind, space, dtype, addresses, lanes):
        step = len(self.steps) - 1
        if step < 0 or self.steps[step] is None or not addresses.size:
            return
        wpb = self.wpb
        ww = lanes >> 5
        slot = ww // wpb
        if self.keep is not None:
            sel = self.keep[self.blocks[slot]]
            if not sel.all():
                addresses, lanes, ww, slot = addresses[sel], lanes[sel], ww[sel], slot[sel]
                if not addresses.size:
                    return
        g = self._base[slot] + (ww - slot * wpb)
        size = dtype.itemsize
        win = windows_of(addresses) if space is None or space == NONE else None
        if win is not None and (win != win[0]).any():           # a generic access into several windows
            for sp in np.unique(win):
                s = win == sp
                self._one(step, kind, int(sp), addresses[s], lanes[s], g[s], size)
            return
        self._one(step, kind, int(win[0]) if win is not None else space, addresses, lanes, g, size)

    def _one(self, step, kind, space, a, lanes, g, size):
        mem = self.mem
        if space == SHARED:
            for w, n in zip(*_shared_wavefronts(a - SHARED_BASE, lanes, g, size, kind == "atomic")):
                mem[(step, w)] = ("sa" if kind == "atomic" else "s", kind == "store", n)
            return
        if space == CONST:
            for w, n in zip(*_distinct(g, a)):
                mem[(step, w)] = ("c", False, n)
            return
        if space == LOCAL:
            off = a - LOCAL_BASE
            key = LOCAL_TAG + (g << 24) + (((off >> 2) << 2) | ((lanes & 31) >> 3))
            if size > 4:
                k = size // 4
                key = (key[:, None] + 4 * np.arange(k)).ravel()
                g = np.repeat(g, k)
            sectors = key
        else:
            sectors = a >> 5
        if kind == "atomic":
            order = np.lexsort((a, g))
            gs, as_ = g[order], a[order]
            new = np.r_[True, (gs[1:] != gs[:-1]) | (as_[1:] != as_[:-1])]
            starts = np.flatnonzero(new)
            counts = np.diff(np.r_[starts, gs.size])
            ug, ua = gs[starts], as_[starts]
            wstarts = np.flatnonzero(np.r_[True, ug[1:] != ug[:-1]])
            for i, s in enumerate(wstarts):
                e = wstarts[i + 1] if i + 1 < wstarts.size else ug.size
                pairs = tuple(zip(ua[s:e].tolist(), counts[s:e].tolist()))
                mem[(step, int(ug[s]))] = ("a", False, pairs)
            return
        for w, secs in _per_warp(g, sectors):
            mem[(step, w)] = ("g", kind == "store", secs)


def _per_warp(g: np.ndarray, key: np.ndarray):
    """(warp, tuple of its distinct keys) for lanes grouped by warp."""
    g0, k0 = int(g.min()), int(key.min())
    u = np.unique(((g - g0) << 40) | (key - k0))
    uw = (u >> 40) + g0
    uk = ((u & ((1 << 40) - 1)) + k0).tolist()
    starts = np.flatnonzero(np.r_[True, uw[1:] != uw[:-1]]).tolist() + [u.size]
    for i in range(len(starts) - 1):
        yield int(uw[starts[i]]), tuple(uk[starts[i]:starts[i + 1]])


def _distinct(g: np.ndarray, key: np.ndarray):
    """(warps, distinct keys per warp)."""
    g0, k0 = int(g.min()), int(key.min())
    u = np.unique(((g - g0) << 40) | (key - k0))
    uw, n = np.unique((u >> 40) + g0, return_counts=True)
    return uw.tolist(), n.tolist()


def _shared_wavefronts(off, lanes, g, size, atomic):
    """(warps, wavefronts per warp) of a shared access: 32 banks of 4 bytes; lanes reading one word
    share it (not for atomics, which serialise on a word); 8- and 16-byte accesses are served per
    half- or quarter-warp."""
    k = max(size, 4) // 4
    group = (g << 3) | ((lanes & 31) >> (5 - (k.bit_length() - 1)))
    word = off >> 2
    if k > 1:
        word = (word[:, None] + np.arange(k)).ravel()
        group = np.repeat(group, k)
    g0 = int(group.min())
    if atomic:
        keys = ((group - g0) << 32) | (word & 31)
        u, c = np.unique(keys, return_counts=True)
    else:
        w0 = int(word.min())
        u = np.unique(((group - g0) << 32) | (word - w0 + (w0 & 31)))
        u, c = np.unique(((u >> 32) << 32) | (u & 31), return_counts=True)
    grp = u >> 32
    starts = np.flatnonzero(np.r_[True, grp[1:] != grp[:-1]])
    most = np.maximum.reduceat(c, starts)                     # wavefronts of each lane group
    warp = (grp[starts] + g0) >> 3
    uw, idx = np.unique(warp, return_index=True)
    return uw.tolist(), np.add.reduceat(most, idx).tolist()
