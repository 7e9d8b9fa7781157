"""Kernel parameters beyond scalars and pointers (a mixin of `vgpu.frontend.check.Checker`): structs
passed by value (their leaves become .param values, as C lays the struct out) and default arguments
(constants a launch passes for arguments left out); and `alignas` of variables."""
from __future__ import annotations

from .consteval import convert
from . import ast as A
from .ctypes import (ERROR, ErrorType, StructType, alignof, count_leaves, decay, has_union, qualified, sizeof, spell,
                     unqual)
from .symbols import Var
from ..diagnostics import Span


class KernelParamChecker:
    """Needs the Checker's `error`, `unsupported`, `value`, `convertible`, `const_value`."""

    def kernel_defaults(self, params: list[Var], defaults: list) -> dict:
        """The default arguments of a kernel's parameters, by parameter name, as the values a launch
        passes for them: constant expressions, as the host compiler evaluates them at the launch."""
        out = {}
        for v, x in zip(params, defaults):
            if x is None:
                continue
            t = self.value(x)
            if isinstance(t, ErrorType) or not self.convertible(v.ctype, x, t, "initialize a parameter of"):
                continue
            c = self.const_value(x)
            if isinstance(unqual(v.ctype), StructType):
                self.unsupported(x.span, "a default argument of a struct parameter of a __global__ function is "
                                         "not supported")
            elif c is None:
                self.unsupported(x.span, "a default argument of a __global__ function must be a constant "
                                         "expression in vgpu (the launch passes its value): not supported")
            else:
                out[v.name] = convert(c, decay(t), v.ctype)
        return out

    def kernel_struct_ok(self, t: StructType, span: Span) -> bool:
        """A struct passed by value to a kernel: its scalar leaves become .param values (no more than
        CUDA's 32,764 bytes of parameters, and in vgpu at most 1,024 scalars: each is one value the
        compiler carries)."""
        if t.info.name.startswith("cooperative_groups::"):
            self.error(span, f"'{spell(t)}' cannot be a kernel parameter")
            return False
        if has_union(t):
            self.unsupported(span, f"a union in a kernel parameter ('{spell(t)}') is not supported: pass a pointer "
                                   "to it")
            return False
        if sizeof(t) > 32764:
            self.error(span, f"a struct parameter of {sizeof(t):,} bytes is more than a kernel's 32,764 bytes of "
                             "parameters: pass a pointer to it")
            return False
        n = count_leaves(t)
        if n > 1024:
            self.unsupported(span, f"a struct parameter of {n:,} scalars is more than vgpu supports in a kernel "
                                   "parameter (1,024 scalars): pass a pointer to it")
            return False
        return True

    def alignas(self, a, t) -> int:
        """The alignment `alignas(N)` or `alignas(type)` asks of a variable of type `t` (0 when wrong:
        reported)."""
        if isinstance(a, A.TypeRef):
            at = self.resolve(a)
            return 0 if isinstance(at, ErrorType) else alignof(at)
        self.expr(a)
        n = self.const_int(a, "alignas argument")
        if n is None:
            return 0
        if n <= 0 or n & (n - 1) or n > 1 << 12:
            self.error(a.span, f"requested alignment {n} is not a positive power of 2 (at most 4096)")
            return 0
        if not isinstance(t, ErrorType) and n < alignof(t):
            self.error(a.span, f"requested alignment {n} is less than the type's alignment {alignof(t)}")
            return 0
        return n

    def auto_type(self, d: A.VarDecl):
        """C++'s `auto x = e;` (and `const auto`): the type of `e` after decay, without its top-level
        qualifiers, plus the declaration's."""
        ref = d.type
        if ref.derived or ref.ref or d.init is None or isinstance(d.init, A.InitList):
            self.unsupported(ref.span, "'auto' is supported only as `[const] auto name = expression;`")
            return ERROR
        t = self.value(d.init)
        if isinstance(t, ErrorType):
            return ERROR
        t = qualified(decay(t), "const" in ref.quals, "volatile" in ref.quals)
        self.sema.types[ref] = t
        return t
