"""The assembled program: what the instruction selector and the assembler produce, what the
disassembler prints and what the simulator runs.

A `Program` holds module-level symbols (`.global`, `.const`, `.shared` data) and kernels.  A
`KernelCode` is a flat list of `Instr`s (index = pc) with labels, its parameters, register counts
per class and the reconvergence pc of every potentially divergent branch.

Operands, as text (PTX style):
  Reg('%r3')           registers; classes %p (pred) %rs (16-bit) %r (32-bit) %rd (64-bit) %f (f32) %fd (f64)
  Imm(5) / Imm(1.5)    immediates; floats print exactly as 0fXXXXXXXX (f32) or 0dXXXXXXXXXXXXXXXX (f64)
  SReg('%tid.x')       special registers
  Sym('tile')          a symbol: a kernel parameter or a module/kernel variable; as a value, its address
  Mem(base, offset)    an address operand [%rd1+8], [tile+4], [saxpy_param_0]
  Label('$L3')         a branch target
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from ..types import Scalar


class _Operand:
    """Operands are small frozen slotted dataclasses (a kernel holds hundreds of thousands of them);
    pickled by their fields (Python 3.10 cannot restore a frozen slotted dataclass by itself)."""
    __slots__ = ()

    def __reduce__(self):
        return type(self), tuple(getattr(self, f) for f in self.__slots__)


@dataclass(frozen=True, slots=True)
class Reg(_Operand):
    name: str

    def __str__(self) -> str:
        return self.name

    def __eq__(self, other) -> bool:         # faster than the dataclass's tuple compare
        return other.__class__ is Reg and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)


@dataclass(frozen=True, slots=True)
class Imm(_Operand):
    value: int | float

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, slots=True)
class SReg(_Operand):
    name: str                  # with the %: '%tid.x'

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Sym(_Operand):
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Mem(_Operand):
    base: Reg | Sym | Imm
    offset: int = 0

    def __str__(self) -> str:
        if self.offset:
            return f"[{self.base}{'+' if self.offset > 0 else ''}{self.offset}]"
        return f"[{self.base}]"


@dataclass(frozen=True, slots=True)
class Label(_Operand):
    name: str

    def __str__(self) -> str:
        return self.name


Operand = Reg | Imm | SReg | Sym | Mem | Label


@dataclass(eq=False, slots=True)
class Instr:
    """One instruction: `@%p1 add.s32 %r1, %r2, %r3;` is
    Instr('add', (), ('s32',), [Reg('%r1'), Reg('%r2'), Reg('%r3')], guard=Reg('%p1')).

    `mods` are the dotted words between the mnemonic and the types, in text order
    (`ld.global` -> ('global',), `setp.lt` -> ('lt',), `shfl.sync.down` -> ('sync', 'down'),
    `cvt.rzi` -> ('rzi',)); `types` the type suffixes (`cvt.rn.f32.s32` -> ('f32', 's32')).
    `line` is the .vk source line the instruction came from (None for hand-written assembly) and
    `file` the file holding that line (the .vk file, or a header it includes).
    """
    op: str
    mods: tuple[str, ...]
    types: tuple[str, ...]
    operands: list[Operand]
    guard: Reg | None = None
    guard_neg: bool = False
    line: int | None = None
    file: str | None = None
    # debug points (vgpu.isa.debugpoints): a list on the instructions that have some, else None
    dbg: list | None = field(default=None, repr=False)

    @property
    def mnemonic(self) -> str:
        return ".".join((self.op, *self.mods, *self.types))


@dataclass
class ParamInfo:
    """One kernel parameter: its name (the `.param` symbol, and what users pass arguments by), its
    type (u64 for pointers) and its place in the kernel's parameter buffer, `offset` and `size` in
    bytes, set by `layout_params` for compiled and hand-written assembly alike."""
    name: str
    type: Scalar
    is_pointer: bool = False
    pointee: Scalar | None = None
    offset: int = 0
    size: int = 0
    default: int | float | None = None     # the value a launch passes when the argument is left out
    group: tuple | None = None             # a struct parameter's leaf: (its name, leaf offset, size, align)


def layout_params(params: list[ParamInfo]) -> list[ParamInfo]:
    """Lays the parameters out in order, each at the next multiple of its natural alignment (its
    size), as PTX and CUDA lay out kernel parameters; the leaves of a struct parameter (`group`) lie
    where C puts them in the struct, which starts at the next multiple of its alignment and takes its
    whole size.  Sets their `offset` and `size` and returns them."""
    off, base, cur = 0, 0, None
    for p in params:
        p.size = p.type.size
        if p.group is not None:
            name, leaf_off, size, align = p.group
            if name != cur:                      # the first leaf of a struct parameter
                base, cur = -(-off // align) * align, name
                off = base + size
            p.offset = base + leaf_off
            continue
        cur = None
        off = -(-off // p.size) * p.size
        p.offset = off
        off += p.size
    return params


@dataclass
class DataSymbol:
    """`.global` / `.const` / `.shared` storage.  `init` holds the first bytes (possibly fewer than
    `size`: the rest are zero); None means zero-filled.  `elem`, set by instruction selection from the
    C declaration, lets the runtime check the dtype of data the host writes (`Module.set_constant`).
    A shared symbol with `dynamic=True` is `extern .shared` sized at launch."""
    name: str
    space: str                 # 'global', 'const', 'shared'
    size: int
    align: int = 4
    init: bytes | None = None
    dynamic: bool = False
    elem: Scalar | None = None     # the declared element type when the compiler knows it (not in the text form)


@dataclass(eq=False)
class KernelCode:
    name: str
    params: list[ParamInfo]
    instrs: list[Instr] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)      # label -> pc of the instruction it precedes
    regs: dict[str, int] = field(default_factory=dict)        # class ('%r', '%f', ...) -> count declared
    locals: dict[str, DataSymbol] = field(default_factory=dict)   # kernel-scope .local symbols (arrays, spills)
    # pc of every guarded bra -> the pc where its warp reconverges (the branch's immediate
    # post-dominator, computed by vgpu.isa.reconv for compiled and assembled code alike);
    # len(instrs) when the paths only meet at the exit (the lanes reconverge by exiting).
    reconv: dict[int, int] = field(default_factory=dict)
    shared: list[str] = field(default_factory=list)           # names of shared symbols the kernel uses
    source_file: str | None = None
    max_threads: int | None = None          # __launch_bounds__'s maxThreadsPerBlock: larger blocks do not launch
    # debug information (vgpu.isa.debuginfo): the source variables (`vgpu.ir.debug.DebugVar`s), and
    # (var, first pc, end pc, location) ranges, computed on first use from the instructions' points
    # (or read from `.var` directives)
    debug_vars: list = field(default_factory=list)
    debug_ranges: list | None = None

    @property
    def param_bytes(self) -> int:
        """Size of the parameter buffer: the end of the last parameter."""
        return max((p.offset + p.size for p in self.params), default=0)

    @property
    def param_names(self) -> list[str]:
        return [p.name for p in self.params]


@dataclass(eq=False)
class Program:
    kernels: dict[str, KernelCode] = field(default_factory=dict)
    symbols: dict[str, DataSymbol] = field(default_factory=dict)
    source: str | None = None              # the .vk text, for listings and fault messages
    filename: str = "<string>"
    # (file, line) -> source text shown in listings: filled by the assembler from the listing's
    # `// k.vk:12  text` comments (and usable for headers); the disassembler falls back to `source`.
    line_text: dict[tuple[str, int], str] = field(default_factory=dict)

    def source_line(self, file: str | None, line: int | None) -> str | None:
        """The text of `line` of `file` (None: the program's own file): from `line_text`, else from
        `source` when the file is the program's own; None when unknown."""
        if line is None:
            return None
        file = file or self.filename
        text = self.line_text.get((file, line))
        if text is None and self.source is not None and file == self.filename:
            lines = _source_lines(self.source)
            text = lines[line - 1] if 0 < line <= len(lines) else None
        return text


@lru_cache(maxsize=8)
def _source_lines(source: str) -> list[str]:
    """A source's lines, split once (a listing asks for every line of it)."""
    return source.splitlines()


def shared_symbols(k: KernelCode, prog: Program) -> list[str]:
    """Shared symbols a kernel's instructions name, in order of first use."""
    out: list[str] = []
    for ins in k.instrs:
        for o in ins.operands:
            s = o.base if isinstance(o, Mem) else o
            if isinstance(s, Sym) and s.name not in out:
                sym = prog.symbols.get(s.name)
                if sym is not None and sym.space == "shared":
                    out.append(s.name)
    return out
