"""Moved to `vgpu.sim.observe.sanitize` (also exported by `vgpu.sim`); kept for `vgpu.runtime.tools`."""
from .observe.sanitize import CHECKS, Report, Sanitizer, parse_checks, summary  # noqa: F401
