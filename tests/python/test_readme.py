"""README.md's Python examples, run as written against the installed package
(tests/readme/readme_blocks.py finds them; tests/readme/check_readme.py runs
the C++, C and shell ones)."""
import runpy
import sys

import pytest

from dusk_test_paths import SOURCE, SHARED
sys.path.insert(0, str(SOURCE / "tests" / "readme"))
from readme_blocks import blocks, make_fixtures  # noqa: E402

PYTHON_BLOCKS = [b for b in blocks(SOURCE / "README.md") if b.language == "python" and b.kind == "run"]


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[f"README.md:{b.line}" for b in PYTHON_BLOCKS])
def test_readme_python_example(block, tmp_path, monkeypatch, capsys):
    fixtures = make_fixtures(tmp_path / "fixtures", SHARED)
    script = tmp_path / "example.py"
    script.write_text(block.code)
    monkeypatch.chdir(fixtures)
    runpy.run_path(str(script), run_name="__main__")
    assert capsys.readouterr().out  # each example prints what it found


def test_there_are_python_examples():
    assert len(PYTHON_BLOCKS) >= 2
