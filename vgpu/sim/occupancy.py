"""Theoretical occupancy of a launch on an H100 SM, computed as the CUDA occupancy calculator
(cuda_occupancy.h, `cudaOccMaxActiveBlocksPerMultiprocessor`) computes it.

In:  32-bit registers per thread, shared memory per block (static + dynamic bytes), threads per block.
Out: an `Occupancy`: resident blocks per SM allowed by each resource, the warps per SM they give,
     and the limiting resource(s).

Registers are allocated per warp in units of 256 (8 per thread), from the 16,384 registers of each
of the SM's 4 sub-partitions; a thread may use at most 255 and a block at most 65,536.  Shared
memory is allocated per block in units of 128 bytes, with 1 KiB reserved per block by the
driver, out of 228 KiB per SM.  An SM holds at most 32 blocks and 64 warps (2,048 threads).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..isa.spec import REG_CLASSES

SM_REGS, SUBPARTITIONS, REG_GRANULARITY, MAX_REGS_PER_THREAD, MAX_REGS_PER_BLOCK = 65536, 4, 256, 255, 65536
SM_SHARED, SHARED_RESERVED, SHARED_GRANULARITY = 228 * 1024, 1024, 128
SM_WARPS, SM_BLOCKS, WARP = 64, 32, 32


@dataclass(frozen=True)
class Occupancy:
    regs_per_thread: int
    shared_per_block: int            # bytes the block allocates (static + dynamic + reserved, rounded up)
    warps_per_block: int
    limits: dict                     # resource -> blocks per SM it allows
    blocks_per_sm: int
    warps_per_sm: int
    limiters: tuple                  # the resources whose limit is the minimum

    @property
    def fraction(self) -> float:
        """Theoretical occupancy: resident warps / the SM's 64 warp slots."""
        return self.warps_per_sm / SM_WARPS

    def as_dict(self) -> dict:
        return {"registers_per_thread": self.regs_per_thread, "shared_bytes_per_block": self.shared_per_block,
                "warps_per_block": self.warps_per_block, "block_limits": dict(self.limits),
                "blocks_per_sm": self.blocks_per_sm, "warps_per_sm": self.warps_per_sm,
                "occupancy": self.fraction, "limited_by": list(self.limiters)}


def registers_per_thread(regs: dict) -> int:
    """32-bit registers per thread of a kernel's register declarations (class -> count)."""
    return sum(n * REG_CLASSES[c][1] for c, n in regs.items() if c in REG_CLASSES)


def _round_up(x: int, m: int) -> int:
    return -(-x // m) * m


@dataclass(frozen=True)
class SM:
    """What one SM holds: 32-bit registers, sub-partitions, shared bytes, warps and blocks (H100's by default;
    a timing preset gives its GPU's)."""
    registers: int = SM_REGS
    subpartitions: int = SUBPARTITIONS
    shared: int = SM_SHARED
    warps: int = SM_WARPS
    blocks: int = SM_BLOCKS


def theoretical(regs_per_thread: int, shared_bytes: int, threads_per_block: int, sm: SM = SM()) -> Occupancy:
    """The occupancy of blocks of `threads_per_block` threads using `regs_per_thread` registers and
    `shared_bytes` of shared memory (static + dynamic) on `sm`."""
    wpb = -(-threads_per_block // WARP)
    regs_warp = _round_up(regs_per_thread * WARP, REG_GRANULARITY)
    if (regs_per_thread > MAX_REGS_PER_THREAD or regs_warp * _round_up(wpb, sm.subpartitions) > MAX_REGS_PER_BLOCK):
        by_regs = 0
    elif regs_warp:
        by_regs = (sm.registers // sm.subpartitions // regs_warp) * sm.subpartitions // wpb
    else:
        by_regs = sm.blocks
    smem = _round_up(shared_bytes + SHARED_RESERVED, SHARED_GRANULARITY)
    limits = {"warps": sm.warps // wpb, "blocks": sm.blocks, "registers": by_regs,
              "shared memory": sm.shared // smem}
    n = min(limits.values())
    return Occupancy(regs_per_thread, smem, wpb, limits, n, n * wpb,
                     tuple(k for k, v in limits.items() if v == n))


def bounded_registers(max_threads: int, min_blocks: int = 1) -> int:
    """The most registers per thread that let `min_blocks` blocks of `max_threads` threads be resident on
    one SM: the cap `__launch_bounds__(max_threads, min_blocks)` puts on register allocation (as nvcc),
    at least 16 (nvcc's floor; fewer blocks are then resident)."""
    best = 16
    for r in range(16, MAX_REGS_PER_THREAD + 1):
        if theoretical(r, 0, max_threads).limits["registers"] >= max(min_blocks, 1):
            best = r
    return best
