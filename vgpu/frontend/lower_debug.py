"""Debug information while lowering .vk (a mixin of `vgpu.frontend.lower.FunctionLowering`): each
source variable (one entry per scalar leaf of a struct) goes into `Function.debug_vars` with its C
type and scope, the innermost open block from its declaration on (`self.scopes`, kept by the
statement lowering); `assign` then emits a `dbg` per write (vgpu.ir.debug), and a variable living
in local memory gets a `dbg declare` of its slot.
Needs the function lowering's builder `b`, `func`, `scopes` and `nlocals`."""
from __future__ import annotations

from .ctypes import Array, CType, StructType, scalar_of, spell, unqual
from .symbols import Var
from ..ir import nodes as ir
from ..ir.debug import DebugVar, dbg


class DebugLowering:
    def debug_var(self, key, name: str, t: CType, scalar: str | None = None) -> int:
        """Register a source variable (one scalar leaf) in the function's debug table, in the
        innermost open scope from its declaration on; its dbgs come from `assign`."""
        fn = self.b.fn
        file, first, last = self.scopes[-1] if self.scopes else (fn.span.file, fn.span.line, fn.span.line)
        span = self.b.span
        line = span.line if span is not None and span.file == file and first <= span.line <= last else first
        fn.debug_vars.append(DebugVar(name, spell(t), scalar or scalar_of(t).name, file, line, last, self.func.name))
        self.b.debug_keys[key] = len(fn.debug_vars) - 1
        return len(fn.debug_vars) - 1

    def declare_in_memory(self, v: Var, slot: ir.Instr) -> None:
        """A variable living in local memory (an array, or its address taken): a `dbg declare`."""
        if v.storage not in ("local", "param"):
            return
        t = unqual(v.ctype)
        elem = t
        while isinstance(elem, Array):
            elem = unqual(elem.elem)
        k = self.debug_var(None, v.name, t, scalar_of(elem).name if not isinstance(elem, StructType) else "b8")
        fn = self.b.fn
        fn.entry.instrs.insert(self.nlocals, dbg(k, slot, self.b.span, declare=True))
        fn.entry.instrs[self.nlocals].block = fn.entry
        self.nlocals += 1

