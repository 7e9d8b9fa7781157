"""Barriers, warp synchronisation and deadlock diagnosis for the warps of one wave.

In:  from the instruction semantics: warps arriving at a block barrier (bar.sync, bar.red) or at a
     grid barrier (grid.sync), warp-synchronous instructions (shfl, vote, bar.warp.sync) with their
     member masks; from the wave: lanes exiting.
Out: warps released past the barrier (bar.red's reduction written), warp-synchronous instructions
     executed once their member lanes are converged; or a `WarpSyncError` / `BarrierDeadlock` naming
     the lane that can never arrive and the line it waits at.

A block barrier releases the block when every live (non-exited) thread of it has arrived; exited
threads do not count (Volta and later).  A warp parked at a barrier inside divergent code lets its
other paths run (`simt.WarpStacks.park`).  When no warp of a block can move any more (every live
warp waits, and not all of them for the other blocks at grid.sync), or no warp of the wave can,
`deadlock` raises at once, naming the thread that can never arrive and the line it waits at.
"""
from __future__ import annotations

import numpy as np

from .faults import BarrierDeadlock, WarpSyncError
from .semantics import WARP_SYNC
from .simt import RUN, WAIT, lanes_to_masks, lowest_lane, masks_to_lanes, popcount

AR32 = np.arange(32, dtype=np.int64)
SCOPES = ("block", "grid")               # the barriers that wait for other warps (bar.warp.sync: warp_sync)


class Barriers:
    """The barrier state of a wave: per scope the lanes of each warp that arrived (uint32 masks),
    bar.red's predicates, and which pcs are barriers of each scope."""

    def __init__(self, wave):
        self.wave = wave
        nlanes = wave.max_warps * 32
        self.arrived = {s: np.zeros(wave.max_warps, np.uint32) for s in SCOPES}
        self.pred = np.zeros(nlanes, bool)                 # bar.red: each arrived lane's predicate
        self.is_barrier = {s: np.zeros(len(wave.ops) + 1, bool) for s in SCOPES}
        for op in wave.ops:
            if op.spec.scope in SCOPES:
                self.is_barrier[op.spec.scope][op.pc] = True
        self.pcs = {s: set(np.flatnonzero(v).tolist()) for s, v in self.is_barrier.items()}
        self.red: dict = {}                                # bar.red pc -> (op, put, get predicate)
        self.sync_mask = None                              # per warp: the member mask of the warp_sync op
        self.waits = any(op.spec.scope or op.kind == WARP_SYNC for op in wave.ops)   # a warp can wait at all

    def reset(self) -> None:
        for a in self.arrived.values():
            a[:] = 0

    # -- block and grid barriers ------------------------------------------------------------------
    def arrive(self, warps, lanes, pc: int, scope: str, red) -> None:
        """The active lanes of `warps` arrive at the barrier at `pc`."""
        wave = self.wave
        simt = wave.simt
        if red is not None:
            self.pred[wave.lane_ids(lanes)] = np.broadcast_to(red[2](wave, lanes), (wave.nactive,))
            self.red[pc] = red
        if wave.observer is not None:
            wave.observer.arrive(wave, pc, warps, scope)
        self.arrived[scope][warps] |= simt.mask[warps]
        simt.state[warps] = WAIT
        for w in warps[simt.depth[warps] > 0]:       # divergent warps: let other paths run
            simt.park(int(w))
        self.release(scope)

    def exited(self) -> None:
        """Lanes exited: a barrier may now have all its live threads."""
        wave = self.wave
        if (wave.simt.state[:wave.nwarps] == WAIT).any():
            self.release("block")
            self.release("grid")

    def release(self, scope: str) -> None:
        """Release the blocks (or, for grid.sync, the wave) whose live threads have all arrived."""
        wave = self.wave
        simt, arrived = wave.simt, self.arrived[scope]
        nwarps, wpb = wave.nwarps, wave.warps_per_block
        alive = simt.alive[:nwarps]
        if scope == "block":
            done = ((arrived[:nwarps] == alive).reshape(wave.nblocks, wpb).all(1)
                    & (arrived[:nwarps] != 0).reshape(wave.nblocks, wpb).any(1))
            if not done.any():
                return
            ws = (np.flatnonzero(done)[:, None] * wpb + np.arange(wpb)).ravel()
            wave.stats["barriers"] += int(done.sum())
        else:
            if not ((arrived[:nwarps] == alive).all() and (arrived[:nwarps] != 0).any()):
                return
            ws = np.arange(nwarps)
        if wave.observer is not None:
            wave.observer.release(wave, ws, scope)
        self._reduce(ws, arrived, scope)
        is_bar = self.is_barrier[scope]
        slow = ws[(simt.depth[ws] > 0) & simt.spark[ws].any(1)] if simt.spark.shape[1] else ws[:0]
        top = ws[(simt.state[ws] == WAIT) & is_bar[np.maximum(simt.pc[ws], 0)]]
        simt.pc[top] += 1
        simt.state[top] = RUN
        for w in slow:
            simt.unpark(int(w), self.pcs[scope])
            if simt.state[w] == WAIT:
                simt.park(int(w))
        arrived[ws] = 0
        simt.settle()

    def _reduce(self, ws, arrived, scope) -> None:
        """bar.red: write the block-wide popc/and/or of the arrived threads' predicates."""
        if scope != "block" or not self.red:
            return
        wave = self.wave
        wpb = wave.warps_per_block
        came = masks_to_lanes(arrived[ws]).reshape(-1, wpb * 32)
        lanes = (ws[:, None] * 32 + AR32).ravel()
        pred = self.pred[lanes].reshape(-1, wpb * 32) & came
        count, total = pred.sum(1), came.sum(1)
        for i, w in enumerate(ws):
            for pc, m in wave.simt.parked_masks(int(w)):
                if pc in self.red:
                    op, put, _ = self.red[pc]
                    b = i // wpb
                    val = {"popc": np.uint32(count[b]), "and": count[b] == total[b], "or": count[b] > 0}[op]
                    sel = int(w) * 32 + np.flatnonzero(masks_to_lanes(np.array([m], np.uint32)))
                    put(wave, sel, val)

    # -- warp-level synchronisation ---------------------------------------------------------------
    def warp_sync(self, op, warps, lanes) -> None:
        """shfl / vote / bar.warp.sync: check the member mask, wait for named lanes still on their
        way (in a sibling path), then execute for the warps whose named lanes are all here."""
        wave = self.wave
        fn, get_mask = op.run
        simt = wave.simt
        m = simt.mask[warps]
        wl = wave.warp_lanes(warps)
        if op.guard is not None:
            p = wave.regs[op.guard][wl]
            m = m & lanes_to_masks(~p if op.guard_neg else p)
        act = masks_to_lanes(m).reshape(-1, 32)
        ml = np.broadcast_to(get_mask(wave, wl), (warps.size * 32,)).reshape(-1, 32).astype(np.uint32)
        member = ml[np.arange(warps.size), act.argmax(1)]
        differ = (ml != member[:, None]) & act
        if differ.any():
            w = int(np.flatnonzero(differ.any(1))[0])
            raise WarpSyncError(f"the lanes of a warp pass different member masks to {op.text}",
                                lane=int(warps[w]) * 32 + int(np.flatnonzero(differ[w])[0]))
        if not wave.full_wave:                  # lanes beyond the block never existed: not waited for
            member = member & wave.exists[warps]
        for bad, why in ((m & ~member, "is not in the member mask {M:#010x} it passes"),
                         (member & ~simt.alive[warps], "has exited, but the member mask {M:#010x} names it")):
            if bad.any():
                w = int(np.flatnonzero(bad)[0])
                lane = lowest_lane(bad[w])
                raise WarpSyncError(f"{op.text}: lane {lane} of the warp " + why.format(M=int(member[w])),
                                    lane=int(warps[w]) * 32 + lane)
        missing = (member & ~m) != 0
        if missing.any():
            for w, need in zip(warps[missing], member[missing]):
                w = int(w)
                simt.absorb(w)
                coming = 0
                for k in simt.siblings(w):
                    coming |= int(simt.smask[w, k])
                if int(need) & ~(int(simt.mask[w]) | coming):
                    self.not_converged(op, w, int(need) & ~(int(simt.mask[w]) | coming))
                if int(need) & ~int(simt.mask[w]) and not simt.park(w):
                    self.not_converged(op, w, int(need) & ~int(simt.mask[w]))
            nw, nt = int(missing.sum()), popcount(m[missing])    # parked warps issue nothing yet
            wave.stats["warp_instructions"] -= nw
            wave.stats["thread_instructions"] -= nt
            wave.result.op_warps[op.pc] -= nw
            wave.result.op_threads[op.pc] -= nt
            keep = ~missing
            warps, member, m = warps[keep], member[keep], m[keep]
            if not warps.size:
                return
            act = masks_to_lanes(m).reshape(-1, 32)
            wl = wave.warp_lanes(warps)
        self.sync_mask = member
        flat = act.ravel()
        sel = wave.lane_index[wl][flat] if isinstance(wl, slice) else wl[flat]
        wave.nactive = sel.size
        fn(wave, warps, sel, flat)
        if op.spec.scope == "warp" and wave.observer is not None:
            wave.observer.release(wave, warps, "warp")
        simt.pc[warps] += 1
        if wave.is_rpc[op.pc + 1]:
            simt.settle()

    # -- diagnosis --------------------------------------------------------------------------------
    def not_converged(self, op, w: int, missing: int | None = None):
        """WarpSyncError: the member mask of `op` names lanes of warp w that can never arrive."""
        simt = self.wave.simt
        if missing is None:
            missing = int(simt.alive[w]) & ~int(simt.mask[w])
        lane = lowest_lane(missing) if missing else 0
        _, at = self.waits_at(w, lane)
        note = f"lane {lane} waits at line {at.line} ({at.text}) and can never arrive" if at is not None else \
            f"lane {lane} can never arrive"
        raise WarpSyncError(f"the member mask of {op.text} names lanes that are not converged with the "
                            f"calling lanes (missing {missing:#010x})", note,
                            lane=w * 32 + lowest_lane(simt.mask[w]))

    def waits_at(self, w: int, lane: int):
        """The stack entry of warp w that holds `lane` (top first) and its instruction (None
        past the end of the kernel)."""
        ops = self.wave.ops
        ent = next((e for e in self.wave.simt.entries(w) if e[2] >> lane & 1), None)
        return ent, (ops[ent[0]] if ent is not None and 0 <= ent[0] < len(ops) else None)

    def check_blocks(self) -> None:
        """Raise `deadlock` for a block none of whose warps can move any more: only a barrier
        release can wake a waiting warp, and only its own block's threads (or, at grid.sync, the
        other blocks) can complete that barrier.  The scheduler calls it every 64 steps (a stall
        of the whole wave it sees at once)."""
        wave = self.wave
        state = wave.simt.state[:wave.nwarps].reshape(wave.nblocks, wave.warps_per_block)
        stalled = ~(state == RUN).any(1) & (state == WAIT).any(1)
        if not stalled.any():
            return
        for b in np.flatnonzero(stalled):
            ws = b * wave.warps_per_block + np.flatnonzero(state[b] == WAIT)
            if not self.is_barrier["grid"][wave.simt.pc[ws]].all():
                self.deadlock(int(b))

    def deadlock(self, block: int | None = None):
        """No warp (of `block`, or of the wave) can run and not all are done: raise the barrier or
        warp-sync deadlock."""
        wave = self.wave
        simt, wpb = wave.simt, wave.warps_per_block
        waiting = np.flatnonzero(simt.state[:wave.nwarps] == WAIT)
        if block is not None:
            waiting = waiting[waiting // wpb == block]
        for w in waiting:
            op = wave.ops[int(simt.pc[w])]
            if op.kind == WARP_SYNC:
                self.not_converged(op, int(w))
        w = int(waiting[0])
        b = w // wpb
        ws = np.arange(b * wpb, (b + 1) * wpb)
        scope = "grid" if self.is_barrier["grid"][int(simt.pc[w])] else "block"
        op = wave.ops[int(simt.pc[w])]
        arrived = popcount(self.arrived[scope][ws])
        alive = popcount(simt.alive[ws])
        note = ""
        for v in ws:
            missing = int(simt.alive[v]) & ~int(self.arrived[scope][v])
            if missing:
                lane = lowest_lane(missing)
                ent, at = self.waits_at(int(v), lane)
                note = "thread ({},{},{}) can never arrive".format(*wave.thread_of(int(v) * 32 + lane))
                if at is not None:
                    note += f": it waits at line {at.line} ({at.text})" + (
                        "" if ent[3] else " for a divergent branch to reconverge")
                break
        what = "__syncthreads()" if scope == "block" else op.spec.name
        raise BarrierDeadlock(f"{what} ({op.text}) reached by {arrived} of the block's {alive} live threads, "
                              "and no other thread can move", note, lane=w * 32 + lowest_lane(simt.mask[w]))
