"""Operands as text, as PTX writes them (the disassembler's and the debug information's).

In:  an immediate or an operand, and the type it has in its instruction.
Out: text the assembler reads back: ints in decimal, floats as exact bit patterns (0f / 0d),
     addresses as [base+offset].
"""
from __future__ import annotations

import struct

from .program import Imm, Mem
from .spec import type_bits


def _fits_f32(v: float) -> bool:
    """v (not NaN) is a float32 value exactly."""
    if v != v or v in (float("inf"), float("-inf")):
        return True
    return abs(v) <= 3.4028234663852886e38 and struct.unpack("<f", struct.pack("<f", v))[0] == v


def format_imm(value: int | float, t: str | None) -> str:
    """An immediate as PTX writes it: ints in decimal, floats as exact bit patterns (an .f16 operand's
    value as 0f, f32 bits, which hold every half exactly; 0d for a value f32 cannot hold)."""
    if isinstance(value, float):
        if t is None or type_bits(t) == 64 or (t == "f16" and not _fits_f32(value)):
            return "0d%016X" % struct.unpack("<Q", struct.pack("<d", value))[0]
        return "0f%08X" % struct.unpack("<I", struct.pack("<f", value))[0]
    return str(value)


def format_operand(o, t: str | None) -> str:
    if isinstance(o, Imm):
        return format_imm(o.value, t)
    if isinstance(o, Mem):
        base = format_imm(o.base.value, "u64") if isinstance(o.base, Imm) else str(o.base)
        if o.offset:
            return f"[{base}{'+' if o.offset > 0 else '-'}{abs(o.offset)}]"
        return f"[{base}]"
    return str(o)
