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

import struct as _struct
from dataclasses import dataclass, field


from . import ast as A
from .builtins import NOT_YET, TABLE, Builtin
from .ctypes import (scalar_of, BOOL, CG_TYPES, CHAR, DOUBLE, ERROR, FLOAT, GRID_GROUP, INT, LONG, LLONG, PTRDIFF_T,
                     SIZE_T, THREAD_BLOCK, TYPEDEFS, VOID, UINT, ULONG, ULLONG, Array, Bool, CType, ErrorType,
                     Float, FuncType, Int, Pointer, StructInfo, StructType, Void, base_type, decay, is_arith,
                     is_complete_object, is_integer, is_scalar, leaves, mem_scalar, promote, qualified, same,
                     sizeof, spell, unqual, usual_arith)
from .. import arith as C
from .. import types as T
from ..diagnostics import Reporter, Span


# -- symbols ---------------------------------------------------------------------------------------

@dataclass(eq=False)
class Var:
    name: str
    ctype: CType
    span: Span
    storage: str                    # 'local', 'param', 'global', 'shared', 'const', 'host'
    func: "Func | None" = None      # the function it is declared in (None at file scope)
    symbol: str | None = None       # module symbol of static storage
    address_taken: bool = False
    value: int | float | None = None   # a const integer's value, usable in constant expressions
    init: bytes | None = None       # initial bytes of static storage
    dynamic: bool = False           # extern __shared__


@dataclass(eq=False)
class Func:
    name: str
    ctype: FuncType
    kind: str                       # 'kernel' or 'device'
    span: Span
    defn: A.FunctionDef | None = None
    params: list[Var] = field(default_factory=list)
    attrs: dict = field(default_factory=dict)
    calls: list[tuple["Func", Span]] = field(default_factory=list)


@dataclass(eq=False)
class EnumConst:
    name: str
    value: int
    ctype: CType = INT


@dataclass(eq=False)
class TypeName:
    name: str
    ctype: CType


@dataclass(eq=False)
class CallInfo:
    """What a call calls: a `Func`, or a `Builtin` resolved to one overload."""
    target: Func | Builtin
    params: list[CType]             # the types the arguments convert to (defaults appended as ints)
    ret: CType
    op: str | None = None
    attrs: dict = field(default_factory=dict)
    ir_ret: CType | None = None
    defaults: tuple = ()


@dataclass
class Sema:
    refs: dict = field(default_factory=dict)        # Ident -> Var | Func | EnumConst | Builtin
    calls: dict = field(default_factory=dict)       # Call -> CallInfo
    optype: dict = field(default_factory=dict)      # Binary, Assign, Conditional -> CType computed in
    vars: dict = field(default_factory=dict)        # VarDecl | ParamDecl -> Var
    types: dict = field(default_factory=dict)       # TypeRef -> CType
    cases: dict = field(default_factory=dict)       # Switch -> [(value, Case)]
    inits: dict = field(default_factory=dict)       # VarDecl -> [(offset, CType, Expr)] for InitLists
    funcs: dict[str, Func] = field(default_factory=dict)
    statics: list[Var] = field(default_factory=list)


_CG_COMMON = {"sync", "size", "thread_rank", "num_threads", "is_valid", "dim_threads", "thread_index"}
_CG_MEMBERS = {GRID_GROUP: _CG_COMMON | {"group_dim", "dim_blocks", "block_rank", "num_blocks", "block_index",
                                        "is_cluster_launch", "num_clusters", "cluster_rank"},
               THREAD_BLOCK: _CG_COMMON | {"group_index", "group_dim", "barrier_arrive", "barrier_wait"}}
_NOT_YET_TYPES = {"auto", "half", "__half", "__nv_bfloat16", "double4", "long4", "ulong4", "longlong4", "ulonglong4"}
_SPACES = {"__shared__": "shared", "__constant__": "const", "__device__": "global"}
_COMPARE = {"<", ">", "<=", ">=", "==", "!="}


# -- constant arithmetic, C semantics ----------------------------------------------------------------

def wrap(v: int, t: CType) -> int:
    """`v` converted to the integer type `t` (modulo 2^bits, two's complement)."""
    if isinstance(t, Bool):
        return int(v != 0)
    bits = 8 * t.size
    v &= (1 << bits) - 1
    return v - (1 << bits) if t.signed and v >> (bits - 1) else v


def convert(v, src: CType, dst: CType):
    """The value `v` of type `src` converted to `dst`, as a C implicit or explicit conversion: the
    conversion `vgpu.arith` defines (so constants fold as the simulator computes them at run time)."""
    dst = unqual(dst)
    if isinstance(dst, Bool):
        return int(v != 0)
    if not isinstance(dst, (Float, Int, Pointer)):
        return v
    src = unqual(src)
    from_t = scalar_of(src) if isinstance(src, (Float, Int, Pointer)) and not isinstance(src, Bool) else T.S64
    return _number(C.fold("cvt", scalar_of(dst), [v], src=from_t))


_C_OPS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "%": "rem", "&": "and", "|": "or", "^": "xor",
          "<<": "shl", ">>": "shr", "<": "lt", ">": "gt", "<=": "le", ">=": "ge", "==": "eq", "!=": "ne"}


def arith(op: str, a, b, t: CType):
    """`a op b` computed in type `t` by `vgpu.arith`; None where C leaves it undefined (division by
    zero, a shift by a negative amount or by the width or more)."""
    if isinstance(t, Int) and (op in ("/", "%") and b == 0 or op in ("<<", ">>") and not 0 <= b < 8 * t.size):
        return None
    return _number(C.fold(_C_OPS[op], scalar_of(t), [a, b]))


def compare(op: str, a, b, t: CType) -> int:
    """`a op b` (both already of type `t`) as C's int 0 or 1."""
    return int(C.fold(_C_OPS[op], scalar_of(t), [a, b]))


def _number(v):
    """A folded scalar as the checker keeps constants: ints and floats (a bool is an int)."""
    return int(v) if isinstance(v, bool) else v


def to_bytes(value, t: CType) -> bytes:
    """The little-endian bytes of a scalar value of type `t` in memory."""
    s = mem_scalar(t)
    if s.is_float:
        return _struct.pack("<f" if s.bits == 32 else "<d", value)
    return int(value & ((1 << s.bits) - 1)).to_bytes(s.size, "little")


def const_value(e: A.Expr, sema: Sema):
    """The value of a constant expression (int or float, in e's type), else None."""
    t = e.ctype
    if t is None or isinstance(t, ErrorType):
        return None
    if isinstance(e, (A.IntLit, A.CharLit)):
        return wrap(e.value, t)
    if isinstance(e, A.FloatLit):
        return convert(e.value, DOUBLE, t)
    if isinstance(e, A.Ident):
        sym = sema.refs.get(e)
        if isinstance(sym, EnumConst) and sym.name != "nullptr":
            return sym.value
        if isinstance(sym, Var):
            return sym.value
        return None
    if isinstance(e, A.Cast):
        v = const_value(e.operand, sema)
        return None if v is None or not is_arith(t) else convert(v, decay(e.operand.ctype), t)
    if isinstance(e, A.SizeOf):
        op = e.operand
        return sizeof(sema.types[op] if isinstance(op, A.TypeRef) else op.ctype)
    if isinstance(e, A.Unary) and e.op in ("-", "+", "~", "!"):
        v = const_value(e.operand, sema)
        if v is None:
            return None
        v = convert(v, decay(e.operand.ctype), t if e.op != "!" else BOOL)
        if e.op == "-":
            return arith("-", 0, v, t) if not isinstance(t, Float) else -v
        if e.op == "~":
            return wrap(~v, t)
        return int(not v) if e.op == "!" else v
    if isinstance(e, A.Binary):
        return _const_binary(e, sema)
    if isinstance(e, A.Conditional):
        c = const_value(e.cond, sema)
        if c is None:
            return None
        x = e.then if c else e.other
        v = const_value(x, sema)
        return None if v is None else convert(v, decay(x.ctype), t)
    return None


def _const_binary(e: A.Binary, sema: Sema):
    a, b = const_value(e.left, sema), const_value(e.right, sema)
    if a is None or (b is None and e.op not in ("&&", "||")):
        return None
    lt, rt = decay(e.left.ctype), decay(e.right.ctype)
    if e.op in ("&&", "||"):
        if (e.op == "&&" and not a) or (e.op == "||" and a):
            return int(e.op == "||")
        return None if b is None else int(b != 0)
    ot = sema.optype.get(e)
    if ot is None or not is_arith(ot):
        return None
    if e.op in ("<<", ">>"):
        return arith(e.op, convert(a, lt, ot), convert(b, rt, LLONG), ot)
    a, b = convert(a, lt, ot), convert(b, rt, ot)
    if e.op in _COMPARE:
        return compare(e.op, a, b, ot)
    return arith(e.op, a, b, ot)


# -- the checker ---------------------------------------------------------------------------------------

class Checker:
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
    def run(self, tu: A.TranslationUnit) -> Sema:
        for d in tu.decls:
            self.declaration(d, file_scope=True)
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
        elif isinstance(d, A.EnumDef):
            self.enum_def(d)
        elif isinstance(d, A.Typedef):
            t = self.resolve(d.type)
            self.declare(d.name, TypeName(d.name, t), d.span)
        elif isinstance(d, A.VarDecl):
            self.var_decl(d, file_scope)
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
        if d.is_union:
            self.unsupported(d.span, "unions are not supported yet")
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
            fields.append((f.name, t))
        info.lay_out(fields)
        t = StructType(info)
        self.sema.types[d] = t
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
            self.declare(name, EnumConst(name, wrap(nxt, INT)), span)
            nxt += 1
        if d.name:
            self.tags[-1][d.name] = "enum"

    def resolve(self, ref: A.TypeRef) -> CType:
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
        t = base_type(name)
        if t is not None:
            return t
        words = name.split(None, 1)
        if words[0] in ("struct", "union") and len(words) == 2:
            if words[0] == "union":
                self.unsupported(ref.span, "unions are not supported yet")
                return ERROR
            return StructType(self.tag(words[0], words[1], ref.span))
        if words[0] == "enum":
            return INT
        sym = self.lookup(name)
        if isinstance(sym, TypeName):
            return sym.ctype
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
        else:
            self.error(ref.span, f"unknown type name '{name}'")
        return ERROR

    # -- functions ----------------------------------------------------------------------------------
    def function(self, d: A.FunctionDef) -> None:
        q = d.qualifiers
        span = d.name_span or d.span
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
        fn = self.scopes[0].get(d.name)
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
        if d.launch_bounds:
            vals = []
            for e in d.launch_bounds:
                self.expr(e)
                vals.append(self.const_int(e, "__launch_bounds__ argument"))
            fn.attrs["launch_bounds"] = tuple(vals)
        if d.body is None:
            return
        fn.defn, fn.params, fn.span = d, params, span
        self.func = fn
        self.push()
        for v in params:
            if v.name:
                self.declare(v.name, v, v.span)
        self.stmts(d.body.items)
        self.pop()
        self.func = None

    def params(self, d: A.FunctionDef, kind: str) -> list[Var]:
        out = []
        ps = d.params
        if len(ps) == 1 and ps[0].name is None and not ps[0].type.derived and \
                base_type(ps[0].type.base) == VOID:
            ps = []
        for p in ps:
            t = self.resolve(p.type)
            if isinstance(t, Array):
                t = Pointer(t.elem, const=t.const)
            if isinstance(t, Void):
                self.error(p.span, "parameter has incomplete type 'void'")
                t = ERROR
            elif isinstance(t, StructType) and not t.info.complete:
                self.error(p.span, f"variable has incomplete type '{spell(t)}'")
                t = ERROR
            elif isinstance(t, StructType) and kind == "kernel":
                self.unsupported(p.span, "struct parameters of kernels are not supported yet")
            v = Var(p.name or "", t, p.span, "param")
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
        t = self.resolve(d.type)
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
        if d.init is not None:
            if space == "shared":
                self.error(d.init.span, "initialization is not supported for __shared__ variables")
            else:
                self.initializer(v, d, t, d.init)
        elif t.const and space in ("local", "host"):
            self.error(span, f"default initialization of an object of const type '{spell(t)}'")
        if space not in ("local", "host"):
            self.sema.statics.append(v)
            if space in ("global", "const"):
                v.init = self.static_bytes(d, t)
        self.declare(d.name, v, span)

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
        if is_scalar(t):
            if len(lst.items) != 1 or isinstance(lst.items[0], A.InitList):
                self.error(lst.span, "scalar initializer must be a single expression" if lst.items
                           else "scalar initializer cannot be empty")
                return out
            e = lst.items[0]
            self.convertible(t, e, self.value(e), "initialize a variable of")
            return [(offset, t, e)]
        if isinstance(t, Array):
            subs = [(offset + k * sizeof(t.elem), t.elem) for k in range(t.n or 0)]
            what = "array"
        else:
            subs = [(offset + f.offset, f.ctype) for f in t.info.fields]
            what = "struct"
        items = list(lst.items)
        if items and not any(isinstance(i, A.InitList) for i in items) and \
                not (len(items) == len(subs) and all(is_scalar(s[1]) for s in subs)):
            # brace elision: plain expressions fill the scalar leaves in order
            flat = leaves(t, offset)
            if len(items) > len(flat):
                self.error(items[len(flat)].span, f"excess elements in {what} initializer")
            for (off, lt), e in zip(flat, items):
                self.convertible(lt, e, self.value(e), "initialize a variable of")
                out.append((off, lt, e))
            return out
        if any(isinstance(st, Array) and not isinstance(e, A.InitList) for (_, st), e in zip(subs, items)):
            self.unsupported(lst.span, "initializers that leave out some inner braces are not supported yet")
            return out
        if len(items) > len(subs):
            self.error(items[len(subs)].span, f"excess elements in {what} initializer")
        for (off, st), e in zip(subs, items):
            if isinstance(e, A.InitList):
                out += self.init_list(st, e, off)
            else:
                self.convertible(st, e, self.value(e), "initialize a variable of")
                out += [(off, st, e)]
        return out

    def static_bytes(self, d: A.VarDecl, t: CType) -> bytes | None:
        """Initial bytes of a __device__ or __constant__ variable; None when zero-initialised."""
        if d.init is None or isinstance(t, ErrorType):
            return None
        if d in self.sema.inits:
            items = self.sema.inits[d]
        else:
            items = [(0, t, d.init)]
        buf = bytearray(sizeof(t))
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

    # -- statements ---------------------------------------------------------------------------------
    def stmts(self, items: list) -> None:
        for s in items:
            self.stmt(s)

    def stmt(self, s: A.Stmt) -> None:
        m = getattr(self, "s_" + type(s).__name__, None)
        if m is None:
            self.unsupported(s.span, f"{type(s).__name__} statements are not supported yet")
        else:
            m(s)

    def s_Compound(self, s: A.Compound) -> None:
        self.push()
        self.stmts(s.items)
        self.pop()

    def s_DeclStmt(self, s: A.DeclStmt) -> None:
        self.declaration(s)

    def s_ExprStmt(self, s: A.ExprStmt) -> None:
        if s.expr is not None:
            self.expr(s.expr)

    def condition(self, e: A.Expr) -> None:
        t = self.value(e)
        if not is_scalar(t) and not isinstance(t, ErrorType):
            self.error(e.span, f"statement requires expression of scalar type ('{spell(t)}' invalid)")

    def s_If(self, s: A.If) -> None:
        self.condition(s.cond)
        self.scoped(s.then)
        if s.other is not None:
            self.scoped(s.other)

    def scoped(self, s: A.Stmt) -> None:
        self.push()
        self.stmt(s)
        self.pop()

    def loop_body(self, s: A.Stmt) -> None:
        self.loops += 1
        self.scoped(s)
        self.loops -= 1

    def s_While(self, s: A.While) -> None:
        self.condition(s.cond)
        self.loop_body(s.body)

    def s_DoWhile(self, s: A.DoWhile) -> None:
        self.loop_body(s.body)
        self.condition(s.cond)

    def s_For(self, s: A.For) -> None:
        self.push()
        if s.init is not None:
            self.stmt(s.init)
        if s.cond is not None:
            self.condition(s.cond)
        if s.step is not None:
            self.expr(s.step)
        self.loop_body(s.body)
        self.pop()

    def s_Break(self, s: A.Break) -> None:
        if not self.loops and not self.switches:
            self.error(s.span, "'break' statement not in loop or switch statement")

    def s_Continue(self, s: A.Continue) -> None:
        if not self.loops:
            self.error(s.span, "'continue' statement not in loop statement")

    def s_Return(self, s: A.Return) -> None:
        fn = self.func
        ret = fn.ctype.ret
        if s.value is None:
            if not isinstance(ret, (Void, ErrorType)):
                self.error(s.span, f"non-void function '{fn.name}' should return a value")
            return
        t = self.value(s.value)
        if isinstance(ret, Void):
            if not isinstance(t, Void):
                self.error(s.value.span, f"void function '{fn.name}' should not return a value")
            return
        self.convertible(ret, s.value, t, "initialize return object of")

    def s_Switch(self, s: A.Switch) -> None:
        t = self.value(s.cond)
        if not is_integer(t) and not isinstance(t, ErrorType):
            self.error(s.cond.span, f"statement requires expression of integer type ('{spell(t)}' invalid)")
        cases: list = []
        self.switches.append(cases)
        self.scoped(s.body)
        self.switches.pop()
        self.sema.cases[s] = cases

    def s_Case(self, s: A.Case) -> None:
        word = "case" if s.value is not None else "default"
        if not self.switches:
            self.error(s.span, f"'{word}' statement not in switch statement")
            if s.value is not None:
                self.expr(s.value)
        else:
            cases = self.switches[-1]
            if s.value is None:
                if any(v is None for v, _ in cases):
                    self.error(s.span, "multiple default labels in one switch")
                cases.append((None, s))
            else:
                self.expr(s.value)
                v = self.const_int(s.value, "case value")
                if v is not None:
                    if any(c == v for c, _ in cases):
                        self.error(s.value.span, f"duplicate case value '{v}'")
                    cases.append((v, s))
        self.stmt(s.body)

    def s_UnsupportedStmt(self, s: A.UnsupportedStmt) -> None:
        self.unsupported(s.span, s.what)

    # -- expressions ---------------------------------------------------------------------------------
    def value(self, e: A.Expr) -> CType:
        """Check `e` used as a value: arrays decay to pointers, qualifiers drop."""
        t = self.expr(e)
        if isinstance(t, FuncType):
            self.unsupported(e.span, "function pointers are not supported yet")
            return ERROR
        return decay(t)

    def expr(self, e: A.Expr) -> CType:
        m = getattr(self, "e_" + type(e).__name__, None)
        if m is None:
            self.unsupported(e.span, f"{type(e).__name__} expressions are not supported yet")
            t = ERROR
        else:
            t = m(e)
        e.ctype = t
        return t

    def e_IntLit(self, e: A.IntLit) -> CType:
        s, v = e.suffix.lower(), e.value
        unsigned_ok = e.base != 10 or "u" in s
        order = {"": [INT, LONG, LLONG], "u": [UINT, ULONG, ULLONG], "l": [LONG, LLONG],
                 "ul": [ULONG, ULLONG], "lu": [ULONG, ULLONG], "ll": [LLONG], "ull": [ULLONG],
                 "llu": [ULLONG]}.get(s)
        if order is None:
            self.error(e.span, f"invalid suffix '{e.suffix}' on integer constant")
            return ERROR
        cands = []
        for t in order:
            cands.append(t)
            if unsigned_ok and t.signed:
                cands.append({INT: UINT, LONG: ULONG, LLONG: ULLONG}[t])
        for t in cands:
            if v < 2 ** (8 * t.size - (1 if t.signed else 0)):
                return t
        self.error(e.span, "integer literal is too large to be represented in any integer type")
        return ERROR

    def e_FloatLit(self, e: A.FloatLit) -> CType:
        return FLOAT if e.is_float else DOUBLE

    def e_CharLit(self, e: A.CharLit) -> CType:
        return CHAR

    def e_StringLit(self, e: A.StringLit) -> CType:
        return Array(qualified(CHAR, const=True), len(e.value) + 1)

    def e_Ident(self, e: A.Ident) -> CType:
        sym = self.lookup(e.name)
        if sym is None:
            sym = self.special_ident(e)
            if sym is None:
                return ERROR
        self.sema.refs[e] = sym
        if isinstance(sym, Var):
            if sym.storage == "host" and sym.value is None:
                self.error(e.span, f"reference to __host__ variable '{e.name}' in device code")
                return ERROR
            return sym.ctype
        if isinstance(sym, EnumConst):
            return sym.ctype
        if (isinstance(sym, Func) or isinstance(sym, Builtin) and sym.kind != "var") and e is not self.callee:
            self.unsupported(e.span, f"function pointers are not supported yet: call '{e.name}' directly")
            return ERROR
        if isinstance(sym, Func):
            return sym.ctype
        if isinstance(sym, TypeName):
            self.error(e.span, f"unexpected type name '{e.name}': expected expression")
            return ERROR
        if isinstance(sym, Builtin):
            if sym.kind == "var":
                return qualified(sym.ret, const=True) if sym.sregs else sym.ret
            return FuncType(sym.ret, sym.params)
        return ERROR

    def special_ident(self, e: A.Ident):
        name = e.name
        if name in ("true", "false"):
            return EnumConst(name, int(name == "true"), BOOL)
        if name == "nullptr":
            return EnumConst(name, 0, Pointer(VOID))
        short = name.rsplit("::", 1)[-1]
        if name in TABLE:
            return TABLE[name]
        if short in TABLE and TABLE[short].kind == "cg":
            return TABLE[short]
        if name in NOT_YET or short in NOT_YET:
            self.unsupported(e.span, f"'{name}' is not supported yet")
        else:
            self.error(e.span, f"use of undeclared identifier '{name}'")
        return None

    def e_Unary(self, e: A.Unary) -> CType:
        op = e.op
        if op in ("++", "--"):
            return self.incdec(e, op, "prefix")
        if op == "&":
            return self.address_of(e)
        if op == "*":
            t = self.value(e.operand)
            if isinstance(t, ErrorType):
                return ERROR
            if not isinstance(t, Pointer):
                self.error(e.span, f"indirection requires pointer operand ('{spell(t)}' invalid)")
                return ERROR
            if isinstance(t.to, Void):
                self.error(e.span, f"indirection not permitted on operand of type '{spell(t)}'")
                return ERROR
            return t.to
        t = self.value(e.operand)
        if isinstance(t, ErrorType):
            return ERROR
        if op == "!":
            if not is_scalar(t):
                return self.bad_unary(e, t)
            return BOOL
        if (op == "~" and not is_integer(t)) or (op in "+-" and not is_arith(t)):
            return self.bad_unary(e, t)
        return promote(t)

    def bad_unary(self, e: A.Unary, t: CType) -> CType:
        self.error(e.span, f"invalid argument type '{spell(t)}' to unary expression")
        return ERROR

    def e_Postfix(self, e: A.Postfix) -> CType:
        return self.incdec(e, e.op, "postfix")

    def incdec(self, e, op: str, how: str) -> CType:
        t = self.expr(e.operand)
        if isinstance(t, ErrorType):
            return ERROR
        if isinstance(unqual(t), Bool):
            self.error(e.span, f"ISO C++17 does not allow {'incrementing' if op == '++' else 'decrementing'} "
                               "expression of type bool")
            return ERROR
        if not (is_arith(t) or isinstance(t, Pointer)):
            self.error(e.span, f"cannot {'increment' if op == '++' else 'decrement'} value of type '{spell(t)}'")
            return ERROR
        self.modifiable(e.operand, t)
        return unqual(t)

    def address_of(self, e: A.Unary) -> CType:
        x = e.operand
        t = self.expr(x)
        if isinstance(t, ErrorType):
            return ERROR
        root = self.root_ident(x)
        if root is not None and isinstance(self.sema.refs.get(root), Builtin):
            self.error(e.span, f"cannot take the address of built-in variable '{root.name}'")
            return ERROR
        if isinstance(t, FuncType):
            self.unsupported(e.span, "function pointers are not supported yet")
            return ERROR
        if not self.is_lvalue(x):
            self.error(e.span, f"cannot take the address of an rvalue of type '{spell(t)}'")
            return ERROR
        if root is not None and isinstance(self.sema.refs.get(root), Var):
            self.sema.refs[root].address_taken = True
        return Pointer(t)

    def root_ident(self, x: A.Expr) -> A.Ident | None:
        """The variable an lvalue designates part of (`s` in `s.a[2].b`), if any."""
        while True:
            if isinstance(x, A.Ident):
                return x
            if isinstance(x, A.Member) and not x.arrow:
                x = x.base
            elif isinstance(x, A.Index) and isinstance(x.base.ctype, Array):
                x = x.base
            else:
                return None

    def is_lvalue(self, x: A.Expr) -> bool:
        if isinstance(x, A.Ident):
            return isinstance(self.sema.refs.get(x), Var)
        if isinstance(x, A.Unary):
            return x.op == "*"
        if isinstance(x, A.Index):
            return True
        if isinstance(x, A.Member):
            if isinstance(self.sema.refs.get(x.base), Builtin):
                return False
            return x.arrow or self.is_lvalue(x.base)
        return isinstance(x, A.StringLit)

    def modifiable(self, x: A.Expr, t: CType) -> bool:
        """Report (and return False) unless `x` is an lvalue that may be assigned."""
        if isinstance(t, ErrorType):
            return False
        root = self.root_ident(x)
        sym = self.sema.refs.get(root) if root is not None else None
        if isinstance(sym, Builtin) and sym.kind == "var":
            self.error(x.span, f"cannot assign to variable '{root.name}' with const-qualified type "
                               f"'{spell(qualified(sym.ret, const=True))}'")
            return False
        if not self.is_lvalue(x):
            self.error(x.span, "expression is not assignable")
            return False
        if isinstance(sym, Var) and sym.storage == "const" and x is root:
            # nvcc rejects writing a whole __constant__ variable (element stores compile to a trap)
            self.error(x.span, f"cannot assign to __constant__ variable '{sym.name}' in device code "
                               "(set it from the host)")
            return False
        if isinstance(t, Array):
            self.error(x.span, f"array type '{spell(t)}' is not assignable")
            return False
        if t.const or self.const_member(x):
            if isinstance(sym, Var) and (sym.ctype.const or isinstance(sym.ctype, (StructType, Array))):
                self.error(x.span, f"cannot assign to variable '{sym.name}' with const-qualified type "
                                   f"'{spell(sym.ctype)}'")
            else:
                self.error(x.span, "read-only variable is not assignable")
            return False
        return True

    def const_member(self, x: A.Expr) -> bool:
        while isinstance(x, (A.Member, A.Index)):
            if isinstance(x, A.Member) and x.arrow:
                return x.base.ctype is not None and decay(x.base.ctype).to.const
            x = x.base
            if x.ctype is not None and x.ctype.const:
                return True
        return False

    def e_Binary(self, e: A.Binary) -> CType:
        lt, rt = self.value(e.left), self.value(e.right)
        if isinstance(lt, ErrorType) or isinstance(rt, ErrorType):
            return ERROR
        return self.binary_type(e, e.op, lt, rt, e.left, e.right)

    def binary_type(self, e, op: str, lt: CType, rt: CType, left: A.Expr, right: A.Expr) -> CType:
        """The result type of `left op right` (recording the computation type in optype)."""
        def bad() -> CType:
            self.error(e.span, f"invalid operands to binary expression ('{spell(lt)}' and '{spell(rt)}')")
            return ERROR

        lp, rp = isinstance(lt, Pointer), isinstance(rt, Pointer)
        if op in ("&&", "||"):
            if not (is_scalar(lt) and is_scalar(rt)):
                return bad()
            return BOOL
        if op in _COMPARE:
            if is_arith(lt) and is_arith(rt):
                self.sema.optype[e] = usual_arith(lt, rt)
                return BOOL
            if lp and rp:
                if not (same(lt.to, rt.to) or isinstance(lt.to, Void) or isinstance(rt.to, Void)):
                    self.error(e.span, f"comparison of distinct pointer types ('{spell(lt)}' and '{spell(rt)}')")
                    return ERROR
            elif lp and self.is_null(right) or rp and self.is_null(left):
                if op not in ("==", "!="):
                    self.error(e.span, f"ordered comparison between pointer and zero "
                                       f"('{spell(lt)}' and '{spell(rt)}')")
                    return ERROR
            else:
                return bad()
            self.sema.optype[e] = Pointer(VOID)
            return BOOL
        if op in ("+", "-") and (lp or rp):
            if lp and rp and op == "-":
                if not same(lt.to, rt.to):
                    self.error(e.span, f"'{spell(lt)}' and '{spell(rt)}' are not pointers to compatible types")
                    return ERROR
                self.complete_pointee(e, lt)
                self.sema.optype[e] = lt
                return PTRDIFF_T
            if lp and is_integer(rt) or rp and is_integer(lt) and op == "+":
                p = lt if lp else rt
                self.complete_pointee(e, p)
                self.sema.optype[e] = p
                return p
            return bad()
        if op in ("<<", ">>"):
            if not (is_integer(lt) and is_integer(rt)):
                return bad()
            t = promote(lt)
            self.sema.optype[e] = t
            return t
        if not (is_arith(lt) and is_arith(rt)):
            return bad()
        if op in ("%", "&", "|", "^") and not (is_integer(lt) and is_integer(rt)):
            return bad()
        t = usual_arith(lt, rt)
        self.sema.optype[e] = t
        return t

    def complete_pointee(self, e, p: Pointer) -> None:
        if not is_complete_object(p.to):
            self.error(e.span, f"arithmetic on a pointer to an incomplete type '{spell(p.to)}'"
                       if not isinstance(p.to, Void) else "arithmetic on a pointer to void")

    def is_null(self, e: A.Expr) -> bool:
        """A null pointer constant: an integer constant expression with value 0, or nullptr."""
        sym = self.sema.refs.get(e)
        if isinstance(sym, EnumConst) and sym.name == "nullptr":
            return True
        return isinstance(e, (A.IntLit, A.CharLit)) and e.value == 0

    def e_Assign(self, e: A.Assign) -> CType:
        vt = self.value(e.value)
        tt = self.expr(e.target)
        if isinstance(tt, ErrorType) or isinstance(vt, ErrorType):
            return ERROR
        if not self.modifiable(e.target, tt):
            return ERROR
        if e.op == "=":
            self.convertible(tt, e.value, vt, "assign")
            return unqual(tt)
        op = e.op[:-1]
        if isinstance(tt, Pointer) and op in ("+", "-") and is_integer(vt):
            self.complete_pointee(e, tt)
            self.sema.optype[e] = tt
            return unqual(tt)
        t = self.binary_type(e, op, decay(tt), vt, e.target, e.value)
        if isinstance(t, ErrorType):
            return ERROR
        if not is_arith(tt):
            self.error(e.span, f"invalid operands to binary expression ('{spell(tt)}' and '{spell(vt)}')")
            return ERROR
        return unqual(tt)

    def convertible(self, dst: CType, e: A.Expr, src: CType, what: str) -> bool:
        """Report unless a value of type `src` converts implicitly to `dst` (C++ rules)."""
        dst, src = unqual(dst), decay(src)
        if isinstance(dst, ErrorType) or isinstance(src, ErrorType):
            return True
        ok = False
        if is_arith(dst) and is_arith(src):
            ok = True
        elif isinstance(dst, Bool) and isinstance(src, Pointer):
            ok = True
        elif isinstance(dst, Pointer):
            if isinstance(src, Pointer):
                ok = (same(dst.to, src.to) or isinstance(dst.to, Void)) and \
                    (dst.to.const or not src.to.const) and (dst.to.volatile or not src.to.volatile)
            else:
                ok = self.is_null(e)
        elif isinstance(dst, StructType):
            ok = same(dst, src)
        if not ok:
            if what == "assign":
                self.error(e.span, f"assigning to '{spell(dst)}' from incompatible type '{spell(src)}'")
            else:
                self.error(e.span, f"cannot {what} type '{spell(dst)}' with an expression of type "
                                   f"'{spell(src)}'")
        return ok

    def e_Conditional(self, e: A.Conditional) -> CType:
        self.condition(e.cond)
        a, b = self.value(e.then), self.value(e.other)
        if isinstance(a, ErrorType) or isinstance(b, ErrorType):
            return ERROR
        if is_arith(a) and is_arith(b):
            t = usual_arith(a, b)
        elif isinstance(a, Void) and isinstance(b, Void):
            t = a
        elif isinstance(a, StructType) and same(a, b):
            t = unqual(a)
        elif isinstance(a, Pointer) and isinstance(b, Pointer) and (same(a.to, b.to) or
                                                                    isinstance(a.to, Void) or isinstance(b.to, Void)):
            to = a.to if not isinstance(a.to, Void) else b.to
            t = Pointer(qualified(unqual(to), a.to.const or b.to.const, a.to.volatile or b.to.volatile))
        elif isinstance(a, Pointer) and self.is_null(e.other):
            t = a
        elif isinstance(b, Pointer) and self.is_null(e.then):
            t = b
        else:
            self.error(e.span, f"incompatible operand types ('{spell(a)}' and '{spell(b)}')")
            return ERROR
        self.sema.optype[e] = t
        return t

    def e_Cast(self, e: A.Cast) -> CType:
        t = self.resolve(e.type)
        s = self.value(e.operand)
        if isinstance(t, ErrorType) or isinstance(s, ErrorType):
            return ERROR
        t = unqual(t)
        ok = isinstance(t, Void) or (is_arith(t) and is_arith(s)) or \
            (isinstance(t, Pointer) and (isinstance(s, Pointer) or is_integer(s))) or \
            (isinstance(s, Pointer) and (isinstance(t, Bool) or (isinstance(t, Int) and t.size == 8))) or \
            (isinstance(t, StructType) and same(t, s))
        if not ok:
            if isinstance(s, Pointer) and isinstance(t, Int):
                self.error(e.span, f"cast from pointer to smaller type '{spell(t)}' loses information")
            else:
                self.error(e.span, f"C-style cast from '{spell(s)}' to '{spell(t)}' is not allowed")
            return ERROR
        return t

    def e_SizeOf(self, e: A.SizeOf) -> CType:
        t = self.resolve(e.operand) if isinstance(e.operand, A.TypeRef) else self.expr(e.operand)
        if isinstance(t, ErrorType):
            return ERROR
        if not is_complete_object(t):
            self.error(e.span, f"invalid application of 'sizeof' to an incomplete type '{spell(t)}'")
            return ERROR
        return SIZE_T

    def e_Comma(self, e: A.Comma) -> CType:
        t = ERROR
        for x in e.exprs:
            t = self.value(x)
        return t

    def e_Index(self, e: A.Index) -> CType:
        bt, it = self.value(e.base), self.value(e.index)
        if isinstance(bt, ErrorType) or isinstance(it, ErrorType):
            return ERROR
        if isinstance(it, Pointer) and is_integer(bt):
            bt, it = it, bt
        if not isinstance(bt, Pointer):
            self.error(e.span, "subscripted value is not an array, pointer, or vector")
            return ERROR
        if not is_integer(it):
            self.error(e.index.span, "array subscript is not an integer")
            return ERROR
        if not is_complete_object(bt.to):
            self.error(e.span, f"subscript of pointer to incomplete type '{spell(bt.to)}'")
            return ERROR
        return bt.to

    def e_Member(self, e: A.Member) -> CType:
        bt = self.expr(e.base)
        if isinstance(bt, ErrorType):
            return ERROR
        if e.arrow:
            bt = decay(bt)
            if not (isinstance(bt, Pointer) and isinstance(bt.to, StructType)):
                self.error(e.span, f"member reference type '{spell(bt)}' is not a pointer"
                           if not isinstance(bt, Pointer) else
                           f"member reference base type '{spell(bt.to)}' is not a structure or union")
                return ERROR
            st = bt.to
        else:
            if isinstance(bt, Pointer) and isinstance(bt.to, StructType):
                self.error(e.span, f"member reference type '{spell(bt)}' is a pointer; "
                                   "did you mean to use '->'?")
                return ERROR
            if not isinstance(bt, StructType):
                self.error(e.span, f"member reference base type '{spell(bt)}' is not a structure or union")
                return ERROR
            st = bt
        if not st.info.complete:
            self.error(e.span, f"incomplete definition of type '{spell(unqual(st))}'")
            return ERROR
        f = st.info.field(e.name)
        if f is None:
            self.error(e.span, f"no member named '{e.name}' in '{spell(unqual(st))}'")
            return ERROR
        return qualified(f.ctype, st.const, st.volatile)

    # -- calls ----------------------------------------------------------------------------------------
    def e_Call(self, e: A.Call) -> CType:
        if isinstance(e.func, A.Member):
            return self.member_call(e)
        if not isinstance(e.func, A.Ident):
            self.expr(e.func)
            self.unsupported(e.span, "calls through function pointers are not supported yet")
            return ERROR
        self.callee = e.func
        ft = self.expr(e.func)
        sym = self.sema.refs.get(e.func)
        if isinstance(ft, ErrorType) or sym is None:
            for a in e.args:
                self.expr(a)
            return ERROR
        if isinstance(sym, Func):
            return self.call_func(e, sym)
        if isinstance(sym, Builtin) and sym.kind != "var":
            return self.call_builtin(e, sym)
        for a in e.args:
            self.expr(a)
        self.error(e.func.span, f"called object type '{spell(ft)}' is not a function or function pointer")
        return ERROR

    def arg_count(self, e: A.Call, lo: int, hi: int) -> bool:
        n = len(e.args)
        if lo <= n <= hi:
            return True
        few = n < lo
        self.error(e.span, f"too {'few' if few else 'many'} arguments to function call, expected "
                           f"{'at least ' if few and hi > lo else 'at most ' if not few and hi > lo else ''}"
                           f"{lo if few else hi}, have {n}")
        return False

    def call_func(self, e: A.Call, fn: Func) -> CType:
        caller = self.func
        if fn.kind == "kernel":
            self.unsupported(e.span, f"calling a __global__ function ('{fn.name}') from device code is "
                                     "not supported")
        elif caller is not None:
            caller.calls.append((fn, e.func.span))
        ts = [self.value(a) for a in e.args]
        params = list(fn.ctype.params)
        if self.arg_count(e, len(params), len(params)):
            for p, a, t in zip(params, e.args, ts):
                self.convertible(p, a, t, "initialize a parameter of")
        self.sema.calls[e] = CallInfo(fn, params, fn.ctype.ret)
        return fn.ctype.ret

    def member_call(self, e: A.Call) -> CType:
        m = e.func
        bt = self.expr(m.base)
        for a in e.args:
            self.expr(a)
        m.ctype = ERROR
        if isinstance(bt, ErrorType):
            return ERROR
        if unqual(bt) in (GRID_GROUP, THREAD_BLOCK) and m.name == "sync" and not m.arrow:
            if self.arg_count(e, 0, 0):
                grid = unqual(bt) == GRID_GROUP
                self.sema.calls[e] = CallInfo(TABLE["__syncthreads"], [], VOID,
                                              "gridsync" if grid else "bar", {} if grid else {"mode": "sync"})
            return VOID
        if unqual(bt) in (GRID_GROUP, THREAD_BLOCK) and m.name not in _CG_MEMBERS[unqual(bt)]:
            self.error(m.span, f"no member named '{m.name}' in '{spell(unqual(bt))}'")
        elif unqual(bt) in (GRID_GROUP, THREAD_BLOCK):
            self.unsupported(e.span, f"'{m.name}' of cooperative groups is not supported yet")
        else:
            self.unsupported(e.span, "member function calls are not supported yet")
        return ERROR

    def call_builtin(self, e: A.Call, b: Builtin) -> CType:
        ts = [self.value(a) for a in e.args]
        if any(isinstance(t, ErrorType) for t in ts):
            return ERROR
        kind = b.kind
        if kind == "cg":
            if self.arg_count(e, 0, 0):
                self.sema.calls[e] = CallInfo(b, [], b.ret)
            return b.ret
        if kind == "printf":
            return self.call_printf(e, b, ts)
        if kind in ("fixed", "make"):
            defaults = self.left_out(e, b)
            if defaults is None:
                return ERROR
            info = CallInfo(b, list(b.params), b.ret, b.op, dict(b.attrs), b.ir_ret or b.ret, defaults)
            return self.finish_builtin(e, info, ts)
        if kind == "math":
            n = len(b.params)
            if not self.arg_count(e, n, n):
                return ERROR
            if not all(is_arith(t) for t in ts):
                return self.no_match(e, b, ts)
            t = FLOAT if all(unqual(x) == FLOAT for x in ts) else DOUBLE
            return self.finish_builtin(e, CallInfo(b, [t] * n, t, b.op, {}, t), ts)
        if kind == "minmax":
            if not self.arg_count(e, 2, 2):
                return ERROR
            if not all(is_arith(t) for t in ts):
                return self.no_match(e, b, ts)
            t = usual_arith(*ts)
            op = ("f" + b.op) if isinstance(t, Float) else b.op
            return self.finish_builtin(e, CallInfo(b, [t, t], t, op, {}, t), ts)
        if kind == "abs":
            if not self.arg_count(e, 1, 1):
                return ERROR
            if not is_arith(ts[0]):
                return self.no_match(e, b, ts)
            t = promote(ts[0])
            return self.finish_builtin(e, CallInfo(b, [t], t, "fabs" if isinstance(t, Float) else "abs", {}, t), ts)
        if kind == "atomic":
            return self.call_atomic(e, b, ts)
        if kind == "shfl":
            defaults = self.left_out(e, b)
            if defaults is None:
                return ERROR
            t = promote(ts[1]) if is_integer(ts[1]) else unqual(ts[1])
            if t not in b.types:
                return self.no_match(e, b, ts)
            params = [b.params[0], t, b.params[2], b.params[3]]
            info = CallInfo(b, params, t, b.op, dict(b.attrs), t, defaults)
            return self.finish_builtin(e, info, ts)
        raise AssertionError(kind)

    def left_out(self, e: A.Call, b: Builtin) -> tuple | None:
        """The default values of the trailing parameters a call to `b` leaves out; None (reported) when
        it has too few or too many arguments."""
        n, d = len(b.params), len(b.defaults)
        if not self.arg_count(e, n - d, n):
            return None
        return b.defaults[len(e.args) - (n - d):]

    def no_match(self, e: A.Call, b: Builtin, ts: list[CType]) -> CType:
        self.error(e.span, f"no matching function for call to '{b.name}' with argument types "
                           f"({', '.join(spell(t) for t in ts)})")
        return ERROR

    def finish_builtin(self, e: A.Call, info: CallInfo, ts: list[CType]) -> CType:
        for p, a, t in zip(info.params, e.args, ts):
            self.convertible(p, a, t, "initialize a parameter of")
        self.sema.calls[e] = info
        return info.ret

    def call_atomic(self, e: A.Call, b: Builtin, ts: list[CType]) -> CType:
        n = 3 if b.attrs == (("op", "cas"),) else 2
        if not self.arg_count(e, n, n):
            return ERROR
        p = ts[0]
        if not isinstance(p, Pointer) or unqual(p.to) not in b.types or p.to.const:
            return self.no_match(e, b, ts)
        t = unqual(p.to)
        info = CallInfo(b, [p] + [t] * (n - 1), t, b.op, dict(b.attrs), t)
        return self.finish_builtin(e, info, ts)

    def call_printf(self, e: A.Call, b: Builtin, ts: list[CType]) -> CType:
        if not e.args:
            self.arg_count(e, 1, 1)
            return ERROR
        if not isinstance(e.args[0], A.StringLit):
            self.unsupported(e.args[0].span, "printf with a format that is not a string literal is not "
                                             "supported yet")
            return ERROR
        params = [ts[0]]
        for a, t in zip(e.args[1:], ts[1:]):
            if isinstance(t, Float):
                params.append(DOUBLE)
            elif is_integer(t):
                params.append(promote(t))
            elif isinstance(t, Pointer):
                params.append(t)
            else:
                self.error(a.span, f"cannot pass object of non-trivial type '{spell(t)}' through variadic "
                                   "function; call will abort at runtime" if isinstance(t, StructType)
                           else f"cannot pass expression of type '{spell(t)}' to variadic function")
                return ERROR
        self.sema.calls[e] = CallInfo(b, params, INT, "printf", {"fmt": e.args[0].value})
        return INT

    # -- constant expressions ----------------------------------------------------------------------------
    def const_int(self, e: A.Expr, what: str) -> int | None:
        """The value of an integer constant expression, or None after reporting it is not one."""
        if isinstance(e.ctype, ErrorType):
            return None
        v = self.const_value(e)
        if v is None or not is_integer(decay(e.ctype)):
            self.error(e.span, f"{what} is not an integer constant expression")
            return None
        return v

    def const_value(self, e: A.Expr):
        return const_value(e, self.sema)


def check(tu: A.TranslationUnit, reporter: Reporter) -> Sema:
    """Check `tu`, reporting problems to `reporter`; the caller raises them with `reporter.check()`."""
    return Checker(reporter).run(tu)
