"""Member functions of structs (a mixin of `vgpu.frontend.check.Checker`): `__device__ T f(params)
[const] {...}` inside `struct S` is the device function `S::f` with a first parameter `S *this`
(`const S *this` for a const member function; none for a static one).  In its body a field `x` is
`this->x` and a call `g(...)` of another member function is `this->g(...)`; `obj.f(a)` and `p->f(a)`
call `S::f(&obj, a)` and `S::f(p, a)` (vgpu.frontend.check_operator resolves overloads).  Constructors
are member functions too (vgpu.frontend.check_ctor).  Virtual functions and member templates are not
supported (the parser rejects them).
"""
from __future__ import annotations

import copy
import dataclasses

from . import ast as A
from .ctypes import Array, StructInfo, StructType
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


def _member_def(m: A.FunctionDef, name: str, static: bool, fields: set, kinds: dict, short: str) -> A.FunctionDef:
    """The member function `m` as the device function `name`: `this` first (unless static), fields and
    member calls in its body through `this`."""
    fn = copy.deepcopy(m)
    fn.name = name
    fn.qualifiers = fn.qualifiers - {"static", "const", "explicit", "__ctor__"}
    if not static:
        this = A.TypeRef("__vgpu_this", frozenset({"const"}) if "const" in m.qualifiers else frozenset(),
                         [A.Pointer(span=m.span)], span=m.span)
        fn.params = [A.ParamDecl("this", this, span=m.span)] + list(fn.params)
    if fn.body is not None:
        shadowed = _declared(fn.body, {p.name for p in m.params if p.name})
        fn.body = _rewrite(fn.body, fields - shadowed, kinds, shadowed, short)
    return fn


class MethodChecker:
    """Needs the Checker's `error`, `unsupported`, `function`, `ctor_defs`, `scopes`."""

    def methods(self, d: A.StructDef, info: StructInfo, t: StructType) -> None:
        """Declare, then define, the member functions and constructors of the struct `t` just laid out."""
        info.methods = {}
        ctors = self.ctor_defs(d, info, t) if d.ctors or d.dtor or any(
            isinstance(f.ctype, (StructType, Array)) for f in info.fields) else []
        if not d.methods and not ctors:
            return
        if self.func is not None:
            self.unsupported(d.span, "member functions of structs defined inside a function are not supported yet")
            return
        short = info.name.split(" ", 1)[-1]
        bare = short.split("<", 1)[0]
        kinds = {m.name: "static" in m.qualifiers for m in d.methods}
        fields = {f.name for f in info.fields}
        self.scopes[-1]["__vgpu_this"] = TypeName("__vgpu_this", t)
        if bare != short:                        # in a struct template's members, its name is this instance
            self.scopes[-1][bare] = TypeName(bare, t)
        defs = []
        for m in d.methods + ctors:
            ctor = "__ctor__" in m.qualifiers
            name = bare if ctor else m.name
            if "__device__" not in m.qualifiers:     # a host member function: fine until device code calls it
                if ctor:
                    info.ctors.append(None)
                else:
                    info.methods[m.name] = (None, m.name_span or m.span)
                continue
            if not ctor and "explicit" in m.qualifiers:
                self.error(m.name_span or m.span, "'explicit' can only appear on constructors")
            fn = _member_def(m, f"{short}::{name}", not ctor and kinds[m.name], fields, kinds, short)
            proto = copy.copy(fn)
            proto.body = None
            f = self.function(proto, owner=info)
            if f is not None and m.access != "public":
                info.access[f.name] = m.access
            if f is not None and ctor and f not in info.ctors:
                info.ctors.append(f)
                f.explicit = "explicit" in m.qualifiers
            defs.append(fn)
        for name in kinds:                       # declared: the bodies may call each other
            f = self.scopes[0].get(f"{short}::{name}")
            if isinstance(f, Func) and name not in info.methods:
                info.methods[name] = (f, kinds[name])
        for fn in defs:
            if fn.body is not None:
                self.function(fn, owner=info)

    def out_of_line(self, d: A.FunctionDef) -> bool:
        """`T S::f(...) {...}` at file scope: define member f of struct S (False: S is no struct here)."""
        prefix, name = d.name.rsplit("::", 1)
        info = self.tags[0].get(prefix)
        if not isinstance(info, StructInfo) or not info.complete:
            return False
        if name not in info.methods:
            self.error(d.name_span or d.span, f"out-of-line definition of '{name}' does not match any declaration "
                                              f"in '{info.name}'")
            return True
        fn, static = info.methods[name]
        if fn is None:
            return True                                  # a host member function: not device code
        kinds = {k: v[1] if v[0] is not None else False for k, v in info.methods.items()}
        short = info.name.split(" ", 1)[-1]
        t = StructType(info)
        self.scopes[0]["__vgpu_this"] = TypeName("__vgpu_this", t)
        self.function(_member_def(d, f"{short}::{name}", static, {f.name for f in info.fields}, kinds, short),
                      owner=info)
        return True
