"""What a run of blocks takes and gives: the launch's settings and the counts it accumulates.

In:  the launch geometry, the packed parameter bytes and the device's settings (`launch` fills a
     `LaunchConfig`; `pool` ships it to the SM workers, so it holds plain picklable values).
Out: `BlocksResult`, filled while blocks run: scheduler totals, per-pc issue counts, per-pc counter
     rows (`ROWS`) and printf records; results of blocks run elsewhere `merge` into one.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np


def usable_cores() -> int:
    """The CPU cores this process may run on (workers are capped to them)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# Per-pc counter rows of `BlocksResult.pc` (issue counts live in op_warps / op_threads).  The
# executor counts divergent branches; the memory counters (`observe.counters`) fill the rest.
ROWS = ("divergent", "global_requests", "global_sectors", "shared_requests", "shared_wavefronts",
        "shared_ideal", "local_requests", "local_sectors")
(DIVERGENT, G_REQ, G_SEC, S_REQ, S_WAVE, S_IDEAL, L_REQ, L_SEC) = range(len(ROWS))
STAT_NAMES = ("warp_instructions", "thread_instructions", "steps", "waves", "barriers", "atomics")
# The watchdog's default budgets per wave.  The longest wave of the test suite, the examples and the
# conformance corpus takes 6,508 steps and 1.2 million warp instructions; a spinning warp makes
# 80,000-100,000 steps per second on one core (a full wave spinning: ~30 million warp instructions
# per second), so these stop a runaway launch within a few seconds on a 2-core machine.
MAX_STEPS = 200_000                 # scheduler steps per wave
MAX_INSTRUCTIONS = 20_000_000       # warp instructions per wave


@dataclass
class LaunchConfig:
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    shared_dynamic: int
    params: bytes
    num_sms: int = 4
    max_instructions: int = MAX_INSTRUCTIONS   # warp instructions per wave
    max_steps: int = MAX_STEPS                 # scheduler steps per wave
    schedule: str = "fixed"               # or 'random' (seeded), to expose races
    seed: int = 0
    clock_base: int = 0
    interlock: object = None              # SM worker processes: cross-process atomics, fences, stop flag
    counters: bool = False                # collect memory counters (vgpu.sim.observe.counters)
    check: frozenset = frozenset()        # sanitizers asked for (vgpu.sim.observe.sanitize.CHECKS)

    @property
    def threads_per_block(self) -> int:
        return self.block[0] * self.block[1] * self.block[2]

    @property
    def warps_per_block(self) -> int:
        return -(-self.threads_per_block // 32)

    @property
    def nblocks(self) -> int:
        return self.grid[0] * self.grid[1] * self.grid[2]


@dataclass
class BlocksResult:
    stats: dict = field(default_factory=dict)
    op_warps: list = field(default_factory=list)       # per pc: warp instructions issued
    op_threads: list = field(default_factory=list)     # per pc: active threads
    printf: list = field(default_factory=list)         # (block, warp, step, lane, text)
    pc: np.ndarray | None = None                        # per pc: the ROWS counters

    def merge(self, other: "BlocksResult") -> None:
        """Add the counters and printf records of `other` (blocks run elsewhere) to these."""
        for name, v in other.stats.items():
            self.stats[name] = self.stats.get(name, 0) + v
        self.op_warps = [a + b for a, b in zip(self.op_warps, other.op_warps)]
        self.op_threads = [a + b for a, b in zip(self.op_threads, other.op_threads)]
        self.pc += other.pc
        self.printf += other.printf


def new_result(npc: int) -> BlocksResult:
    """An empty result for a kernel of `npc` instructions (its implicit final exit included)."""
    return BlocksResult(dict.fromkeys(STAT_NAMES, 0), [0] * npc, [0] * npc, [], np.zeros((len(ROWS), npc), np.int64))
