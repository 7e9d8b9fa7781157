"""`vgpu.Device`: a virtual GPU as users see it, over the simulator's `SimDevice`.

In:  configuration (number of SMs, workers, watchdog budget, schedule).
Out: a device that owns global and constant memory, loads programs, and launches kernels.
A process has one default device (`vgpu.default_device()`), created on first use.
"""
from __future__ import annotations

import os

_default: "Device | None" = None


def _workers_from_env() -> int | None:
    raw = os.environ.get("VGPU_WORKERS")
    if raw is None or raw.strip() == "":
        return None
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"VGPU_WORKERS must be a non-negative integer, not {raw!r}") from None
    if n < 0:
        raise ValueError(f"VGPU_WORKERS must be a non-negative integer, not {raw!r}")
    return n


class Device:
    """A virtual GPU.

    num_sms        streaming multiprocessors (default 4)
    workers        SM worker processes; None: $VGPU_WORKERS, else the default (see vgpu.sim); 0 runs in-process
    global_bytes   size of global memory
    max_instructions  watchdog: warp instructions a launch may execute before it is stopped
    schedule, seed warp and block order: 'fixed' (default) or 'random' with a seed
    counters       collect memory counters (global sectors, shared bank conflicts, local traffic) for every
                   launch: slower; `vgpuc run --stats` and `vgpuc profile` turn them on (docs/counters.md)
    check          sanitizers for every launch: 'memcheck', 'racecheck', 'synccheck', 'initcheck', a
                   comma list or a list of them, or 'all' (docs/sanitizers.md); reports land in the
                   launch result's `.reports`
    """

    def __init__(self, num_sms: int = 4, workers: int | None = None, global_bytes: int = 1 << 30,
                 max_instructions: int | None = None, schedule: str = "fixed", seed: int = 0, check=None,
                 counters: bool = False):
        from ..sim import SimDevice
        if workers is None:
            workers = _workers_from_env()
        if num_sms < 1:
            raise ValueError("num_sms must be at least 1")
        self.num_sms = num_sms
        self.workers = workers
        self.sim = SimDevice(num_sms=num_sms, workers=workers, global_bytes=global_bytes,
                             max_instructions=max_instructions, schedule=schedule, seed=seed, check=check,
                             counters=counters)
        self._loaded: dict[int, object] = {}

    def load(self, program):
        """The program loaded on this device (symbols allocated), loading it on first use."""
        key = id(program)
        if key not in self._loaded:       # the program is kept too, so that its id stays unique
            self._loaded[key] = (program, self.sim.load(program))
        return self._loaded[key][1]

    def close(self) -> None:
        close = getattr(self.sim, "close", None)
        if close:
            close()

    def __enter__(self) -> "Device":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"vgpu.Device(num_sms={self.num_sms}, workers={self.workers})"


def default_device() -> Device:
    """The process's default device, created on first use."""
    global _default
    if _default is None:
        _default = Device()
    return _default


def resolve(device: Device | None) -> Device:
    return device if device is not None else default_device()
