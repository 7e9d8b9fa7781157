"""Constructors of structs and classes (a mixin of `vgpu.frontend.check.Checker`).

In:  a StructDef's constructors (FunctionDefs whose `inits` are the member initialisers), and every place
     an object is initialised: `S v(a, b);`, `S v{a, b};`, `S v = {a, b};`, `S v;`, `S v = x;`, `S(a, b)`
     as an expression, the member initialisers themselves.
Out: a constructor is the member function `S::S(S *this, params)` (vgpu.frontend.check_method) whose body
     first initialises every field in declaration order (from its initialiser, else by its default
     constructor, else not at all), then runs the written body.  An initialisation is an `A.Construct`
     (`sema.constructs`: the call `S::S(&v, a, b)`, or a copy, or zero); a variable's is in
     `sema.ctor_inits`; a temporary `S(a, b)` is rewritten to `(Construct(tmp, a, b), tmp)` with a fresh
     local `tmp`.  A struct without constructors keeps C's rules (aggregates, uninitialised locals); one
     whose fields need constructing gets the implicit default constructor.  Copies are bitwise: user
     copy constructors are rejected, and so are destructors that do something.
"""
from __future__ import annotations

from . import ast as A
from .ctypes import ERROR, VOID, Array, CType, ErrorType, StructType, has_union, is_scalar, same, spell, unqual
from .symbols import Var


def needs_ctor(t: CType) -> bool:
    """Whether default-initialising a `t` runs a constructor."""
    while isinstance(t, Array):
        t = t.elem
    return isinstance(t, StructType) and bool(t.info.ctors)


def _default_ctor(t: CType) -> bool:
    """Whether struct `t` (or the element type of array `t`) has a constructor taking no arguments."""
    while isinstance(t, Array):
        t = t.elem
    return any(f is None or len(f.ctype.params) - sum(1 for x in (f.defaults or []) if x is not None) <= 1
               for f in t.info.ctors)


def has_user_ctor(t: CType) -> bool:
    """Whether `t` is or holds (in a field or element) an object of a struct with its own constructors."""
    while isinstance(t, Array):
        t = t.elem
    if not isinstance(t, StructType):
        return False
    return bool(t.info.ctors) and not t.info.implicit_ctor or any(has_user_ctor(f.ctype) for f in t.info.fields)


class CtorChecker:
    """Needs the Checker's `error`, `expr`, `value`, `resolve`, `declare`, `call_func`, `rank_call`, `sema`."""

    # -- declaring -----------------------------------------------------------------------------------
    def ctor_defs(self, d: A.StructDef, info, t: StructType) -> list:
        """The FunctionDefs of `d`'s constructors as member functions named `bare` (the implicit default
        one if `d` declares none and a field needs constructing), their bodies led by the member
        initialisers; reports a copy constructor and a destructor with a body."""
        ctors = list(d.ctors)
        if not ctors and any(needs_ctor(f.ctype) and not _default_ctor(f.ctype) for f in info.fields):
            info.no_default = True
        elif not ctors and any(needs_ctor(f.ctype) for f in info.fields):
            ctors = [A.FunctionDef(d.name, A.TypeRef("void", span=d.span), [], A.Compound([], span=d.span),
                                   frozenset({"__device__"}), span=d.span, name_span=d.span)]
            info.implicit_ctor = True
        out = []
        for c in ctors:
            if len([p for p in c.params if p.default is None]) <= 1 and c.params and \
                    same(unqual(self.resolve(c.params[0].type, allow_ref=True)), t):
                self.unsupported(c.name_span, f"user-defined copy constructors are not supported ('{c.name}' "
                                              "copies bit by bit): remove it")
                continue
            out.append(self._ctor_body(c, info))
        if d.dtor is not None and d.dtor.body is not None and d.dtor.body.items:
            self.unsupported(d.dtor.name_span, f"destructors that do something are not supported: '~{d.dtor.name}' "
                                               "must have an empty body")
        return out

    def _ctor_body(self, c: A.FunctionDef, info) -> A.FunctionDef:
        """`c` with its member initialisers as statements before its body."""
        inits = {}
        for name, args, span, braces in c.inits:
            if info.field(name) is None:
                self.error(span, f"member initializer '{name}' does not name a non-static data member")
            elif name in inits:
                self.error(span, f"multiple initializations given for non-static member '{name}'")
            else:
                inits[name] = (args, span, braces)
        body = []
        for f in info.fields:
            this = A.Ident("this", span=c.span)
            target = A.Member(this, f.name, True, span=c.span)
            if f.name in inits:
                args, span, braces = inits[f.name]
                target.span = span
                body.append(A.ExprStmt(A.Construct(target, args, braces, not args, span=span), span=span))
            elif needs_ctor(f.ctype):
                body.append(A.ExprStmt(A.Construct(target, [], span=c.span), span=c.span))
            elif f.ctype.const and c.body is not None and not c.default:
                self.error(c.name_span, f"constructor for '{info.name}' must explicitly initialize the const "
                                        f"member '{f.name}'")
        fn = A.FunctionDef(c.name, c.ret, c.params, None, c.qualifiers | {"__ctor__"}, span=c.span,
                           name_span=c.name_span, access=c.access)
        if c.body is not None or c.default:
            items = c.body.items if c.body is not None else []
            end = c.body.end_line if c.body is not None else 0
            fn.body = A.Compound(body + list(items), end, span=c.body.span if c.body is not None else c.span)
        return fn

    # -- initialising ----------------------------------------------------------------------------------
    def e_Construct(self, e: A.Construct) -> CType:
        """Check the initialisation `e`; record what it runs in `sema.constructs[e]`."""
        t = self.expr(e.target)
        args = e.args
        for a in args:
            if a.ctype is None:                             # (arguments may come checked: `S v = x;`)
                self.value(a)
        if isinstance(t, ErrorType) or any(isinstance(a.ctype, ErrorType) for a in args):
            return VOID
        t = unqual(t)
        out: list = []
        self.sema.constructs[e] = out
        if isinstance(t, Array):
            if args and not e.braces or len(args) > (t.n or 0):
                self.error(e.span, "array initializer must be an initializer list" if not e.braces else
                           "excess elements in array initializer")
            elif e.braces or e.value_init:                  # `e{x, y, z}`: element by element, then zero
                for k in range(t.n or 0):
                    item = args[k] if k < len(args) else None
                    sub = A.Construct(A.Index(e.target, A.IntLit(k, span=e.span), span=e.span),
                                      [] if item is None else item.items if isinstance(item, A.InitList) else [item],
                                      isinstance(item, A.InitList), item is None, span=e.span)
                    self.expr(sub)
                    out.append(sub)
            elif needs_ctor(t):
                out.append(self._each_element(e, t))
            return VOID
        if isinstance(t, StructType) and t.info.ctors:
            if len(args) == 1 and same(unqual(args[0].ctype), t):
                out.append(self._copy(e.target, args[0]))
                return VOID
            if e.value_init and not args and t.info.implicit_ctor:
                out.append(("zero", e.target))
            call = self.ctor_call(e, t, e.target, args)
            if call is not None:
                out.append(call)
            return VOID
        if not args:
            if e.value_init or e.braces:
                out.append(("zero", e.target))
            return VOID
        if e.braces and isinstance(t, StructType) and has_union(t):
            self.unsupported(e.span, f"a braced temporary of '{spell(t)}' (it holds a union) is not supported yet")
            return VOID
        if e.braces and isinstance(t, StructType):          # `S{a, b}` of an aggregate
            out.append(("list", e.target, self.init_list(t, A.InitList(list(args), span=e.span))))
            return VOID
        if len(args) > 1 or isinstance(args[0], A.InitList):
            what = "scalar" if is_scalar(t) else f"'{spell(t)}'"
            self.error(args[min(1, len(args) - 1)].span, f"excess elements in {what} initializer"
                       if is_scalar(t) else f"no matching constructor for initialization of {what}: it has no "
                                            "constructors (initialise it with = {...})")
            return VOID
        out.append(self._copy(e.target, args[0]))
        return VOID

    def _copy(self, target: A.Expr, value: A.Expr) -> A.Expr:
        """`target = value` as an initialisation (a const target allowed, no operator= called)."""
        a = A.Assign("=", target, value, True, span=value.span)
        self.expr(a)
        return a

    def _each_element(self, e: A.Construct, t: Array) -> A.Stmt:
        """`for (int i = 0; i < n; i++) Construct(target[i])`: each element default-constructed."""
        self.anon += 1
        i = f"__vgpu_i{self.anon}"
        sp = e.span
        decl = A.DeclStmt([A.VarDecl(i, A.TypeRef("int", span=sp), A.IntLit(0, span=sp), span=sp)], span=sp)
        cond = A.Binary("<", A.Ident(i, span=sp), A.IntLit(t.n or 0, span=sp), span=sp)
        step = A.Unary("++", A.Ident(i, span=sp), span=sp)
        body = A.ExprStmt(A.Construct(A.Index(e.target, A.Ident(i, span=sp), span=sp), [], span=sp), span=sp)
        loop = A.For(decl, cond, step, body, span=sp)
        self.push()
        self.stmt(loop)
        self.pop()
        return loop

    def ctor_call(self, e, t: StructType, target: A.Expr, args: list) -> A.Expr | None:
        """The checked call `S::S(&target, args)` of the constructor overload resolution picks; None
        (reported) when none fits."""
        group = [f for f in t.info.ctors if f is not None]
        if not group:
            self.error(e.span, f"the constructors of '{spell(t)}' are host functions: device code cannot call them")
            return None
        return self.rank_call(e, group, target, args, f"constructor of '{spell(t)}'", ctor=True)

    # -- variables and temporaries ---------------------------------------------------------------------
    def ctor_var(self, d: A.VarDecl, v: Var, t: CType) -> bool:
        """Initialise the variable `v` of declaration `d` by a constructor if C++ does (then True; its
        Construct is in `sema.ctor_inits[d]`), else False (C's rules apply)."""
        st = unqual(t)
        init = d.init
        if isinstance(st, StructType) and st.info.no_default and d.args is None and init is None:
            self.error(d.name_span or d.span, f"call to implicitly-deleted default constructor of '{spell(st)}' (a "
                                              "member has no default constructor)")
            return True
        if d.braces and not (isinstance(st, StructType) and st.info.ctors and not st.info.implicit_ctor):
            d.init, d.args = A.InitList(list(d.args), span=d.span), None     # `S v{a, b}`: aggregate
        if d.args is None and not needs_ctor(st):
            return False
        if d.args is None and isinstance(init, A.Expr) and not isinstance(init, A.InitList):
            if not isinstance(st, StructType) or st.info.implicit_ctor:
                return False
            if same(unqual(self.value(init)), st) or isinstance(init.ctype, ErrorType):
                return False                         # a copy: C's rules
        if d.args is None and isinstance(st, StructType) and st.info.implicit_ctor and isinstance(init, A.InitList):
            return False                             # still an aggregate
        if v.storage in ("global", "const", "shared", "host"):
            if d.args or init is not None or not self._trivial_default(st):
                self.unsupported(d.name_span or d.span, f"dynamic initialization is not supported for "
                                                         f"{'__shared__' if v.storage == 'shared' else 'file-scope'} "
                                                         "variables (a constructor that does something)")
            return True
        args = d.args if d.args is not None else init.items if isinstance(init, A.InitList) else \
            [init] if init is not None else []
        braces = d.braces or isinstance(init, A.InitList)
        self.declare(d.name, v, d.name_span or d.span)
        c = A.Construct(A.Ident(d.name, span=d.name_span or d.span), list(args), braces,
                        braces and not args or d.args == [], span=d.span)
        self.expr(c)
        self.sema.ctor_inits[d] = c
        call = next((x for x in self.sema.constructs.get(c, ()) if isinstance(x, A.Expr)), None)
        call = call.operand if isinstance(call, A.Unary) else call
        info = self.sema.calls.get(call) if isinstance(call, A.Call) else None
        if d.args is None and init is not None and info is not None and info.target.explicit:
            self.error(init.span, f"chosen constructor is explicit in copy-initialization of '{spell(st)}'")
        return True

    def _trivial_default(self, t: CType) -> bool:
        """A default constructor that does nothing (nvcc allows it for __shared__ and __device__ data)."""
        while isinstance(t, Array):
            t = t.elem
        if not isinstance(t, StructType) or not t.info.ctors:
            return True
        fn = next((f for f in t.info.ctors if f is not None and len(f.ctype.params) == 1), None)
        return fn is not None and fn.defn is not None and not fn.defn.body.items

    def temporary(self, e: A.Expr, t: StructType, args: list, braces: bool = False) -> CType:
        """`S(a, b)` (or `S()` of a struct with constructors, or `S{a, b}`): a fresh local constructed
        from args; `e` is rewritten to `(Construct(tmp, args), tmp)`."""
        if self.func is None:
            self.unsupported(e.span, f"dynamic initialization of '{spell(t)}' outside a function is not supported")
            return ERROR
        self.anon += 1
        name = f"__vgpu_tmp{self.anon}"
        v = Var(name, unqual(t), e.span, "local", self.func)
        self.scopes[-1][name] = v
        c = A.Construct(A.Ident(name, span=e.span), list(args), braces, not args, span=e.span)
        tmp = A.Ident(name, span=e.span)
        new = A.Comma([c, tmp], span=e.span)
        self.expr(new)
        self.sema.rewrites[e] = new
        return unqual(t)
