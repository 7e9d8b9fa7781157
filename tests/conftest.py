"""Shared pytest setup: golden files, hypothesis's CI profile, and where the conformance corpus is.

`pytest --update-golden` rewrites expected outputs instead of comparing with them.  Tests call
`check_golden(path, actual_text)` (or use the `golden` fixture, the same function) for IR and
assembly golden files; review the diff after updating.

The conformance corpus (CUDA kernels with inputs and the outputs an NVIDIA GPU computed) is not part of
the repository: CI places it beside the checkout, at `ROOT/../shared/conformance`.  Tests reach it through
`from conftest import CONFORMANCE, conformance_kernels` (paths, for parametrising) or the `conformance`
fixture; `REFERENCE` is the reference data beside it.  Where the corpus is missing, its tests skip on a
developer's machine and FAIL under CI (CI=true), so that a CI run can never pass without it.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI (CI=true) explores the same examples every run, so a submission's result does not depend on luck;
# local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]          # the repository
SHARED = ROOT.parent / "shared"                      # beside it: design notes, reference data, the corpus
CONFORMANCE = SHARED / "conformance"
REFERENCE = SHARED / "reference"                     # what real GPUs measured (counters, edge semantics)
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")

_update = False


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files with the actual output instead of comparing")


def pytest_configure(config):
    global _update
    _update = config.getoption("--update-golden")


def check_golden(path: str | Path, actual: str) -> None:
    """Assert `actual` equals the file at `path`; with --update-golden, write it there instead."""
    path = Path(path)
    if _update:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != actual:
            path.write_text(actual)
        return
    if not path.exists():
        pytest.fail(f"golden file {path} is missing: run pytest --update-golden and review it")
    expected = path.read_text()
    assert actual == expected, f"{path} differs (rerun with --update-golden to accept the new output)"


def conformance_kernels() -> list[Path]:
    """The corpus's .vk kernels (sorted), or [] where the corpus is missing (the `conformance` fixture
    and `test_conformance_corpus_is_present` then say so)."""
    return sorted((CONFORMANCE / "kernels").glob("*.vk"))


def require_conformance() -> Path:
    """The corpus's directory; a failure under CI, a skip elsewhere, when it is missing."""
    if not (CONFORMANCE / "kernels").is_dir():
        message = f"the conformance corpus is missing: expected it at {CONFORMANCE}"
        if IN_CI:
            pytest.fail(message + " (CI must provide it)", pytrace=False)
        pytest.skip(message)
    return CONFORMANCE


@pytest.fixture(scope="session")
def conformance() -> Path:
    """The conformance corpus's directory (fails under CI, skips elsewhere, when it is missing)."""
    return require_conformance()


@pytest.fixture
def golden():
    """The `check_golden(path, actual_text)` function."""
    return check_golden
