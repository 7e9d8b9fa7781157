"""The parse-tree builder's rules for structs, unions and classes, a mixin of `vgpu.frontend.parse._Builder`.

In:  the children of `struct_def` and of its members (fields, member functions, conversion operators,
     constructors, destructors, access labels), `operator@` names, base clauses.
Out: a `_TypeSpec` holding the StructDef (members with their access; a class's are private until a
     label) after the structs it nests, then the friend functions it defines (free FunctionDefs with
     `friend_of`); a constructor is a FunctionDef returning void with its member initialisers in
     `inits`; `operator+` is a declarator's name; a base clause is reported (no inheritance).
"""
from __future__ import annotations

from lark import Token

from . import ast
from .parse_records import _Align, _Declarator, _Specs, _TypeSpec, _Word


class ClassBuilder:
    """Needs the builder's `reporter`, `extent`, `tspan`, `qualify`, `type_ref`, `_function`."""

    def struct_def(self, children):
        kw, align, tag, base, *members = children
        span = self.extent(children)
        name = str(tag) if tag is not None else f"(anonymous {kw.text} at {span})"
        nested, fields, convs, methods, ctors, dtor, friends = [], [], [], [], [], None, []
        access = "private" if kw.text == "class" else "public"
        for defs, decls in members:
            if defs == "access":
                access = decls or access
            elif defs == "conversion":
                convs.append(decls)
            elif defs in ("method", "ctor", "dtor"):
                decls.access = access
                if defs == "method" and "friend" in decls.qualifiers:
                    decls.qualifiers = decls.qualifiers - {"friend"}
                    decls.friend_of = name
                    friends.append(decls)                       # a free function that may use members
                elif defs == "method":
                    methods.append(decls)
                elif decls.name != name and tag is not None:
                    self.reporter.error(decls.name_span, f"'{decls.name}' is not the name of '{kw.text} {name}': "
                                                         "a member function needs a return type")
                elif defs == "ctor":
                    ctors.append(decls)
                else:
                    dtor = decls
            else:
                for f in decls:
                    f.access = access
                nested += defs
                fields += decls
        struct_def = ast.StructDef(name, fields, kw.text == "union", convs, methods, span=span, ctors=ctors, dtor=dtor,
                                   is_class=kw.text == "class", align=align.value if align is not None else None)
        return _TypeSpec(f"{'struct' if kw.text == 'class' else kw.text} {name}", span, nested + [struct_def] + friends)

    def struct_ref(self, children):
        kw, tag = children
        return _TypeSpec(f"{'struct' if kw.text == 'class' else kw.text} {tag}", self.extent(children))

    def member_declarator(self, children):
        decl, width = children
        if width is not None:
            self.reporter.error(width.span, "bit-fields are not supported: use a whole integer field (or shifts "
                                            "and masks on one)")
        return decl

    def bit_width(self, children):
        return children[0]

    def aligned_member(self, children):
        """`alignas(N) T x;` in a struct: the field at (at least) that alignment (the strictest, if several)."""
        aligns = [c for c in children if isinstance(c, _Align)]
        defs, fields = self.struct_member(children[len(aligns):])
        for f in fields:
            f.align = [a.value for a in aligns]
        return defs, fields

    def struct_member(self, children):
        specs, *decls = children
        fields = [ast.VarDecl(d.name, self.type_ref(specs, d.derived, d.span, d.ref), span=d.span, name_span=d.name_span)
                  for d in decls if d is not None]
        return specs.defs, fields

    def member_function(self, children):
        """`__device__ T f(params) [const] {...}` inside a struct: a method (vgpu.frontend.check_method)."""
        decl = next(c for c in children if isinstance(c, _Declarator))
        words = [c for c in children if isinstance(c, _Word)]
        tspecs = next(c for c in children if isinstance(c, _Specs))
        body = children[-1] if isinstance(children[-1], ast.Compound) else None
        specs = _Specs(tspecs.base, tspecs.quals, frozenset(w.text for w in words if w.kind == "storage"),
                       tspecs.launch_bounds, tspecs.defs, tspecs.span, tspecs.targs)
        fn = self._function(specs, decl, body, self.extent(children))
        after = [c for c in children[children.index(decl) + 1:] if isinstance(c, _Word) and c.kind == "qual"]
        if any(w.text == "const" for w in after):
            fn.qualifiers = fn.qualifiers | {"const"}
        return "method", fn

    def struct_specialisation(self, children):
        kw, tname, *members = children
        spec = self.struct_def([kw, None, None, None, *members])
        sd = spec.defs[-1]
        sd.name, sd.targs = tname.name, tname.args
        return _TypeSpec(f"{kw.text} {tname.name}<>", spec.span, spec.defs)

    def conversion_operator(self, children):
        words = [c for c in children if isinstance(c, _Word)]
        op = next(c for c in children if isinstance(c, Token) and c.type == "OPERATOR")
        ret = next(c for c in children if isinstance(c, ast.TypeRef))
        body = children[-1]
        quals = frozenset(w.text for w in words if w.kind == "storage")
        fn = ast.FunctionDef("operator", ret, [], body, quals, span=self.extent(children), name_span=self.tspan(op))
        return "conversion", fn

    # -- classes: constructors, destructors, access, operators ---------------------------------------

    def access_label(self, children):
        return "access", str(children[0])

    def _ctor(self, children, kind: str):
        words = [c for c in children if isinstance(c, _Word)]
        name = next(c for c in children if isinstance(c, Token) and c.type in ("FCAST", "IDENTIFIER"))
        params = next((c for c in children if hasattr(c, "params") and hasattr(c, "args")), None)
        inits = next((c for c in children if isinstance(c, list)), [])
        body = children[-1]
        quals = frozenset(w.text for w in words if w.kind == "storage")
        if params is not None and params.args is not None:
            self.reporter.error(params.args[0].span, "expected a parameter declaration")
        fn = ast.FunctionDef(str(name), ast.TypeRef("void", span=self.tspan(name)), params.params if params else [],
                             body if isinstance(body, ast.Compound) else None, quals, span=self.extent(children),
                             name_span=self.tspan(name), inits=inits, default=body == "default")
        return kind, fn

    def constructor(self, children):
        return self._ctor(children, "ctor")

    def destructor(self, children):
        return self._ctor(children, "dtor")

    def ctor_inits(self, children):
        return [c for c in children if isinstance(c, tuple)]

    def mem_init(self, children):
        name, *rest = children
        if len(rest) == 1 and hasattr(rest[0], "items") and not isinstance(rest[0], ast.Node):
            return str(name), rest[0].items, self.extent(children), True          # f{a, b}
        args = [a for a in rest if a is not None and not isinstance(a, Token)]
        return str(name), args, self.extent(children), False

    def ctor_body(self, children):
        if isinstance(children[0], ast.Compound):
            return children[0]
        return "default" if len(children) > 1 else None

    def operator_name(self, children):
        op, sym = children
        if sym in ("->", ","):
            self.reporter.error(self.extent(children), f"overloading operator{sym} is not supported")
        name = f"{self.qualify(str(op))}{sym}" if op.type == "SCOPED_OPERATOR" else f"operator{sym}"
        return Token.new_borrow_pos("IDENTIFIER", name, op)

    def overloadable(self, children):
        return "".join(str(c) for c in children)

    def member_template(self, children):
        self.reporter.error(self.extent(children), "member templates (a template inside a struct or class) are "
                                                   "not supported")
        return "access", None

    def base_clause(self, children):
        self.reporter.error(self.extent(children), "inheritance (a base class) is not supported")
        return None
