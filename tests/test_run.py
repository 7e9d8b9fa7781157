"""Every file in tests/run/ is a `// test: run` file: a kernel with its launches and expectations inside it
(the format is in tests/filetest.py):

    // test: run: what it tests
    // run: kern grid=2 block=32 out=zeros(64, i32) x=arange(64, i32) n=64
    // expect: out == x * 2
"""
from pathlib import Path

import pytest
from filetest import check_run, collect, problems

RUN = Path(__file__).resolve().parent / "run"


def cases() -> list[Path]:
    """The run test files (also used by other test modules)."""
    return collect(RUN, "run")


def test_there_are_enough_run_cases():
    assert len(cases()) >= 40


@pytest.mark.parametrize("path", cases(), ids=lambda p: p.stem)
def test_run_case(path: Path, capfd):
    check_run(path, capfd)


def test_every_file_says_it_is_a_run_test():
    assert problems(RUN, "run") == []
