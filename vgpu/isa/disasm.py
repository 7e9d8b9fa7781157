"""Disassembler: `Program` -> canonical assembly text (the text `asm.assemble` reads back).

In:  a Program (selected, or assembled).
Out: text: `.version`/`.target`, data symbols with their initial bytes, then per kernel
     `.visible .entry NAME(.param ...)` (a pointer parameter is `.param .u64 x` with a comment
     `// float *x` giving its C type), `{`, `.reg` and `.local` declarations, the body: labels on
     their own lines, instructions indented, a comment `// k.vk:12  text` above the
     instructions of each source line, `// reconverge $Ln` (or `at exit`) after each guarded
     branch and `// spill` after spill code; `}`.  On request, `.var` directives carry the debug
     information (docs/isa.md, "Debug information").  Float immediates print exactly (0f / 0d).
"""
from __future__ import annotations

from .debuginfo import directives
from .operands import format_imm, format_operand  # noqa: F401 - part of this module's API
from .program import DataSymbol, Instr, KernelCode, Mem, Program, Sym
from .spec import REG_CLASSES, REG_DECL_TYPE, family, wide

C_NAMES = {"pred": "bool", "s8": "signed char", "u8": "unsigned char", "s16": "short", "u16": "unsigned short",
           "s32": "int", "u32": "unsigned int", "s64": "long long", "u64": "unsigned long long",
           "f16": "__half", "f32": "float", "f64": "double"}
HEADER = ".version 1.0\n.target vgpu\n"


def operand_type(ins: Instr, kind: str) -> str | None:
    """The type an operand of `kind` has in `ins` (for printing and checking immediates)."""
    if kind in ("su", "du"):
        return "u32"
    if kind in ("sp", "dp"):
        return "pred"
    if not ins.types:
        return None
    if kind == "sc":
        return ins.types[1]
    if kind in ("sw", "dw"):
        return wide(ins.types[0])
    return ins.types[0]


def format_instr(ins: Instr) -> str:
    kinds = family(ins).operand_kinds(ins.mods)
    ops = [format_operand(o, operand_type(ins, kinds[min(k, len(kinds) - 1)] if kinds else "s"))
           for k, o in enumerate(ins.operands)]
    guard = f"@{'!' if ins.guard_neg else ''}{ins.guard} " if ins.guard is not None else ""
    return f"{guard}{ins.mnemonic}{' ' + ', '.join(ops) if ops else ''};"


def format_data(s: DataSymbol, local: bool = False) -> str:
    space = "local" if local else s.space
    if s.dynamic:
        return f".extern .shared .align {s.align} .b8 {s.name}[];"
    init = f" = {{{', '.join(str(b) for b in s.init)}}}" if s.init is not None else ""
    return f".{space} .align {s.align} .b8 {s.name}[{s.size}]{init};"


def _line_text(prog: Program, file: str, line: int) -> str | None:
    if (file, line) in prog.line_text:
        return prog.line_text[(file, line)]
    text = prog.source_line(file, line)
    return text.strip() if text is not None else None


def _kernel(prog: Program, k: KernelCode, debug_info: bool = False) -> list[str]:
    out = [f".visible .entry {k.name}("]
    for n, p in enumerate(k.params):
        comma = "," if n + 1 < len(k.params) else ""
        note = ""
        if p.is_pointer:
            note = f"\t// {C_NAMES.get(p.pointee.name, 'void') if p.pointee else 'void'} *{p.name}"
        out.append(f"\t.param .{p.type.name} {p.name}{comma}{note}")
    out += [")", "{"]
    for cls in REG_CLASSES:
        if k.regs.get(cls):
            out.append(f"\t.reg .{REG_DECL_TYPE[cls]} {cls}<{k.regs[cls]}>;")
    for s in k.locals.values():
        out.append("\t" + format_data(s, local=True))
    if debug_info:
        out += ["\t" + d for d in directives(k)]
    if k.regs or k.locals or (debug_info and k.debug_vars):
        out.append("")
    at = {}
    for name, pc in k.labels.items():
        at.setdefault(pc, []).append(name)
    names = {pc: sorted(v, key=_label_key)[0] for pc, v in at.items()}
    where = None
    for pc, ins in enumerate(k.instrs):
        for name in sorted(at.get(pc, []), key=_label_key):
            out.append(f"{name}:")
        if ins.line is not None and (ins.file, ins.line) != where:
            where = (ins.file, ins.line)
            text = _line_text(prog, ins.file or k.source_file or prog.filename, ins.line)
            loc = f"{ins.file or k.source_file or prog.filename}:{ins.line}"
            out.append(f"\t// {loc}  {text}" if text else f"\t// {loc}")
        note = ""
        if pc in k.reconv:
            r = k.reconv[pc]
            note = "\t// reconverge at exit" if r >= len(k.instrs) else \
                f"\t// reconverge {names[r]}" if r in names else f"\t// reconverge at pc {r}"
        elif ins.op in ("ld", "st") and any(isinstance(o, Mem) and o.base == Sym("__spill") for o in ins.operands):
            note = "\t// spill"
        out.append(f"\t{format_instr(ins)}{note}")
    for name in sorted(at.get(len(k.instrs), []), key=_label_key):
        out.append(f"{name}:")
    out.append("}")
    return out


def _label_key(name: str):
    digits = name.lstrip("$L")
    return (0, int(digits), name) if digits.isdigit() else (1, 0, name)


def disassemble(prog: Program, debug_info: bool = False) -> str:
    """The canonical listing of a program; with `debug_info`, each kernel's `.var` directives
    (where each source variable lives over which pcs, vgpu.isa.debuginfo) after its declarations."""
    out = [HEADER]
    if prog.symbols:
        out += [format_data(s) for s in prog.symbols.values()] + [""]
    for k in prog.kernels.values():
        out += _kernel(prog, k, debug_info) + [""]
    return "\n".join(out)
