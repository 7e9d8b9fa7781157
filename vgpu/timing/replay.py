"""The timing pass: replays a recorded launch on the SMs of a preset and counts cycles and stalls.

In:  a `record.Recorder` filled by the functional run, the kernel's per-pc `classes.Info`, a Preset,
     resident blocks per SM (occupancy) and the SMs the recorder kept (`sample`).
Out: a `Replay`: cycles, per-reason stall cycles (Nsight Compute's names), per-pc issue and stall
     cycles, achieved occupancy, cache hits and bytes moved (L1, L2, HBM), scaled to the whole launch.

Blocks go to SMs round-robin (block b to SM b % SMs); each SM holds as many as the occupancy allows
and starts the next when one finishes.  Each SM has 4 sub-partitions; each issues one warp
instruction per cycle, choosing the warp that has been ready longest.  A warp may issue when the
registers its next instruction reads are ready (the scoreboard), its pipe has room and, after a
barrier, when every live warp of its block has arrived.  Memory: per-SM L1 and LSU (4 sectors a
cycle), a shared L2 with a bandwidth, HBM with a bandwidth, atomics in L2 (one address at a time;
a GPU-wide rate for distinct addresses); shared memory serves one wavefront a cycle per SM.  When
a launch spans more SMs than `sample`, only the sampled SMs are replayed and their traffic counts
for all (shared bandwidths see it scaled, the L2 is shrunk in proportion).
"""
from __future__ import annotations

import heapq
from collections import defaultdict, deque

import numpy as np

from .classes import ATOMIC, BARRIER, CONST, FENCE, GENERIC, GLOBAL, SATOMIC, SHARED
from .memsys import Cache, Reservation

THROTTLE = {"fma": "math_pipe_throttle", "alu": "math_pipe_throttle", "fp64": "math_pipe_throttle",
            "xu": "math_pipe_throttle", "mio": "mio_throttle", "lsu": "lg_throttle", "cbu": "math_pipe_throttle"}
MEMORY_KINDS = (GLOBAL, SHARED, CONST, ATOMIC, SATOMIC, GENERIC)


def sampled_sms(nblocks: int, sms: int, limit: int) -> list[int]:
    """The SMs replayed: all that get blocks, or `limit` of them spread evenly."""
    active = min(nblocks, sms)
    if active <= limit:
        return list(range(active))
    return sorted({int(i * active / limit) for i in range(limit)})


class Replay:
    def __init__(self):
        self.cycles = 0.0
        self.stalls = defaultdict(float)
        self.pc_issue = defaultdict(int)
        self.pc_stall = defaultdict(float)            # (pc, reason) -> cycles
        self.warp_cycles = 0.0                       # resident warp-cycles summed over replayed SMs
        self.sm_cycles = 0.0                         # busy cycles summed over replayed SMs
        self.sms = 0
        self.scale = 1.0
        self.l1 = [0, 0]                             # hits, misses
        self.l2 = None
        self.hbm_bytes = self.l2_bytes = 0.0
        self.shared_wavefronts = 0
        self.atomics = 0


class _Warp:
    __slots__ = ("pcs", "steps", "i", "ready", "since", "reason", "regs", "block", "sub", "start", "age", "gw", "pending")


class _Block:
    __slots__ = ("warps", "live", "arrived", "waiting", "slot", "done")


def replay(rec, infos, p, blocks_per_sm: int, sample: list[int]) -> Replay:
    out = Replay()
    cfg, wpb = rec.cfg, rec.wpb
    nblocks = cfg.nblocks
    active = min(nblocks, p.sms)
    out.sms, out.scale = len(sample), active / max(len(sample), 1)
    streams = _streams(rec)
    shared = _Shared(p, out.scale, len(sample) / max(active, 1))
    for sm in sample:
        blocks = list(range(sm, nblocks, p.sms))
        t = _run_sm(blocks, streams, rec.mem, infos, p, blocks_per_sm, wpb, shared, out)
        out.cycles = max(out.cycles, t)
    out.l2 = [shared.l2.hits, shared.l2.misses]
    out.hbm_bytes = shared.hbm.total
    out.l2_bytes = shared.l2bw.total
    return out


def _streams(rec) -> dict:
    """Per global warp: (list of pcs, list of step indices), in issue order."""
    pcs, warps, steps = [], [], []
    for s, st in enumerate(rec.steps):
        if st is None:
            continue
        pc, g = st
        warps.append(g)
        pcs.append(np.full(g.size, pc, np.int64))
        steps.append(np.full(g.size, s, np.int64))
    if not warps:
        return {}
    w, pc, st = np.concatenate(warps), np.concatenate(pcs), np.concatenate(steps)
    order = np.argsort(w, kind="stable")
    w, pc, st = w[order], pc[order].tolist(), st[order].tolist()
    starts = np.flatnonzero(np.r_[True, w[1:] != w[:-1]]).tolist() + [w.size]
    return {int(w[a]): (pc[a:b], st[a:b]) for a, b in zip(starts, starts[1:])}


class _Shared:
    """The resources every SM shares: L2 (capacity shrunk to the sampled share), its bandwidth, HBM, atomics."""

    def __init__(self, p, scale: float, share: float):
        self.scale = scale
        self.lat_l2, self.lat_hbm = p.latency["l2"], p.latency["hbm"]
        self.l2 = Cache(p.l2_mib * (1 << 20) * share, p.l2_ways)
        self.l2bw = Reservation(p.l2_bytes_per_cycle)
        self.hbm = Reservation(p.hbm_bytes_per_cycle)
        self.atom = Reservation(p.atomic_lanes_per_cycle)
        self.same_rate = p.atomic_same_address_per_cycle
        self.addr: dict = {}

    def request(self, t: float, sectors, n: int) -> float:
        """Cycle at which the L1 misses (or the stores) of one request, `n` sectors asked for at
        cycle t, complete: L2 bandwidth for all, then DRAM bandwidth for those L2 misses."""
        sc = self.scale
        t2 = self.l2bw.take(t, 32 * sc * n)
        l2 = self.l2
        miss = 0
        for sec in sectors:
            if not l2.access(sec):
                miss += 1
        if not miss:
            return t2 + self.lat_l2
        return self.hbm.take(t2, 32 * sc * miss) + self.lat_hbm

    def atomic(self, t: float, addr: int, count: int, lat: float, lat_hbm: float) -> float:
        sc = self.scale
        r = self.addr.get(addr)
        if r is None:
            r = self.addr[addr] = Reservation(self.same_rate)
        ta = r.take(t, count * sc)
        tu = self.atom.take(t, count * sc)
        t2 = self.l2bw.take(t, 32 * sc)
        if not self.l2.access(addr >> 5):
            t2 = self.hbm.take(t2, 32 * sc) + lat_hbm - lat
        return max(ta, tu, t2) + lat


def _run_sm(blocks, streams, mem, infos, p, per_sm, wpb, shared, out) -> float:
    lat = p.latency
    l1_lat, hbm_lat = lat["l1"], lat["hbm"]
    sh_lat, sha_lat, c_lat = lat["shared"], lat["shared_atomic"], lat["constant"]
    bar_lat = lat["barrier"] + lat["barrier_per_warp"] * wpb
    br_lat, launch = lat["branch"], lat["block_launch"]
    lsu_rate = p.lsu_sectors_per_cycle
    nsub = p.subpartitions
    l1 = Cache(p.l1_kib * 1024, p.l1_ways)
    heaps = [[] for _ in range(nsub)]
    free = [0.0] * nsub
    pipes = [dict() for _ in range(nsub)]
    stalls, pc_issue, pc_stall = out.stalls, out.pc_issue, out.pc_stall
    pending = deque(blocks)
    lsu_free = mio_free = 0.0
    counter = [0]
    end = 0.0
    warp_cycles = 0.0

    def start_block(t0: float, slot: int) -> None:
        b = pending.popleft()
        blk = _Block()
        blk.warps, blk.live, blk.arrived, blk.waiting, blk.slot, blk.done = [], 0, 0.0, [], slot, t0
        for k in range(wpb):
            s = streams.get(b * wpb + k)
            if s is None:
                continue
            w = _Warp()
            w.pcs, w.steps = s
            w.i, w.ready, w.since, w.reason, w.regs, w.pending = 0, t0, t0, "dispatch_stall", {}, 0.0
            w.block, w.sub, w.start, w.age, w.gw = blk, counter[0] % nsub, t0, counter[0], b * wpb + k
            counter[0] += 1
            blk.warps.append(w)
            blk.live += 1
            heapq.heappush(heaps[w.sub], (t0, w.age, w))
        if not blk.live and pending:
            start_block(t0, slot)

    for slot in range(min(per_sm, len(pending))):
        if pending:
            start_block(0.0, slot)

    while True:
        best, bt = -1, 0.0
        for s in range(nsub):
            h = heaps[s]
            if h:
                c = h[0][0] if h[0][0] > free[s] else free[s]
                if best < 0 or c < bt:
                    best, bt = s, c
        if best < 0:
            break
        s = best
        ready, _, w = heapq.heappop(heaps[s])
        t = bt
        pc = w.pcs[w.i]
        info = infos[pc]
        pf = pipes[s].get(info.pipe, 0.0)
        if pf > t:                               # the pipe is busy: wait for it
            d = ready - w.since
            if d > 0:
                stalls[w.reason] += d
                pc_stall[(pc, w.reason)] += d
            w.since, w.reason = ready, THROTTLE.get(info.pipe, "math_pipe_throttle")
            heapq.heappush(heaps[s], (pf, w.age, w))
            continue
        d = ready - w.since
        if d > 0:
            stalls[w.reason] += d
            pc_stall[(pc, w.reason)] += d
        if t > ready:
            stalls["not_selected"] += t - ready
            pc_stall[(pc, "not_selected")] += t - ready
        stalls["selected"] += 1
        pc_issue[pc] += 1
        free[s] = t + info.issue
        pipes[s][info.pipe] = t + info.interval
        kind = info.kind
        done = t + info.latency
        nxt_min = t + 1
        if kind in MEMORY_KINDS:
            r = mem.get((w.steps[w.i], w.gw))
            if r is None:
                done = t + 1
            elif r[0] == "g":
                secs = r[2]
                n = len(secs)
                st = lsu_free if lsu_free > t else t
                lsu_free = st + -(-n // lsu_rate)
                if r[1]:                                 # store: through to L2; only the exit waits for it
                    c = shared.request(st, secs, n)
                    if c > w.pending:
                        w.pending = c
                    done = t + 1
                else:
                    misses = [sec for sec in secs if not l1.access(sec)]
                    out.l1[0] += n - len(misses)
                    out.l1[1] += len(misses)
                    done = st + l1_lat + (n - 1) // lsu_rate
                    if misses:
                        c = shared.request(st, misses, len(misses))
                        if c > done:
                            done = c
            elif r[0] == "s" or r[0] == "sa":
                n = r[2]
                out.shared_wavefronts += n
                st = mio_free if mio_free > t else t
                if r[0] == "s":
                    mio_free = st + n
                    done = st + sh_lat + n - 1
                else:
                    mio_free = st + 2 * n
                    done = st + sha_lat + 2 * (n - 1)
            elif r[0] == "c":
                done = t + c_lat + 4 * (r[2] - 1)
            else:                                        # global atomics
                st = lsu_free if lsu_free > t else t
                lsu_free = st + -(-len(r[2]) // lsu_rate)
                worst = st
                for addr, cnt in r[2]:
                    out.atomics += cnt
                    c = shared.atomic(st, addr, cnt, lat["atomic"], hbm_lat)
                    if c > worst:
                        worst = c
                done = worst
                if not info.dsts and worst > w.pending:  # a reduction: only the exit waits for it
                    w.pending = worst
        for reg in info.dsts:
            w.regs[reg] = (done, info.reason)
        w.i += 1
        w.since = t + 1
        if w.i >= len(w.pcs):                            # the warp is done once its stores have drained
            blk = w.block
            blk.live -= 1
            fin = max(t + 1, w.pending)
            if fin > t + 1:
                stalls["drain"] += fin - t - 1
                pc_stall[(pc, "drain")] += fin - t - 1
            warp_cycles += fin - w.start
            blk.done = max(blk.done, fin)
            if fin > end:
                end = fin
            if blk.live and blk.waiting and len(blk.waiting) == blk.live:
                _release(blk, heaps, bar_lat)
            if not blk.live and pending:
                start_block(blk.done + launch, blk.slot)
            continue
        if kind == BARRIER:
            blk = w.block
            blk.waiting.append(w)
            if t > blk.arrived:
                blk.arrived = t
            w.reason = "barrier"
            if len(blk.waiting) == blk.live:
                _release(blk, heaps, bar_lat)
            continue
        if kind == FENCE:
            nxt_min, why = done, "membar"
        elif info.cls == "branch":
            nxt_min, why = t + br_lat, "branch_resolving"
        else:
            why = "wait"
        dep, dwhy = nxt_min, why
        for reg in infos[w.pcs[w.i]].srcs:
            v = w.regs.get(reg)
            if v is not None and v[0] > dep:
                dep, dwhy = v
        w.ready, w.reason = dep, dwhy
        heapq.heappush(heaps[s], (dep, w.age, w))
    out.warp_cycles += warp_cycles
    out.sm_cycles += end
    return end


def _release(blk, heaps, bar_lat) -> None:
    t = blk.arrived + bar_lat
    for w in blk.waiting:
        w.ready = t
        heapq.heappush(heaps[w.sub], (t, w.age, w))
    blk.waiting = []
    blk.arrived = 0.0
