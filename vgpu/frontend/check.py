"""Check a parsed .vk translation unit against C's (C++'s, where CUDA differs) and CUDA's rules.

In:  an `ast.TranslationUnit` and the `Reporter` to collect diagnostics in.
Out: a `Sema`: every `Expr.ctype` is set, identifiers are resolved to symbols (`Var`, `Func`,
     `EnumConst`, built-ins), calls to what they call (`CallInfo`, with the parameter types the
     arguments convert to), operators to the type they compute in (`optype`), static-storage
     variables to module symbols with their initial bytes.  Problems are reported with the span of
     the offending construct; the caller raises them (`reporter.check()`).

Afterwards, for programs without errors: every construct is supported by `vgpu.frontend.lower`,
no function is recursive, and every implicit conversion is a valid C++ implicit conversion.
"""
from __future__ import annotations

from . import ast as A
from .check_call import CallChecker
from .check_expr import ExprChecker
from .check_cg import CGChecker
from .check_cpp import CppChecker, OverloadChecker
from .check_ctor import CtorChecker, has_user_ctor
from .check_operator import OperatorChecker
from .check_kernel import KernelParamChecker
from .check_method import MethodChecker
from .check_prelude import PreludeChecker
from .check_stmt import StmtChecker
from .check_template import Template, TemplateChecker
from .check_template_use import TemplateUseChecker
from .consteval import convert, to_bytes, to_int_type
from .ctypes import (CHAR, ERROR, INT, TYPEDEFS, VOID, CG_TYPES, Array, CType, ErrorType, FuncType, Pointer,
                     StructInfo, StructType, Void, base_type, decay, is_arith, is_complete_object,
                     is_scalar, count_leaves, iter_leaves, qualified, same, sizeof, spell, unqual)
from .symbols import EnumConst, Func, Sema, TypeName, Var
from ..diagnostics import Reporter, Span
from ..limits import CONSTANT_BYTES, GLOBAL_BYTES, LOCAL_BYTES, STATIC_SHARED_BYTES, kib

_NOT_YET_TYPES = {"auto", "__nv_bfloat16", "double4", "long4", "ulong4", "longlong4", "ulonglong4"}
_SPACES = {"__shared__": "shared", "__constant__": "const", "__device__": "global"}


class Checker(ExprChecker, CallChecker, TemplateChecker, TemplateUseChecker, CGChecker, PreludeChecker, CppChecker,
              OverloadChecker, KernelParamChecker, MethodChecker, CtorChecker, OperatorChecker, StmtChecker):
    """Walks the translation unit: scopes, declarations, types, functions, variables and their
    initialisers.  Statements, expressions and calls are checked by the mixins."""

    def __init__(self, reporter: Reporter):
        self.rep = reporter
        self.sema = Sema()
        self.scopes: list[dict] = [{}]
        self.tags: list[dict] = [{}]
        self.func: Func | None = None
        self.loops = 0
        self.switches: list[list] = []
        self.anon = 0
        self.callee: A.Ident | None = None     # the function name of the call being checked
        self.static_bytes_used: dict[str, int] = {}   # 'const' / 'global' -> bytes declared so far
        self.ref_returns: set = set()          # the `&x` of `return x;` in functions returning references

    def error(self, span: Span, msg: str) -> None:
        self.rep.error(span, msg)

    # -- scopes -----------------------------------------------------------------------------------
    def lookup(self, name: str):
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def declare(self, name: str, sym, span: Span) -> None:
        scope = self.scopes[-1]
        if name in scope:
            self.error(span, f"redefinition of '{name}'")
        scope[name] = sym

    def push(self) -> None:
        self.scopes.append({})
        self.tags.append({})

    def pop(self) -> None:
        self.scopes.pop()
        self.tags.pop()

    # -- the translation unit ------------------------------------------------------------------------
    def run(self, tu: A.TranslationUnit, instantiate: tuple[str, ...] = ()) -> Sema:
        """Check `tu`; then make the template instances named in `instantiate` (kernel names as
        vgpu spells them: `reduce<256, true>`), and check the templates nothing instantiated."""
        self.using_cg = tu.using_cg
        for d in tu.decls:
            self.declaration(d, file_scope=True)
        where = Span(tu.span.file, 1, 1)
        self.sema.instances = {name: self.instantiate_named(name, where) for name in instantiate}
        self.unused_templates()
        self.check_recursion()
        self.check_defined()
        self.name_statics()
        return self.sema

    def unsupported(self, span: Span, what: str) -> None:
        if "support" not in what:
            what += " are not supported yet" if what.endswith("s") else " is not supported yet"
        self.error(span, what)

    def declaration(self, d, file_scope: bool = False) -> None:
        if isinstance(d, A.DeclStmt):
            for x in d.decls:
                self.declaration(x, file_scope)
        elif isinstance(d, A.StructDef):
            self.struct_def(d)
        elif isinstance(d, A.StructDecl):
            kind = "union" if d.is_union else "struct"
            info = self.tags[-1].get(d.name)
            if info == "enum" or (info is not None and info.is_union != d.is_union):
                self.error(d.span, f"use of '{d.name}' with tag type that does not match previous declaration")
            elif info is None:
                self.tags[-1][d.name] = StructInfo(f"{kind} {d.name}", is_union=d.is_union)
        elif isinstance(d, A.EnumDef):
            self.enum_def(d)
        elif isinstance(d, A.Typedef):
            t = self.resolve(d.type)
            self.declare(d.name, TypeName(d.name, t), d.span)
        elif isinstance(d, A.VarDecl):
            self.var_decl(d, file_scope)
        elif isinstance(d, A.TemplateDecl):
            self.template_decl(d)
        elif isinstance(d, A.StaticAssert):
            self.s_StaticAssert(d)
        elif isinstance(d, A.FunctionDef) and d.targs is not None:
            self.specialisation(d)
        elif isinstance(d, A.FunctionDef) and "::" in d.name and file_scope and self.out_of_line(d):
            pass
        elif isinstance(d, A.FunctionDef) and d.friend_of:
            self.function(d, owner=self.tags[0].get(d.friend_of))
        elif isinstance(d, A.FunctionDef):
            self.function(d)

    # -- types ---------------------------------------------------------------------------------------
    def tag(self, kind: str, name: str, span: Span, define: bool = False) -> StructInfo:
        """The struct/union `name` visible here; a new incomplete one if none is (or if defining)."""
        scopes = self.tags[-1:] if define else reversed(self.tags)
        scope = next((sc for sc in scopes if name in sc), self.tags[-1])
        info = scope.get(name)
        if info == "enum":
            self.error(span, f"use of '{name}' with tag type that does not match previous declaration")
            return StructInfo(f"{kind} {name}", is_union=kind == "union")
        if info is None or (define and info.complete):
            if info is not None:
                self.error(span, f"redefinition of '{kind} {name}'")
            info = StructInfo(f"{kind} {name}", is_union=kind == "union")
            scope[name] = info
        return info

    def struct_def(self, d: A.StructDef) -> StructType:
        kind = "union" if d.is_union else "struct"
        name = d.name
        if name is None:
            self.anon += 1
            name = f"(anonymous {kind} #{self.anon})"
        info = self.tag(kind, name, d.span, define=True)
        fields, seen = [], set()
        for f in d.fields:
            t = self.resolve(f.type)
            if f.name in seen:
                self.error(f.span, f"duplicate member '{f.name}'")
            seen.add(f.name)
            if not is_complete_object(t):
                self.error(f.span, f"field has incomplete type '{spell(t)}'")
                t = INT
            # (an alignas below the type's own is ignored, as nvcc and g++ do)
            align = max((self.alignas(a, ERROR) for a in f.align), default=0) if f.align else 0
            fields.append((f.name, t, align))
            if f.access != "public":
                info.access[f.name] = f.access
        align = self.alignas(d.align, ERROR) if d.align is not None else 0
        info.lay_out(fields, align)
        t = StructType(info)
        self.sema.types[d] = t
        if d.conversions:
            self.conversion_operators(d, info)
        self.methods(d, info, t)
        return t

    def enum_def(self, d: A.EnumDef) -> None:
        prev = self.tags[-1].get(d.name) if d.name else None
        if prev == "enum":
            self.error(d.span, f"redefinition of 'enum {d.name}'")
        elif prev is not None:
            self.error(d.span, f"use of '{d.name}' with tag type that does not match previous declaration")
        nxt = 0
        for name, expr, span in d.items:
            if expr is not None:
                self.expr(expr)
                v = self.const_int(expr, "enumerator value")
                nxt = v if v is not None else nxt
            self.declare(name, EnumConst(name, to_int_type(nxt, INT)), span)
            nxt += 1
        if d.name:
            self.tags[-1][d.name] = "enum"

    def resolve(self, ref: A.TypeRef, allow_ref: bool = False) -> CType:
        if ref.ref and not allow_ref:
            self.unsupported(ref.span, "C++ references ('T &') are supported only as parameters and local "
                                       "variables (not as return types, fields or in casts)")
            return ERROR
        t = self.base(ref)
        t = qualified(t, "const" in ref.quals, "volatile" in ref.quals)
        for der in reversed(ref.derived):
            if isinstance(der, A.Pointer):
                if isinstance(t, ErrorType):
                    continue
                t = Pointer(t, restrict=bool({"__restrict__", "__restrict"} & der.quals),
                            const="const" in der.quals, volatile="volatile" in der.quals)
            else:
                n = None
                if der.size is not None:
                    self.expr(der.size)
                    n = self.const_int(der.size, "array size")
                    if n is None:
                        n = 1                       # reported; go on with a valid type
                    elif n <= 0:
                        self.error(der.size.span, "array size must be positive" if n == 0 else
                                   "array has a negative size")
                        n = 1
                if isinstance(t, Void) or (isinstance(t, StructType) and not t.info.complete):
                    self.error(der.span, f"array has incomplete element type '{spell(t)}'")
                    t = ERROR
                if not isinstance(t, ErrorType):
                    t = Array(t, n)
        self.sema.types[ref] = t
        return t

    def base(self, ref: A.TypeRef) -> CType:
        name = ref.base.strip()
        if ref.targs is not None:
            if name.rsplit("::", 1)[-1] == "thread_block_tile" and not isinstance(self.lookup(name), Template):
                return self.tile_type_ref(ref)
            return self.template_type(ref)
        t = base_type(name)
        if t is not None:
            return t
        words = name.split(None, 1)
        if words[0] in ("struct", "union") and len(words) == 2:
            if words[1].startswith("__vgpu_") and not any(words[1] in sc for sc in self.tags):
                self.prelude(words[1])
            return StructType(self.tag(words[0], words[1], ref.span))
        if words[0] == "enum":
            return INT
        sym = self.lookup(name)
        if isinstance(sym, TypeName):
            return sym.ctype
        if isinstance(sym, Template):
            self.error(ref.span, f"use of template '{name}' requires template arguments")
            return ERROR
        for scope in reversed(self.tags):          # C++: a struct's tag names its type
            if isinstance(scope.get(name), StructInfo):
                return StructType(scope[name])
            if scope.get(name) == "enum":
                return INT
        if name in TYPEDEFS:
            return TYPEDEFS[name]
        short = name.rsplit("::", 1)[-1]
        if short in CG_TYPES:
            return CG_TYPES[short]
        if "long double" in name or name in _NOT_YET_TYPES:
            self.unsupported(ref.span, f"type '{name}' is not supported yet")
        elif name in ("__half", "half", "__half2", "half2"):
            self.error(ref.span, f"unknown type name '{name}' (it is declared in <cuda_fp16.h>)")
        else:
            self.error(ref.span, f"unknown type name '{name}'")
        return ERROR

    # -- functions ----------------------------------------------------------------------------------
    def function(self, d: A.FunctionDef, owner=None) -> Func | None:
        """Declare (and define, with a body) the function `d`; its Func (None after an error).  `owner`:
        the StructInfo of a member function."""
        q = d.qualifiers
        if d.ret.ref and "__global__" not in q:
            self.ref_return(d)
        span = d.name_span or d.span
        if "explicit" in q:
            self.error(span, "'explicit' can only appear on constructors")
        if "friend" in q:
            self.error(span, "'friend' used outside of class")
        if "__global__" in q:
            kind = "kernel"
            if "__device__" in q or "__host__" in q:
                self.error(span, "a __global__ function cannot also be __device__ or __host__")
        elif "__device__" in q:
            kind = "device"
        else:
            self.error(span, f"host function '{d.name}' is not supported: device code only "
                             "(declare it __device__ or __global__)")
            return
        ret = self.resolve(d.ret)
        if kind == "kernel" and not isinstance(ret, (Void, ErrorType)):
            self.error(d.ret.span, "a __global__ function must have a void return type")
        if isinstance(ret, Array):
            self.error(d.ret.span, "function cannot return array type")
        params = self.params(d, kind)
        ftype = FuncType(unqual(ret), tuple(v.ctype for v in params))
        refs = tuple(v.ref for v in params)
        fn = self.scopes[0].get(d.name)
        if isinstance(fn, Func) and kind == fn.kind == "device" and \
                tuple(map(unqual, fn.ctype.params)) != tuple(map(unqual, ftype.params)):
            fn = self.overload(d.name, fn, ftype, kind, span)      # C++: another overload of the name
        if isinstance(fn, Func):
            if fn.ctype != ftype or fn.kind != kind:
                self.error(span, f"conflicting types for '{d.name}'")
            elif fn.defn is not None and d.body is not None:
                self.error(span, f"redefinition of '{d.name}'")
        elif fn is not None:
            self.error(span, f"redefinition of '{d.name}' as a different kind of symbol")
            return
        else:
            fn = Func(d.name, ftype, kind, span)
            self.scopes[0][d.name] = fn
            self.sema.funcs[d.name] = fn
        fn.attrs.update({a: True for a in ("__forceinline__", "__noinline__", "inline", "static")
                         if a in q})
        fn.refs, fn.ret_ref, fn.owner = refs, d.ret_ref, owner or fn.owner
        defaults = [p.default for p in d.params] if d.params else []
        if any(x is not None for x in defaults):
            first = next(i for i, x in enumerate(defaults) if x is not None)
            if any(x is None for x in defaults[first:]):
                self.error(d.params[first].span, "a parameter with a default argument must be followed only by "
                                                 "parameters with default arguments")
            elif kind == "kernel":
                fn.attrs["param_defaults"] = self.kernel_defaults(params, defaults)
            else:
                fn.defaults = defaults
        if d.launch_bounds:
            vals = []
            for e in d.launch_bounds:
                self.expr(e)
                vals.append(self.const_int(e, "__launch_bounds__ argument"))
            fn.attrs["launch_bounds"] = tuple(vals)
        if d.body is None:
            return fn
        fn.defn, fn.params, fn.span = d, params, span
        self.func = fn
        self.push()
        for v in params:
            if v.name:
                self.declare(v.name, v, v.span)
        self.stmts(d.body.items)
        self.pop()
        self.func = None
        return fn

    def params(self, d: A.FunctionDef, kind: str) -> list[Var]:
        out = []
        ps = d.params
        if len(ps) == 1 and ps[0].name is None and not ps[0].type.derived and \
                base_type(ps[0].type.base) == VOID:
            ps = []
        for p in ps:
            t = self.resolve(p.type, allow_ref=kind == "device")
            if p.type.ref and kind == "kernel":
                self.error(p.span, "a __global__ function cannot have a reference parameter")
            if isinstance(t, Array) and not p.type.ref:
                t = Pointer(t.elem, const=t.const)
            if isinstance(t, Void):
                self.error(p.span, "parameter has incomplete type 'void'")
                t = ERROR
            elif isinstance(t, StructType) and not t.info.complete:
                self.error(p.span, f"variable has incomplete type '{spell(t)}'")
                t = ERROR
            elif isinstance(t, StructType) and kind == "kernel" and not self.kernel_struct_ok(t, p.span):
                t = ERROR
            v = Var(p.name or "", t, p.span, "param", ref=p.type.ref and kind == "device")
            self.sema.vars[p] = v
            out.append(v)
        return out

    def check_recursion(self) -> None:
        """Report every cycle in the call graph once, at the call that closes it."""
        reported: set[Func] = set()
        for root in self.sema.funcs.values():
            path: list[tuple[Func, Span]] = []
            self._find_cycle(root, root, path, set(), reported)

    def _find_cycle(self, root: Func, fn: Func, path: list, seen: set, reported: set) -> None:
        for callee, span in fn.calls:
            if callee is root and root not in reported:
                chain = path + [(fn, callee, span)]
                reported.update(f for f, _, _ in chain)
                first = chain[0]
                if len(chain) == 1:
                    msg = f"{root.name} calls itself at {span}"
                else:
                    msg = ", which calls ".join(
                        [f"{chain[0][0].name} calls {chain[0][1].name} at {chain[0][2]}"] +
                        [f"{c.name} at {s}" for _, c, s in chain[1:]])
                self.error(first[2], f"recursion is not supported: {msg}")
            elif callee not in seen and callee is not root:
                seen.add(callee)
                self._find_cycle(root, callee, path + [(fn, callee, span)], seen, reported)

    def check_defined(self) -> None:
        for fn in self.sema.funcs.values():
            for callee, span in fn.calls:
                if callee.defn is None:
                    self.error(span, f"function '{callee.name}' is declared but not defined in this file "
                                     "(separate compilation is not supported)")

    def name_statics(self) -> None:
        """Module symbol names: source names, `func.name` where two functions declare the same."""
        taken = set(self.sema.funcs)
        file_vars = [v for v in self.sema.statics if v.func is None]
        for v in file_vars:
            v.symbol = v.name
            taken.add(v.name)
        counts: dict[str, int] = {}
        for v in self.sema.statics:
            if v.func is not None:
                counts[v.name] = counts.get(v.name, 0) + 1
        for v in self.sema.statics:
            if v.func is None:
                continue
            name = v.name if counts[v.name] == 1 and v.name not in taken else f"{v.func.name}.{v.name}"
            k = 1
            while name in taken:
                k += 1
                name = f"{v.func.name}.{v.name}.{k}"
            v.symbol = name
            taken.add(name)

    # -- variables -----------------------------------------------------------------------------------
    def var_decl(self, d: A.VarDecl, file_scope: bool) -> None:
        st = d.storage
        span = d.name_span or d.span
        t = self.auto_type(d) if d.type.base == "auto" else self.resolve(d.type, allow_ref=not file_scope)
        if d.type.ref and not isinstance(t, ErrorType):
            self.ref_decl(d, t)
            return
        if "constexpr" in st:
            t = qualified(t, const=True)
        spaces = [s for s in ("__constant__", "__shared__", "__device__") if s in st]
        space = _SPACES[spaces[0]] if spaces else ("host" if file_scope else "local")
        if not file_scope and space in ("const", "global") and "__shared__" not in st:
            self.error(span, f"a {spaces[0]} variable declaration is not allowed inside a function body")
            space = "local"
        if not file_scope and space == "local" and "static" in st:
            self.unsupported(span, "static local variables are not supported yet")
        if "extern" in st and space != "shared":
            self.unsupported(span, "extern variables are not supported yet (except extern __shared__)")
        v = Var(d.name, t, span, space, self.func)
        if d.align is not None:
            v.align = self.alignas(d.align, t)
        self.sema.vars[d] = v
        dynamic = space == "shared" and "extern" in st
        if dynamic:
            if not (isinstance(t, Array) and t.n is None):
                self.unsupported(span, f"only an extern __shared__ array of unknown size is supported: "
                                       f"declare '{d.name}[]' and give its size at launch")
            v.dynamic = True
        elif isinstance(t, Array) and t.n is None and d.init is not None:
            n = len(d.init.items) if isinstance(d.init, A.InitList) else \
                len(d.init.value) + 1 if isinstance(d.init, A.StringLit) else None
            if n:
                t = v.ctype = Array(t.elem, n)
        if isinstance(t, Void):
            self.error(span, "variable has incomplete type 'void'")
            t = v.ctype = ERROR
        elif not dynamic and not isinstance(t, ErrorType) and not is_complete_object(t):
            msg = "definition of variable with array type needs an explicit size or an initializer" \
                if isinstance(t, Array) and t.n is None else f"variable has incomplete type '{spell(t)}'"
            self.error(span, msg)
            t = v.ctype = ERROR
        if not dynamic and not isinstance(t, ErrorType):
            self.check_size(v, span)
        if not isinstance(t, ErrorType) and self.ctor_var(d, v, t):
            if space not in ("local", "host"):
                self.sema.statics.append(v)
            if v.name not in self.scopes[-1]:
                self.declare(d.name, v, span)
            return
        if d.init is not None:
            if space == "shared":
                self.error(d.init.span, "initialization is not supported for __shared__ variables")
            else:
                self.initializer(v, d, t, d.init)
        elif t.const and space in ("local", "host") and d.args is None:
            self.error(span, f"default initialization of an object of const type '{spell(t)}'")
        if space not in ("local", "host"):
            self.sema.statics.append(v)
            if space in ("global", "const"):
                v.init = self.static_bytes(d, t)
        self.declare(d.name, v, span)

    def check_size(self, v: Var, span: Span) -> None:
        """A variable larger than the device holds (ptxas's limits) is an error at its line; so is a
        __constant__ or __device__ variable that takes the module past the constant bank or global
        memory."""
        size = sizeof(v.ctype)
        limit, what = {"shared": (STATIC_SHARED_BYTES, "a block's static shared memory"),
                       "const": (CONSTANT_BYTES, "the constant bank"),
                       "global": (GLOBAL_BYTES, "the device's global memory"),
                       "local": (LOCAL_BYTES, "a thread's local memory")}.get(v.storage, (None, ""))
        if limit is None:
            return
        used = self.static_bytes_used.get(v.storage, 0) if v.storage in ("const", "global") else 0
        if used + size > limit:
            kind = {"shared": "__shared__ ", "const": "__constant__ ", "global": "__device__ ", "local": "local "}
            whose = f" (with the {used} bytes declared before it)" if used else ""
            self.error(span, f"{kind[v.storage]}variable '{v.name}' is too large: {size} bytes{whose}, more "
                             f"than {what} holds ({kib(limit)})")
        elif v.storage in ("const", "global"):
            self.static_bytes_used[v.storage] = used + size

    def initializer(self, v: Var, d: A.VarDecl, t: CType, init: A.Expr) -> None:
        if isinstance(init, A.InitList):
            self.sema.inits[d] = self.init_list(t, init)
            return
        if isinstance(t, Array) and isinstance(init, A.StringLit) and same(t.elem, CHAR):
            self.expr(init)
            if len(init.value) + 1 > t.n:
                self.error(init.span, "initializer-string for char array is too long")
            self.sema.inits[d] = [(k, t.elem, b) for k, b in enumerate(init.value + b"\0") if k < t.n]
            return
        if isinstance(t, Array):
            self.expr(init)
            self.error(init.span, "array initializer must be an initializer list")
            return
        it = self.value(init)
        self.convertible(t, init, it, "initialize a variable of")
        if t.const and is_arith(t) and v.storage in ("local", "host"):
            c = self.const_value(init)
            if c is not None:
                v.value = convert(c, it, t)

    def init_list(self, t: CType, lst: A.InitList, offset: int = 0) -> list:
        """Leaves (offset, C type, expression) that an initializer list sets; the rest are zero."""
        out: list = []
        if isinstance(t, ErrorType):
            return out
        if isinstance(t, StructType) and t.info.ctors and not t.info.implicit_ctor:
            self.unsupported(lst.span, "a braced list for an object of a class with constructors inside another "
                                       "braced list is not supported yet: write its constructor call, T(...)")
            return out
        if is_scalar(t):
            if not lst.items:
                return out                       # C++: `T x = {};` value-initialises (zero)
            if len(lst.items) != 1 or isinstance(lst.items[0], A.InitList):
                self.error(lst.span, "scalar initializer must be a single expression")
                return out
            e = lst.items[0]
            self.convertible(t, e, self.value(e), "initialize a variable of")
            return [(offset, t, e)]
        items = list(lst.items)
        if isinstance(t, StructType) and t.info.is_union:     # C: the first member is initialised
            return self.union_init(t, lst, offset)
        if isinstance(t, Array):
            # the first len(items) elements only: an array may have 2^28 of them
            size = sizeof(t.elem)
            subs = [(offset + k * size, t.elem) for k in range(min(len(items), t.n or 0))]
            nsubs, all_scalar, what = t.n or 0, is_scalar(t.elem), "array"
        else:
            subs = [(offset + f.offset, f.ctype) for f in t.info.fields]
            nsubs, all_scalar, what = len(subs), all(is_scalar(s[1]) for s in subs), "struct"
        if items and not any(isinstance(i, A.InitList) for i in items) and \
                not (len(items) == nsubs and all_scalar) and not self.whole_subobjects(subs, items):
            # brace elision: plain expressions fill the scalar leaves in order
            if has_user_ctor(t):
                self.unsupported(lst.span, "leaving out the braces of an object of a class with constructors "
                                           "is not supported yet")
                return out
            nflat = count_leaves(t)
            if len(items) > nflat:
                self.error(items[nflat].span, f"excess elements in {what} initializer")
            for (off, lt), e in zip(iter_leaves(t, offset), items):
                self.convertible(lt, e, self.value(e), "initialize a variable of")
                out.append((off, lt, e))
            return out
        if any(isinstance(st, Array) and not isinstance(e, A.InitList) for (_, st), e in zip(subs, items)):
            self.unsupported(lst.span, "initializers that leave out some inner braces are not supported yet")
            return out
        if len(items) > nsubs:
            self.error(items[nsubs].span, f"excess elements in {what} initializer")
        for (off, st), e in zip(subs, items):
            if isinstance(e, A.InitList):
                out += self.init_list(st, e, off)
            else:
                self.convertible(st, e, decay(e.ctype) if e.ctype is not None else self.value(e),
                                 "initialize a variable of")
                out += [(off, st, e)]
        return out

    def whole_subobjects(self, subs: list, items: list) -> bool:
        """`{S(1), 2}`: each item of a braced list initialises a whole field (one of struct type is given
        a value of that type), so no braces are left out."""
        if len(items) > len(subs) or not any(isinstance(unqual(st), StructType) for _, st in subs[:len(items)]):
            return False
        for (_, st), e in zip(subs, items):
            et = self.value(e)
            if isinstance(unqual(st), StructType) != isinstance(et, StructType):
                return False
        return True

    def static_bytes(self, d: A.VarDecl, t: CType) -> bytes | None:
        """Initial bytes of a __device__ or __constant__ variable; None when zero-initialised."""
        if d.init is None or isinstance(t, ErrorType):
            return None
        if d in self.sema.inits:
            items = self.sema.inits[d]
        else:
            items = [(0, t, d.init)]
        # the bytes up to the last one initialised; the rest of the variable is zero (`DataSymbol.init`
        # may be shorter than its size): `int t[1 << 28] = {1, 2, 3}` holds 12 bytes, not 1 GiB
        end = max((off + (1 if isinstance(e, int) else sizeof(lt)) for off, lt, e in items), default=0)
        buf = bytearray(min(end, sizeof(t)))
        for off, lt, e in items:
            if isinstance(e, int):
                buf[off] = e
                continue
            if isinstance(lt, StructType):
                self.error(e.span, "initializer element is not a compile-time constant")
                continue
            c = self.const_value(e)
            if c is None:
                self.error(e.span, "initializer element is not a compile-time constant")
                continue
            b = to_bytes(convert(c, decay(e.ctype), lt), lt)
            buf[off:off + len(b)] = b
        return bytes(buf)


def check(tu: A.TranslationUnit, reporter: Reporter, instantiate: tuple[str, ...] = ()) -> Sema:
    """Check `tu`, reporting problems to `reporter`; the caller raises them with `reporter.check()`.
    `instantiate`: names of template instances to make (`sema.instances`: name asked -> kernel name)."""
    return Checker(reporter).run(tu, instantiate)
