"""Member functions of structs (a mixin of `vgpu.frontend.check.Checker`): `__device__ T f(params)
[const] {...}` inside `struct S` is the device function `S::f` with a first parameter `S *this`
(`const S *this` for a const member function; none for a static one).  In its body a field `x` is
`this->x` and a call `g(...)` of another member function is `this->g(...)`; `obj.f(a)` and `p->f(a)`
call `S::f(&obj, a)` and `S::f(p, a)`.  Constructors, destructors, virtual functions and member
templates are not supported (the parser rejects them).
"""
from __future__ import annotations

import copy
import dataclasses

from . import ast as A
from .ctypes import ERROR, Pointer, StructInfo, StructType
from .symbols import Func, TypeName


def _declared(node, out: set) -> set:
    """The names declared anywhere under `node` (locals of a body)."""
    if isinstance(node, list):
        for x in node:
            _declared(x, out)
    elif isinstance(node, A.Node):
        if isinstance(node, (A.VarDecl, A.Typedef)):
            out.add(node.name)
        for f in dataclasses.fields(node):
            if f.name not in ("span", "ctype"):
                _declared(getattr(node, f.name), out)
    return out


def _rewrite(node, fields: set, methods: dict, shadowed: set, short: str):
    """`node` with fields as `this->x` and member calls as `this->g(...)` (`S::g(...)` if static)."""
    if isinstance(node, list):
        return [_rewrite(x, fields, methods, shadowed, short) for x in node]
    if not isinstance(node, A.Node):
        return node
    if isinstance(node, A.Call) and isinstance(node.func, A.Ident) and node.func.name in methods and \
            node.func.name not in shadowed:
        name, span = node.func.name, node.func.span
        node.func = A.Ident(f"{short}::{name}", span=span) if methods[name] else \
            A.Member(A.Ident("this", span=span), name, True, span=span)
    elif isinstance(node, A.Ident) and node.name in fields and node.name not in shadowed:
        return A.Member(A.Ident("this", span=node.span), node.name, True, span=node.span)
    for f in dataclasses.fields(node):
        if f.name not in ("span", "ctype"):
            setattr(node, f.name, _rewrite(getattr(node, f.name), fields, methods, shadowed, short))
    return node


class MethodChecker:
    """Needs the Checker's `error`, `unsupported`, `function`, `expr`, `is_lvalue`, `call_func`, `scopes`."""

    def methods(self, d: A.StructDef, info: StructInfo, t: StructType) -> None:
        """Declare, then define, the member functions of the struct `t` just laid out."""
        info.methods = {}
        if not d.methods:
            return
        if self.func is not None:
            self.unsupported(d.span, "member functions of structs defined inside a function are not supported yet")
            return
        short = info.name.split(" ", 1)[-1]
        kinds = {m.name: "static" in m.qualifiers for m in d.methods}
        fields = {f.name for f in info.fields}
        self.scopes[-1]["__vgpu_this"] = TypeName("__vgpu_this", t)
        defs = []
        for m in d.methods:
            if "__device__" not in m.qualifiers:     # a host member function: fine until device code calls it
                info.methods[m.name] = (None, m.name_span or m.span)
                continue
            fn = copy.deepcopy(m)
            fn.name = f"{short}::{m.name}"
            fn.qualifiers = fn.qualifiers - {"static", "const"}
            if not kinds[m.name]:
                this = A.TypeRef("__vgpu_this", frozenset({"const"}) if "const" in m.qualifiers else frozenset(),
                                 [A.Pointer(span=m.span)], span=m.span)
                fn.params = [A.ParamDecl("this", this, span=m.span)] + list(fn.params)
            if fn.body is not None:
                shadowed = _declared(fn.body, {p.name for p in m.params if p.name})
                fn.body = _rewrite(fn.body, fields - shadowed, kinds, shadowed, short)
            proto = copy.copy(fn)
            proto.body = None
            self.function(proto)
            defs.append(fn)
        for name in kinds:                       # declared: the bodies may call each other
            f = self.scopes[0].get(f"{short}::{name}")
            if isinstance(f, Func) and name not in info.methods:
                info.methods[name] = (f, kinds[name])
        for fn in defs:
            if fn.body is not None:
                self.function(fn)

    def method_call(self, e: A.Call, t: StructType, base_t) -> object:
        """`obj.f(args)` / `p->f(args)` of a member function: the call `S::f(&obj, args)`."""
        m = e.func
        fn, static = t.info.methods[m.name]
        if fn is None:
            self.error(m.span, f"member function '{m.name}' is a host function (declared at line {static.line}): "
                               "device code cannot call it")
            return ERROR
        if static:
            obj = []
        elif m.arrow:
            obj = [m.base]
        elif not self.is_lvalue(m.base):
            self.unsupported(m.span, f"calling member function '{m.name}' on a temporary is not supported: "
                                     "store it in a variable first")
            return ERROR
        else:
            obj = [A.Unary("&", m.base, span=m.base.span)]
        target = base_t.to if isinstance(base_t, Pointer) else base_t
        if obj and target.const and not fn.ctype.params[0].to.const:
            self.error(m.span, f"'this' argument to member function '{m.name}' has type 'const {t.info.name}', "
                               "but the function is not marked const")
            return ERROR
        e.func = A.Ident(fn.name, span=m.span)
        e.func.ctype = fn.ctype
        self.sema.refs[e.func] = fn
        e.args = obj + list(e.args)
        return self.call_func(e, fn)
