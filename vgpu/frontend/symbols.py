"""The checker's output: symbol records and the `Sema` tables that map AST nodes to them.

`Var`, `Func`, `EnumConst` and `TypeName` are what identifiers resolve to; `CallInfo` is what a call
calls; `Sema` holds every table `vgpu.frontend.check` fills and `vgpu.frontend.lower` reads.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import ast as A
from .builtins import Builtin
from .ctypes import INT, CType, FuncType
from ..diagnostics import Span

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
    ref: bool = False               # a C++ reference (`T &x`): holds the address of what it names
    align: int = 0                  # alignas(N): at least this alignment (0: the type's own)


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
    refs: tuple = ()                # which parameters are C++ references
    defaults: list = field(default_factory=list)   # per parameter: its default argument (Expr) or None
    overloads: list = field(default_factory=list)  # C++ overloads of this name, the first declared first
    owner: object = None            # the StructInfo of a member function (constructor, operator)
    ret_ref: bool = False           # returns a C++ reference: `ctype.ret` is the pointer it is made of
    explicit: bool = False          # an `explicit` constructor (no implicit conversions by it)


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
    consts: dict = field(default_factory=dict)      # Expr -> its constant value or None (consteval's memo)
    conversions: dict = field(default_factory=dict)  # Expr -> Func: a struct's conversion operator applied
    group_casts: dict = field(default_factory=dict)  # Expr -> tile width (0: block) converted to thread_group
    rewrites: dict = field(default_factory=dict)    # Expr -> the Expr computed instead (__half2 operators,
                                                    # C++ operators and temporaries, calls returning references)
    constructs: dict = field(default_factory=dict)  # Construct -> what it runs: Exprs, Stmts, ('zero', Expr)
    ctor_inits: dict = field(default_factory=dict)  # VarDecl -> the Construct initialising it
    funcs: dict[str, Func] = field(default_factory=dict)
    instances: dict[str, str | None] = field(default_factory=dict)   # instance asked for -> its kernel name
    statics: list[Var] = field(default_factory=list)
