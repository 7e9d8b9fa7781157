"""POST /compile: a `.vk` source -> diagnostics, the IR, the assembly and the maps between them.

In:  source text and its file name (a `.vk` name; `#include` only of the headers vgpu ships, so a
     request can never read a file of the server).
Out: `compile_source(text, filename)` -> (a dict for the JSON answer, the `isa.Program` or None):
     ok, diagnostics [{severity, file, line, col, end_col, message, source_line}], ir (text), asm (text),
     kernels [{name, params [{name, type, pointer, dtype}], registers, shared_bytes, instructions}],
     ir_lines / asm_lines: per line of the IR / assembly text (0-based) its .vk line or null,
     asm_pcs: per assembly line [kernel, pc] for an instruction or null, and source_map
     {".vk line": {"ir": [IR line indexes], "asm": [assembly line indexes]}}.
"""
from __future__ import annotations

import re
from pathlib import Path

from .. import pipeline
from ..diagnostics import CompileError, Diagnostic, Span
from ..ir import print_module
from ..isa import disassemble

HEADERS = frozenset(p.name for p in (Path(__file__).resolve().parents[1] / "include").iterdir())
_INCLUDE = re.compile(r"^[ \t]*(?:#|%:|\?\?=)[ \t]*include(?:_next)?\b(.*)$", re.M)
_HEADER = re.compile(r"^\s*<([A-Za-z0-9_.]+)>\s*(//.*|/\*.*)?$")
NUMPY_DTYPES = {"s8": "int8", "u8": "uint8", "s16": "int16", "u16": "uint16", "s32": "int32", "u32": "uint32",
                "s64": "int64", "u64": "uint64", "f16": "float16", "f32": "float32", "f64": "float64", "pred": "bool"}


def include_problems(text: str, filename: str) -> list[Diagnostic]:
    """A diagnostic for each #include the service refuses (anything but <header> of vgpu/include)."""
    joined = text.replace("\\\r\n", "").replace("\\\n", "")
    out = []
    for m in _INCLUDE.finditer(joined):
        h = _HEADER.match(m.group(1))
        if h and h.group(1) in HEADERS:
            continue
        line = joined.count("\n", 0, m.start()) + 1
        out.append(Diagnostic(Span(filename, line, 1), "the service includes only the headers vgpu ships ("
                              + ", ".join(f"<{h}>" for h in sorted(HEADERS)) + "), not " + m.group(1).strip(),
                              source_line=m.group(0)))
    return out


def diagnostic_json(d: Diagnostic) -> dict:
    return {"severity": d.severity, "file": d.span.file, "line": d.span.line, "col": d.span.col,
            "end_col": d.span.end_col, "message": d.message, "source_line": d.source_line,
            "text": d.render()}


def ir_line_map(ir: str, filename: str) -> list[int | None]:
    """Per IR text line, the .vk line of `filename` its instruction came from (null: none, a header)."""
    out, here = [], None
    for text in ir.splitlines():
        s = text.strip()
        if s.endswith("{") or s == "}" or not s:       # a function begins or ends
            here = None
            out.append(None)
            continue
        m = re.match(r"; (?:line (\d+)|(\".*\") line (\d+))$", s)
        if m:
            here = int(m.group(1)) if m.group(1) else None
            out.append(here)
        elif s.endswith(":") or s.startswith(("module ", ";")):
            out.append(None)
        else:
            out.append(here)
    return out


def asm_line_map(asm: str, program) -> tuple[list[int | None], list[list | None]]:
    """Per assembly text line: its .vk line of the main file (null elsewhere) and [kernel, pc] of
    the instruction on it (null for comments, labels, declarations)."""
    lines: list[int | None] = []
    pcs: list[list | None] = []
    kernel, pc, here, body = None, 0, None, False
    main = program.filename
    for text in asm.splitlines():
        m = re.match(r"\.visible \.entry (\w+)\(", text)
        if m:
            kernel, pc, here, body = m.group(1), 0, None, False
        elif text == "{" and kernel:
            body = True
        elif text == "}":
            kernel, body, here = None, False, None
        s = text.strip()
        c = re.match(r"// (.+):(\d+)(?:  .*)?$", s) if body else None
        if c:
            here = int(c.group(2)) if c.group(1) == main else None
            lines.append(here)
            pcs.append(None)
        elif body and text.startswith("\t") and s and not s.startswith(("//", ".")):
            lines.append(here)
            pcs.append([kernel, pc])
            pc += 1
        else:
            lines.append(None)
            pcs.append(None)
    counts = {}
    for p in pcs:
        if p:
            counts[p[0]] = counts.get(p[0], 0) + 1
    if any(counts.get(n, 0) != len(k.instrs) for n, k in program.kernels.items()):
        pcs = [None] * len(pcs)                   # the listing's format changed: no pcs rather than wrong ones
    return lines, pcs


def kernel_info(program) -> list[dict]:
    out = []
    for name, k in program.kernels.items():
        params = []
        for p in k.params:
            pointee = getattr(p, "pointee", None)
            t = pointee if p.is_pointer else p.type
            params.append({"name": p.name, "type": getattr(t, "name", None) if t is not None else None,
                           "pointer": bool(p.is_pointer),
                           "dtype": NUMPY_DTYPES.get(getattr(t, "name", ""), None) if t is not None else None})
        regs = getattr(k, "regs", {}) or {}
        out.append({"name": name, "params": params, "registers": dict(regs), "instructions": len(k.instrs),
                    "shared_bytes": int(sum(getattr(s, "size", 0) for s in (getattr(k, "shared", None) or {}).values()
                                            ) if isinstance(getattr(k, "shared", None), dict) else 0)})
    return out


def source_map(ir_lines: list, asm_lines: list, asm_pcs: list) -> dict:
    out: dict[str, dict] = {}
    for i, ln in enumerate(ir_lines):
        if ln is not None:
            out.setdefault(str(ln), {"ir": [], "asm": []})["ir"].append(i)
    for i, ln in enumerate(asm_lines):
        if ln is not None and asm_pcs[i] is not None:
            out.setdefault(str(ln), {"ir": [], "asm": []})["asm"].append(i)
    return out


def compile_source(text: str, filename: str = "kernel.vk") -> tuple[dict, object]:
    """See the module docstring.  Never raises CompileError: diagnostics land in the answer."""
    answer = {"ok": False, "file": filename, "diagnostics": [], "ir": "", "asm": "", "kernels": [],
              "ir_lines": [], "asm_lines": [], "asm_pcs": [], "source_map": {}}
    bad = include_problems(text, filename)
    if bad:
        answer["diagnostics"] = [diagnostic_json(d) for d in bad]
        return answer, None
    try:
        ir = print_module(pipeline.to_ir(text, filename))
        program = pipeline.compile_source(text, filename)
    except CompileError as e:
        answer["diagnostics"] = [diagnostic_json(d) for d in e.diagnostics]
        return answer, None
    asm = disassemble(program)
    ir_lines = ir_line_map(ir, filename)
    asm_lines, asm_pcs = asm_line_map(asm, program)
    answer.update(ok=True, ir=ir, asm=asm, kernels=kernel_info(program), ir_lines=ir_lines, asm_lines=asm_lines,
                  asm_pcs=asm_pcs, source_map=source_map(ir_lines, asm_lines, asm_pcs))
    return answer, program
