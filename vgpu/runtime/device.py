"""`vgpu.Device`: a virtual GPU as users see it, over the simulator's `SimDevice`.

In:  configuration (number of SMs, workers, watchdog budgets, schedule, its own process or not).
Out: a device that owns global and constant memory, loads programs, launches kernels, and logs each
     launch (`kernel_log`) and each copy (`transfer_log`, with the modelled time of its link).

Several devices may live in one program (`vgpu.devices(n)`); each has an integer `id` (creation
order), a `name` ('gpu0', ...), its own memory, constant bank, worker pool, counters and logs.
`with dev:` makes `dev` the current device (the one used when `device=None`), as cudaSetDevice
does; outside any `with`, the process's default device (`vgpu.default_device()`, created on first
use).  `live_devices()` lists the devices not yet closed, in creation order.
"""
from __future__ import annotations

import contextvars
import itertools
import os
import time
import weakref
from collections import deque
from dataclasses import dataclass

from .remote import DeviceLost  # noqa: F401 - part of this module's API (vgpu.runtime.device.DeviceLost)

LOG_LIMIT = 100_000          # entries a device keeps in each log (the oldest are dropped)
_default: "Device | None" = None
_ids = itertools.count()
_live: "weakref.WeakValueDictionary[int, Device]" = weakref.WeakValueDictionary()
_current: contextvars.ContextVar = contextvars.ContextVar("vgpu_current_device", default=())


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


@dataclass(frozen=True)
class KernelRecord:
    """One launch in a device's kernel log: kernel name, file, grid, block, dynamic shared bytes,
    warp instructions executed, host wall seconds and what ran it (LaunchResult.ran_on)."""
    kernel: str
    file: str
    grid: tuple
    block: tuple
    shared: int
    instructions: int
    seconds: float
    ran_on: str = ""


class Device:
    """A virtual GPU.

    num_sms        streaming multiprocessors (default 4)
    workers        SM worker processes; None: $VGPU_WORKERS, else the default (see vgpu.sim); 0 runs in-process
    global_bytes   size of global memory
    max_instructions  watchdog: warp instructions a launch may execute before it is stopped
    max_steps      watchdog: scheduler steps a wave may take before it is stopped (bounds serial and
                   spinning kernels; `vgpuc run --max-steps`)
    schedule, seed warp and block order: 'fixed' (default) or 'random' with a seed
    counters       collect memory counters (global sectors, shared bank conflicts, local traffic) for every
                   launch: slower; `vgpuc run --stats` and `vgpuc profile` turn them on (docs/counters.md)
    check          sanitizers for every launch: 'memcheck', 'racecheck', 'synccheck', 'initcheck', a
                   comma list or a list of them, or 'all' (docs/sanitizers.md); reports land in the
                   launch result's `.reports`
    name           how messages name the device (default 'gpu<id>')
    topology       the vgpu.Topology its copies are modelled on (default: vgpu.runtime.links.default_topology())
    process        True: the simulator, memory and workers live in a process of their own, driven over
                   a pipe (vgpu.runtime.remote); `message_log` shows what travelled
    executor       'interp' (the numpy interpreter), 'compiled' (native code where the kernel allows) or
                   'auto'; None: $VGPU_EXECUTOR, else 'auto' (docs/executor.md)
    timing         a timing preset ('h100', 'h200', 'a100', 'rtx3080', 'teaching', a .json path): every
                   launch's result gets `.timing`, a vgpu.timing.TimingReport (modelled cycles, stalls,
                   occupancy, throughput; docs/timing.md), and host copies use the preset's host link
    """

    def __init__(self, num_sms: int = 4, workers: int | None = None, global_bytes: int = 1 << 30,
                 max_instructions: int | None = None, schedule: str = "fixed", seed: int = 0, check=None,
                 counters: bool = False, max_steps: int | None = None, name: str | None = None,
                 topology=None, process: bool = False, backend=None, timing=None, executor: str | None = None):
        from .links import Link, Topology, default_topology
        if workers is None:
            workers = _workers_from_env()
        if num_sms < 1:
            raise ValueError("num_sms must be at least 1")
        if max_steps is not None and int(max_steps) < 1:
            raise ValueError(f"max_steps must be a positive integer, not {max_steps!r}")
        self.id = next(_ids)
        self.name = name or f"gpu{self.id}"
        self.num_sms = num_sms
        self.timing = None
        if timing is not None:
            if process:
                raise ValueError("timing= needs the simulator in this process (process=False)")
            from ..timing import Timing
            self.timing = Timing(timing)
            if topology is None:
                base = default_topology()
                topology = Topology(peer=base.peer, host=Link(*self.timing.preset.link()), local=base.local,
                                    hbm_bandwidth=self.timing.preset.peak_bytes_per_s, pairs=dict(base.pairs))
        self._recent_transfers: list = []
        self.topology = topology if topology is not None else default_topology()
        config = dict(num_sms=num_sms, workers=workers, global_bytes=global_bytes,
                      max_instructions=max_instructions, max_steps=max_steps, schedule=schedule, seed=seed,
                      check=check, counters=counters)
        if executor is not None:                 # else the simulator's default ($VGPU_EXECUTOR, else 'auto')
            config["executor"] = executor
        self.config = config
        if backend is not None:
            self.sim = backend
        elif process:
            from .remote import RemoteSim
            self.sim = RemoteSim(config, name=self.name)
        else:
            from ..sim import SimDevice
            self.sim = SimDevice(**config)
        self.workers = getattr(self.sim, "workers", workers)
        self.kernel_log: deque = deque(maxlen=LOG_LIMIT)
        self.transfer_log: deque = deque(maxlen=LOG_LIMIT)
        self._loaded: dict[int, object] = {}
        self.closed = False
        # every launch goes through self.launch (logged), whether it is called as dev.launch or dev.sim.launch
        # (through a weak reference: the simulator does not keep its Device alive)
        self._sim_launch = self.sim.launch
        self.sim.launch = _logged(weakref.ref(self), self._sim_launch)
        _live[self.id] = self

    # -- programs and launches -----------------------------------------------------------------------
    def load(self, program):
        """The program loaded on this device (symbols allocated), loading it on first use."""
        self._check_open()
        key = id(program)
        if key not in self._loaded:       # the program is kept too, so that its id stays unique
            self._loaded[key] = (program, self.sim.load(program))
        return self._loaded[key][1]

    def launch(self, loaded, kernel: str, args, grid=(1, 1, 1), block=(1, 1, 1), shared: int = 0, check=None,
               trace=None, **options):
        """Launch `kernel` of a loaded program (see vgpu.sim.SimDevice.launch; `options` pass through) and
        log it."""
        self._check_open()
        t0 = time.perf_counter()
        recorder = None
        if self.timing is not None:
            from ..sim.observer import combine
            recorder = self.timing.recorder()
            trace = combine(trace, recorder)
        result = self._sim_launch(loaded, kernel, args, grid=grid, block=block, shared=shared, check=check,
                                  trace=trace, **options)
        if recorder is not None:
            result.timing = self.timing.report(recorder, self._recent_transfers)
            self._recent_transfers = []
        elif getattr(result, "timing", None) is None and hasattr(result, "__dict__"):
            result.timing = None                 # a device without timing= (vgpu.timing)
        stats = getattr(result, "stats", None) or {}
        self.kernel_log.append(KernelRecord(kernel, getattr(loaded.program, "filename", "?"), tuple(grid),
                                            tuple(block), int(shared), int(stats.get("warp_instructions", 0)),
                                            time.perf_counter() - t0, getattr(result, "ran_on", "")))
        return result

    def get_kernel_log(self) -> list[KernelRecord]:
        return list(self.kernel_log)

    # -- copies ----------------------------------------------------------------------------------------
    def record_transfer(self, kind: str, peer: "Device | None", nbytes: int, label: str = "", outgoing=None):
        """Log a copy between this device and `peer` (None: the host) with its modelled time; a peer
        copy is logged on both devices.  Returns the Transfer."""
        from .links import Transfer
        if kind == "HtoD":
            src, dst, sid, did = "host", self.name, None, self.id
        elif kind == "DtoH":
            src, dst, sid, did = self.name, "host", self.id, None
        elif outgoing:
            src, dst, sid, did = self.name, peer.name, self.id, peer.id
        else:
            src, dst, sid, did = peer.name, self.name, peer.id, self.id
        link = self.topology.link(sid, did)
        t = Transfer(kind, src, dst, int(nbytes), link.name, link.time(int(nbytes)), label)
        self.transfer_log.append(t)
        if self.timing is not None:
            self._recent_transfers.append(t)
        if peer is not None and peer is not self:
            peer.transfer_log.append(t)
        return t

    def get_transfer_log(self) -> list:
        return list(self.transfer_log)

    def get_transfer_stats(self) -> dict:
        from .links import transfer_stats
        return transfer_stats(self.transfer_log)

    @property
    def message_log(self) -> list:
        """What travelled between this process and the device's own (a device with process=True)."""
        return list(getattr(self.sim, "message_log", []))

    def synchronize(self) -> None:
        """Launches and copies return when done: nothing to wait for."""

    # -- life ------------------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError(f"device {self.name} is closed")

    def close(self) -> None:
        """Stop the device's workers (and its process); it leaves live_devices()."""
        self.closed = True
        _live.pop(self.id, None)
        close = getattr(self.sim, "close", None)
        if close:
            close()

    def __enter__(self) -> "Device":
        """`with dev:` makes this the current device until the block ends (it stays open)."""
        self._check_open()
        stack = _current.get()
        _current.set(stack + (self,))
        return self

    def __exit__(self, *exc) -> None:
        stack = _current.get()
        if stack and stack[-1] is self:
            _current.set(stack[:-1])

    def __repr__(self) -> str:
        where = getattr(self.sim, "where", "")
        where = f", {where}" if where else ""
        return f"vgpu.Device(id={self.id}, name={self.name!r}, num_sms={self.num_sms}, workers={self.workers}{where})"


def _logged(ref, plain):
    def launch(*args, **kwargs):
        dev = ref()
        return dev.launch(*args, **kwargs) if dev is not None else plain(*args, **kwargs)
    return launch


def default_device() -> Device:
    """The process's default device, created on first use."""
    global _default
    if _default is None or _default.closed:
        _default = Device()
    return _default


def current_device() -> Device:
    """The device of the innermost `with dev:` block, else the default device."""
    stack = _current.get()
    return stack[-1] if stack else default_device()


def resolve(device: Device | None) -> Device:
    if device is None:
        return current_device()
    if not isinstance(device, Device):
        raise TypeError(f"device must be a vgpu.Device, not {type(device).__name__}")
    return device


def live_devices() -> list[Device]:
    """The devices of this process not yet closed, in creation order (ids ascending)."""
    return [d for _, d in sorted(_live.items()) if not d.closed]


def device_count() -> int:
    """How many devices this process has (live_devices())."""
    return len(live_devices())
