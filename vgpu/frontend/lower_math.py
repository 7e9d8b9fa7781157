"""Lowering calls of libdevice's math functions (a mixin of `vgpu.frontend.lower.FunctionLowering`):
`sinf(x)`, `pow(x, y)`, ... inline libdevice's code (`vgpu.frontend.libdevice`); `sincosf(x, &s, &c)`
stores its results through the pointers.  Needs the function lowering's builder `b` and `assign`."""
from __future__ import annotations

from . import libdevice
from .ctypes import Pointer, Void, scalar_of
from .places import Mem
from .symbols import CallInfo
from .. import types as T


class MathLowering:
    def libdevice_call(self, info: CallInfo, args: list):
        """The value of builtin `info` (op 'libdevice.NAME') on the converted IR `args` (None for void)."""
        name = info.op[len("libdevice."):]
        if not isinstance(info.ret, Void) and scalar_of(info.ret) == T.F32 and not name.endswith("f"):
            name += "f"                   # the float overload of a double name
        ptrs = [(a, p) for a, p in zip(args, info.params) if isinstance(p, Pointer)]
        if not ptrs:
            return libdevice.emit(self.b, "__nv_" + name, args)
        values = [a for a, p in zip(args, info.params) if not isinstance(p, Pointer)]
        _, outs = libdevice.emit(self.b, "__nv_" + name, values)
        for (a, p), v in zip(ptrs, outs):     # sincosf(x, &s, &c): stored through the pointers
            self.assign(Mem(a, p.to), v)
        return None
