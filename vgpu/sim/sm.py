"""The warp scheduler: runs blocks of one launch, a wave of co-resident blocks at a time.

In:  a `DecodedKernel`, the `LaunchConfig`, the block ids to run, global memory and the constant
     bank, and how many blocks may be resident together (the occupancy of the SMs simulated here).
Out: a `BlocksResult` (counters, per-pc issue counts, printf records); global memory updated; or a
     `DeviceError` located at the faulting instruction, block and thread.

`run_blocks` is a function of its arguments only (no hidden global state), so SM worker processes
can each run their own blocks against a shared global arena.

A wave's registers are 1-D numpy arrays over all lanes of all its warps (warp k = lanes
32k..32k+31).  Each step the scheduler picks the lowest pc at which some warp can run (every 64
steps the highest, so spin loops cannot starve other warps), and every warp standing at that pc
executes the instruction TOGETHER as one numpy operation over their active lanes; each warp keeps
its own SIMT stack (`warp.WarpStacks`).  With the default num_sms=4 a wave is the blocks resident
on all SMs at once; within a wave lanes execute in (block, warp, lane) order,
which decides the order of conflicting atomics and stores.  Results of race-free kernels do not
depend on the wave size; the order in which racing atomics happen does.

%clock counts the scheduler steps of the wave so far, from the device's clock at the launch
(monotonic within a thread, deterministic; waves run alone, see `launch`).
With cfg.schedule 'random' each step runs a random runnable pc with a random subset of the warps
standing there (and launch.run_wave gives blocks to waves in a random order), seeded: a kernel whose
result depends on the order of warps or blocks shows it.
Hooks, None unless asked for: cfg.sanitizer (vgpu.sim.sanitize: takes over `mem.locate`, sees block
starts, barrier releases and faults) and cfg.tracer (vgpu.sim.trace; VGPU_TRACE=1 prints one line
per warp instruction to stderr).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .counters import new_rows
from .decode import NVIEW, VIEW_DTYPES, DecodedKernel
from .faults import BarrierDeadlock, DeviceError, Watchdog, WarpSyncError
from .memory import CONST_BASE, CONST_BYTES, GLOBAL_BASE, ConstBank, GlobalMemory, WaveMemory
from .trace import env_tracer
from .warp import DONE, FULL, RUN, WAIT, WarpStacks, lanes_to_masks, lowest_lane, masks_to_lanes, popcount

BIG = np.iinfo(np.int64).max
AR32 = np.arange(32, dtype=np.int64)


@dataclass
class LaunchConfig:
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    shared_dynamic: int
    params: bytes
    num_sms: int = 4
    max_instructions: int = 10 ** 9       # warp instructions
    max_steps: int = 5 * 10 ** 6          # scheduler steps (bounds a serial kernel: ~1-2 minutes)
    schedule: str = "fixed"               # or 'random' (seeded), to expose races
    seed: int = 0
    clock_base: int = 0
    interlock: object = None              # SM worker processes: cross-process atomics, fences, stop flag
    counters: bool = False                # collect memory counters (vgpu.sim.counters.count_access)
    check: frozenset = frozenset()        # sanitizers asked for (vgpu.sim.sanitize.CHECKS)
    sanitizer: object = None              # the launch's vgpu.sim.sanitize.Sanitizer (made by launch)
    tracer: object = None                 # a vgpu.sim.trace.Tracer

    @property
    def threads_per_block(self) -> int:
        return self.block[0] * self.block[1] * self.block[2]

    @property
    def warps_per_block(self) -> int:
        return -(-self.threads_per_block // 32)


@dataclass
class BlocksResult:
    stats: dict = field(default_factory=dict)
    op_warps: list = field(default_factory=list)       # per pc: warp instructions issued
    op_threads: list = field(default_factory=list)     # per pc: active threads
    printf: list = field(default_factory=list)         # (block, warp, step, lane, text)
    pc: np.ndarray | None = None                        # per pc: the vgpu.sim.counters.ROWS counters

    def merge(self, other: "BlocksResult") -> None:
        """Add the counters and printf records of `other` (blocks run elsewhere) to these."""
        for name, v in other.stats.items():
            self.stats[name] = self.stats.get(name, 0) + v
        self.op_warps = [a + b for a, b in zip(self.op_warps, other.op_warps)]
        self.op_threads = [a + b for a, b in zip(self.op_threads, other.op_threads)]
        self.pc += other.pc
        self.printf += other.printf


STAT_NAMES = ("warp_instructions", "thread_instructions", "steps", "waves", "barriers", "atomics")


class Wave:
    """The state of the blocks resident together: registers, SIMT stacks, memory, counters."""

    def __init__(self, k: DecodedKernel, cfg: LaunchConfig, glob: GlobalMemory, const: ConstBank,
                 max_blocks: int, result: BlocksResult):
        self.k, self.cfg, self.ops, self.max_blocks = k, cfg, k.ops, max_blocks
        self.wpb = cfg.warps_per_block
        self.maxw = max_blocks * self.wpb
        L = self.maxw * 32
        self.LANES = np.arange(L, dtype=np.int64)
        self.V = self._registers(k, L)
        self.st = WarpStacks(self.maxw)
        self.mem = WaveMemory(glob, const, k.shared_static + cfg.shared_dynamic, max_blocks, k.local_bytes, L)
        self.params = cfg.params
        self.special = {n: np.zeros(L, np.uint32) for n in (
            "%tid.x", "%tid.y", "%tid.z", "%ctaid.x", "%ctaid.y", "%ctaid.z", "%laneid", "%warpid", "%smid",
            "%lanemask_lt", "%lanemask_le", "%lanemask_eq", "%lanemask_ge", "%lanemask_gt")}
        for n, v in (("%ntid", cfg.block), ("%nctaid", cfg.grid)):
            for c, x in zip("xyz", v):
                self.special[f"{n}.{c}"] = np.full(L, x, np.uint32)
        self.special["%nsmid"] = np.full(L, cfg.num_sms, np.uint32)
        self.special["%nwarpid"] = np.full(L, 64, np.uint32)
        self.arrived = {"block": np.zeros(self.maxw, np.uint32), "grid": np.zeros(self.maxw, np.uint32)}
        self.bar_pred = np.zeros(L, bool)
        self.is_bar_pc = {kind: np.zeros(len(self.ops) + 1, bool) for kind in ("block", "grid")}
        self.red = {}
        for op in self.ops:
            if op.family in ("bar.sync", "bar.red"):
                self.is_bar_pc["block"][op.pc] = True
            elif op.family == "grid.sync":
                self.is_bar_pc["grid"][op.pc] = True
        self.bar_pcs = {kind: set(np.flatnonzero(v).tolist()) for kind, v in self.is_bar_pc.items()}
        self.is_rpc = k.is_rpc
        self.result = result
        self.stats = result.stats
        self.pcrows, self.counting = result.pc, cfg.counters     # vgpu.sim.counters
        self.n = 0
        self.block_ids = np.zeros(max_blocks, np.int64)
        self.rng = _rng(cfg)
        self._static_lanes()
        self.san, self.tracer = cfg.sanitizer, cfg.tracer or env_tracer()
        if self.san is not None:
            self.san.attach(self)

    @staticmethod
    def _registers(k: DecodedKernel, L: int) -> list:
        V: list = [None] * (len(k.slot_bytes) * NVIEW)
        store = {w: np.zeros((k.slot_bytes.count(w), L), {1: bool, 2: np.uint16, 4: np.uint32, 8: np.uint64}[w])
                 for w in (1, 2, 4, 8)}
        used = {1: 0, 2: 0, 4: 0, 8: 0}
        for slot, width in enumerate(k.slot_bytes):
            row = store[width][used[width]]
            used[width] += 1
            for code, dt in enumerate(VIEW_DTYPES):
                if dt.itemsize == width and (dt.kind == "b") == (width == 1):
                    V[slot * NVIEW + code] = row.view(dt)
        return V

    # -- wave setup -------------------------------------------------------------------------------
    def _static_lanes(self) -> None:
        """Lane coordinates that do not depend on which blocks are resident (computed once)."""
        cfg, wpb, sp = self.cfg, self.wpb, self.special
        lanes = self.LANES
        tib = lanes % (wpb * 32)                     # thread in block
        bx, by, _ = cfg.block
        sp["%tid.x"][:] = tib % bx
        sp["%tid.y"][:] = (tib // bx) % by
        sp["%tid.z"][:] = tib // (bx * by)
        lane = lanes % 32
        sp["%laneid"][:] = lane
        one = np.left_shift(np.uint64(1), lane.astype(np.uint64))
        low = np.uint64(0xFFFFFFFF)
        sp["%lanemask_eq"][:] = one
        sp["%lanemask_lt"][:] = one - np.uint64(1)
        sp["%lanemask_le"][:] = (one << np.uint64(1)) - np.uint64(1)
        sp["%lanemask_gt"][:] = ~((one << np.uint64(1)) - np.uint64(1)) & low
        sp["%lanemask_ge"][:] = ~(one - np.uint64(1)) & low
        nvalid = np.clip(cfg.threads_per_block - np.arange(wpb) * 32, 0, 32)
        block_alive = np.array([(1 << int(v)) - 1 for v in nvalid], np.uint64).astype(np.uint32)
        self.alive0 = np.tile(block_alive, self.maxw // wpb)         # per warp: the lanes that exist

    def start(self, blocks: np.ndarray) -> None:
        """Make `blocks` (linear block ids) resident: block coordinates, fresh stacks and memory."""
        cfg, wpb, sp = self.cfg, self.wpb, self.special
        nb = blocks.size
        self.nb, self.W, self.nl = nb, nb * wpb, nb * wpb * 32
        nl = self.nl
        self.block_ids[:nb] = blocks
        gx, gy, _ = cfg.grid
        per_block = {"%ctaid.x": blocks % gx, "%ctaid.y": (blocks // gx) % gy, "%ctaid.z": blocks // (gx * gy)}
        if "%smid" in self.k.specials or "%warpid" in self.k.specials:
            sm = blocks % cfg.num_sms
            order = np.argsort(sm, kind="stable")
            first = np.searchsorted(sm[order], sm[order])
            sm_slot = np.empty(nb, np.int64)
            sm_slot[order] = np.arange(nb) - first      # rank of the block among its SM's blocks
            per_block["%smid"] = sm
            sp["%warpid"][:nl].reshape(nb, wpb, 32)[:] = (sm_slot[:, None, None] * wpb
                                                          + np.arange(wpb)[None, :, None])
        for name, v in per_block.items():
            if name in self.k.specials:
                sp[name][:nl].reshape(nb, -1)[:] = v[:, None]
        alive = self.alive0[:self.W]
        self.full_wave = bool((alive == FULL).all())
        self.all_lanes = slice(0, nl)
        self.allw = np.arange(self.W)
        self.st.reset(alive)
        for a in self.arrived.values():
            a[:] = 0
        self.mem.reset(nb, nl)
        if self.san is not None:
            self.san.start(self)
        if self.tracer is not None:
            self.tracer.start(self)

    # -- helpers for instructions -----------------------------------------------------------------
    def lane_ids(self, lanes) -> np.ndarray:
        return self.LANES[lanes] if isinstance(lanes, slice) else lanes

    def warp_lanes(self, g: np.ndarray):
        """Every lane of warps g, in order (a slice when g is contiguous)."""
        if g[-1] - g[0] + 1 == g.size:
            return slice(int(g[0]) * 32, int(g[-1] + 1) * 32)
        return (g[:, None] * 32 + AR32).ravel()

    def clock(self) -> int:
        return self.cfg.clock_base + self.stats["steps"]

    def read_cstring(self, addr: int) -> str:
        if addr >= GLOBAL_BASE:
            arena, off = self.mem.glob.arena, addr - GLOBAL_BASE
        elif CONST_BASE <= addr < CONST_BASE + CONST_BYTES:
            arena, off = self.mem.const.arena, addr - CONST_BASE
        else:
            return "(unreadable)"
        if not 0 <= off < arena.size:
            return "(unreadable)"
        chunk = arena[off:off + 4096].tobytes()
        return chunk.split(b"\0", 1)[0].decode("latin-1")

    def printf(self, lane: int, text: str) -> None:
        slot, w = divmod(lane // 32, self.wpb)
        self.result.printf.append((int(self.block_ids[slot]), w, self.stats["steps"], lane % 32, text))

    # -- exits and barriers -----------------------------------------------------------------------
    def exit(self, g: np.ndarray, m: np.ndarray) -> None:
        self.st.exit_lanes(g, m)
        if (self.st.state[:self.W] == WAIT).any():
            self.release("block")
            self.release("grid")

    def barrier_arrive(self, g, lanes, pc, kind, red) -> None:
        st = self.st
        if red is not None:
            self.bar_pred[self.lane_ids(lanes)] = np.broadcast_to(red[2](self, lanes), (self.n,))
            self.red[pc] = red
        if self.tracer is not None:
            self.tracer.arrive(self, g, pc)
        self.arrived[kind][g] |= st.mask[g]
        st.state[g] = WAIT
        for w in g[st.depth[g] > 0]:                # divergent warps: let other paths run
            st.park(int(w))
        self.release(kind)

    def release(self, kind: str) -> None:
        """Release the blocks (or, for grid.sync, the wave) whose live threads have all arrived."""
        st, A = self.st, self.arrived[kind]
        W, wpb = self.W, self.wpb
        alive = st.alive[:W]
        if kind == "block":
            done = (A[:W] == alive).reshape(self.nb, wpb).all(1) & (A[:W] != 0).reshape(self.nb, wpb).any(1)
            if not done.any():
                return
            ws = (np.flatnonzero(done)[:, None] * wpb + np.arange(wpb)).ravel()
            self.stats["barriers"] += int(done.sum())
        else:
            if not ((A[:W] == alive).all() and (A[:W] != 0).any()):
                return
            ws = np.arange(W)
        is_bar = self.is_bar_pc[kind]
        if self.san is not None:
            self.san.release(self, ws, kind)
        self._reduce(ws, A, kind)
        slow = ws[(st.depth[ws] > 0) & st.spark[ws].any(1)] if st.spark.shape[1] else ws[:0]
        top = ws[(st.state[ws] == WAIT) & is_bar[np.maximum(st.pc[ws], 0)]]
        st.pc[top] += 1
        st.state[top] = RUN
        for w in slow:
            st.unpark(int(w), self.bar_pcs[kind])
            if st.state[w] == WAIT:
                st.park(int(w))
        A[ws] = 0
        st.settle()
        if self.tracer is not None:
            self.tracer.release(self, ws)

    def _reduce(self, ws, A, kind) -> None:
        """bar.red: write the block-wide popc/and/or of the arrived threads' predicates."""
        if kind != "block" or not self.red:
            return
        wpb = self.wpb
        arrived = masks_to_lanes(A[ws]).reshape(-1, wpb * 32)
        lanes = (ws[:, None] * 32 + AR32).ravel()
        pred = self.bar_pred[lanes].reshape(-1, wpb * 32) & arrived
        count, total = pred.sum(1), arrived.sum(1)
        for i, w in enumerate(ws):
            for pc, m in self.st.parked_masks(int(w)):
                if pc in self.red:
                    op, put, _ = self.red[pc]
                    b = i // wpb
                    val = {"popc": np.uint32(count[b]), "and": count[b] == total[b], "or": count[b] > 0}[op]
                    sel = int(w) * 32 + np.flatnonzero(masks_to_lanes(np.array([m], np.uint32)))
                    put(self, sel, val)

    # -- warp-level synchronisation ---------------------------------------------------------------
    def warp_sync(self, op, g, lanes) -> None:
        """shfl / vote / bar.warp.sync: check the member mask, wait for named lanes still on their
        way (in a sibling path), then execute for the warps whose named lanes are all here."""
        fn, get_mask = op.run
        st = self.st
        m = st.mask[g]
        wl = self.warp_lanes(g)
        if op.guard is not None:
            p = self.V[op.guard][wl]
            m = m & lanes_to_masks(~p if op.guard_neg else p)
        act = masks_to_lanes(m).reshape(-1, 32)
        ml = np.broadcast_to(get_mask(self, wl), (g.size * 32,)).reshape(-1, 32).astype(np.uint32)
        M = ml[np.arange(g.size), act.argmax(1)]
        differ = (ml != M[:, None]) & act
        if differ.any():
            w = int(np.flatnonzero(differ.any(1))[0])
            raise WarpSyncError(f"the lanes of a warp pass different member masks to {op.text}",
                                lane=int(g[w]) * 32 + int(np.flatnonzero(differ[w])[0]))
        M = M & self.alive0[g] if not self.full_wave else M   # lanes beyond the block never existed: not waited for
        for bad, why in ((m & ~M, "is not in the member mask {M:#010x} it passes"),
                         (M & ~st.alive[g], "has exited, but the member mask {M:#010x} names it")):
            if bad.any():
                w = int(np.flatnonzero(bad)[0])
                lane = lowest_lane(bad[w])
                raise WarpSyncError(f"{op.text}: lane {lane} of the warp " + why.format(M=int(M[w])),
                                    lane=int(g[w]) * 32 + lane)
        missing = (M & ~m) != 0
        if missing.any():
            for w, need in zip(g[missing], M[missing]):
                w = int(w)
                st.absorb(w)
                coming = 0
                for k in st.siblings(w):
                    coming |= int(st.smask[w, k])
                if int(need) & ~(int(st.mask[w]) | coming):
                    self._not_converged(op, w, int(need) & ~(int(st.mask[w]) | coming))
                if int(need) & ~int(st.mask[w]) and not st.park(w):
                    self._not_converged(op, w, int(need) & ~int(st.mask[w]))
            nw, nt = int(missing.sum()), popcount(m[missing])    # parked warps issue nothing yet
            self.stats["warp_instructions"] -= nw
            self.stats["thread_instructions"] -= nt
            self.result.op_warps[op.pc] -= nw
            self.result.op_threads[op.pc] -= nt
            keep = ~missing
            g, M, m = g[keep], M[keep], m[keep]
            if not g.size:
                return
            act = masks_to_lanes(m).reshape(-1, 32)
            wl = self.warp_lanes(g)
        self.sync_mask = M
        flat = act.ravel()
        sel = self.LANES[wl][flat] if isinstance(wl, slice) else wl[flat]
        self.n = sel.size
        fn(self, g, sel, flat)
        st.pc[g] += 1
        if self.is_rpc[op.pc + 1]:
            st.settle()

    def _not_converged(self, op, w: int, missing: int | None = None):
        """WarpSyncError: the member mask of `op` names lanes of warp w that can never arrive."""
        st = self.st
        if missing is None:
            missing = int(st.alive[w]) & ~int(st.mask[w])
        lane = lowest_lane(missing) if missing else 0
        _, at = self._waits_at(w, lane)
        note = f"lane {lane} waits at line {at.line} ({at.text}) and can never arrive" if at is not None else \
            f"lane {lane} can never arrive"
        raise WarpSyncError(f"the member mask of {op.text} names lanes that are not converged with the "
                            f"calling lanes (missing {missing:#010x})", note,
                            lane=w * 32 + lowest_lane(st.mask[w]))

    def _waits_at(self, w: int, lane: int):
        """The stack entry of warp w that holds `lane` (top first) and its instruction (None
        past the end of the kernel)."""
        ent = next((e for e in self.st.entries(w) if e[2] >> lane & 1), None)
        return ent, (self.ops[ent[0]] if ent is not None and 0 <= ent[0] < len(self.ops) else None)

    def stuck(self):
        """No warp can run and not all are done: a barrier or warp-sync deadlock."""
        st = self.st
        waiting = np.flatnonzero(st.state[:self.W] == WAIT)
        for w in waiting:
            op = self.ops[int(st.pc[w])]
            if op.warp_sync:
                self._not_converged(op, int(w))
        w = int(waiting[0])
        b = w // self.wpb
        ws = np.arange(b * self.wpb, (b + 1) * self.wpb)
        kind = "grid" if self.is_bar_pc["grid"][int(st.pc[w])] else "block"
        op = self.ops[int(st.pc[w])]
        arrived = popcount(self.arrived[kind][ws])
        alive = popcount(st.alive[ws])
        note = ""
        for v in ws:
            missing = int(st.alive[v]) & ~int(self.arrived[kind][v])
            if missing:
                lane = lowest_lane(missing)
                ent, at = self._waits_at(int(v), lane)
                tid = "({},{},{})".format(*(int(self.special[f"%tid.{c}"][int(v) * 32 + lane]) for c in "xyz"))
                note = f"thread {tid} can never arrive"
                if at is not None:
                    note += f": it waits at line {at.line} ({at.text})" + (
                        "" if ent[3] else " for a divergent branch to reconverge")
                break
        what = "grid.sync" if kind == "grid" else "__syncthreads()"
        raise BarrierDeadlock(f"{what} ({op.text}) reached by {arrived} of the block's {alive} live threads, "
                              "and no other thread can move", note, lane=w * 32 + lowest_lane(st.mask[w]))

    # -- the scheduler loop -----------------------------------------------------------------------
    def pick(self):
        """The next pc, the warps that run it, their active lanes and how many, and `limit`: the
        lowest pc of any other runnable warp (the group may run on alone below it)."""
        st, W = self.st, self.W
        runnable = st.state[:W] == RUN
        key = np.where(runnable, st.pc[:W], BIG)
        cur = int(key.min())
        if cur == BIG:
            if (st.state[:W] == DONE).all():
                return None
            self.stuck()
        step = self.stats["steps"]
        chosen = -1
        if self.cfg.schedule != "fixed":
            cand = np.flatnonzero(runnable)
            chosen = int(cand[self.rng.integers(cand.size)])
            cur = int(st.pc[chosen])
        elif step & 63 == 63:                        # fairness: now and then the highest pc
            cur = int(np.where(runnable, st.pc[:W], -1).max())
        here = key == cur
        if chosen >= 0:                              # random: a random subset of the warps at cur
            here &= self.rng.random(W) < 0.5
            here[chosen] = True
        g = np.flatnonzero(here)
        ng = g.size
        m = st.mask[g]
        if self.cfg.schedule != "fixed":
            limit = cur + 1                          # re-pick every step
        elif ng == W:
            limit = BIG
        else:
            key[here] = BIG
            limit = int(key.min())
        if (m == FULL).all():
            if ng == W and self.full_wave:
                return cur, self.allw, self.all_lanes, self.nl, limit
            return cur, g, self.warp_lanes(g), ng * 32, limit
        act = masks_to_lanes(m)
        contiguous = g[-1] - g[0] + 1 == ng
        lanes = (np.flatnonzero(act) + int(g[0]) * 32) if contiguous else (g[:, None] * 32 + AR32).ravel()[act]
        return cur, g, lanes, lanes.size, limit

    def run(self) -> None:
        """Issue instructions until every warp of the wave is done."""
        st, ops = self.st, self.ops
        stats, is_rpc = self.stats, self.is_rpc
        op_warps, op_threads = self.result.op_warps, self.result.op_threads
        budget_w, budget_s = self.cfg.max_instructions, self.cfg.max_steps
        interlock = self.cfg.interlock
        tracer = self.tracer
        group = None                                 # (g, lanes, n, limit) still valid for pc `cur`
        cur = 0
        while True:
            if group is None:
                picked = self.pick()
                if picked is None:
                    return
                cur, *group = picked
            g, lanes, n, limit = group
            op = ops[cur]
            ng = g.size
            step = stats["steps"]
            stats["steps"] = step + 1
            stats["warp_instructions"] += ng
            stats["thread_instructions"] += n
            op_warps[cur] += ng
            op_threads[cur] += n
            if tracer is not None:
                tracer.step(self, cur, g)
            if interlock is not None and step & 63 == 0:
                interlock.check()                    # stop flag (Ctrl-C, a fault in an earlier wave)
            if stats["warp_instructions"] > budget_w or step >= budget_s:
                raise Watchdog(f"the kernel ran past the budget of {budget_w} warp instructions / {budget_s} "
                               "scheduler steps (an endless loop?)",
                               "raise max_instructions / max_steps of the device to allow longer kernels",
                               lane=int(g[0]) * 32)
            try:
                if op.kind == "simple":
                    if op.guard is None:
                        self.n = n
                        if n:
                            op.run(self, g, lanes)
                    else:
                        p = self.V[op.guard][lanes]
                        if op.guard_neg:
                            p = ~p
                        run_lanes = (np.flatnonzero(p) + lanes.start) if isinstance(lanes, slice) else lanes[p]
                        self.n = run_lanes.size
                        if self.n:
                            op.run(self, g, run_lanes)
                    cur += 1
                    st.pc[g] = cur
                    if is_rpc[cur]:
                        st.settle()
                        group = self.after_control(g)
                        if group is not None:
                            cur = int(st.pc[0])
                    elif cur >= limit:
                        group = None
                    continue
                self.n = n
                if op.warp_sync:
                    self.warp_sync(op, g, lanes)
                    nxt = None
                else:
                    nxt = op.run(self, g, lanes)
                if nxt is not None and nxt < limit and stats["steps"] & 63 != 63:
                    cur = nxt                        # a branch that kept the group together
                    continue
                group = self.after_control(g)
                if group is not None:
                    cur = int(st.pc[0])
            except DeviceError as e:
                if e.lane is None:
                    e.lane = int(self.lane_ids(lanes)[0]) if n else int(g[0]) * 32
                raise

    def after_control(self, g):
        """After control flow: the whole wave again in lockstep (every warp at one pc with all its
        lanes) keeps running as one group; anything else goes back to the scheduler."""
        st, W = self.st, self.W
        if g.size == W and self.full_wave and (st.state[:W] == RUN).all() and (st.mask[:W] == FULL).all() \
                and (st.pc[:W] == st.pc[0]).all():
            return [self.allw, self.all_lanes, self.nl, BIG]
        return None


def new_result(k: DecodedKernel) -> BlocksResult:
    return BlocksResult({n: 0 for n in STAT_NAMES}, [0] * len(k.ops), [0] * len(k.ops), [], new_rows(len(k.ops)))


def run_blocks(k: DecodedKernel, cfg: LaunchConfig, blocks, glob: GlobalMemory, const: ConstBank,
               wave_blocks: int, result: BlocksResult | None = None) -> BlocksResult:
    """Run `blocks` (linear block ids) of the launch, `wave_blocks` resident at a time; counters
    and printf records accumulate in `result` (also when a fault ends the run)."""
    blocks = np.asarray(blocks, np.int64)
    result = result if result is not None else new_result(k)
    wave = _wave(k, cfg, glob, const, min(wave_blocks, max(blocks.size, 1)), result)
    with np.errstate(all="ignore"):
        for start in range(0, blocks.size, wave_blocks):
            wave.start(blocks[start:start + wave_blocks])
            result.stats["waves"] += 1
            try:
                wave.run()
            except DeviceError as e:
                err = locate(e, wave)
                if wave.san is not None:
                    wave.san.fault(err)
                raise err from None
            finally:
                if wave.tracer is not None:
                    wave.tracer.end(wave)
    return result


_reusable: list = []                       # the last plain Wave, reused by the next wave of its launch


def _wave(k: DecodedKernel, cfg: LaunchConfig, glob: GlobalMemory, const: ConstBank, max_blocks: int,
          result: BlocksResult) -> Wave:
    """A Wave for these blocks: the previous one when only the seed and clock differ (building the
    register file and lane tables costs more than running a small wave), else a new one."""
    if cfg.sanitizer is not None or cfg.tracer is not None or env_tracer() is not None:
        return Wave(k, cfg, glob, const, max_blocks, result)
    if _reusable:
        w = _reusable[0]
        if (w.k is k and w.mem.glob is glob and w.mem.const is const and w.max_blocks == max_blocks
                and replace(w.cfg, seed=cfg.seed, clock_base=cfg.clock_base) == cfg):
            w.cfg, w.result, w.stats, w.pcrows = cfg, result, result.stats, result.pc
            w.rng = _rng(cfg)
            return w
    w = Wave(k, cfg, glob, const, max_blocks, result)
    _reusable[:] = [w]
    return w


def _rng(cfg: LaunchConfig):
    """The seeded generator of a 'random' schedule (None for 'fixed', which draws nothing; making
    one costs more than running a small wave)."""
    return np.random.default_rng(cfg.seed) if cfg.schedule != "fixed" else None


def locate(e: DeviceError, wave: Wave) -> DeviceError:
    """Fill in the kernel, source line, block and thread of a fault raised in `wave`."""
    k = wave.k
    lane = e.lane if e.lane is not None else 0
    w = lane // 32
    pc = int(wave.st.pc[w]) if w < wave.W else 0
    op = wave.ops[pc] if 0 <= pc < len(wave.ops) else None
    line = op.line if op is not None else None
    tid = tuple(int(wave.special[f"%tid.{c}"][lane]) for c in "xyz")
    b = int(wave.block_ids[lane // (32 * wave.wpb)])
    gx, gy, _ = wave.cfg.grid
    ins = op.instr if op is not None else None
    return e.locate(kernel=k.name, file=(ins.file if ins is not None and ins.file else k.program.filename),
                    line=line, source_line=k.source_line(ins), block=(b % gx, b // gx % gy, b // (gx * gy)),
                    thread=tid, instruction=f"pc {pc}: {op.text}" if op is not None else None)

