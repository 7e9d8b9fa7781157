"""C types of .vk programs, with CUDA's 64-bit ABI (LP64: long and pointers are 8 bytes).

In:  type names and derivations resolved by `vgpu.frontend.check`.
Out: immutable `CType` values with sizes, alignments, C spellings for diagnostics, the integer
     promotions and usual arithmetic conversions, and the mapping to IR scalars (`scalar_of`: bool
     is `pred` in registers, `mem_scalar`: a u8 in memory; pointers are u64).

Structs (and CUDA's vector types float4, int2, ...) are `StructType`s that share one `StructInfo`;
two struct types are the same type when they share it.  Enums are `int`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from .. import types as T


@dataclass(frozen=True)
class CType:
    const: bool = field(default=False, kw_only=True)
    volatile: bool = field(default=False, kw_only=True)


@dataclass(frozen=True)
class Void(CType):
    pass


@dataclass(frozen=True)
class Bool(CType):
    pass


@dataclass(frozen=True)
class Int(CType):
    name: str          # 'char', 'unsigned int', 'long long', ...
    size: int
    signed: bool
    rank: int          # integer conversion rank: char 1, short 2, int 3, long 4, long long 5


@dataclass(frozen=True)
class Float(CType):
    name: str          # 'float', 'double', or '__half' (CUDA's binary16 class, <cuda_fp16.h>)
    size: int


@dataclass(frozen=True)
class Pointer(CType):
    to: CType
    restrict: bool = False


@dataclass(frozen=True)
class Array(CType):
    elem: CType
    n: int | None      # None: size not known (`extern __shared__ float buf[];`)


@dataclass(eq=False)
class Field:
    name: str
    ctype: CType
    offset: int


@dataclass(eq=False)
class StructInfo:
    """One struct, union or vector type; `complete` once its fields are known."""
    name: str                                  # as C prints it: 'struct Stats', 'Particle', 'float4'
    fields: list[Field] = field(default_factory=list)
    size: int = 0
    align: int = 1
    complete: bool = False
    is_union: bool = False
    methods: dict = field(default_factory=dict)     # C++ member functions: name -> (Func or None, static)
    ctors: list = field(default_factory=list)       # constructors (Funcs, one overload group; None: host only)
    implicit_ctor: bool = False                     # the constructor is the implicit default one vgpu made
    no_default: bool = False                        # the implicit default constructor is deleted (a member
                                                    # has constructors, none of them a default one)
    access: dict = field(default_factory=dict)      # member name -> 'private' / 'protected' (public: absent)

    def lay_out(self, fields: list, align: int = 0) -> None:
        """Place `fields` ((name, type) or (name, type, alignas), 0: none) as the host ABI does; `align`:
        the struct's own alignas (the struct is aligned to the larger of it and its fields')."""
        end, max_align = 0, 1
        for name, ct, *own in fields:
            a = max([alignof(ct), *own])
            offset = 0 if self.is_union else (end + a - 1) // a * a
            self.fields.append(Field(name, ct, offset))
            end = max(end, offset + sizeof(ct))
            max_align = max(max_align, a)
        self.align = max(align, max_align)
        self.size = (end + self.align - 1) // self.align * self.align
        self.complete = True

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class StructType(CType):
    info: StructInfo


@dataclass(frozen=True)
class FuncType(CType):
    ret: CType
    params: tuple[CType, ...]
    variadic: bool = False


@dataclass(frozen=True)
class ErrorType(CType):
    """The type of an expression already reported as wrong; silences follow-on errors."""


VOID, BOOL, ERROR = Void(), Bool(), ErrorType()
CHAR = Int("char", 1, True, 1)                  # char is signed on CUDA's x86-64 and aarch64 hosts
SCHAR, UCHAR = Int("signed char", 1, True, 1), Int("unsigned char", 1, False, 1)
SHORT, USHORT = Int("short", 2, True, 2), Int("unsigned short", 2, False, 2)
INT, UINT = Int("int", 4, True, 3), Int("unsigned int", 4, False, 3)
LONG, ULONG = Int("long", 8, True, 4), Int("unsigned long", 8, False, 4)
LLONG, ULLONG = Int("long long", 8, True, 5), Int("unsigned long long", 8, False, 5)
FLOAT, DOUBLE = Float("float", 4), Float("double", 8)
HALF = Float("__half", 2)   # a class in C++: arithmetic only with another __half (is_half, docs/language.md)
SIZE_T, PTRDIFF_T = ULONG, LONG

# base type names as the parser may spell them, keyed by their sorted words
_BASES: dict[tuple[str, ...], CType] = {}
for _ct, _spellings in [
        (VOID, ["void"]), (BOOL, ["bool"]), (CHAR, ["char"]), (SCHAR, ["signed char"]),
        (UCHAR, ["unsigned char"]), (SHORT, ["short", "short int", "signed short", "signed short int"]),
        (USHORT, ["unsigned short", "unsigned short int"]),
        (INT, ["int", "signed", "signed int"]), (UINT, ["unsigned", "unsigned int"]),
        (LONG, ["long", "long int", "signed long", "signed long int"]),
        (ULONG, ["unsigned long", "unsigned long int"]),
        (LLONG, ["long long", "long long int", "signed long long", "signed long long int"]),
        (ULLONG, ["unsigned long long", "unsigned long long int"]),
        (FLOAT, ["float"]), (DOUBLE, ["double"])]:
    for _s in _spellings:
        _BASES[tuple(sorted(_s.split()))] = _ct


def base_type(name: str) -> CType | None:
    """The builtin arithmetic or void type spelt `name` ('unsigned', 'long long int', ...), or None."""
    return _BASES.get(tuple(sorted(name.split())))


def _vector(name: str, elem: CType, n: int, align: int) -> StructType:
    info = StructInfo(name)
    info.lay_out([(c, elem) for c in "xyzw"[:n]], align)
    return StructType(info)


def _vector_table() -> dict[str, StructType]:
    out = {}
    for prefix, elem in [("char", CHAR), ("uchar", UCHAR), ("short", SHORT), ("ushort", USHORT),
                         ("int", INT), ("uint", UINT), ("long", LONG), ("ulong", ULONG),
                         ("longlong", LLONG), ("ulonglong", ULLONG), ("float", FLOAT), ("double", DOUBLE)]:
        s = sizeof(elem)
        for n in (1, 2, 3, 4):
            if n == 4 and s == 8:
                continue               # double4 and friends changed alignment across CUDA versions
            align = {1: s, 2: 2 * s, 3: s, 4: min(4 * s, 16)}[n]
            out[f"{prefix}{n}"] = _vector(f"{prefix}{n}", elem, n, align)
    return out


def is_integer(t: CType) -> bool:
    return isinstance(t, (Int, Bool))


def is_arith(t: CType) -> bool:
    return isinstance(t, (Int, Bool, Float))


def is_half(t: CType) -> bool:
    """CUDA's __half (<cuda_fp16.h>): converts to and from every arithmetic type, but its operators
    take two __half operands (mixing it with another arithmetic type is ambiguous in nvcc)."""
    return isinstance(t, Float) and t.size == 2


def is_scalar(t: CType) -> bool:
    return is_arith(t) or isinstance(t, Pointer)


def is_complete_object(t: CType) -> bool:
    if isinstance(t, (Void, FuncType)):
        return False
    if isinstance(t, StructType):
        return t.info.complete
    if isinstance(t, Array):
        return t.n is not None and is_complete_object(t.elem)
    return True


def unqual(t: CType) -> CType:
    return replace(t, const=False, volatile=False) if (t.const or t.volatile) else t


def qualified(t: CType, const: bool = False, volatile: bool = False) -> CType:
    if not (const or volatile):
        return t
    if isinstance(t, Array):      # qualifiers of an array apply to its elements
        return replace(t, elem=qualified(t.elem, const, volatile))
    return replace(t, const=t.const or const, volatile=t.volatile or volatile)


def same(a: CType, b: CType) -> bool:
    """The same type, ignoring top-level qualifiers."""
    return unqual(a) == unqual(b)


def decay(t: CType) -> CType:
    """Array-to-pointer and function-to-pointer conversion of a value of type `t`."""
    if isinstance(t, Array):
        return Pointer(t.elem)
    if isinstance(t, FuncType):
        return Pointer(t)
    return unqual(t)


def sizeof(t: CType) -> int:
    if isinstance(t, (Int, Float)):
        return t.size
    if isinstance(t, Bool):
        return 1
    if isinstance(t, Pointer):
        return 8
    if isinstance(t, Array):
        return (t.n or 0) * sizeof(t.elem)
    if isinstance(t, StructType):
        return t.info.size
    return 1                       # void and functions: only reached after a diagnostic


def alignof(t: CType) -> int:
    if isinstance(t, Array):
        return alignof(t.elem)
    if isinstance(t, StructType):
        return t.info.align
    return sizeof(t)


def promote(t: CType) -> CType:
    """The integer promotions: bool, char and short become int; other types are unchanged."""
    t = unqual(t)
    if isinstance(t, Bool) or (isinstance(t, Int) and t.rank < INT.rank):
        return INT
    return t


def usual_arith(a: CType, b: CType) -> CType:
    """The common type of the usual arithmetic conversions (C11 6.3.1.8)."""
    a, b = promote(a), promote(b)
    for f in (DOUBLE, FLOAT):
        if a == f or b == f:
            return f
    if a == b:
        return a
    if a.signed == b.signed:
        return a if a.rank > b.rank else b
    u, s = (a, b) if not a.signed else (b, a)
    if u.rank >= s.rank:
        return u
    if s.size > u.size:
        return s
    return {LONG: ULONG, LLONG: ULLONG}.get(s, UINT)


def scalar_of(t: CType) -> T.Scalar:
    """The IR type of a value of C type `t` held in a register."""
    cls = t.__class__                      # the common cases first: lowering asks for every value
    if cls is Int:
        return _INT_SCALARS[t.signed, t.size]
    if cls is Float:
        return {2: T.F16, 4: T.F32}.get(t.size, T.F64)     # 2: __half
    if cls is Bool:
        return T.PRED
    if cls in (Pointer, Array, FuncType):
        return T.U64
    raise TypeError(f"no scalar for {spell(t)}")


_INT_SCALARS = {(signed, size): T.SCALARS[("s" if signed else "u") + str(8 * size)]
                for signed in (True, False) for size in (1, 2, 4, 8)}


def mem_scalar(t: CType) -> T.Scalar:
    """The IR type of a value of C type `t` in memory: bool is a byte."""
    return T.U8 if isinstance(unqual(t), Bool) else scalar_of(t)


def union_chunks(t: StructType, offset: int = 0) -> list[tuple[int, CType]]:
    """A union's leaves: unsigned integers of its alignment (at most 8 bytes) covering its bytes, so
    that copying, passing and returning a union copy its bytes whichever member was written last."""
    unit = {1: UCHAR, 2: USHORT, 4: UINT}.get(t.info.align, ULLONG)
    return [(offset + k, unit) for k in range(0, t.info.size, unit.size)]


def iter_leaves(t: CType, offset: int = 0):
    """`leaves`, one at a time (an initialiser of a huge array reads only its first few)."""
    if isinstance(t, StructType) and t.info.is_union:
        yield from union_chunks(t, offset)
    elif isinstance(t, StructType):
        for f in t.info.fields:
            yield from iter_leaves(f.ctype, offset + f.offset)
    elif isinstance(t, Array):
        size = sizeof(t.elem)
        for k in range(t.n or 0):
            yield from iter_leaves(t.elem, offset + k * size)
    else:
        yield offset, t


def count_leaves(t: CType) -> int:
    """len(leaves(t)), without listing them."""
    if isinstance(t, StructType) and t.info.is_union:
        return len(union_chunks(t))
    if isinstance(t, StructType):
        return sum(count_leaves(f.ctype) for f in t.info.fields)
    if isinstance(t, Array):
        return (t.n or 0) * count_leaves(t.elem)
    return 1


def leaves(t: CType, offset: int = 0) -> list[tuple[int, CType]]:
    """The scalar sub-objects of `t` (itself if scalar) with their byte offsets, in layout order (a
    union's: `union_chunks`)."""
    if isinstance(t, StructType) and t.info.is_union:
        return union_chunks(t, offset)
    if isinstance(t, StructType):
        return [leaf for f in t.info.fields for leaf in leaves(f.ctype, offset + f.offset)]
    if isinstance(t, Array):
        size = sizeof(t.elem)
        return [leaf for k in range(t.n or 0) for leaf in leaves(t.elem, offset + k * size)]
    return [(offset, t)]


def has_union(t: CType) -> bool:
    """Whether `t` is or holds a union."""
    if isinstance(t, Array):
        return has_union(t.elem)
    if isinstance(t, StructType):
        return t.info.is_union or any(has_union(f.ctype) for f in t.info.fields)
    return False


def has_array_or_union(t: CType) -> bool:
    if isinstance(t, Array):
        return True
    if isinstance(t, StructType):
        return t.info.is_union or any(has_array_or_union(f.ctype) for f in t.info.fields)
    return False


def spell(t: CType, inner: str = "") -> str:
    """`t` as clang prints it in diagnostics: 'const int *', 'float [16][16]', 'struct S'."""
    quals = "".join(q + " " for q, on in (("const", t.const), ("volatile", t.volatile)) if on)
    if isinstance(t, Pointer):
        ptr = "*" + (" __restrict__" if t.restrict else "") + "".join(
            q for q, on in (("const", t.const), ("volatile", t.volatile)) if on)
        return spell(t.to, f"({ptr}{inner})" if isinstance(t.to, (Array, FuncType)) else ptr + inner)
    if isinstance(t, Array):
        return spell(t.elem, f"{inner}[{'' if t.n is None else t.n}]")
    if isinstance(t, FuncType):
        params = ", ".join(spell(p) for p in t.params) + (", ..." if t.variadic else "")
        return spell(t.ret, f"{inner}({params})")
    name = {Void: "void", Bool: "bool", ErrorType: "<error>"}.get(type(t)) or getattr(t, "name", None) \
        or t.info.name
    return f"{quals}{name}" + (f" {inner}" if inner else "")


# built-in type names: CUDA's vector types, dim3 and the library typedefs (after sizeof, which they use)
VECTORS: dict[str, StructType] = _vector_table()
UINT3 = VECTORS["uint3"]
HALF2 = _vector("__half2", HALF, 2, 4)     # <cuda_fp16.h>'s __half2: members x, y; size and alignment 4
DIM3 = _vector("dim3", UINT, 3, 4)
# glibc's <sys/types.h>, which nvcc's implicit "cuda_runtime.h" pulls into every file (not <stdint.h>'s
# uint8_t/uint16_t/uint32_t/uint64_t, which need an #include)
SYS_TYPES: dict[str, CType] = {"uint": UINT, "ushort": USHORT, "ulong": ULONG, "u_char": UCHAR, "u_short": USHORT,
                               "u_int": UINT, "u_long": ULONG, "quad_t": LONG, "u_quad_t": ULONG, "int8_t": SCHAR,
                               "int16_t": SHORT, "int32_t": INT, "int64_t": LONG, "u_int8_t": UCHAR,
                               "u_int16_t": USHORT, "u_int32_t": UINT, "u_int64_t": ULONG, "ssize_t": LONG}
CUDA_EXTENT = StructType(StructInfo("cudaExtent"))      # the runtime's struct cudaExtent
CUDA_EXTENT.info.lay_out([("width", SIZE_T), ("height", SIZE_T), ("depth", SIZE_T)])
TYPEDEFS: dict[str, CType] = {**VECTORS, "dim3": DIM3, "size_t": SIZE_T, "ptrdiff_t": PTRDIFF_T, "clock_t": LONG,
                              "cudaTextureObject_t": ULLONG, "cudaSurfaceObject_t": ULLONG,
                              "cudaExtent": CUDA_EXTENT, "__vgpu_half": HALF,
                              "__vgpu_half2": HALF2, **SYS_TYPES}
# cooperative_groups:: objects: opaque, known by their unqualified names
GRID_GROUP = StructType(StructInfo("cooperative_groups::grid_group", complete=True))
THREAD_BLOCK = StructType(StructInfo("cooperative_groups::thread_block", complete=True))
# thread_group: any group by its base type; vgpu keeps its size and tile width (0: a whole block)
THREAD_GROUP = StructType(StructInfo("cooperative_groups::thread_group"))
THREAD_GROUP.info.lay_out([("__size", UINT), ("__tile", UINT)])
# coalesced_group: the lanes active where coalesced_threads() ran
COALESCED_GROUP = StructType(StructInfo("cooperative_groups::coalesced_group"))
COALESCED_GROUP.info.lay_out([("__mask", UINT)])
CG_TYPES: dict[str, StructType] = {"grid_group": GRID_GROUP, "thread_block": THREAD_BLOCK,
                                   "thread_group": THREAD_GROUP, "coalesced_group": COALESCED_GROUP}
