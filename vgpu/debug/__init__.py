"""A step debugger for vgpu kernels (cuda-gdb's vocabulary): `Session` from Python, `vgpuc debug`
as a REPL over it (`repl`), notebook rendering (`render`).  See docs/debugging.md."""
from .memory import DebugError
from .model import Breakpoint, Lane, StackEntry, Stop, WarpInfo, Watchpoint
from .session import Session

__all__ = ["Session", "Stop", "Breakpoint", "Watchpoint", "WarpInfo", "StackEntry", "Lane", "DebugError"]
