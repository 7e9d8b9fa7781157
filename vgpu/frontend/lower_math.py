"""Lowering calls of libdevice's math functions (a mixin of `vgpu.frontend.lower.FunctionLowering`):
`sinf(x)`, `pow(x, y)`, ... inline libdevice's code (`vgpu.frontend.libdevice`); `sincosf(x, &s, &c)`
stores its results through the pointers.  Needs the function lowering's builder `b` and `assign`."""
from __future__ import annotations

from . import libdevice
from .places import Mem
from .symbols import CallInfo


class MathLowering:
    def libdevice_call(self, info: CallInfo, args: list):
        """The value of builtin `info` (op 'libdevice.NAME') on the converted IR `args` (None for void)."""
        name = "__nv_" + info.op[len("libdevice."):]
        out = libdevice.outputs(name)
        if not out:
            v = libdevice.emit(self.b, name, args)
            return self.conv(v, info.ir_ret, info.ret) if info.ir_ret != info.ret else v   # signbit: int -> bool
        ptrs = [(a, p) for k, (a, p) in enumerate(zip(args, info.params)) if k in out]
        r, outs = libdevice.emit(self.b, name, [a for k, a in enumerate(args) if k not in out])
        for (a, p), v in zip(ptrs, outs):     # sincosf(x, &s, &c), frexpf(x, &e): stored through the pointers
            self.assign(Mem(a, p.to), v)
        return r
