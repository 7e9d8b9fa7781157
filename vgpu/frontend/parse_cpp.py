"""The parse-tree builder's C++ rules (tier 4), a mixin of `vgpu.frontend.parse._Builder`: templates
and their arguments, explicit instantiation, `using`, functional casts, `static_assert`, C++ casts
(structs and classes: vgpu.frontend.parse_class)."""
from __future__ import annotations

from lark import Token

from . import ast
from .parse_records import _TemplateName, _canonical, _decode_escapes
from .tokens import PARSE_FILTER, TYPE_WORD_ORDER


class CppBuilder:
    """Needs the builder's `reporter`, `aliases`, `qualify`, `extent`, `tspan`, `type_ref`, `struct_def`,
    `using_cg`."""

    # -- tier 4: templates, using, functional casts ----------------------------------------------

    def using_namespace(self, children):
        name = self.qualify(str(children[1]))
        if name == "std" or name.startswith("std::"):
            return []                          # nothing of std is used by device code that vgpu names
        if all(part in PARSE_FILTER.namespaces for part in name.split("::")):
            return []                          # a namespace block of this file: its names are at file scope
        self.using_cg = True
        if name != "cooperative_groups" and self.aliases.get(name) != "cooperative_groups":
            self.reporter.error(self.tspan(children[1]), f"unknown namespace '{name}' (vgpu knows "
                                                          "cooperative_groups and std)")
        return []

    def using_alias(self, children):
        _, name, tref = children
        return [ast.DeclStmt([ast.Typedef(str(name), tref, span=self.extent(children))], span=self.extent(children))]

    def template_decl(self, children):
        params = [p for p in children[1:-1] if isinstance(p, ast.TemplateParam)]
        body = children[-1]
        items = body if isinstance(body, list) else [body]
        mains = [d for d in items if isinstance(d, ast.FunctionDef) or
                 (isinstance(d, ast.DeclStmt) and any(isinstance(x, ast.StructDef) for x in d.decls))]
        span = self.extent(children)
        if not params and mains and isinstance(mains[-1], ast.FunctionDef) and mains[-1].targs is not None:
            return [mains[-1]]                     # template <> f<int>(...): a specialisation
        if not params and len(mains) == 1 and isinstance(mains[0], ast.DeclStmt):
            sd = next(x for x in mains[0].decls if isinstance(x, ast.StructDef))
            if sd.targs is not None:
                return [ast.TemplateDecl([], mains[0], span=span)]     # template <> struct S<double> {...}
        if len(mains) != 1:
            self.reporter.error(span, "a template must declare one function or one struct")
            return []
        return [ast.TemplateDecl(params, mains[0], span=span)]

    def explicit_instantiation(self, children):
        body = children[-1]
        items = body if isinstance(body, list) else [body]
        fns = [d for d in items if isinstance(d, ast.FunctionDef)]
        if len(fns) != 1 or fns[0].body is not None:
            self.reporter.error(self.extent(children), "explicit instantiation: write `template __global__ void "
                                                       "name<args>(params);`")
            return []
        fns[0].explicit = True
        return fns

    def type_param(self, children):
        _, name, default = children
        return ast.TemplateParam(str(name), "type", None, default, span=self.tspan(name))

    def value_param(self, children):
        specs, name, default = children
        return ast.TemplateParam(str(name), "value", self.type_ref(specs, [], specs.span), default,
                                 span=self.tspan(name))

    def template_args(self, children):
        return [c for c in children if c is not None and not isinstance(c, Token)]

    def targ_expr(self, children):
        return self.binary_expr(children)

    def template_type(self, children):
        tok, args = children
        return _TemplateName(str(tok), args, self.extent(children))

    def template_name(self, children):
        tok, args = children
        return _TemplateName(self.qualify(str(tok)), args, self.extent(children))

    def functional_cast(self, children):
        tok = children[0]
        args = [a for a in children[1:] if a is not None and not isinstance(a, Token)]
        span = self.extent(children)
        words = str(tok)
        base = _canonical([words]) if words in TYPE_WORD_ORDER else self.qualify(words)
        return ast.FunctionalCast(ast.TypeRef(base or "int", span=self.tspan(tok)), args, span=span)

    def functional_brace(self, children):
        """`S{a, b}`: a temporary list-initialised."""
        tok, brace = children
        e = self.functional_cast([tok, *brace.items])
        e.span, e.braces = self.extent(children), True
        return e

    def static_assert(self, children):
        cond = children[1]
        msg = b"".join(_decode_escapes(str(t)[1:-1], self.tspan(t), self.reporter)
                       for t in children[2:] if isinstance(t, Token) and t.type == "STRING")
        return ast.StaticAssert(cond, msg.decode("utf-8", "replace"), span=self.extent(children))

    def cxx_cast(self, children):
        """`static_cast<T>(e)`, `reinterpret_cast<T>(e)`, `const_cast<T>(e)`: the conversion a C cast
        `(T)e` makes (vgpu checks them as C casts)."""
        tref, operand = [c for c in children if not isinstance(c, Token)]
        return ast.Cast(tref, operand, span=self.extent(children))

    def template_expr(self, children):
        t = children[0]
        return ast.TemplateId(t.name, t.args, span=t.span)
