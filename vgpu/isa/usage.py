"""What one kernel uses of a block's static shared memory and of a thread's local memory, checked
against the device's limits (`vgpu.limits`) as ptxas checks them.

In:  an allocated `KernelCode` (its `shared` symbol list filled, spill slots in its `locals`) and its
     `Program`.  Out: `usage(k, prog)` -> (static shared bytes, local bytes); `over_limits` -> the
     messages for what exceeds a limit (empty when the kernel fits).
"""
from __future__ import annotations

from ..limits import LOCAL_BYTES, STATIC_SHARED_BYTES, kib
from .program import KernelCode, Program


def pack(symbols) -> tuple[dict[str, int], int]:
    """(name -> offset, bytes spanned) of (name, declaration) pairs laid out in order, each at its
    alignment: how a block's static shared memory and a thread's local memory are laid out (the
    simulator's decoder and the compiled executor use it too)."""
    offsets, off = {}, 0
    for name, d in symbols:
        off = -(-off // d.align) * d.align
        offsets[name] = off
        off += d.size
    return offsets, off


def usage(k: KernelCode, prog: Program) -> tuple[int, int]:
    """(static shared bytes, local bytes per thread), each symbol at its alignment."""
    shared = pack((n, prog.symbols[n]) for n in k.shared if not prog.symbols[n].dynamic)[1]
    return shared, pack(k.locals.items())[1]


def over_limits(k: KernelCode, prog: Program) -> list[str]:
    shared, local = usage(k, prog)
    out = []
    if shared > STATIC_SHARED_BYTES:
        names = ", ".join(n for n in k.shared if not prog.symbols[n].dynamic)
        out.append(f"kernel '{k.name}' uses {shared} bytes of static shared memory ({names}), more than a "
                   f"block holds ({kib(STATIC_SHARED_BYTES)})")
    if local > LOCAL_BYTES:
        out.append(f"kernel '{k.name}' uses {local} bytes of local memory per thread, more than a thread "
                   f"holds ({kib(LOCAL_BYTES)})")
    return out
