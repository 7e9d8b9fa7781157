"""Ports libdevice's math functions to vgpu: reads CUDA's libdevice (libdevice.10.bc through llvm-dis)
and writes vgpu/frontend/libdevice.json, the functions' LLVM instructions as data, with
__nvvm_reflect resolved as numba-cuda compiles (no FTZ, precise sqrt, sm_90) and the branches it
decides removed.  vgpu/frontend/libdevice.py emits vgpu IR from that table.

Usage: python tools/libdevice_port.py [/usr/local/cuda/nvvm/libdevice/libdevice.10.bc]
(needs llvm-dis; run only to refresh the table, never at run time).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

FUNCTIONS = ["hypotf", "hypot", "erff", "erf", "erfcf", "erfc", "expm1f", "expm1", "log1pf", "log1p",
             "lgammaf", "lgamma", "tgammaf", "tgamma", "acoshf", "acosh", "asinhf", "asinh", "atanhf", "atanh",
             "nextafterf", "nextafter", "remainderf", "remainder", "cbrtf", "cbrt", "ldexpf", "ldexp", "frexpf", "frexp",
             "modff", "modf",
             # the standard math functions (sin/cos/tan need a local array: Payne-Hanek reduction)
             "sinf", "sin", "cosf", "cos", "tanf", "tan", "sincosf", "sincos", "sinpif", "sinpi", "cospif", "cospi",
             "logf", "log", "log2f", "log2", "log10f", "log10", "expf", "exp", "exp2f", "exp2", "exp10f", "exp10",
             "powf", "pow", "tanhf", "tanh", "sinhf", "sinh", "coshf", "cosh", "asinf", "asin", "acosf", "acos",
             "atanf", "atan", "atan2f", "atan2", "powif", "powi",
             # the rest of the CUDA Math API that nvcc implements through libdevice
             "scalbnf", "scalbn", "ilogbf", "ilogb", "logbf", "logb", "fdimf", "fdim", "remquof", "remquo",
             "llroundf", "llround", "copysignf", "copysign", "normcdff", "normcdf", "normcdfinvf", "normcdfinv",
             "erfinvf", "erfinv", "erfcinvf", "erfcinv", "erfcxf", "erfcx", "sincospif", "sincospi",
             "rhypotf", "rhypot", "norm3df", "norm3d", "rnorm3df", "rnorm3d", "norm4df", "norm4d",
             "rnorm4df", "rnorm4d", "rcbrtf", "rcbrt", "j0f", "j0", "j1f", "j1", "y0f", "y0", "y1f", "y1",
             "jnf", "jn", "ynf", "yn", "cyl_bessel_i0f", "cyl_bessel_i0", "cyl_bessel_i1f", "cyl_bessel_i1",
             "signbitf", "signbitd", "normf", "norm", "rnormf", "rnorm", "frsqrt_rn"]
REFLECT = {"__CUDA_FTZ": 0, "__CUDA_PREC_SQRT": 1, "__CUDA_ARCH": 900}
OUT = Path(__file__).resolve().parents[1] / "vgpu" / "frontend" / "libdevice.json"


def functions(text: str) -> dict:
    out, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"define (?:internal )?(\S+|%struct\.\w+) @([\w.]+)\((.*)\) #\d+ \{", line)
        if m:
            cur = [m.group(2), m.group(1), m.group(3), []]
        elif cur is not None:
            if line.startswith("}"):
                out[cur[0]] = cur
                cur = None
            else:
                cur[3].append(line)
    return out


def strings(text: str) -> dict:
    return {m.group(1): m.group(2) for m in re.finditer(r'^(@\.str[\.\d]*) = .*c"(\w+)\\00"', text, re.M)}


def split_args(s: str) -> list:
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def operand(tok: str):
    """'%x' -> '%x'; constants -> ['c', value] (floats as the hex of their double bits)."""
    tok = tok.strip()
    if tok.startswith("%"):
        return tok
    if tok in ("true", "false"):
        return ["c", 1 if tok == "true" else 0]
    if tok == "undef":
        return ["undef"]
    if tok.startswith("0x"):                           # a double's bits; llvm-dis leaves out leading zeros
        return ["f", tok[2:].upper().zfill(16)]
    if re.match(r"^-?\d+$", tok):
        return ["c", int(tok)]
    import struct
    return ["f", struct.pack(">d", float(tok)).hex().upper()]


def typed(tok: str):
    """'double %a' -> ('double', operand)."""
    tok = re.sub(r"\b(noundef|nonnull|signext|zeroext)\b", "", tok).strip()
    m = re.match(r"(%struct\.\w+|\S+)\s+(.*)$", tok)
    return m.group(1), operand(m.group(2))


_FLAGS = {"nsw", "nuw", "exact", "fast", "nnan", "ninf", "nsz", "arcp", "contract", "afn", "reassoc", "tail"}


def parse_instr(line: str, strs: dict):
    line = re.sub(r", ![\w.]+ !\d+", "", line.split(" #")[0] if '"' not in line else line)
    line = re.sub(r"\)\s*#\d+.*$", ")", line).strip()
    d = None
    m = re.match(r"(%[\w.]+) = (.*)$", line)
    if m:
        d, line = m.group(1), m.group(2)
    words = line.split()
    op = words[0]
    rest = [w for w in words[1:] if w not in _FLAGS]
    if op == "br":
        if rest[0] == "label":
            return {"op": "jmp", "to": rest[1]}
        return {"op": "br", "a": [operand(rest[1].rstrip(","))], "to": [rest[3].rstrip(","), rest[5]]}
    if op == "ret" and rest == ["void"]:
        return {"op": "ret", "t": "void", "a": []}
    if op == "ret":
        return {"op": "ret", "t": rest[0], "a": [operand(" ".join(rest[1:]))]}
    if op in ("icmp", "fcmp"):
        pred, ty = rest[0], rest[1]
        a, b = split_args(" ".join(rest[2:]))
        return {"d": d, "op": op, "pred": pred, "t": ty, "a": [operand(a), operand(b)]}
    if op == "select":
        parts = split_args(" ".join(rest))
        (_, c), (t, x), (_, y) = typed(parts[0]), typed(parts[1]), typed(parts[2])
        return {"d": d, "op": "select", "t": t, "a": [c, x, y]}
    if op == "phi":
        t = rest[0]
        inc = re.findall(r"\[\s*([^,\]]+),\s*(%[\w.]+)\s*\]", " ".join(rest[1:]))
        return {"d": d, "op": "phi", "t": t, "inc": [[operand(v), lbl] for v, lbl in inc]}
    if op in ("bitcast", "zext", "sext", "trunc", "sitofp", "uitofp", "fptosi", "fptoui", "fpext", "fptrunc"):
        m = re.match(r"(\S+) (\S+) to (\S+)$", " ".join(rest))
        return {"d": d, "op": op, "from": m.group(1), "t": m.group(3), "a": [operand(m.group(2))]}
    if op == "fneg":
        return {"d": d, "op": "fneg", "t": rest[0], "a": [operand(rest[1])]}
    if op in ("extractvalue",):
        m = re.match(r"(\{[^}]*\}|\S+) (\S+), (\d+)$", " ".join(rest))
        return {"d": d, "op": op, "t": m.group(1), "a": [operand(m.group(2))], "i": int(m.group(3))}
    if op == "insertvalue":
        parts = split_args(" ".join(rest))
        agg = parts[0].split()
        t, v = typed(parts[1])
        return {"d": d, "op": op, "t": agg[0], "a": [operand(agg[1]), v], "i": int(parts[2]), "et": t}
    if op == "alloca":           # a per-thread local array: [N x type]
        g = re.match(r"\[(\d+) x (\w+)\]", " ".join(rest))
        return {"d": d, "op": "alloca", "n": int(g.group(1)), "t": g.group(2)}
    if op == "getelementptr":
        body = " ".join(rest)
        g = re.search(r"(@[\w.]+), i32 0, i32 0\), i64 (\S+)$", body) or \
            re.search(r"addrspace\(1\)\* (@[\w.]+), i64 0, i64 (\S+)$", body)
        if g:
            return {"d": d, "op": "gep", "g": g.group(1)[1:], "a": [operand(g.group(2))]}
        g = re.search(r"\]\* (%[\w.]+), i64 0, i64 (\S+)$", body)
        if g:
            return {"d": d, "op": "gep", "a": [g.group(1), operand(g.group(2))]}
        g = re.search(r"\* (%[\w.]+), i64 (\S+)$", body)
        return {"d": d, "op": "gep", "a": [g.group(1), operand(g.group(2))]}
    if op == "store":            # into a pointer parameter (frexp's exponent, modf's integer part) or a local array
        g = re.match(r"(\S+) (\S+), \S+\* (%[\w.]+)", " ".join(rest))
        return {"op": "store", "t": g.group(1), "a": [operand(g.group(2)), g.group(3)]}
    if op == "load":
        g = re.match(r"(\S+), \S+(?: addrspace\(1\))?\* (%[\w.]+)", " ".join(rest))
        return {"d": d, "op": "load", "t": g.group(1), "a": [g.group(2)]}
    if op == "call":
        body = " ".join(rest)
        m = re.match(r'(\{[^}]*\}|\S+) asm (?:sideeffect )?"((?:[^"\\]|\\.)*)", "[^"]*"\((.*)\)$', body)
        if m:
            args = [typed(a) for a in split_args(m.group(3))]
            return {"d": d, "op": "asm", "t": m.group(1), "asm": m.group(2), "a": [a for _, a in args],
                    "ts": [t for t, _ in args]}
        m = re.match(r"(\S+|%struct\.\w+) @([\w.]+)\((.*)\)$", body)
        fn, argtext = m.group(2), m.group(3)
        if fn == "__nvvm_reflect":
            key = re.search(r"(@\.str[\.\d]*)", argtext).group(1)
            return {"d": d, "op": "const", "t": "i32", "a": [["c", REFLECT[strs[key]]]]}
        args = [typed(a) for a in split_args(argtext)]
        return {"d": d, "op": "call", "t": m.group(1), "fn": fn, "a": [a for _, a in args], "ts": [t for t, _ in args]}
    if len(rest) >= 2:
        ty = rest[0]
        a, b = split_args(" ".join(rest[1:]))
        return {"d": d, "op": op, "t": ty, "a": [operand(a), operand(b)]}
    raise ValueError(f"cannot parse {line!r}")


def parse_function(fn, strs):
    name, ret, params, lines = fn
    numbered = len(re.findall(r"%\d+\b", params))          # an unlabelled entry block is %<that many>
    blocks, cur = [], [f"%{numbered}", []]
    for line in lines:
        if not line.strip() or line.strip().startswith(";"):
            continue
        m = re.match(r"^([\w.]+):", line)
        if m:
            blocks.append(cur)
            cur = ["%" + m.group(1), []]
            continue
        cur[1].append(parse_instr(line, strs))
    blocks.append(cur)
    if not blocks[0][1]:
        blocks.pop(0)
    ps = [typed(p) for p in split_args(params)]
    return {"ret": ret, "params": [[t, a] for t, a in ps], "blocks": _fold(blocks)}


_ICMP = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "sgt": lambda a, b: a > b,
         "sge": lambda a, b: a >= b, "slt": lambda a, b: a < b, "sle": lambda a, b: a <= b}


def _fold(blocks):
    """Resolve the reflect constants, fold the compares and branches they decide, drop dead blocks and
    the phi inputs from them."""
    consts = {}
    for _, instrs in blocks:
        for i in instrs:
            if i["op"] == "const":
                consts[i["d"]] = i["a"][0][1]
            elif i["op"] == "icmp" and all(isinstance(a, str) and a in consts or isinstance(a, list)
                                           for a in i["a"]) and i["pred"] in _ICMP:
                vals = [consts[a] if isinstance(a, str) else a[1] for a in i["a"]]
                if any(isinstance(a, list) and a[0] != "c" for a in i["a"]):
                    continue
                if any(isinstance(a, str) for a in i["a"]):
                    consts[i["d"]] = int(_ICMP[i["pred"]](*vals))
                    i.update(op="const", t="i1", a=[["c", consts[i["d"]]]])
    for _, instrs in blocks:
        t = instrs[-1]
        if t["op"] == "br":
            c = t["a"][0]
            v = consts.get(c) if isinstance(c, str) else (c[1] if c[0] == "c" else None)
            if v is not None:
                instrs[-1] = {"op": "jmp", "to": t["to"][0] if v else t["to"][1]}
    label = {b[0]: b for b in blocks}
    succ = {b[0]: ([b[1][-1]["to"]] if b[1][-1]["op"] == "jmp" else
                   b[1][-1]["to"] if b[1][-1]["op"] == "br" else []) for b in blocks}
    live, todo = set(), [blocks[0][0]]
    while todo:
        x = todo.pop()
        if x not in live:
            live.add(x)
            todo += succ[x]
    out = []
    for name, instrs in blocks:
        if name not in live:
            continue
        for i in instrs:
            if i["op"] == "phi":
                i["inc"] = [[v, p] for v, p in i["inc"] if p in live and name in succ[p]]
        out.append([name, [i for i in instrs if i["op"] != "const" or i["d"] in _used(blocks, i["d"])]])
    del label
    return out


def _used(blocks, name):
    return {name} if any(name in json.dumps(i) for _, ins in blocks for i in ins if i.get("d") != name) else set()


def globals_(text: str) -> dict:
    """The constant tables (@name = internal addrspace(1) constant [N x double] [...]): doubles as the hex
    of their bits, integers (i32, i64) as numbers."""
    out = {}
    for m in re.finditer(r"^@([\w.]+) = internal addrspace\(1\) (?:constant|global) \[\d+ x (?:double|i32|i64)\] "
                         r"\[(.*)\]", text, re.M):
        out[m.group(1)] = [operand(v.split()[1])[1] for v in split_args(m.group(2))]
    return out


def main(path="/usr/local/cuda/nvvm/libdevice/libdevice.10.bc"):
    text = subprocess.run(["llvm-dis", path, "-o", "-"], capture_output=True, text=True, check=True).stdout
    fns, strs = functions(text), strings(text)
    table, todo = {}, ["__nv_" + f for f in FUNCTIONS]
    while todo:
        name = todo.pop()
        if name in table:
            continue
        table[name] = parse_function(fns[name], strs)
        for _, ins in table[name]["blocks"]:
            todo += [i["fn"] for i in ins if i["op"] == "call" and i["fn"].startswith(("__nv_", "__internal_"))]
    tables = globals_(text)
    used = {i["g"] for f in table.values() for _, ins in f["blocks"] for i in ins if i["op"] == "gep" and "g" in i}
    table["$tables"] = {g: tables[g] for g in sorted(used)}
    OUT.write_text(json.dumps(table, separators=(",", ":")) + "\n")
    print(f"{len(table)} functions, {OUT.stat().st_size} bytes -> {OUT}")


if __name__ == "__main__":
    main(*sys.argv[1:])
