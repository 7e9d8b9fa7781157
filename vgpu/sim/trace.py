"""Moved to `vgpu.sim.observe.trace` (also exported by `vgpu.sim`); kept for `vgpu.runtime.tools`."""
from .observe.trace import Tracer  # noqa: F401
