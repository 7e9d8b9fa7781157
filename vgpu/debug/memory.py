"""Reading a paused wave and device memory for the debugger: registers, special registers, and the
bytes at a generic address as one lane of the wave sees them.

In:  a `vgpu.sim.wave.Wave` (paused in an observer hook, or after its last instruction), a device
     (`vgpu.sim.SimDevice`) and wave lane ids (warp k = lanes 32k..32k+31).
Out: numpy arrays of values; a `DebugError` for an address no window holds.
"""
from __future__ import annotations

import numpy as np

from ..sim.memory import CONST_BASE, GLOBAL_BASE, LOCAL_BASE, NONE, SHARED_BASE, SPACE_NAMES, window_of
from ..sim.operands import NVIEW

_CLASS_DTYPE = {"%p": np.dtype(bool), "%rs": np.dtype(np.int16), "%r": np.dtype(np.int32),
                "%f": np.dtype(np.float32), "%rd": np.dtype(np.int64), "%fd": np.dtype(np.float64)}
SPACES = ("global", "shared", "local", "const")


class DebugError(Exception):
    """A command the session cannot carry out (bad expression, no such breakpoint, not stopped...)."""


def register_values(wave, name: str, lanes: np.ndarray, dtype=None) -> np.ndarray:
    """Register `name` ('%r3') of wave `lanes`, as its class's natural type (or `dtype`)."""
    slot = wave.kernel.slots.get(name)
    if slot is None:
        known = ", ".join(sorted(wave.kernel.slots, key=_reg_key)[:12])
        raise DebugError(f"no register {name} in kernel {wave.kernel.name} (registers: {known} ...)")
    s, cls = slot
    row = next(v for v in wave.regs[s * NVIEW:(s + 1) * NVIEW] if v is not None)
    dt = np.dtype(dtype) if dtype is not None else _CLASS_DTYPE[cls]
    if dt.itemsize != row.dtype.itemsize:
        dt = _CLASS_DTYPE[cls]
    return row.view(dt)[lanes].copy()


def _reg_key(name: str):
    i = len(name)
    while i and name[i - 1].isdigit():
        i -= 1
    return name[:i], int(name[i:] or 0)


def special_values(wave, name: str, lanes: np.ndarray) -> np.ndarray:
    """Special register `name` ('%tid.x') of wave `lanes`."""
    if name.startswith("%ctaid."):          # filled in the wave only for kernels that read it
        gx, gy, _ = wave.cfg.grid
        b = wave.block_ids[np.asarray(lanes) // (32 * wave.warps_per_block)]
        return {"x": b % gx, "y": b // gx % gy, "z": b // (gx * gy)}[name[-1]].astype(np.int64)
    if name not in wave.special:
        raise DebugError(f"no special register {name}")
    return wave.special[name][lanes].astype(np.int64)


def space_of(addr: int) -> str:
    """The name of the memory window holding generic address `addr` ('global', 'shared', ...)."""
    w = window_of(addr)
    if w != NONE:
        return SPACE_NAMES[w]
    raise DebugError(f"address {addr:#x} is in no memory window (global from {GLOBAL_BASE:#x}, shared "
                     f"{SHARED_BASE:#x}, local {LOCAL_BASE:#x}, constant {CONST_BASE:#x})")


def read(sim, wave, lane: int, addr: int, dtype, count: int) -> np.ndarray:
    """`count` elements of `dtype` at generic address `addr`, as wave lane `lane` sees them (its
    block's shared memory, its own local memory)."""
    dt = np.dtype(dtype)
    nbytes = dt.itemsize * int(count)
    space = space_of(addr)
    if space in ("global", "const"):
        try:
            return np.frombuffer(sim.read(addr, nbytes), dt).copy()
        except Exception as e:  # noqa: BLE001 - a DeviceError naming the address
            raise DebugError(f"cannot read {nbytes} bytes at {addr:#x}: {e}") from None
    if wave is None:
        raise DebugError(f"{space} memory exists only while a block runs (no wave is resident)")
    mem = wave.mem
    if space == "shared":
        off = addr - SHARED_BASE
        if off + nbytes > mem.shared_bytes:
            raise DebugError(f"shared address {addr:#x} + {nbytes} bytes is past the block's "
                             f"{mem.shared_bytes} bytes of shared memory")
        base = int(mem.lane_shared[lane]) + addr
        return mem.shared[base:base + nbytes].view(dt).copy()
    off = addr - LOCAL_BASE
    if off + nbytes > mem.local_bytes:
        raise DebugError(f"local address {addr:#x} + {nbytes} bytes is past the thread's "
                         f"{mem.local_bytes} bytes of local memory")
    base = lane * mem.lpad + off
    return mem.local[base:base + nbytes].view(dt).copy()


def symbol_address(wave, sim_module, name: str) -> int | None:
    """The generic address of a module or kernel symbol (__device__, __constant__, __shared__), or None."""
    if sim_module is not None and name in sim_module.addresses:
        return sim_module.addresses[name]
    if wave is not None:
        from ..sim.decode import layout_local, layout_shared
        addresses: dict = {}
        layout_shared(wave.kernel.program, wave.kernel.code, addresses)
        layout_local(wave.kernel.code, addresses)
        return addresses.get(name)
    return None
