"""C++ declarations (tier 4), a mixin of `vgpu.frontend.check.Checker`: conversion operators of structs,
reference variables and binding a reference to an expression, `static_assert`."""
from __future__ import annotations

import copy

from . import ast as A
from .ctypes import (DOUBLE, FLOAT, Bool, CType, ErrorType, FuncType, Pointer, StructInfo, Void, decay, is_arith,
                     is_scalar, promote, same, spell, unqual)
from .symbols import Func, Var


class CppChecker:
    """Needs the Checker's `error`, `unsupported`, `resolve`, `function`, `expr`, `declare`, `convertible`,
    `is_lvalue`, `root_ident`, `const_int`, `scopes`, `sema`, `func`."""

    def s_FunctionDef(self, s: A.FunctionDef) -> None:
        """A function declared inside a function (`extern __device__ void f(void);`): C++ declares it
        in the enclosing namespace, here the file."""
        saved, self.scopes, self.tags = (self.scopes, self.tags), self.scopes[:1], self.tags[:1]
        try:
            self.function(s)
        finally:
            self.scopes, self.tags = saved

    def union_init(self, t: CType, lst: A.InitList, offset: int) -> list:
        """The leaves `union U u = {...}` sets: C initialises the first member."""
        items = list(lst.items)
        if not t.info.fields:
            return []
        first = t.info.fields[0].ctype
        if is_scalar(first) and len(items) > 1:
            self.error(items[1].span, "excess elements in union initializer")
            return []
        inner = items[0] if len(items) == 1 and isinstance(items[0], A.InitList) and not is_scalar(first) else lst
        return self.init_list(first, inner, offset)

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


def _rank(dst: CType, src: CType, arg: A.Expr, null: bool) -> int | None:
    """C++'s rank of the implicit conversion of an argument of type `src` to a parameter of type `dst`:
    0 exact match (qualification adjustments included), 1 promotion, 2 conversion, None: none."""
    dst, src = unqual(dst), decay(src)
    if same(dst, src):
        return 0
    if isinstance(dst, Pointer) and isinstance(src, Pointer):
        if same(dst.to, src.to) and (dst.to.const or not src.to.const) and (dst.to.volatile or not src.to.volatile):
            return 0                                   # T * -> const T *
        if isinstance(unqual(dst.to), Void) and (dst.to.const or not src.to.const):
            return 2                                   # T * -> void *
        return None
    if isinstance(dst, Pointer):
        return 2 if null else None
    if is_arith(dst) and is_arith(src) or isinstance(dst, Bool) and isinstance(src, Pointer):
        if same(promote(src), dst) and not same(src, dst) or same(src, FLOAT) and same(dst, DOUBLE):
            return 1
        return 2
    return None


def _no_worse(x: tuple, y: tuple) -> bool:
    """Conversion x is at least as good as y: a better rank, or the same (between two reference bindings,
    the one adding less const)."""
    return x[0] < y[0] or x[0] == y[0] and (not (x[1] and y[1]) or x[2] <= y[2])


def _beats(a: list, b: list) -> bool:
    """C++'s better viable function: no conversion worse, one better."""
    return all(_no_worse(x, y) for x, y in zip(a, b)) and any(not _no_worse(y, x) for x, y in zip(a, b))


def _fn_sig(ftype: FuncType) -> tuple:
    return tuple(spell(unqual(p)) for p in ftype.params)


class OverloadChecker:
    """C++ function overloading of device functions; needs the Checker's `error`, `value`, `sema`, `is_null`."""

    def overload(self, name: str, first: Func, ftype: FuncType, kind: str, span) -> Func:
        """The overload of `name` with the parameter types of `ftype`: declared before, or new (named
        `name(types)` in the module, as C++ spells a signature)."""
        group = first.overloads or [first]
        first.overloads = group
        for f in group:
            if _fn_sig(f.ctype) == _fn_sig(ftype):
                return f
        fn = Func(f"{name}({', '.join(_fn_sig(ftype))})", ftype, kind, span)
        fn.overloads = group
        group.append(fn)
        self.sema.funcs[fn.name] = fn
        return fn

    def pick_overload(self, e: A.Call, group: list) -> Func | None:
        """The best viable overload for the call `e` (arguments checked), as C++ ranks them; None
        (reported) when none is viable or two are equally good."""
        ranks = [(f, r) for f in group for r in [self._ranks(f, e.args, 0)] if r is not None]
        best = [(f, r) for f, r in ranks if not any(_beats(r2, r) for _, r2 in ranks)]
        args = ", ".join(spell(decay(a.ctype)) for a in e.args)
        name = group[0].name
        if not best:
            self.error(e.span, f"no matching function for call to '{name}({args})'; candidates: " +
                       "; ".join(f"{name}({', '.join(_fn_sig(f.ctype))})" for f in group))
            return None
        if len(best) > 1:
            self.error(e.span, f"call to '{name}({args})' is ambiguous: " +
                       " or ".join(f"{name}({', '.join(_fn_sig(f.ctype))})" for f, _ in best))
            return None
        return best[0][0]
