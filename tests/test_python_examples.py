"""Every example in examples/python runs (its main() asserts its own result)."""
import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "python"
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.py"))


def _load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_example_is_listed():
    assert {"hello", "pointer_arithmetic", "constant_memory", "atomics", "vector_multiply", "matrix_multiply",
            "convolution_2d", "reduction", "adam_step", "linear_regression", "logistic_regression", "mlp_sin",
            "puzzles", "mixed_precision"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_example_runs(name, capfd):
    result = _load(name).main()
    out = capfd.readouterr().out
    if name == "hello":
        assert "Hello from block 1 thread 3" in out and out.count("Hello") == 8
        assert result[0]["name"] == "hello"
    if name == "puzzles":
        assert result == [True] * 12 and out.count("passed") == 12
