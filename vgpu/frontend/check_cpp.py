"""C++ declarations (tier 4), a mixin of `vgpu.frontend.check.Checker`: conversion operators of structs,
reference variables and binding a reference to an expression, `static_assert`."""
from __future__ import annotations

import copy

from . import ast as A
from .ctypes import CType, ErrorType, StructInfo, decay, same, spell, unqual
from .symbols import Func, Var


class CppChecker:
    """Needs the Checker's `error`, `unsupported`, `resolve`, `function`, `expr`, `declare`, `convertible`,
    `is_lvalue`, `root_ident`, `const_int`, `scopes`, `sema`, `func`."""

    def conversion_operators(self, d: A.StructDef, info: StructInfo) -> None:
        """`operator T *() {...}` members: device functions named 'S::operator T *' that do not use the
        object (what NVIDIA's SharedMemory<T> needs)."""
        info.conversions = []
        if self.func is not None:
            self.unsupported(d.span, "conversion operators of structs defined inside a function are not "
                                     "supported yet")
            return
        for op in d.conversions:
            rt = self.resolve(op.ret)
            if isinstance(rt, ErrorType):
                continue
            fn_def = copy.deepcopy(op)
            fn_def.name = f"{info.name}::operator {spell(rt)}"
            if "__device__" not in fn_def.qualifiers:
                self.error(op.name_span, "a conversion operator used in device code must be __device__")
                continue
            self.function(fn_def)
            fn = self.scopes[0].get(fn_def.name)
            if isinstance(fn, Func):
                info.conversions.append((rt, fn))

    def ref_decl(self, d: A.VarDecl, t: CType) -> None:
        """`T &x = lvalue;` (or `const T &x = value;`): x names that object."""
        span = d.name_span or d.span
        v = Var(d.name, t, span, "local", self.func, ref=True)
        self.sema.vars[d] = v
        if d.init is None or isinstance(d.init, A.InitList):
            self.error(span, f"declaration of reference variable '{d.name}' requires an initializer")
        else:
            self.bind_ref(t, d.init, "initialize a reference of")
        self.declare(d.name, v, span)

    def bind_ref(self, t: CType, e: A.Expr, what: str, checked: bool = False) -> None:
        """Check that `e` may bind to a reference to `t`: an lvalue of that type, or any convertible
        value for a reference to const (then bound to a temporary)."""
        et = e.ctype if checked else self.expr(e)
        if isinstance(et, ErrorType) or isinstance(t, ErrorType):
            return
        if self.is_lvalue(e) and same(unqual(et), unqual(t)):
            if et.const and not t.const:
                self.error(e.span, f"binding reference of type '{spell(t)}' to value of type '{spell(et)}' "
                                   "drops 'const' qualifier")
            root = self.root_ident(e)
            if root is not None and isinstance(self.sema.refs.get(root), Var):
                self.sema.refs[root].address_taken = True
            return
        if not t.const:
            self.error(e.span, f"non-const lvalue reference to type '{spell(t)}' cannot bind to "
                               f"{'a value of unrelated type' if self.is_lvalue(e) else 'a temporary'} of type "
                               f"'{spell(et)}'")
            return
        self.convertible(t, e, decay(et), what)

    def s_StaticAssert(self, s: A.StaticAssert) -> None:
        self.expr(s.cond)
        v = self.const_int(s.cond, "static_assert condition")
        if v is not None and not v:
            self.error(s.cond.span, "static assertion failed" + (f": {s.message}" if s.message else ""))
