"""The SIMT stacks of the warps of one wave: where each warp is and which of its lanes are active.

In:  control events from the executor for a group of warps (numpy index array `g`): advance to a
     pc, a (possibly divergent) branch with its reconvergence pc, lanes exiting, parking at a
     barrier or warp-sync point, a barrier release.
Out: per warp the top entry (pc, rpc, mask) that the scheduler runs next, and its state
     (RUN, WAIT at a barrier or warp-sync, DONE).

Each warp has a stack of entries (pc, reconvergence pc, active mask).  The top entry is kept in
the vectors `pc`, `rpc`, `mask`; the entries below it in `spc`, `srpc`, `smask` (depth `depth`).
Masks are uint32 with bit i for lane i.  The operations:

  diverge    at a branch whose lanes disagree: unless the top entry already reconverges at R (the
             branch's immediate post-dominator), it becomes the reconvergence entry (R, rpc, mask);
             the taken path (target, R, taken) is pushed, then the fall-through path
             (pc+1, R, not taken) runs first.  A path that starts at R is not pushed: its lanes
             simply wait in the reconvergence entry.
  reconverge when the top entry reaches its rpc it is popped; its lanes are already in the entry
             below (the invariant: an entry's mask is a subset of the reconvergence entry beneath it).
  exit       lanes leave every entry; entries left empty are popped; a warp whose stack empties is DONE.

The bottom entry reconverges at EXIT (-1), which no pc equals: it ends when its lanes exit.

Barriers and warp-sync points in divergent code (`park`): a path that must wait there is parked;
siblings parked at the same pc are merged into it; a sibling path (same rpc) that can still run is
rotated to the top; failing that, lanes that already wait at the reconvergence point go ahead as a
path of their own.  So `if (i >= n) return; ... __syncthreads();` and `__shfl_sync` reached by
several paths work as on a GPU with independent thread scheduling (Volta and later).
Set VGPU_DEBUG=1 to assert the invariants after every operation.
"""
from __future__ import annotations

import os

import numpy as np

RUN, WAIT, DONE = 0, 1, 2
EXIT = -1
FULL = np.uint32(0xFFFFFFFF)
DEBUG = bool(os.environ.get("VGPU_DEBUG"))


def masks_to_lanes(m: np.ndarray) -> np.ndarray:
    """uint32 masks [G] -> bool lanes [G*32] (lane i of warp k at k*32+i)."""
    return np.unpackbits(np.ascontiguousarray(m, np.uint32).view(np.uint8), bitorder="little").view(bool)


def lanes_to_masks(b: np.ndarray) -> np.ndarray:
    """bool lanes [G*32] -> uint32 masks [G]."""
    return np.packbits(b.reshape(-1, 32), axis=1, bitorder="little").view(np.uint32).ravel()


def popcount(m) -> int:
    """Set bits in a mask or an array of masks."""
    return int(np.bitwise_count(np.asarray(m, np.uint32)).sum())


def lowest_lane(m: int) -> int:
    """The lowest lane in mask m (-1 for an empty mask)."""
    m = int(m)
    return (m & -m).bit_length() - 1


class WarpStacks:
    """The SIMT stacks of `nwarps` warps (see the module docstring)."""

    def __init__(self, nwarps: int, depth: int = 8):
        self.n = nwarps
        self.pc = np.zeros(nwarps, np.int64)
        self.rpc = np.full(nwarps, EXIT, np.int64)
        self.mask = np.zeros(nwarps, np.uint32)
        self.alive = np.zeros(nwarps, np.uint32)      # lanes that have not exited
        self.state = np.full(nwarps, DONE, np.int8)
        self.depth = np.zeros(nwarps, np.int64)
        self.spc = np.zeros((nwarps, depth), np.int64)
        self.srpc = np.zeros((nwarps, depth), np.int64)
        self.smask = np.zeros((nwarps, depth), np.uint32)
        self.spark = np.zeros((nwarps, depth), bool)   # entry parked at its pc (barrier / warp sync)

    def reset(self, alive: np.ndarray) -> None:
        """Every warp at pc 0 with lanes `alive` (uint32 per warp; 0 for unused warps)."""
        n = alive.size
        self.pc[:n] = 0
        self.rpc[:n] = EXIT
        self.mask[:n] = alive
        self.alive[:n] = alive
        self.state[:n] = np.where(alive != 0, RUN, DONE)
        self.state[n:] = DONE
        self.mask[n:] = self.alive[n:] = 0
        self.depth[:] = 0
        self.spark[:] = False

    # -- the stack operations -------------------------------------------------------------------
    def _push(self, ws: np.ndarray, pcs, rpcs, masks) -> None:
        d = self.depth[ws]
        if d.size and int(d.max()) >= self.spc.shape[1]:
            grow = self.spc.shape[1]
            self.spc = np.pad(self.spc, ((0, 0), (0, grow)))
            self.srpc = np.pad(self.srpc, ((0, 0), (0, grow)))
            self.smask = np.pad(self.smask, ((0, 0), (0, grow)))
            self.spark = np.pad(self.spark, ((0, 0), (0, grow)))
        self.spc[ws, d] = pcs
        self.srpc[ws, d] = rpcs
        self.smask[ws, d] = masks
        self.spark[ws, d] = False
        self.depth[ws] = d + 1

    def settle(self) -> None:
        """Pop the top entries that reached their rpc or have no lanes left.  Only warps that just
        moved can qualify; scanning the whole (short) vectors is cheaper than gathering them."""
        while True:
            sel = np.flatnonzero(((self.pc == self.rpc) | (self.mask == 0)) & (self.state != DONE))
            if not sel.size:
                break
            d = self.depth[sel]
            done = sel[d == 0]
            self.state[done] = DONE
            self.mask[done] = 0
            ws = sel[d > 0]
            d = d[d > 0] - 1
            self.pc[ws] = self.spc[ws, d]
            self.rpc[ws] = self.srpc[ws, d]
            self.mask[ws] = self.smask[ws, d]
            self.state[ws] = np.where(self.spark[ws, d], WAIT, RUN)
            self.depth[ws] = d
        if DEBUG:
            self.check()

    def branch(self, g: np.ndarray, taken: np.ndarray, target: int, fallthrough: int, r: int,
               may_pop: bool = True) -> int:
        """Warps `g` at a branch; `taken` the uint32 masks of lanes that jump.  Returns how many
        warps diverged.  `may_pop`: target or fall-through is a reconvergence pc."""
        m = self.mask[g]
        taken = taken & m
        nottaken = m & ~taken
        div = (taken != 0) & (nottaken != 0)
        self.pc[g] = np.where(taken != 0, target, fallthrough)   # uniform warps: just go
        ndiv = int(div.sum())
        if ndiv:
            ws, t, nt = g[div], taken[div], nottaken[div]
            if fallthrough == r and target == r:
                self.pc[ws] = r
            else:
                newr = self.rpc[ws] != r                     # becomes the reconvergence entry
                if newr.any():
                    self._push(ws[newr], r, self.rpc[ws[newr]], m[div][newr])
                if fallthrough == r:                         # not-taken lanes wait at r
                    self.pc[ws], self.mask[ws] = target, t
                else:
                    if target != r:
                        self._push(ws, target, r, t)
                    self.pc[ws], self.mask[ws] = fallthrough, nt
                self.rpc[ws] = r
        if may_pop:
            self.settle()
        return ndiv

    def exit_lanes(self, g: np.ndarray, lanes: np.ndarray) -> None:
        """Lanes (uint32 per warp of g) exit: they leave every entry of their warp."""
        keep = ~lanes
        self.alive[g] &= keep
        self.mask[g] &= keep
        self.smask[g] &= keep[:, None]
        self.settle()

    # -- parking (barriers and warp-sync points in divergent code) --------------------------------
    def siblings(self, w: int) -> range:
        """Stack depths of the entries directly below warp w's top that share its rpc."""
        d = int(self.depth[w])
        k = d
        while k > 0 and self.srpc[w, k - 1] == self.rpc[w]:
            k -= 1
        return range(k, d)

    def absorb(self, w: int) -> None:
        """Merge the siblings of warp w parked at its top entry's pc into the top entry."""
        for k in reversed(self.siblings(w)):
            if self.spark[w, k] and self.spc[w, k] == self.pc[w]:
                self.mask[w] |= self.smask[w, k]
                self._remove(w, k)

    def park(self, w: int) -> bool:
        """Warp w's top entry waits at its pc (merged with siblings parked there).  If a sibling
        path can run it is rotated to the top; otherwise lanes that already wait at the
        reconvergence point go ahead as a path of their own (so `if (i >= n) return;` before a
        barrier lets those lanes exit).  Returns True if the warp can still run."""
        self.state[w] = WAIT
        self.absorb(w)
        sibs = self.siblings(w)
        for k in reversed(sibs):
            if not self.spark[w, k]:
                self._swap_top(w, k)
                return True
        e = sibs.start - 1
        if e >= 0 and self.spc[w, e] == self.rpc[w]:
            waiting = int(self.mask[w])
            for k in sibs:
                waiting |= int(self.smask[w, k])
            ahead = np.uint32(int(self.smask[w, e]) & ~waiting)
            if ahead:
                self.smask[w, e] &= ~ahead
                ws = np.array([w])
                self._push(ws, self.pc[w], self.rpc[w], self.mask[w])
                self.spark[w, self.depth[w] - 1] = True
                self.pc[w], self.rpc[w], self.mask[w] = self.spc[w, e], self.srpc[w, e], ahead
                self.state[w] = RUN
                return True
        return False

    def unpark(self, w: int, at_pc) -> None:
        """Every entry of warp w parked at a pc in `at_pc` moves past it (a barrier released)."""
        for k in range(int(self.depth[w])):
            if self.spark[w, k] and int(self.spc[w, k]) in at_pc:
                self.spark[w, k] = False
                self.spc[w, k] += 1
        if self.state[w] == WAIT and int(self.pc[w]) in at_pc:
            self.state[w] = RUN
            self.pc[w] += 1

    def _swap_top(self, w: int, k: int) -> None:
        top = (self.pc[w], self.rpc[w], self.mask[w], self.state[w] == WAIT)
        self.pc[w], self.rpc[w], self.mask[w] = self.spc[w, k], self.srpc[w, k], self.smask[w, k]
        self.state[w] = WAIT if self.spark[w, k] else RUN
        self.spc[w, k], self.srpc[w, k], self.smask[w, k], self.spark[w, k] = top

    def _remove(self, w: int, k: int) -> None:
        d = int(self.depth[w])
        for arr in (self.spc, self.srpc, self.smask, self.spark):
            arr[w, k:d - 1] = arr[w, k + 1:d].copy()
        self.depth[w] = d - 1

    # -- inspection -------------------------------------------------------------------------------
    def parked_masks(self, w: int) -> list[tuple[int, int]]:
        """(pc, mask) of every parked entry of warp w, the top first."""
        out = [(int(self.pc[w]), int(self.mask[w]))] if self.state[w] == WAIT else []
        return out + [(int(self.spc[w, k]), int(self.smask[w, k]))
                      for k in range(int(self.depth[w]) - 1, -1, -1) if self.spark[w, k]]

    def entries(self, w: int) -> list[tuple[int, int, int, bool]]:
        """Warp w's stack, top first: (pc, rpc, mask, parked)."""
        top = [(int(self.pc[w]), int(self.rpc[w]), int(self.mask[w]), bool(self.state[w] == WAIT))]
        return top + [(int(self.spc[w, k]), int(self.srpc[w, k]), int(self.smask[w, k]), bool(self.spark[w, k]))
                      for k in range(int(self.depth[w]) - 1, -1, -1)]

    def describe(self, w: int) -> str:
        """A printable stack: one line per entry, top first."""
        if self.state[w] == DONE:
            return f"warp {w}: done"
        lines = [f"warp {w}: alive {int(self.alive[w]):#010x}"]
        for pc, rpc, m, parked in self.entries(w):
            r = "exit" if rpc == EXIT else str(rpc)
            lines.append(f"  pc {pc:4d}  reconverge {r:>4}  mask {m:#010x}{'  (waiting)' if parked else ''}")
        return "\n".join(lines)

    def check(self) -> None:
        """Assert the invariants (VGPU_DEBUG=1 runs this after every operation)."""
        for w in range(self.n):
            if self.state[w] == DONE:
                assert self.mask[w] == 0 or self.depth[w] == 0, self.describe(w)
                continue
            ents = self.entries(w)
            for pc, rpc, m, _ in ents:
                assert m & ~int(self.alive[w]) == 0, f"exited lanes in an entry\n{self.describe(w)}"
            assert ents[0][2] != 0, f"empty top entry\n{self.describe(w)}"
            assert ents[0][0] != ents[0][1], f"top entry at its reconvergence pc\n{self.describe(w)}"
