"""The device's size limits that a compiler checks (those of an H200, as nvcc and ptxas check them).

In:  nothing.  Out: constants, in bytes, used by the front end (per variable, at its line) and the
instruction selector (per kernel).  The runtime's own limits (a launch's dynamic shared memory, a
Device's global memory size) are checked at launch and load time against the Device.
"""
from __future__ import annotations

STATIC_SHARED_BYTES = 48 * 1024
"""Static `__shared__` memory of one block (ptxas: "uses too much shared data (..., 0xc000 max)")."""

CONSTANT_BYTES = 64 * 1024
"""The constant bank: all `__constant__` variables of a module together."""

LOCAL_BYTES = 512 * 1024
"""Local memory of one thread (CUDA's per-thread limit): local arrays, address-taken locals, spills."""

GLOBAL_BYTES = 141 * 10 ** 9
"""Global memory of an H200 (141 GB of HBM3e): all `__device__` variables of a module together."""


def kib(n: int) -> str:
    """A byte count as people write limits: '48 KiB', '512 KiB', '141.0 GB', else 'N bytes'."""
    if n >= 10 ** 9:
        return f"{n / 10 ** 9:.1f} GB"
    return f"{n // 1024} KiB" if n % 1024 == 0 else f"{n} bytes"
