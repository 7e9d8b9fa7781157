"""C++ operator overloading and member calls (a mixin of `vgpu.frontend.check.Checker`).

In:  an expression whose operand is a struct (`a + b`, `-a`, `a += b`, `a = b` with an `operator=`, `a[i]`,
     `f(x)` of an object `f`), a member call `obj.f(args)`, a constructor call, a function returning a
     reference.
Out: the expression is rewritten (`sema.rewrites[e]`) to the call of the operator function overload
     resolution picks among the members of the left operand's struct (`S::operator+(&a, b)`) and the
     free functions of that name (`operator+(a, b)`), as C++ ranks them (an exact match of the object
     beats adding const to it).  An object that is not an lvalue (a temporary) is passed by the address
     of a copy.  A function returning `T &` returns a `T *` (`return x;` is `return &x;`) and its calls
     are rewritten to `*call`, an lvalue.  Built-in types keep built-in operators; `a = b` and `a @= b`
     evaluate `b` first, as C++17 does for overloaded operators too.
"""
from __future__ import annotations

import dataclasses

from . import ast as A
from .check_cpp import _beats, _fn_sig, _rank
from .check_half2 import is_half2
from .ctypes import ERROR, CType, ErrorType, Pointer, StructType, decay, is_half, same, spell, unqual
from .symbols import Func, Var

UNARY = ("-", "+", "!", "~", "++", "--")


def _class(t: CType) -> bool:
    t = unqual(decay(t)) if t is not None else None
    return isinstance(t, StructType) and not is_half2(t) and not is_half(t)


def _returns(node, out: list) -> list:
    """The Return statements under `node`."""
    if isinstance(node, list):
        for x in node:
            _returns(x, out)
    elif isinstance(node, A.Return):
        out.append(node)
    elif isinstance(node, A.Stmt):
        for f in dataclasses.fields(node):
            if f.name != "span":
                _returns(getattr(node, f.name), out)
    return out


class OperatorChecker:
    """Needs the Checker's `error`, `value`, `expr`, `lookup`, `call_func`, `is_lvalue`, `is_null`, `root_ident`."""

    # -- references returned -------------------------------------------------------------------------
    def ref_return(self, d: A.FunctionDef) -> None:
        """`T &f(...)`: f returns a `T *`, each `return x;` returns `&x` (`d.ret_ref` says so)."""
        d.ret = dataclasses.replace(d.ret, ref=False, derived=list(d.ret.derived) + [A.Pointer(span=d.ret.span)])
        d.ret_ref = True
        for r in _returns(d.body.items if d.body is not None else [], []):
            if r.value is not None:
                r.value = A.Unary("&", r.value, span=r.value.span)
                self.ref_returns.add(r.value)

    def deref_call(self, e: A.Call, ret: Pointer) -> CType:
        """A call of a function returning a reference: `e` becomes `*call`, an lvalue of the referee."""
        inner = A.Call(e.func, e.args, span=e.span)
        inner.ctype = ret
        self.sema.calls[inner] = self.sema.calls[e]
        deref = A.Unary("*", inner, span=e.span)
        deref.ctype = ret.to
        self.sema.rewrites[e] = deref
        return ret.to

    # -- overload resolution -----------------------------------------------------------------------------
    def _ranks(self, f: Func, args: list, skip: int) -> list | None:
        """C++'s conversion ranks of `args` to f's parameters after the first `skip`; None: not viable."""
        params, refs = f.ctype.params[skip:], (f.refs or (False,) * len(f.ctype.params))[skip:]
        defaults = (f.defaults or [None] * len(f.ctype.params))[skip:]
        need = len(params) - sum(1 for x in defaults if x is not None)
        if not need <= len(args) <= len(params):
            return None
        out = []
        for p, a, r in zip(params, args, refs):
            k = _rank(p, a.ctype, a, self.is_null(a))
            if k is None and (p.const or not r) and self.converting_ctor(p, a) is not None:
                k = 3                                    # a user-defined conversion: S(a)
            if k is None or r and not p.const and (k or not self.is_lvalue(a) or a.ctype.const):
                return None
            out.append((k, r, bool(r and p.const and not a.ctype.const)))
        return out

    def converting_ctor(self, p: CType, a: A.Expr) -> Func | None:
        """The constructor of struct `p` that converts `a` implicitly (one argument, not explicit)."""
        p = unqual(p)
        if not isinstance(p, StructType) or _class(a.ctype) and same(unqual(decay(a.ctype)), p):
            return None
        fits = [f for f in p.info.ctors if f is not None and not f.explicit and
                len(f.ctype.params) - sum(1 for x in (f.defaults or [])[2:] if x is not None) <= 2 <=
                len(f.ctype.params) and _rank(f.ctype.params[1], a.ctype, a, self.is_null(a)) is not None]
        return fits[0] if len(fits) == 1 else None

    def _converted(self, f: Func, args: list, skip: int) -> list:
        """`args` with each one that needs a converting constructor made a temporary `S(a)`."""
        out = [self.convert_arg(p, a) for p, a in zip(f.ctype.params[skip:], args)]
        return out + list(args[len(out):])

    def convert_arg(self, p: CType, a: A.Expr) -> A.Expr:
        """The checked argument `a` for a parameter of type `p`: itself, or the temporary `S(a)` when only
        a converting constructor of struct `p` makes it fit."""
        if _rank(p, a.ctype, a, self.is_null(a)) is None and self.converting_ctor(p, a) is not None:
            tmp = A.FunctionalCast(A.TypeRef("(converted)", span=a.span), [a], span=a.span)
            tmp.ctype = self.temporary(tmp, unqual(p), [a])
            return tmp
        return a

    def _object_rank(self, f: Func, obj: A.Expr, ctor: bool) -> tuple | None:
        """The rank of binding `obj` to f's `this` (an exact match, by reference, adding const or not);
        None: it would drop const."""
        this = f.ctype.params[0].to
        if ctor or this.const == obj.ctype.const:
            return 0, True, False
        return (0, True, True) if this.const else None

    def rank_call(self, e, group: list, obj: A.Expr | None, args: list, what: str, free: list = (),
                  ctor: bool = False, operands: bool = False) -> A.Expr | None:
        """Call the best of the member functions `group` (on `obj`; None: static ones) and the free
        functions `free` (on obj and args) with `args` (checked); the checked call expression, or None
        (reported) when none is viable or two are equally good.  `operands`: obj is an operator's
        operand (named in the message)."""
        cands = []
        for f in group:
            o = self._object_rank(f, obj, ctor) if obj is not None else 0
            r = self._ranks(f, args, 1 if obj is not None else 0) if o is not None else None
            if r is not None:
                cands.append((f, obj is not None, [o] + r if obj is not None else r))
        for f in free:
            r = self._ranks(f, ([obj] if obj is not None else []) + list(args), 0)
            if r is not None:
                cands.append((f, False, r))
        best = [c for c in cands if not any(_beats(c2[2], c[2]) for c2 in cands)]
        types = ", ".join(spell(a.ctype) for a in ([obj] if obj is not None and operands else []) + list(args))
        if len(best) != 1:
            every = list(group) + list(free)
            if not best and len(every) == 1 and obj is not None and every[0] in group and \
                    self._object_rank(every[0], obj, ctor) is None:
                self.error(e.span, f"'this' argument to member function '{every[0].name.rsplit('::', 1)[-1]}' has "
                                   f"type '{spell(obj.ctype)}', but the function is not marked const")
                return None
            sigs = "; ".join(_sig(f, f in group and obj is not None) for f in (every if not best else
                                                                                 [c[0] for c in best]))
            self.error(e.span, f"{'no matching' if not best else 'ambiguous call to'} {what} for arguments "
                               f"({types}); candidates: {sigs}")
            return None
        f, member, _ = best[0]
        self.check_access(f, e.span)
        span = getattr(e, "func", e).span
        if member:
            call_args = [self.object_arg(obj, ctor)] + self._converted(f, list(args), 1)
        else:
            call_args = self._converted(f, ([obj] if obj is not None and f in free else []) + list(args), 0)
        call = A.Call(A.Ident(f.name, span=span), call_args, span=e.span)
        call.func.ctype = f.ctype
        self.sema.refs[call.func] = f
        call.ctype = self.call_func(call, f, checked=True)
        return self.sema.rewrites.get(call, call)

    def object_arg(self, obj: A.Expr, ctor: bool = False) -> A.Expr:
        """`&obj` for a member function's `this` (of a copy, when obj is a temporary); a constructor's
        object is not const yet."""
        amp = A.Unary("&", obj, span=obj.span)
        amp.ctype = Pointer(unqual(obj.ctype) if ctor else obj.ctype)
        root = self.root_ident(obj) if self.is_lvalue(obj) else None
        if root is not None and isinstance(self.sema.refs.get(root), Var):
            self.sema.refs[root].address_taken = True
        return amp

    def check_access(self, f: Func, span) -> None:
        owner = f.owner
        if owner is not None and f.name in owner.access and (self.func is None or self.func.owner is not owner):
            name = f.name.split("(", 1)[0].rsplit("::", 1)[-1]
            self.error(span, f"'{name}' is a {owner.access[f.name]} member of '{owner.name}'")

    def members(self, t: CType, name: str) -> tuple[list, bool]:
        """The overloads of member function `name` of struct `t` (and whether they are static)."""
        t = unqual(decay(t))
        fn, static = t.info.methods.get(name, (None, False)) if isinstance(t, StructType) else (None, False)
        return (list(fn.overloads or [fn]) if fn is not None else []), static

    def free_functions(self, name: str) -> list:
        fn = self.lookup(name)
        return list(fn.overloads or [fn]) if isinstance(fn, Func) else []

    # -- operators -----------------------------------------------------------------------------------
    def user_operator(self, e: A.Expr, op: str, operands: list, rtl: bool = False) -> CType | None:
        """`e`, an operator on checked `operands` of which one is a struct: the call of its overload
        (e rewritten), ERROR (reported), or None when no `operator<op>` exists (built-in rules apply)."""
        if not any(_class(x.ctype) for x in operands):
            return None
        name = "operator" + op
        group = self.members(operands[0].ctype, name)[0] if _class(operands[0].ctype) else []
        group = [f for f in group if f is not None and len(f.ctype.params) == len(operands)]
        free = [f for f in self.free_functions(name) if len(f.ctype.params) >= len(operands)] \
            if op not in ("=", "[]", "()") else []
        if not group and not free:
            return None
        call = self.rank_call(e, group, operands[0], operands[1:], f"'{name}'", free, operands=True)
        if call is None:
            return ERROR
        if rtl:
            inner = call.operand if isinstance(call, A.Unary) else call
            self.sema.calls[inner].attrs["rtl"] = True
        self.sema.rewrites[e] = call
        return call.ctype

    def call_operator(self, e: A.Call, ft: CType) -> CType:
        """`f(args)` where f is an object: `f.operator()(args)`."""
        for a in e.args:
            self.value(a)
        if any(isinstance(a.ctype, ErrorType) for a in e.args):
            return ERROR
        group = self.members(ft, "operator()")[0]
        if not group:
            self.error(e.func.span, f"type '{spell(ft)}' does not provide a call operator")
            return ERROR
        call = self.rank_call(e, group, e.func, e.args, "'operator()'")
        if call is None:
            return ERROR
        self.sema.rewrites[e] = call
        return call.ctype

    def method_call(self, e: A.Call, t: StructType, base_t) -> CType:
        """`obj.f(args)` / `p->f(args)` of a member function: the call `S::f(&obj, args)`."""
        m = e.func
        fn, static = t.info.methods[m.name]
        if fn is None:
            self.error(m.span, f"member function '{m.name}' is a host function (declared at line {static.line}): "
                               "device code cannot call it")
            return ERROR
        for a in e.args:
            self.value(a)
        if any(isinstance(a.ctype, ErrorType) for a in e.args):
            return ERROR
        obj = None
        if not static:
            obj = m.base
            if m.arrow:
                obj = A.Unary("*", m.base, span=m.base.span)
                obj.ctype = base_t.to if isinstance(base_t, Pointer) else decay(base_t).to
        call = self.rank_call(e, list(fn.overloads or [fn]), obj, e.args, f"member function '{m.name}'")
        if call is None:
            return ERROR
        self.sema.rewrites[e] = call
        return call.ctype


def _sig(f: Func, member: bool) -> str:
    """`S::f(int, float)`, without the `this` of a member function."""
    name = f.name.split("(", 1)[0]
    return f"{name}({', '.join(_fn_sig(f.ctype)[1 if member else 0:])})"
