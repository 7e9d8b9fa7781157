"""What the service accepts, since it runs code it is sent (`vgpu.web.create_app(limits=Limits(...))`).

In:  nothing (defaults) or keyword overrides.
Out: a frozen `Limits`; `as_dict()` for GET /status.  Every limit, when exceeded, gives a 4xx error
     naming the limit and the value sent (413 for sizes, 400 for geometry, 429 for concurrency).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Limits:
    request_bytes: int = 4 << 20          # a whole request body (a .npy upload travels in it, base64)
    source_bytes: int = 256 << 10         # the .vk source text
    max_blocks: int = 4096                # blocks in a grid
    max_threads: int = 1 << 18            # threads in a launch (grid x block)
    max_sms: int = 16                     # SMs of a run's device
    max_steps: int = 100_000              # watchdog: scheduler steps a wave may take
    max_instructions: int = 5_000_000     # watchdog: warp instructions a wave may execute
    max_seconds: float = 60.0             # wall time of a launch, checked as its waves finish
    array_elements: int = 1 << 20         # elements of one argument array
    request_memory: int = 32 << 20        # bytes of all argument arrays of one run
    device_bytes: int = 64 << 20          # global memory of the device a run gets
    concurrent_runs: int = 2              # runs admitted at once, simulated in turn (more: 429)
    keep_devices: int = 2                 # run devices kept alive for the memory inspector and dashboard
    divergence_columns: int = 5000        # instructions of the chosen warp in the divergence timeline
    preview_elements: int = 64            # first elements of an output in a /run answer (at most)
    memory_read_bytes: int = 64 << 10     # bytes of one global_mem / constant_mem read
    events_limit: int = 1000              # events in one /events answer

    def as_dict(self) -> dict:
        return asdict(self)
