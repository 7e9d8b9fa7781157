"""Templates (a mixin of `vgpu.frontend.check.Checker`): function and struct templates with type and
non-type parameters, explicit arguments (`f<256, true>(x)`), deduction from call arguments,
explicit instantiation (`template __global__ void k<1>(int *);`), explicit specialisation
(`template <> __device__ int f<int>(int)`), and functional casts `float(x)`.

Each instantiation is a copy of the template's AST checked at file scope with the parameters bound
(a type parameter as a typedef, a value parameter as a constant, so `if (blockSize >= 64)` folds),
named as C++ prints it: `reduce<256, true>`, `add<float>`.  That name is the kernel's module name.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from . import ast as A
from .consteval import convert
from .ctypes import (ERROR, Bool, CType, ErrorType, Pointer, StructType, decay, is_arith, is_integer, spell,
                     unqual)
from .symbols import EnumConst, Func, TypeName


@dataclass(eq=False)
class Template:
    name: str
    params: list                                  # A.TemplateParam
    decl: A.FunctionDef | A.StructDef
    span: object
    instances: dict = field(default_factory=dict)   # key -> Func | StructType
    specs: dict = field(default_factory=dict)       # key -> A.FunctionDef (explicit specialisations)


def _key_text(params, values) -> str:
    out = []
    for p, v in zip(params, values):
        if p.kind == "type":
            out.append(spell(v))
        elif isinstance(p.ctype, Bool):
            out.append("true" if v else "false")
        else:
            out.append(str(v))
    return ", ".join(out)


class TemplateChecker:
    """Needs the Checker's scopes, `resolve`, `expr`, `value`, `const_value`, `function`, `struct_def`."""

    def template_decl(self, d: A.TemplateDecl) -> None:
        decl = d.decl
        if isinstance(decl, A.DeclStmt):
            structs = [x for x in decl.decls if isinstance(x, A.StructDef)]
            decl = structs[0]
        name = decl.name
        if isinstance(decl, A.StructDef) and decl.targs is not None:      # template <> struct S<args> {...}
            tpl = self.scopes[0].get(name)
            if not isinstance(tpl, Template) or isinstance(tpl.decl, A.FunctionDef):
                self.error(d.span, f"'{name}' is not a struct template")
                return
            values = self.template_values(tpl, decl.targs, [], d.span)
            if values is not None:
                tpl.specs[tuple(map(_hashable, values))] = decl
            return
        if name in self.scopes[0]:
            self.error(d.span, f"redefinition of '{name}'")
            return
        self.scopes[0][name] = Template(name, d.params, decl, d.span)

    def specialisation(self, d: A.FunctionDef) -> None:
        """`template <> f<args>(...) {...}` and `template f<args>(...);`."""
        tpl = self.scopes[0].get(d.name)
        if not isinstance(tpl, Template):
            self.error(d.name_span or d.span, f"'{d.name}' is not a template")
            return
        values = self.template_values(tpl, d.targs, [], d.span)
        if values is None:
            return
        if d.explicit:
            self.instantiate(tpl, values, d.span)
        else:
            tpl.specs[tuple(map(_hashable, values))] = d

    # -- arguments ---------------------------------------------------------------------------------
    def template_values(self, tpl: Template, args: list, call_args: list, span) -> list | None:
        """The value of every parameter: explicit arguments, then deduced, then defaults."""
        params = tpl.params
        if len(args) > len(params):
            self.error(span, f"too many template arguments for '{tpl.name}'")
            return None
        bound: dict[str, object] = {}
        for p, a in zip(params, args):
            v = self.template_arg(p, a)
            if v is None:
                return None
            bound[p.name] = v
        if call_args and isinstance(tpl.decl, A.FunctionDef):
            self.deduce(tpl, call_args, bound, span)
        out = []
        for p in params:
            if p.name not in bound and p.default is not None:
                with self.template_scope(tpl, bound):
                    bound[p.name] = self.template_arg(p, copy.deepcopy(p.default))
            if bound.get(p.name) is None:
                self.error(span, f"no matching function for call to '{tpl.name}': couldn't deduce template "
                                 f"parameter '{p.name}'" if isinstance(tpl.decl, A.FunctionDef) else
                           f"too few template arguments for '{tpl.name}'")
                return None
            out.append(bound[p.name])
        return out

    def template_arg(self, p: A.TemplateParam, a):
        if p.kind == "type":
            if isinstance(a, A.Ident):             # a struct or typedef name the lexer did not know
                a = A.TypeRef(a.name, span=a.span)
            if not isinstance(a, A.TypeRef):
                self.expr(a)
                self.error(a.span, f"template argument for type parameter '{p.name}' must be a type")
                return None
            t = self.resolve(a)
            return None if isinstance(t, ErrorType) else t
        if isinstance(a, A.TypeRef):
            self.error(a.span, f"template argument for non-type parameter '{p.name}' must be an expression")
            return None
        t = self.expr(a)
        pt = unqual(self.resolve(p.type))
        p.ctype = pt
        c = self.const_value(a)
        if c is None or not (is_integer(t) or isinstance(t, Bool)) or not is_integer(pt) and not isinstance(pt, Bool):
            self.error(a.span, f"non-type template argument for '{p.name}' is not an integral constant expression")
            return None
        return convert(c, decay(t), pt)

    def deduce(self, tpl: Template, call_args: list, bound: dict, span) -> None:
        kinds = {p.name: p.kind for p in tpl.params}
        for prm, arg in zip(tpl.decl.params, call_args):
            ref = prm.type
            at = arg.ctype if ref.ref else decay(arg.ctype)
            if at is None or isinstance(at, ErrorType):
                continue
            levels = [d for d in ref.derived if isinstance(d, A.Pointer)]
            if ref.base not in kinds or kinds[ref.base] != "type" or len(levels) != len(ref.derived):
                continue
            t = at
            for _ in levels:
                if not isinstance(t, Pointer):
                    t = None
                    break
                t = t.to
            if t is None:
                continue
            t = unqual(t)
            old = bound.get(ref.base)
            if old is None:
                bound[ref.base] = t
            elif spell(old) != spell(t):
                self.error(span, f"no matching function for call to '{tpl.name}': deduced conflicting types "
                                 f"for parameter '{ref.base}' ('{spell(old)}' vs. '{spell(t)}')")

    # -- instantiation -------------------------------------------------------------------------------
    def template_scope(self, tpl: Template, bound: dict):
        checker = self

        class _Scope:
            def __enter__(self):
                self.saved = (checker.scopes, checker.tags, checker.func, checker.loops, checker.switches,
                              checker.callee)
                scope = {}
                for p in tpl.params:
                    if p.name in bound:
                        v = bound[p.name]
                        scope[p.name] = TypeName(p.name, v) if p.kind == "type" else \
                            EnumConst(p.name, v, getattr(p, "ctype", None) or unqual(checker.resolve(p.type)))
                checker.scopes = [checker.scopes[0], scope]
                checker.tags = [checker.tags[0], {}]
                checker.func, checker.loops, checker.switches = None, 0, []

            def __exit__(self, *exc):
                (checker.scopes, checker.tags, checker.func, checker.loops, checker.switches,
                 checker.callee) = self.saved
        return _Scope()

    def instantiate(self, tpl: Template, values: list, span):
        key = tuple(map(_hashable, values))
        if key in tpl.instances:
            return tpl.instances[key]
        for p, v in zip(tpl.params, values):
            if p.kind == "value":
                p.ctype = getattr(p, "ctype", None) or unqual(self.resolve(p.type))
        name = f"{tpl.name}<{_key_text(tpl.params, values)}>"
        depth = getattr(self, "_tdepth", 0)
        if depth > 64:
            self.error(span, f"template instantiation of '{name}' nested too deeply (recursive template?)")
            tpl.instances[key] = None
            return None
        self._tdepth = depth + 1
        bound = {p.name: v for p, v in zip(tpl.params, values)}
        try:
            with self.template_scope(tpl, bound):
                if isinstance(tpl.decl, A.FunctionDef):
                    d = copy.deepcopy(tpl.specs.get(key) or tpl.decl)
                    d.name, d.targs = name, None
                    self.function(d)
                    result = self.scopes[0].get(name)
                else:
                    d = copy.deepcopy(tpl.specs.get(key) or tpl.decl)
                    d.name, d.targs = name, None
                    result = self.struct_def(d)
        finally:
            self._tdepth = depth
        tpl.instances[key] = result
        return result

    # -- uses ------------------------------------------------------------------------------------------
    def e_TemplateId(self, e: A.TemplateId):
        tpl = self.lookup(e.name) or self.prelude(e.name)
        if not isinstance(tpl, Template):
            self.error(e.span, f"'{e.name}' is not a template here" if tpl is not None else
                       f"use of undeclared identifier '{e.name}'")
            return ERROR
        if not isinstance(tpl.decl, A.FunctionDef):
            self.error(e.span, f"'{e.name}' is a struct template, not a function")
            return ERROR
        call_args = getattr(self, "_call_args", [])
        values = self.template_values(tpl, e.args, call_args, e.span)
        fn = self.instantiate(tpl, values, e.span) if values is not None else None
        if not isinstance(fn, Func):
            return ERROR
        self.sema.refs[e] = fn
        return fn.ctype

    def deduced_call(self, e: A.Call, tpl: Template):
        """`f(x)` where f is a function template: check the arguments, deduce, instantiate."""
        for a in e.args:
            self.value(a)
        if any(isinstance(a.ctype, ErrorType) for a in e.args):
            return None
        values = self.template_values(tpl, [], e.args, e.span)
        fn = self.instantiate(tpl, values, e.span) if values is not None else None
        return fn if isinstance(fn, Func) else None

    def template_type(self, ref: A.TypeRef) -> CType:
        tpl = self.lookup(ref.base) or (self.prelude(ref.base) if ref.base.startswith("__vgpu_") else None)
        if not isinstance(tpl, Template) or isinstance(tpl.decl, A.FunctionDef):
            self.error(ref.span, f"unknown template type '{ref.base}'")
            return ERROR
        values = self.template_values(tpl, ref.targs, [], ref.span)
        t = self.instantiate(tpl, values, ref.span) if values is not None else None
        return t if t is not None else ERROR

    def e_FunctionalCast(self, e: A.FunctionalCast) -> CType:
        t = self.resolve(e.type)
        if isinstance(t, ErrorType):
            for a in e.args:
                self.expr(a)
            return ERROR
        if isinstance(t, StructType) and (t.info.ctors or e.braces):     # S(a, b), S{a, b}: a temporary
            return self.temporary(e, t, e.args, e.braces)
        if isinstance(t, StructType) and not e.args:          # S(): a value-initialised temporary
            return unqual(t)
        if len(e.args) > 1 or not is_arith(t) and not isinstance(t, Pointer):
            for a in e.args:
                self.expr(a)
            self.unsupported(e.span, f"functional-notation construction of '{spell(t)}' with "
                                     f"{len(e.args)} arguments is not supported yet")
            return ERROR
        if e.args:
            st = self.value(e.args[0])
            if not isinstance(st, ErrorType) and not (is_arith(st) and is_arith(t)) and \
                    not isinstance(t, Pointer):
                self.error(e.span, f"cannot convert '{spell(st)}' to '{spell(t)}'")
        return unqual(t)


def _hashable(v):
    return ("t", spell(v)) if isinstance(v, CType) else ("v", v)
