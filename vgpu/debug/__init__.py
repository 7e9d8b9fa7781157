"""A step debugger for vgpu kernels (cuda-gdb's vocabulary): `Session` from Python, `vgpuc debug`
as a REPL over it (`repl`), notebook rendering (`render`).  See docs/debugging.md."""
from .memory import DebugError
from .session import Breakpoint, Lane, Session, StackEntry, Stop, Watchpoint, WarpInfo

__all__ = ["Session", "Stop", "Breakpoint", "Watchpoint", "WarpInfo", "StackEntry", "Lane", "DebugError"]
