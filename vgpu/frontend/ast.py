"""The .vk abstract syntax tree: small dataclasses, each with a source `span`.

In:  built by `vgpu.frontend.parse` from the Lark parse tree.
Out: read by `vgpu.frontend.check` (types, scopes, C rules) and `vgpu.frontend.lower` (SSA IR).

Types are kept as written (`TypeRef`): a base name and a list of derivations applied outward
from the declared name, e.g. `const float *p[4]` is TypeRef('float', {'const'}, [Array(4), Pointer()]),
read as "array of 4 pointers to const float".  The checker turns TypeRefs into C types.
Expressions carry a `ctype` slot the checker fills in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..diagnostics import Span


@dataclass(eq=False)
class Node:
    span: Span = field(repr=False, kw_only=True)


# -- types as written ------------------------------------------------------------------------------

@dataclass(eq=False)
class Pointer(Node):
    quals: frozenset[str] = frozenset()      # const, volatile, __restrict__ (of the pointer itself)


@dataclass(eq=False)
class Array(Node):
    size: "Expr | None"                      # None: `[]` (extern __shared__, or sized by an initialiser)


@dataclass(eq=False)
class TypeRef(Node):
    base: str                                # 'int', 'unsigned int', 'long long', 'float', 'void', 'struct S',
                                             # 'enum E', a typedef name, 'float4', ...
    quals: frozenset[str] = frozenset()      # qualifiers of the base type: const, volatile
    derived: list[Pointer | Array] = field(default_factory=list)   # innermost (next to the name) first
    targs: "list | None" = None              # template arguments (TypeRef / Expr) of `base<...>`
    ref: bool = False                        # a C++ reference `T &` (outermost)


# -- expressions -----------------------------------------------------------------------------------

@dataclass(eq=False)
class Expr(Node):
    ctype: Any = field(default=None, repr=False, kw_only=True)   # set by the checker


@dataclass(eq=False)
class Ident(Expr):
    name: str                                # may contain '::' (cooperative_groups::this_grid)


@dataclass(eq=False)
class IntLit(Expr):
    value: int
    suffix: str = ""                         # lower-cased: '', 'u', 'l', 'ul', 'll', 'ull'
    base: int = 10                           # 2, 8, 10 or 16 (decides int vs unsigned int, as in C)
    text: str = ""


@dataclass(eq=False)
class FloatLit(Expr):
    value: float
    is_float: bool                           # 1.0f (float) vs 1.0 (double)
    text: str = ""


@dataclass(eq=False)
class CharLit(Expr):
    value: int


@dataclass(eq=False)
class StringLit(Expr):
    value: bytes                             # without the terminating NUL


@dataclass(eq=False)
class Unary(Expr):
    op: str                                  # '-', '+', '!', '~', '*' (deref), '&' (address), '++', '--' (prefix)
    operand: Expr


@dataclass(eq=False)
class Postfix(Expr):
    op: str                                  # '++' or '--'
    operand: Expr


@dataclass(eq=False)
class Binary(Expr):
    op: str                                  # '+ - * / % << >> < > <= >= == != & ^ | && ||'
    left: Expr
    right: Expr


@dataclass(eq=False)
class Assign(Expr):
    op: str                                  # '=', '+=', '-=', ... '>>='
    target: Expr
    value: Expr
    init: bool = False                       # made by the checker: initialises target (const allowed,
                                             # no operator= called)


@dataclass(eq=False)
class Conditional(Expr):
    cond: Expr
    then: Expr
    other: Expr


@dataclass(eq=False)
class Cast(Expr):
    type: TypeRef
    operand: Expr


@dataclass(eq=False)
class TemplateId(Expr):
    name: str                                # `f<256, true>`: a template and its arguments
    args: list                               # TypeRef / Expr


@dataclass(eq=False)
class FunctionalCast(Expr):
    type: TypeRef                            # `float(x)`, `T()`: C++ functional notation
    args: list
    braces: bool = False                     # `S{a, b}`


@dataclass(eq=False)
class Call(Expr):
    func: Expr                               # usually Ident; Member for g.sync()
    args: list[Expr]


@dataclass(eq=False)
class Index(Expr):
    base: Expr
    index: Expr


@dataclass(eq=False)
class Member(Expr):
    base: Expr
    name: str
    arrow: bool = False                      # p->x


@dataclass(eq=False)
class SizeOf(Expr):
    operand: "Expr | TypeRef"
    align: bool = False                      # alignof(type)


@dataclass(eq=False)
class OffsetOf(Expr):
    """`__builtin_offsetof(T, a.b[2])` (what <stddef.h>'s offsetof expands to): `path` holds member
    names and index expressions; the checker sets `value`, the offset in bytes."""
    operand: "TypeRef"
    path: list
    value: int = 0


@dataclass(eq=False)
class Comma(Expr):
    exprs: list[Expr]


@dataclass(eq=False)
class Construct(Expr):
    """Made by the checker (never parsed): initialise the object `target` designates from `args`, by a
    constructor, a copy, or zero (`value_init`: `T()`); of type void."""
    target: Expr
    args: list
    braces: bool = False
    value_init: bool = False


@dataclass(eq=False)
class InitList(Expr):
    items: list[Expr]                        # `{1, 2, 3}`; nested lists for arrays of arrays / structs


# -- declarations ----------------------------------------------------------------------------------

@dataclass(eq=False)
class VarDecl(Node):
    name: str
    type: TypeRef
    init: Expr | None = None
    storage: frozenset[str] = frozenset()    # __shared__ __constant__ __device__ extern static register
    name_span: Span | None = field(default=None, repr=False)
    align: "Expr | TypeRef | None" = None    # alignas(N) / alignas(type)
    args: "list | None" = None               # `S v(a, b)` / `S v{a, b}`: constructor arguments
    braces: bool = False                     # args were written in braces
    access: str = "public"                   # of a struct's field: public, private, protected


@dataclass(eq=False)
class ParamDecl(Node):
    name: str | None                         # None for unnamed parameters in a prototype
    type: TypeRef
    default: "Expr | None" = None            # a default argument


@dataclass(eq=False)
class FunctionDef(Node):
    name: str
    ret: TypeRef
    params: list[ParamDecl]
    body: "Compound | None"                  # None: a prototype
    qualifiers: frozenset[str] = frozenset() # __global__ __device__ __host__ __forceinline__ __noinline__ static inline
    launch_bounds: list[Expr] = field(default_factory=list)
    name_span: Span | None = field(default=None, repr=False)
    targs: "list | None" = None              # `f<int>(...)`: a specialisation or explicit instantiation
    explicit: bool = False                   # `template __global__ void f<1>(int *);`
    ret_ref: bool = False                    # returns a reference (the checker made `ret` a pointer)
    access: str = "public"                   # of a member function
    inits: list = field(default_factory=list)   # a constructor's member initialisers (name, args, span)
    default: bool = False                    # `= default`
    friend_of: str = ""                      # a friend function: the struct (tag) whose members it may use


@dataclass(eq=False)
class StructDef(Node):
    name: str | None
    fields: list[VarDecl]
    is_union: bool = False
    conversions: list = field(default_factory=list)   # FunctionDef: `operator T *() {...}` (no `this` use)
    methods: list = field(default_factory=list)       # FunctionDef: member functions (`const` in qualifiers)
    targs: "list | None" = None              # `template <> struct S<double> {...}`: a specialisation
    ctors: list = field(default_factory=list)         # FunctionDef: constructors (name '', inits)
    dtor: "FunctionDef | None" = None        # `~S() {...}`
    is_class: bool = False                   # declared with `class` (members private by default)
    align: object = None                     # `struct alignas(N) S`: the expression or TypeRef


@dataclass(eq=False)
class StructDecl(Node):
    """`struct S;`: declares the struct (incomplete until defined) in the current scope."""
    name: str
    is_union: bool = False


@dataclass(eq=False)
class EnumDef(Node):
    name: str | None
    items: list[tuple[str, Expr | None, Span]]


@dataclass(eq=False)
class TemplateParam(Node):
    name: str
    kind: str                                # 'type' or 'value'
    type: "TypeRef | None" = None            # of a value parameter
    default: "TypeRef | Expr | None" = None


@dataclass(eq=False)
class TemplateDecl(Node):
    params: list[TemplateParam]
    decl: "FunctionDef | DeclStmt"           # a function, or a DeclStmt holding one StructDef


@dataclass(eq=False)
class Typedef(Node):
    name: str
    type: TypeRef


# -- statements ------------------------------------------------------------------------------------

@dataclass(eq=False)
class Stmt(Node):
    pass


@dataclass(eq=False)
class DeclStmt(Stmt):
    decls: list[VarDecl | StructDef | StructDecl | EnumDef | Typedef]


@dataclass(eq=False)
class ExprStmt(Stmt):
    expr: Expr | None                        # None: the empty statement ';'


@dataclass(eq=False)
class Compound(Stmt):
    items: list[Stmt]
    end_line: int = 0                        # the line of the closing brace (a scope's last line)


@dataclass(eq=False)
class If(Stmt):
    cond: Expr
    then: Stmt
    other: Stmt | None = None


@dataclass(eq=False)
class For(Stmt):
    init: DeclStmt | ExprStmt | None
    cond: Expr | None
    step: Expr | None
    body: Stmt


@dataclass(eq=False)
class While(Stmt):
    cond: Expr
    body: Stmt


@dataclass(eq=False)
class DoWhile(Stmt):
    body: Stmt
    cond: Expr


@dataclass(eq=False)
class Break(Stmt):
    pass


@dataclass(eq=False)
class Continue(Stmt):
    pass


@dataclass(eq=False)
class Return(Stmt):
    value: Expr | None = None


@dataclass(eq=False)
class Switch(Stmt):
    cond: Expr
    body: Stmt


@dataclass(eq=False)
class Case(Stmt):
    value: Expr | None                       # None: `default:`
    body: Stmt


@dataclass(eq=False)
class StaticAssert(Stmt):
    cond: Expr
    message: str = ""


@dataclass(eq=False)
class UnsupportedStmt(Stmt):
    what: str                                # goto, labels, asm, ...


@dataclass(eq=False)
class TranslationUnit(Node):
    decls: list[FunctionDef | DeclStmt | TemplateDecl | StaticAssert]
    using_cg: bool = False                   # `using namespace cooperative_groups;` was seen
