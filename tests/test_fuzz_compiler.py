"""Whatever the input, the whole compiler (front end, IR passes, instruction selection) returns a
Program or raises CompileError with diagnostics, never another exception and never an internal error.

Random text and random token sequences mostly stop in the parser, so the third test mutates real
kernels (the examples) token by token: deleting, duplicating, swapping and replacing tokens reaches the
checker, the lowering, the optimiser and the selector with almost-valid programs.
"""
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vgpu import pipeline
from vgpu.diagnostics import CompileError
from vgpu.pipeline import InternalCompilerError

ROOT = Path(__file__).resolve().parents[1]
KERNELS = [p.read_text() for p in sorted((ROOT / "examples").glob("*.vk"))]
TOKEN = re.compile(r"\s+|//[^\n]*|\w+|\d+\.\d*f?|\S")
REPLACEMENTS = ["int", "float", "unsigned", "double", "char", "bool", "void", "*", "&", "[", "]", "(", ")", "{",
                "}", ";", ",", "=", "+", "-", "/", "%", "<<", ">>", "<", "==", "&&", "||", "!", "~", "?", ":",
                "0", "1", "-1", "2147483648", "1.5f", "0.0", "'a'", '"s"', "threadIdx", "threadIdx.x", ".x",
                "__syncthreads()", "atomicAdd", "__shared__", "__global__", "__device__", "return", "break",
                "continue", "if", "else", "for", "while", "do", "switch", "case", "sizeof", "const", "n", "i",
                "x", "y", "s", "k"]


def compiles_or_reports(src: str) -> None:
    try:
        pipeline.compile_source(src, "fuzz.vk")
    except InternalCompilerError as e:
        raise AssertionError(f"internal compiler error for:\n{src}\n{e}") from None
    except CompileError as e:
        assert e.diagnostics and all(d.message for d in e.diagnostics)


def fast(n: int) -> settings:
    return settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@fast(100)
@given(st.text(max_size=120))
def test_random_text(src):
    compiles_or_reports(src)


@fast(150)
@given(st.lists(st.sampled_from(REPLACEMENTS + ["__global__ void k(int *o)", "{", "}"]), max_size=50))
def test_random_tokens(tokens):
    compiles_or_reports(" ".join(tokens))


@st.composite
def mutated_kernel(draw):
    tokens = TOKEN.findall(draw(st.sampled_from(KERNELS)))
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.integers(0, len(tokens) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "swap", "replace"]))
        if action == "delete":
            del tokens[k]
        elif action == "duplicate":
            tokens.insert(k, tokens[k])
        elif action == "swap" and k + 1 < len(tokens):
            tokens[k], tokens[k + 1] = tokens[k + 1], tokens[k]
        else:
            tokens[k] = draw(st.sampled_from(REPLACEMENTS))
    return "".join(tokens)


@fast(250)
@given(mutated_kernel())
def test_mutated_kernels(src):
    compiles_or_reports(src)
