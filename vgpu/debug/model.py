"""The data a debug session returns: where it stopped, breakpoints, warps, SIMT stack entries, lanes.

In:  values filled in by `vgpu.debug.session.Session`.
Out: dataclasses that `render` prints and a notebook or the web explorer can read.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Stop:
    """Why and where the session stopped.  `warp` is the warp in its block; `step` the scheduler
    step (issue count) at which it stopped."""
    reason: str                      # entry breakpoint step stepi watch fault exited goto
    step: int
    pc: int | None = None
    line: int | None = None
    block: tuple | None = None
    warp: int | None = None
    breakpoint: int | None = None
    detail: str = ""
    error: Exception | None = None
    # at a breakpoint: every warp issuing the instruction together, as (block, warp in block, active mask)
    issuing: tuple = ()


@dataclass
class Breakpoint:
    number: int
    line: int | None                 # None: the kernel's entry
    pcs: frozenset
    hits: int = 0
    kind: str = "breakpoint"
    cond: str | None = None          # stop only where this holds for an active lane


@dataclass
class Watchpoint:
    number: int
    expr: str
    address: int
    dtype: np.dtype
    block: int | None                # linear block id (shared memory), else None
    lane_hint: int = 0
    hits: int = 0
    kind: str = "watchpoint"


@dataclass
class WarpInfo:
    warp: int                        # in its block
    pc: int
    line: int | None
    active: int                      # mask of the top SIMT entry
    alive: int                       # lanes that have not exited
    state: str                       # ready, at barrier, exited
    focused: bool = False


@dataclass
class StackEntry:
    pc: int
    rpc: int | None                  # None: reconverges at exit
    mask: int
    waiting: bool
    line: int | None = None


@dataclass
class Lane:
    lane: int
    thread: tuple
    active: bool
    exited: bool
    pc: int                          # where the lane is: the pc of the topmost SIMT entry that holds it
