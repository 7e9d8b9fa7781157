"""Debug information while lowering .vk (a mixin of `vgpu.frontend.lower.FunctionLowering`): each
source variable (one entry per scalar leaf of a struct) goes into `Function.debug_vars` with its C
type and scope, the innermost open block from its declaration on (`self.scopes`, kept by the
statement lowering); `assign` then emits a `dbg` per write (vgpu.ir.debug), and a variable living
in local memory gets a `dbg declare` of its slot.
Needs the function lowering's builder `b`, `func`, `scopes` and `nlocals`."""
from __future__ import annotations

from .ctypes import Array, CType, StructType, leaves, scalar_of, spell, unqual
from .places import leaf_names, leaf_types
from .symbols import Var
from ..ir import nodes as ir
from ..ir.debug import DebugVar, dbg

MAX_MEMORY_LEAVES = 64          # a struct in local memory: its scalar fields each get a debug entry up to this many


class DebugLowering:
    def open_function_scope(self, span, body) -> None:
        """The function's scope: its parameters are visible from its first line to its body's end."""
        self.scopes.append((body.span.file, span.line if span.file == body.span.file else body.span.line,
                            getattr(body, "end_line", 0) or body.span.line))

    def register_keys(self, v: Var) -> list:
        """The SSA variable keys of a register variable (one per leaf of a struct), registered as
        debug variables on first sight ('p.x' for a struct's leaf)."""
        if not isinstance(unqual(v.ctype), StructType):
            if v not in self.b.debug_keys:
                self.debug_var(v, v.name, v.ctype)
            return [v]
        keys = [(v, k) for k in range(len(leaves(v.ctype)))]
        if keys and keys[0] not in self.b.debug_keys:
            for k, n, lt in zip(keys, leaf_names(v.ctype), leaf_types(v.ctype)):
                self.debug_var(k, f"{v.name}.{n}", lt)
        return keys

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
        """A variable living in local memory (an array, or its address taken): a `dbg declare` (and
        one per scalar field of a struct, with its offset: `dbg slot {var, declare, offset}`)."""
        if v.storage not in ("local", "param"):
            return
        t = unqual(v.ctype)
        elem = t
        while isinstance(elem, Array):
            elem = unqual(elem.elem)
        k = self.debug_var(None, v.name, t, scalar_of(elem).name if not isinstance(elem, StructType) else "b8")
        self._declare(k, slot, 0)
        if isinstance(t, StructType) and not t.info.is_union and len(leaves(t)) <= MAX_MEMORY_LEAVES:
            for (off, lt), n in zip(leaves(t), leaf_names(t)):   # its fields too: `s.center.x`, at their offsets
                self._declare(self.debug_var(None, f"{v.name}.{n}", lt), slot, off)

    def _declare(self, k: int, slot: ir.Instr, offset: int) -> None:
        fn = self.b.fn
        d = dbg(k, slot, self.b.span, declare=True)
        if offset:
            d.attrs["offset"] = offset
        fn.entry.instrs.insert(self.nlocals, d)
        fn.entry.instrs[self.nlocals].block = fn.entry
        self.nlocals += 1

