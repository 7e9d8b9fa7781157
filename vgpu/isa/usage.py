"""What one kernel uses of a block's static shared memory and of a thread's local memory, checked
against the device's limits (`vgpu.limits`) as ptxas checks them.

In:  an allocated `KernelCode` (its `shared` symbol list filled, spill slots in its `locals`) and its
     `Program`.  Out: `usage(k, prog)` -> (static shared bytes, local bytes); `over_limits` -> the
     messages for what exceeds a limit (empty when the kernel fits).
"""
from __future__ import annotations

from ..limits import LOCAL_BYTES, STATIC_SHARED_BYTES, kib
from .program import KernelCode, Program


def usage(k: KernelCode, prog: Program) -> tuple[int, int]:
    """(static shared bytes, local bytes per thread), each symbol at its alignment."""
    shared = 0
    for name in k.shared:
        s = prog.symbols[name]
        if not s.dynamic:
            shared = -(-shared // s.align) * s.align + s.size
    local = 0
    for s in k.locals.values():
        local = -(-local // s.align) * s.align + s.size
    return shared, local


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
