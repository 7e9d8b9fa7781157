"""The warp scheduler: runs the blocks of a launch, a wave of co-resident blocks at a time.

In:  a `DecodedKernel`, the `LaunchConfig`, the block ids to run, global memory and the constant
     bank, how many blocks may be resident together, and optionally an `observer.Observer`.
Out: a `BlocksResult` (counters, per-pc issue counts, printf records); global memory updated; or a
     `DeviceError` located at the faulting instruction, block and thread.

Each step the scheduler picks the lowest pc at which some warp can run (every 64 steps the
highest, so spin loops cannot starve other warps), and every warp standing at that pc executes the
instruction TOGETHER as one numpy operation over their active lanes; each warp keeps its own SIMT
stack (`simt.WarpStacks`).  A group that stays together keeps running without a new pick until it
reaches the pc of another runnable warp.  Within a wave lanes execute in (block, warp, lane) order,
which decides the order of conflicting atomics and stores.  Results of race-free kernels do not
depend on the wave size; the order in which racing atomics happen does.

%clock counts the scheduler steps of the wave so far, from the device's clock at the launch
(monotonic within a thread, deterministic; waves run alone, see `launch`).  With cfg.schedule
'random' each step runs a random runnable pc with a random subset of the warps standing there
(and launch.run_wave gives blocks to waves in a random order), seeded: a kernel whose result
depends on the order of warps or blocks shows it.  The watchdog stops a wave that runs past
cfg.max_steps scheduler steps or cfg.max_instructions warp instructions.
"""
from __future__ import annotations

import numpy as np

from .config import BlocksResult, LaunchConfig, new_result
from .decode import DecodedKernel
from .faults import DeviceError, Watchdog
from .memory import ConstBank, GlobalMemory
from .semantics import SIMPLE, WARP_SYNC
from .simt import DONE, FULL, RUN, masks_to_lanes
from .wave import Wave, WaveCache

BIG = np.iinfo(np.int64).max
AR32 = np.arange(32, dtype=np.int64)
FAIRNESS = 63                            # every 64th step runs the highest runnable pc


def run_blocks(kernel: DecodedKernel, cfg: LaunchConfig, blocks, glob: GlobalMemory, const: ConstBank,
               wave_blocks: int, result: BlocksResult | None = None, observer=None,
               cache: WaveCache | None = None) -> BlocksResult:
    """Run `blocks` (linear block ids) of the launch, `wave_blocks` resident at a time; counters
    and printf records accumulate in `result` (also when a fault ends the run).  `cache` holds a
    Wave to reuse (its owner's); without one a new Wave is built."""
    blocks = np.asarray(blocks, np.int64)
    result = result if result is not None else new_result(len(kernel.ops))
    size = min(wave_blocks, max(blocks.size, 1))
    wave = (cache or WaveCache()).get(kernel, cfg, glob, const, size, result)
    wave.observer = observer
    with np.errstate(all="ignore"):
        for start in range(0, blocks.size, wave_blocks):
            wave.start(blocks[start:start + wave_blocks])
            result.stats["waves"] += 1
            if observer is not None:
                observer.wave_start(wave)
            try:
                run(wave)
            except DeviceError as e:
                err = wave.locate(e)
                if observer is not None:
                    observer.fault(wave, err)
                raise err from None
            finally:
                if observer is not None:
                    observer.wave_end(wave)
    wave.observer = None
    return result


def pick(wave: Wave):
    """The next pc, the warps that run it, their active lanes and how many, and `limit`: the
    lowest pc of any other runnable warp (the group may run on alone below it)."""
    simt, nwarps = wave.simt, wave.nwarps
    runnable = simt.state[:nwarps] == RUN
    key = np.where(runnable, simt.pc[:nwarps], BIG)
    pc = int(key.min())
    if pc == BIG:
        if (simt.state[:nwarps] == DONE).all():
            return None
        wave.barriers.deadlock()
    chosen = -1
    randomly = wave.cfg.schedule != "fixed"
    if randomly:
        candidates = np.flatnonzero(runnable)
        chosen = int(candidates[wave.rng.integers(candidates.size)])
        pc = int(simt.pc[chosen])
    elif wave.stats["steps"] & FAIRNESS == FAIRNESS:        # fairness: now and then the highest pc
        pc = int(np.where(runnable, simt.pc[:nwarps], -1).max())
    here = key == pc
    if chosen >= 0:                              # random: a random subset of the warps at pc
        here &= wave.rng.random(nwarps) < 0.5
        here[chosen] = True
    warps = np.flatnonzero(here)
    nw = warps.size
    masks = simt.mask[warps]
    if randomly:
        limit = pc + 1                           # re-pick every step
    elif nw == nwarps:
        limit = BIG
    else:
        key[here] = BIG
        limit = int(key.min())
    if (masks == FULL).all():
        if nw == nwarps and wave.full_wave:
            return pc, wave.all_warps, wave.all_lanes, wave.nlanes, limit
        return pc, warps, wave.warp_lanes(warps), nw * 32, limit
    active = masks_to_lanes(masks)
    contiguous = warps[-1] - warps[0] + 1 == nw
    lanes = (np.flatnonzero(active) + int(warps[0]) * 32) if contiguous else (warps[:, None] * 32 + AR32).ravel()[active]
    return pc, warps, lanes, lanes.size, limit


def run(wave: Wave) -> None:
    """Issue instructions until every warp of the wave is done."""
    simt, ops, barriers = wave.simt, wave.ops, wave.barriers
    stats, is_rpc, regs = wave.stats, wave.is_rpc, wave.regs
    op_warps, op_threads = wave.result.op_warps, wave.result.op_threads
    max_instructions, max_steps = wave.cfg.max_instructions, wave.cfg.max_steps
    interlock = wave.cfg.interlock
    observer = wave.observer
    waits = barriers.waits                       # the kernel has barriers or warp-sync points
    group = None                                 # (warps, lanes, nactive, limit) still valid for `pc`
    pc = 0
    while True:
        if group is None:
            picked = pick(wave)
            if picked is None:
                return
            pc, *group = picked
        warps, lanes, nactive, limit = group
        op = ops[pc]
        nw = warps.size
        step = stats["steps"]
        stats["steps"] = step + 1
        stats["warp_instructions"] += nw
        stats["thread_instructions"] += nactive
        op_warps[pc] += nw
        op_threads[pc] += nactive
        if observer is not None:
            observer.issue(wave, pc, warps, simt.mask[warps])
        if step & FAIRNESS == 0:
            if interlock is not None:
                interlock.check()                # stop flag (Ctrl-C, a fault in an earlier wave)
            if waits:
                barriers.check_blocks()          # a block that can no longer move: deadlock
        if stats["warp_instructions"] > max_instructions or step >= max_steps:
            raise watchdog(wave, warps)
        try:
            if op.kind == SIMPLE:
                if op.guard is None:
                    wave.nactive = nactive
                    if nactive:
                        op.run(wave, warps, lanes)
                else:
                    p = regs[op.guard][lanes]
                    if op.guard_neg:
                        p = ~p
                    run_lanes = (np.flatnonzero(p) + lanes.start) if isinstance(lanes, slice) else lanes[p]
                    wave.nactive = run_lanes.size
                    if wave.nactive:
                        op.run(wave, warps, run_lanes)
                pc += 1
                simt.pc[warps] = pc
                if is_rpc[pc]:
                    simt.settle()
                    group = after_control(wave, warps)
                    if group is not None:
                        pc = int(simt.pc[0])
                elif pc >= limit:
                    group = None
                continue
            wave.nactive = nactive
            if op.kind == WARP_SYNC:
                barriers.warp_sync(op, warps, lanes)
                nxt = None
            else:
                nxt = op.run(wave, warps, lanes)
            if nxt is not None and nxt < limit and stats["steps"] & FAIRNESS != FAIRNESS:
                pc = nxt                         # a branch that kept the group together
                continue
            group = after_control(wave, warps)
            if group is not None:
                pc = int(simt.pc[0])
        except DeviceError as e:
            if e.lane is None:
                e.lane = int(wave.lane_ids(lanes)[0]) if nactive else int(warps[0]) * 32
            raise


def after_control(wave: Wave, warps):
    """After control flow: the whole wave again in lockstep (every warp at one pc with all its
    lanes) keeps running as one group; anything else goes back to the scheduler."""
    simt, nwarps = wave.simt, wave.nwarps
    if warps.size == nwarps and wave.full_wave and (simt.state[:nwarps] == RUN).all() \
            and (simt.mask[:nwarps] == FULL).all() and (simt.pc[:nwarps] == simt.pc[0]).all():
        return [wave.all_warps, wave.all_lanes, wave.nlanes, BIG]
    return None


def watchdog(wave: Wave, warps) -> Watchdog:
    """The Watchdog error of a wave that ran past its budget, saying how to raise it."""
    cfg = wave.cfg
    if wave.stats["steps"] > cfg.max_steps:
        what, option = f"{cfg.max_steps:,} scheduler steps", "vgpu.Device(max_steps=...) or vgpuc run --max-steps N"
    else:
        what, option = f"{cfg.max_instructions:,} warp instructions", "vgpu.Device(max_instructions=...)"
    return Watchdog(f"a wave of the kernel ran past its budget of {what} (an endless loop, or a spinning "
                    "warp waiting for a value no thread will write?)",
                    f"a longer kernel may raise the budget: {option}", lane=int(warps[0]) * 32)
