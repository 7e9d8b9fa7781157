"""A wave: the blocks resident on the simulated SMs together, and everything they hold.

In:  a `DecodedKernel`, the `LaunchConfig`, global memory and the constant bank, how many blocks
     may be resident together, and then (`start`) the linear ids of the blocks that are.
Out: the state the scheduler and the instruction semantics work on: the register file (`regs`,
     1-D numpy arrays over every lane of the wave: warp k = lanes 32k..32k+31), the special
     registers, the SIMT stacks (`simt`), the barriers (`barriers`), shared and local memory
     (`mem`), and the `BlocksResult` the counts go to; `locate` places a fault in it.

A Wave is built for a launch's geometry and reused for its following waves (and by the next
launch with the same geometry) through a `WaveCache` that its owner (the device, or an SM worker)
holds: building the register file and lane tables costs more than running a small wave.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..isa import spec
from .barrier import Barriers
from .config import BlocksResult, LaunchConfig
from .decode import DecodedKernel
from .faults import DeviceError
from .memory import CONST_BASE, CONST_BYTES, GLOBAL_BASE, ConstBank, GlobalMemory, WaveMemory
from .occupancy import SM_WARPS
from .operands import register_file
from .simt import FULL, WarpStacks

AR32 = np.arange(32, dtype=np.int64)
_THREAD_SPECIALS = spec.special_regs("thread")
_BLOCK_SPECIALS = spec.special_regs("block")
_LAUNCH_VALUES = {"%ntid": "block", "%nctaid": "grid"}          # %ntid.x = cfg.block[0] ...


class Wave:
    """The state of the blocks resident together (see the module docstring)."""

    def __init__(self, kernel: DecodedKernel, cfg: LaunchConfig, glob: GlobalMemory, const: ConstBank,
                 max_blocks: int, result: BlocksResult):
        self.kernel, self.cfg, self.ops, self.max_blocks = kernel, cfg, kernel.ops, max_blocks
        self.warps_per_block = cfg.warps_per_block
        self.max_warps = max_blocks * self.warps_per_block
        nlanes = self.max_warps * 32
        self.lane_index = np.arange(nlanes, dtype=np.int64)
        self.regs = register_file(kernel.slot_bytes, nlanes)
        self.simt = WarpStacks(self.max_warps)
        self.mem = WaveMemory(glob, const, kernel.shared_static + cfg.shared_dynamic, max_blocks,
                              kernel.local_bytes, nlanes)
        self.params = cfg.params
        self.special = {n: np.zeros(nlanes, np.uint32) for n in _THREAD_SPECIALS + _BLOCK_SPECIALS}
        for name in spec.special_regs("launch"):
            base, _, c = name.partition(".")
            value = (getattr(cfg, _LAUNCH_VALUES[base])["xyz".index(c)] if base in _LAUNCH_VALUES else
                     cfg.num_sms if base == "%nsmid" else SM_WARPS)       # %nwarpid: warp slots per SM
            self.special[name] = np.full(nlanes, value, np.uint32)
        self.is_rpc = kernel.is_rpc
        self.barriers = Barriers(self)
        self.observer = None                     # an observer.Observer, or None (run_blocks sets it)
        self.nactive = 0                         # lanes executing the current instruction
        self.block_ids = np.zeros(max_blocks, np.int64)
        self.bind(cfg, result)
        self._static_lanes()

    def bind(self, cfg: LaunchConfig, result: BlocksResult) -> None:
        """Count into `result` under `cfg` (a wave reused by the next wave or launch)."""
        self.cfg, self.result, self.stats, self.pc_counts = cfg, result, result.stats, result.pc
        self.rng = np.random.default_rng(cfg.seed) if cfg.schedule != "fixed" else None

    # -- wave setup -------------------------------------------------------------------------------
    def _static_lanes(self) -> None:
        """Lane coordinates that do not depend on which blocks are resident (computed once)."""
        cfg, wpb, sp = self.cfg, self.warps_per_block, self.special
        lanes = self.lane_index
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
        self.exists = np.tile(block_alive, self.max_warps // wpb)      # per warp: the lanes that exist

    def start(self, blocks: np.ndarray) -> None:
        """Make `blocks` (linear block ids) resident: block coordinates, fresh stacks and memory."""
        cfg, wpb, sp = self.cfg, self.warps_per_block, self.special
        nb = blocks.size
        self.nblocks, self.nwarps, self.nlanes = nb, nb * wpb, nb * wpb * 32
        nlanes = self.nlanes
        self.block_ids[:nb] = blocks
        gx, gy, _ = cfg.grid
        per_block = {"%ctaid.x": blocks % gx, "%ctaid.y": (blocks // gx) % gy, "%ctaid.z": blocks // (gx * gy)}
        if "%smid" in self.kernel.specials or "%warpid" in self.kernel.specials:
            sm = blocks % cfg.num_sms
            order = np.argsort(sm, kind="stable")
            first = np.searchsorted(sm[order], sm[order])
            sm_slot = np.empty(nb, np.int64)
            sm_slot[order] = np.arange(nb) - first      # rank of the block among its SM's blocks
            per_block["%smid"] = sm
            sp["%warpid"][:nlanes].reshape(nb, wpb, 32)[:] = (sm_slot[:, None, None] * wpb
                                                              + np.arange(wpb)[None, :, None])
        for name, v in per_block.items():
            if name in self.kernel.specials:
                sp[name][:nlanes].reshape(nb, -1)[:] = v[:, None]
        alive = self.exists[:self.nwarps]
        self.full_wave = bool((alive == FULL).all())
        self.all_lanes = slice(0, nlanes)
        self.all_warps = np.arange(self.nwarps)
        self.simt.reset(alive)
        self.barriers.reset()
        self.mem.reset(nb, nlanes)

    # -- helpers for instructions -----------------------------------------------------------------
    def lane_ids(self, lanes) -> np.ndarray:
        return self.lane_index[lanes] if isinstance(lanes, slice) else lanes

    def warp_lanes(self, warps: np.ndarray):
        """Every lane of `warps`, in order (a slice when they are contiguous)."""
        if warps[-1] - warps[0] + 1 == warps.size:
            return slice(int(warps[0]) * 32, int(warps[-1] + 1) * 32)
        return (warps[:, None] * 32 + AR32).ravel()

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
        slot, w = divmod(lane // 32, self.warps_per_block)
        self.result.printf.append((int(self.block_ids[slot]), w, self.stats["steps"], lane % 32, text))

    def exit(self, warps: np.ndarray, masks: np.ndarray) -> None:
        """Lanes `masks` (uint32 per warp) of `warps` exit; barriers waiting on them may release."""
        if self.observer is not None:
            self.observer.exit(self, warps, masks)
        self.simt.exit_lanes(warps, masks)
        self.barriers.exited()

    # -- naming -----------------------------------------------------------------------------------
    def block_coords(self, b: int) -> tuple[int, int, int]:
        gx, gy, _ = self.cfg.grid
        return (b % gx, b // gx % gy, b // (gx * gy))

    def thread_of(self, lane: int) -> tuple[int, int, int]:
        return tuple(int(self.special[f"%tid.{c}"][lane]) for c in "xyz")

    def block_of(self, lane: int) -> int:
        """The linear id of the block a wave lane belongs to."""
        return int(self.block_ids[lane // (32 * self.warps_per_block)])

    def locate(self, e: DeviceError) -> DeviceError:
        """Fill in the kernel, source line, block and thread of a fault raised in this wave."""
        k = self.kernel
        lane = e.lane if e.lane is not None else 0
        w = lane // 32
        pc = int(self.simt.pc[w]) if w < self.nwarps else 0
        op = self.ops[pc] if 0 <= pc < len(self.ops) else None
        ins = op.instr if op is not None else None
        return e.locate(kernel=k.name, file=k.file_of(ins), line=op.line if op is not None else None,
                        source_line=k.source_line(ins), block=self.block_coords(self.block_of(lane)),
                        thread=self.thread_of(lane), instruction=f"pc {pc}: {op.text}" if op is not None else None)


class WaveCache:
    """The last Wave built, for the next wave of the same geometry (held by its device or worker)."""

    def __init__(self):
        self.wave: Wave | None = None

    def get(self, kernel: DecodedKernel, cfg: LaunchConfig, glob: GlobalMemory, const: ConstBank,
            max_blocks: int, result: BlocksResult) -> Wave:
        """A Wave for these blocks: the cached one when only the seed and clock differ, else a new one."""
        w = self.wave
        if (w is not None and w.kernel is kernel and w.mem.glob is glob and w.mem.const is const
                and w.max_blocks == max_blocks and replace(w.cfg, seed=cfg.seed, clock_base=cfg.clock_base) == cfg):
            w.bind(cfg, result)
            return w
        self.wave = w = Wave(kernel, cfg, glob, const, max_blocks, result)
        return w
