"""Assembler: `.vasm` text -> `Program` (the disassembler's output reads back identically).

In:  assembly text (grammars/vasm.lark), checked against the instruction table `spec.SPEC`.
Out: a Program; reconvergence points are recomputed (never read from comments), source-line
     comments `// k.vk:12  text` restore `Instr.line`/`file` and `Program.line_text`, and a
     comment `// float *x` after a `.param` marks a pointer parameter.
Errors: `CompileError` with file:line:col and a caret: syntax, unknown mnemonic (with the nearest
     one), wrong type suffix or modifier, wrong operand count or kind, undeclared or wrongly
     classed register, unknown symbol or special register, undefined or duplicate label.
"""
from __future__ import annotations

import difflib
import re
import struct
from functools import lru_cache

import lark

from ..diagnostics import Reporter, Span
from ..grammars import load_grammar
from ..ir.debug import DebugVar
from ..types import scalar
from .disasm import C_NAMES, operand_type
from .program import (DataSymbol, Imm, Instr, KernelCode, Label, Mem, ParamInfo, Program, Reg, SReg, Sym,
                      layout_params, shared_symbols)
from .reconv import place_reconvergence
from .spec import (ALL_TYPES, FLOATS, REG_CLASSES, SPECIAL_REGS, SPEC, check_mnemonic, reg_class, reg_classes_for,
                   split_mnemonic, type_bits)

_SOURCE_COMMENT = re.compile(r"//\s(\S+):(\d+)(?:  (.*))?$")
_POINTER_COMMENT = re.compile(r"//\s*(.*?)\s*\*\s*([A-Za-z_$][\w$]*)\s*$")
_REG = re.compile(r"(%p|%rs|%r|%rd|%f|%fd)(\d+)$")
_C_TYPES = {c: t for t, c in C_NAMES.items()}


_comments: list[lark.Token] = []          # filled by the lexer during one parse


@lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    return load_grammar("vasm.lark", parser="lalr", propagate_positions=True, maybe_placeholders=True,
                        lexer_callbacks={"COMMENT": _comments.append})


class _Assembler:
    def __init__(self, text: str, filename: str):
        self.text, self.filename = text, filename
        self.rep = Reporter()
        self.rep.sources.add(filename, text)
        self.prog = Program(filename=filename)
        self.comments: dict[int, str] = {}        # line -> comment text

    def span(self, tok_or_meta, length: int | None = None) -> Span:
        line, col = tok_or_meta.line, tok_or_meta.column
        if length is None:
            length = len(str(tok_or_meta)) if isinstance(tok_or_meta, lark.Token) else \
                (tok_or_meta.end_column - col if tok_or_meta.end_line == line else 1)
        return Span(self.filename, line, col, col + max(1, length))

    def error(self, where, msg: str, length: int | None = None) -> None:
        self.rep.error(self.span(where, length), msg)

    # -- parsing ------------------------------------------------------------------------------------
    def parse(self) -> lark.Tree:
        _comments.clear()
        try:
            tree = _parser().parse(self.text)
            self.comments = {tok.line: str(tok) for tok in _comments}
            return tree
        except lark.UnexpectedInput as e:
            line, col = e.line, e.column
            if isinstance(e, lark.UnexpectedToken):
                tok = e.token
                what = "end of input" if tok.type == "$END" else f"'{tok}'"
                msg = f"unexpected {what}"
                length = len(str(tok)) or 1
            else:
                msg = f"unexpected character '{self.text[e.pos_in_stream]}'"
                length = 1
            raise self.rep.fatal(Span(self.filename, max(line, 1), max(col, 1), max(col, 1) + length), msg)

    def run(self) -> Program:
        tree = self.parse()
        for item in tree.children:
            getattr(self, "item_" + item.data)(item)
        self.rep.check()
        return self.prog

    # -- module items -------------------------------------------------------------------------------
    def item_version(self, t) -> None:
        pass

    item_target = item_address_size = item_version

    def item_data(self, t) -> None:
        space, align, typ, name, size, init = t.children
        data = None
        if init is not None:
            data = bytes(int(b) & 0xFF for b in init.children if b is not None)
        if data is not None and len(data) > int(size):
            self.error(name, f"'{name}' has {len(data)} initial bytes but a size of {size}")
        self._declare(name, DataSymbol(str(name), str(space)[1:], int(size), int(align), data))
        if str(typ) != ".b8":
            self.error(typ, "data symbols are declared as .b8 arrays")

    def item_extern_shared(self, t) -> None:
        space, align, typ, name = t.children
        if str(space) != ".shared":
            self.error(space, "only .shared symbols can be .extern")
        self._declare(name, DataSymbol(str(name), "shared", 0, int(align), None, dynamic=True))

    def _declare(self, name, sym: DataSymbol) -> None:
        if sym.name in self.prog.symbols:
            self.error(name, f"symbol '{sym.name}' is declared twice")
        self.prog.symbols[sym.name] = sym

    def item_entry(self, t) -> None:
        kids = t.children
        name = kids[1]
        body = kids[2:]
        params = [c for c in body if isinstance(c, lark.Tree) and c.data == "param"]
        stmts = [c for c in body if isinstance(c, lark.Tree) and c.data != "param"]
        k = KernelCode(str(name), layout_params([self.param(p) for p in params]))
        if k.name in self.prog.kernels:
            self.error(name, f"kernel '{k.name}' is defined twice")
        _Kernel(self, k).build(stmts, t.meta.line, t.meta.end_line)
        self.prog.kernels[k.name] = k

    def param(self, p) -> ParamInfo:
        typ, name = p.children
        t = str(typ)[1:]
        if t == "pred":
            self.error(typ, "parameters cannot be predicates (use .u8)")
            t = "u8"
        info = ParamInfo(str(name), scalar(t))
        m = _POINTER_COMMENT.match(self.comments.get(name.line, ""))
        if m and m.group(2) == info.name:
            info.is_pointer = True
            info.pointee = scalar(_C_TYPES[m.group(1)]) if m.group(1) in _C_TYPES else None
            if t != "u64":
                self.error(typ, f"pointer parameter '{info.name}' must be .u64")
        return info


class _Kernel:
    """Builds one KernelCode from the statements of an .entry body."""

    def __init__(self, asm: _Assembler, k: KernelCode):
        self.asm, self.k = asm, k
        self.label_refs: list[tuple[Instr, lark.Token]] = []
        self.where: tuple[str, int] | None = None
        self.var_ranges: list = []               # (token, var, start, end, location) from .var

    def build(self, stmts, first: int, last: int) -> None:
        instr_lines = []
        for s in stmts:
            n = len(self.k.instrs)
            getattr(self, "stmt_" + s.data)(s)
            if len(self.k.instrs) > n:
                instr_lines.append(s.meta.line)
        self.source_lines(instr_lines, first, last)
        for ins, tok in self.label_refs:
            if ins.operands[0].name not in self.k.labels:
                self.asm.error(tok, f"undefined label '{tok}'")
        n = len(self.k.instrs)
        for tok, v, a, b, loc in self.var_ranges:
            if not 0 <= a < b <= n:
                self.asm.error(tok, f"pc range {a}..{b} of a .var is not within the kernel's {n} instructions")
        if self.var_ranges:
            self.k.debug_ranges = sorted(((v, a, b, loc) for _, v, a, b, loc in self.var_ranges),
                                         key=lambda r: (r[0], r[1]))
        if not self.asm.rep.errors:
            place_reconvergence(self.k)
        self.k.shared = shared_symbols(self.k, self.asm.prog)

    def source_lines(self, instr_lines: list[int], first: int, last: int) -> None:
        """Give each instruction the source line of the last `// file:N  text` comment above it
        in the kernel's body."""
        marks = sorted((ln, m) for ln, c in self.asm.comments.items()
                       if first <= ln <= last and (m := _SOURCE_COMMENT.match(c)))
        j, cur = 0, None
        for ins, ln in zip(self.k.instrs, instr_lines):
            while j < len(marks) and marks[j][0] < ln:
                cur = marks[j][1]
                j += 1
            if cur is not None:
                ins.file, ins.line = cur.group(1), int(cur.group(2))
                if cur.group(3) is not None:
                    self.asm.prog.line_text[(ins.file, ins.line)] = cur.group(3)
                if self.k.source_file is None:
                    self.k.source_file = ins.file

    def stmt_regdecl(self, s) -> None:
        typ, rng = s.children
        m = re.match(r"(%[a-z]+)<(\d+)>", str(rng))
        cls, n = m.group(1), int(m.group(2))
        if cls not in REG_CLASSES:
            self.asm.error(rng, f"unknown register class '{cls}' (classes: {' '.join(REG_CLASSES)})")
        elif reg_class(str(typ)[1:]) != cls:
            self.asm.error(typ, f"registers {cls} cannot hold .{str(typ)[1:]} values")
        else:
            self.k.regs[cls] = n

    def stmt_localdecl(self, s) -> None:
        align, typ, name, size = s.children
        self.k.locals[str(name)] = DataSymbol(str(name), "local", int(size), int(align))

    def stmt_vardecl(self, s) -> None:
        """`.var NAME .type "ctype" "file" first last "func" : start end loc, ...;` (debug info)."""
        name, typ, ctype, file, first, last, func, *locs = s.children
        var = len(self.k.debug_vars)
        self.k.debug_vars.append(DebugVar(str(name), str(ctype)[1:-1], str(typ)[1:], str(file)[1:-1],
                                          int(first), int(last), str(func)[1:-1]))
        for r in locs:
            if r is None:
                continue
            a, b, o = r.children
            kind = o.data
            tok = o.children[0] if o.children else None
            if kind == "reg":
                loc = self.register(tok, tuple(REG_CLASSES), "a variable's location")
            elif kind == "int":
                loc = Imm(parse_int(str(tok)))
            elif kind == "float":
                loc = Imm(parse_float(str(tok)))
            elif kind == "mem":
                base = o.children[0].children[0]
                if base.type != "WORD":
                    self.asm.error(o.meta, "a variable's memory location must be [symbol+offset]")
                    continue
                if str(base) not in self.k.locals and str(base) not in self.k.param_names \
                        and str(base) not in self.asm.prog.symbols:
                    self.asm.error(base, f"unknown symbol '{base}'")
                off = o.children[1]
                n = parse_int(str(off.children[1])) * (-1 if str(off.children[0]) == "-" else 1) if off else 0
                loc = Mem(Sym(str(base)), n)
            else:
                self.asm.error(o.meta, "a variable's location must be a register, [symbol+offset] or a constant")
                continue
            self.var_ranges.append((a, var, int(a), int(b), loc))

    def stmt_label(self, s) -> None:
        name = s.children[0]
        if str(name) in self.k.labels:
            self.asm.error(name, f"label '{name}' is defined twice")
        self.k.labels[str(name)] = len(self.k.instrs)

    def stmt_instr(self, s) -> None:
        guard, word, *ops = s.children
        ops = [o for o in ops if o is not None]
        words = str(word).split(".")
        if re.fullmatch(r"[bsuf]\d+", words[-1]) and words[-1] not in ALL_TYPES:
            self.asm.error(word, f"unknown type .{words[-1]} in '{word}'")
            return
        fam, mods, types = split_mnemonic(words)
        if fam is None:
            near = suggest(str(word))
            self.asm.error(word, f"unknown instruction '{word}'" + (f"; did you mean '{near}'?" if near else ""))
            return
        msg = check_mnemonic(fam, mods, types)
        if msg:
            self.asm.error(word, msg)
            return
        ins = Instr(fam.op, mods, types, [], line=None)
        if guard is not None:
            bang, reg = guard.children
            if "guardable" not in fam.flags:
                self.asm.error(reg, f"'{word}' cannot be guarded in vgpu: branch around it instead")
                return
            ins.guard, ins.guard_neg = self.register(reg, ("%p",), "a guard"), bang is not None
        kinds = fam.operand_kinds(mods)
        variadic = kinds and kinds[-1] == "args"
        fixed = len(kinds) - (1 if variadic else 0)
        if len(ops) < fixed or (len(ops) > fixed and not variadic):
            want = f"at least {fixed}" if variadic else str(fixed)
            self.asm.error(word, f"'{word}' takes {want} operand{'s' if want != '1' else ''}, got {len(ops)}")
            return
        for k, o in enumerate(ops):
            kind = kinds[min(k, len(kinds) - 1)]
            ins.operands.append(self.operand(o, kind, operand_type(ins, kind), ins, word))
        self.k.instrs.append(ins)

    # -- operands -----------------------------------------------------------------------------------
    def register(self, tok, classes: tuple[str, ...], what: str, t: str | None = None) -> Reg:
        name = str(tok)
        m = _REG.match(name)
        if not m:
            self.asm.error(tok, f"unknown register '{name}'")
            return Reg(name)
        cls, n = m.group(1), int(m.group(2))
        if n >= self.k.regs.get(cls, 0):
            decl = f"declared: {cls}0..{cls}{self.k.regs[cls] - 1}" if self.k.regs.get(cls) else \
                f"no .reg declaration of {cls}"
            self.asm.error(tok, f"register {name} is not declared ({decl})")
        elif cls not in classes:
            want = " or ".join(classes)
            self.asm.error(tok, f"register {name} cannot be {what}{' of type .' + t if t else ''} "
                                f"(expected {want})")
        return Reg(name)

    def operand(self, o, kind: str, t: str | None, ins: Instr, word):
        kids = o.children
        if kind in ("d", "dw", "du", "dp", "sp", "args"):
            if o.data != "reg" or str(kids[0]) in SPECIAL_REGS:
                self.asm.error(o.meta, f"operand of '{word}' must be a register")
                return Imm(0)
            classes = tuple(REG_CLASSES) if kind == "args" else reg_classes_for(t)
            return self.register(kids[0], classes, "a destination" if kind[0] == "d" else "an operand", t)
        if kind in ("s", "sw", "sc", "su", "mv"):
            return self.value(o, kind, t, word)
        if kind == "a":
            if o.data != "mem":
                self.asm.error(o.meta, f"operand of '{word}' must be an address [...]")
                return Mem(Imm(0))
            return self.address(o, ins)
        if kind == "l":
            if o.data != "word":
                self.asm.error(o.meta, f"operand of '{word}' must be a label")
                return Label("?")
            self.label_refs.append((ins, kids[0]))
            return Label(str(kids[0]))
        if kind == "sym":
            if o.data != "word":
                self.asm.error(o.meta, f"operand of '{word}' must be a symbol")
                return Sym("?")
            return self.symbol(kids[0])
        raise AssertionError(kind)

    def value(self, o, kind: str, t: str, word):
        tok = o.children[0] if o.children else None
        if o.data == "reg":
            name = str(tok)
            if name in SPECIAL_REGS:
                if kind != "mv":
                    self.asm.error(tok, f"special register {name} can only be read with mov")
                elif type_bits(SPECIAL_REGS[name]) != type_bits(t):
                    self.asm.error(tok, f"special register {name} is .{SPECIAL_REGS[name]}, not .{t}")
                return SReg(name)
            if name.startswith("%") and not _REG.match(name):
                self.asm.error(tok, f"unknown register or special register '{name}'")
                return Reg(name)
            return self.register(tok, reg_classes_for(t), "an operand", t)
        if o.data == "int":
            v = parse_int(str(tok))
            return Imm(float(v)) if t in FLOATS else Imm(v)
        if o.data == "float":
            if t not in FLOATS + ("b32", "b64"):
                self.asm.error(tok, f"float immediate for a .{t} operand")
            return Imm(parse_float(str(tok)))
        if o.data == "word" and kind == "mv":
            return self.symbol(tok)
        self.asm.error(o.meta, f"operand of '{word}' must be a register or an immediate")
        return Imm(0)

    def address(self, o, ins: Instr) -> Mem:
        base_tree, off_tree = o.children
        tok = base_tree.children[0]
        off = 0
        if off_tree is not None:
            sign, n = off_tree.children
            off = parse_int(str(n)) * (-1 if str(sign) == "-" else 1)
        if tok.type == "REG":
            return Mem(self.register(tok, ("%rd",), "an address"), off)
        if tok.type == "INT":
            return Mem(Imm(parse_int(str(tok))), off)
        if "param" in ins.mods:
            if str(tok) not in self.k.param_names:
                self.asm.error(tok, f"'{tok}' is not a parameter of kernel '{self.k.name}'")
            return Mem(Sym(str(tok)), off)
        return Mem(self.symbol(tok), off)

    def symbol(self, tok) -> Sym:
        name = str(tok)
        if name not in self.k.locals and name not in self.asm.prog.symbols and name not in self.k.param_names:
            self.asm.error(tok, f"unknown symbol '{name}'")
        return Sym(name)


def suggest(mnemonic: str) -> str | None:
    """The family nearest to an unknown mnemonic, preferring those its suffixes are valid for."""
    words = mnemonic.split(".")
    best = None
    for fam in SPEC.values():
        score = difflib.SequenceMatcher(None, words[0], fam.op).ratio()
        if score < 0.6:
            continue
        f, mods, types = split_mnemonic([fam.op, *words[1:]])
        valid = f is fam and check_mnemonic(fam, mods, types) is None
        key = (valid, score)
        if best is None or key > best[0]:
            best = (key, fam.name)
    return best[1] if best else None


def parse_int(text: str) -> int:
    neg = text.startswith("-")
    body = text.lstrip("-")
    v = int(body[2:], 16) if body[:2].lower() == "0x" else int(body)
    return -v if neg else v


def parse_float(text: str) -> float:
    t = text.lower()
    if t.startswith("0f"):
        return struct.unpack("<f", int(t[2:], 16).to_bytes(4, "little"))[0]
    if t.startswith("0d"):
        return struct.unpack("<d", int(t[2:], 16).to_bytes(8, "little"))[0]
    return float(text)


def assemble(text: str, filename: str = "<string>") -> Program:
    """Read assembly text into a Program; raises CompileError with positions."""
    return _Assembler(text, filename).run()
