"""The SSA IR: data (nodes), the op table, construction (builder), CFG queries, text form
(printer, reader), checking (verify) and optimisation (passes).

In:  a Module built by the front end.  Out: the optimised Module the instruction selector reads.
"""
from __future__ import annotations

from .nodes import Block, Const, Function, GlobalVar, Instr, Module, Param, Undef, Value
from .ops import OPS, OpInfo
from .passes import optimize
from .printer import print_function, print_module
from .reader import parse_module
from .verify import verify

__all__ = ["Block", "Const", "Function", "GlobalVar", "Instr", "Module", "Param", "Undef", "Value", "OPS",
           "OpInfo", "optimize", "print_function", "print_module", "parse_module", "verify"]
