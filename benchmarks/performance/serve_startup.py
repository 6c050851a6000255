"""`citebot serve` start-up and memory, against the fake Discord of the tests (the real discord.py client).

    nice -n 10 python -m benchmarks.performance.serve_startup --index ../main/var/bbc-index     # about 10 minutes
    nice -n 10 python -m benchmarks.performance.serve_startup --questions 200 --starts 1        # a quick look

The index (default var/bbc-index, as benchmarks/news_eval.py builds it) is copied into a temporary folder, so
nothing of it is written; without it, a seeds index is built there with the real model, and the results say so.
The bot runs as the operator runs it, `citebot serve` in its own process (`python -m tests.fake_serve`, which
only points discord.py at the fake), niced, its data folder in the temporary folder, the ONNX export of
var/models made beforehand by an untimed `citebot ask`.

- start-up, `--starts` times: seconds from the process's spawn to "ready" (model and index loaded) and to
  "answering" (logged in and connected), then to the first /ask answered;
- the last start then answers `--questions` questions (the news dev set's turns, or the golden set's on the
  seeds, cycled): slash commands in 50 channels, follow-up turns in the same channel, every 10th a mention (a
  thread and a conversation of its own), every 25th a "More sources" click; each waited for before the next.
  The bot's RSS (/proc/PID/status VmRSS) is sampled before the first and after every `--every` questions;
- SIGTERM at the end: seconds to exit, and the exit code.

Writes benchmarks/results/serve_startup.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import BBC_INDEX, NEWS, ROOT, command, parser, result_file
from tests.fake_discord import APP_ID, CHANNEL_ID, FakeDiscord  # run from the project root, tests/ is importable

RESULT = result_file("serve_startup")
NEWS_DEV = NEWS
GOLDEN = ROOT / "tests" / "data" / "golden.jsonl"
TOKEN = "MTAwMA.GabcDe.abcdefghijklmnopqrstuvwxyz0123456"  # shaped as a token; the fake takes any
CHANNELS = 50


def write_config(folder: Path, index: Path) -> Path:
    """config/default.toml with the index, data and model cache named absolutely (the copy lives elsewhere)."""
    text = (ROOT / "config" / "default.toml").read_text(encoding="utf-8")
    values = {"index": str(index), "data": str(folder / "data"), "onnx_cache": str(ROOT / "var" / "models"),
              "sources": str(ROOT / "seeds"), "golden": str(GOLDEN)}
    for key, value in values.items():
        text, count = re.subn(rf'(?m)^{key}\s*=\s*"[^"]*"', f'{key} = "{value}"', text)
        assert count == 1, key
    path = folder / "config" / "bench.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def prepare_index(folder: Path, wanted: Path) -> tuple[Path, str]:
    """A copy of the wanted index, or a seeds index built now; and what it is."""
    target = folder / "index"
    if (wanted / "current").exists():
        shutil.copytree(wanted, target, symlinks=True, ignore=shutil.ignore_patterns(".lock", ".build-*"))
        manifest = json.loads((target / "current" / "manifest.json").read_text(encoding="utf-8"))
        return target, f"{wanted} ({len(manifest['sources'])} articles, {manifest['chunk_count']} passages)"
    config = write_config(folder, target)
    subprocess.run([sys.executable, "-m", "citebot.bot.cli", "index", "build", "--config", str(config)], cwd=ROOT,
                   check=True, capture_output=True)
    return target, f"seeds (no index at {wanted}: the BBC figures need it; benchmarks/news_eval.py builds it)"


def questions(bbc: bool) -> list[list[str]]:
    path = NEWS_DEV if bbc and NEWS_DEV.is_file() else GOLDEN
    return [json.loads(line)["turns"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return round(int(re.search(r"VmRSS:\s+(\d+)", status)[1]) / 1024, 1)  # type: ignore[index]


class Bot:
    """`citebot serve` in a niced subprocess, its stderr lines timed as they come."""

    def __init__(self, process: asyncio.subprocess.Process, began: float) -> None:
        self.process, self.began = process, began
        self.lines: list[tuple[float, str]] = []
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, server: FakeDiscord, config: Path) -> Bot:
        began = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            "nice", "-n", "10", sys.executable, "-m", "tests.fake_serve", server.api_base, server.gateway_url,
            "serve", "--config", str(config), cwd=ROOT, env={**os.environ, "DISCORD_TOKEN": TOKEN},
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        return cls(process, began)

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            self.lines.append((time.perf_counter() - self.began, raw.decode().rstrip("\n")))

    async def seconds_to(self, part: str, timeout: float = 600) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for at, line in self.lines:
                if part in line:
                    return round(at, 2)
            if self.process.returncode is not None:
                break
            await asyncio.sleep(0.02)
        sys.exit(f"serve_startup: no {part!r} from the bot: {[line for _, line in self.lines][-5:]}")

    async def stop(self) -> tuple[float, int]:
        began = time.perf_counter()
        self.process.terminate()
        code = await asyncio.wait_for(self.process.wait(), 60)
        await self.reader
        return round(time.perf_counter() - began, 2), code


def followup_of(interaction_id: str):
    return lambda r: r.method == "POST" and r.path == f"/webhooks/{APP_ID}/token{interaction_id}"


async def ask(server: FakeDiscord, question: str, user_id: int, channel: str) -> dict[str, Any]:
    interaction = await server.slash("ask", {"question": question}, user_id=user_id, channel_id=channel)
    (reply,) = await server.wait_for(followup_of(interaction), timeout=120)
    return reply.body


async def run(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="citebot-serve-"))
    try:
        index, described = prepare_index(folder, Path(args.index).resolve())
        config = write_config(folder, index)
        bbc = not described.startswith("seeds")
        subprocess.run([sys.executable, "-m", "citebot.bot.cli", "ask", "warm up", "--config", str(config)], cwd=ROOT,
                       check=True, capture_output=True)  # the ONNX export exists; the files are in the page cache
        server = FakeDiscord()
        await server.start()
        server.ids = iter(range(10**9, 10**12))  # ids of the fake's own objects, never a channel below
        starts: list[dict[str, float]] = []
        for number in range(args.starts):
            bot = await Bot.start(server, config)
            start = {"to_ready_s": await bot.seconds_to("ready: "),
                     "to_answering_s": await bot.seconds_to("answering")}
            began = time.perf_counter()
            await ask(server, "What did the Prime Minister tell MPs?", 9000 + number, "7000")
            start["first_answer_s"] = round(time.perf_counter() - began, 2)
            starts.append(start)
            print(f"start {number + 1}: {start}", file=sys.stderr)
            if number < args.starts - 1:
                await bot.stop()

        items = questions(bbc)
        samples = [{"questions": 0, "rss_mb": rss_mb(bot.process.pid)}]
        latencies: list[float] = []
        asked, item, last_answer = 0, 0, ""
        while asked < args.questions:
            turns = items[item % len(items)]
            channel = str(7100 + item % CHANNELS)
            for turn in turns:
                if asked == args.questions:
                    break
                began = time.perf_counter()
                if asked % 10 == 9:  # a mention: the bot opens a thread and answers there
                    before = len(server.find(lambda r: r.method == "POST" and r.path.endswith("/messages")))
                    await server.say(turn, user_id=20_000 + asked, channel_id=CHANNEL_ID, mention_bot=True)
                    await server.wait_for(lambda r: r.method == "POST" and r.path.endswith("/messages"),
                                          count=before + 1, timeout=120)
                else:
                    body = await ask(server, turn, 20_000 + asked, channel)
                    last_answer = next((c["custom_id"] for row in body.get("components", [])
                                        for c in row.get("components", [])
                                        if c["custom_id"].startswith("citebot:more:")), last_answer)
                latencies.append(time.perf_counter() - began)
                asked += 1
                if asked % 25 == 0 and last_answer:
                    click = await server.click(last_answer, user_id=30_000 + asked, channel_id=channel)
                    await server.wait_for(lambda r, c=click: r.path.startswith(f"/interactions/{c}/"), timeout=60)
                if asked % args.every == 0:
                    samples.append({"questions": asked, "rss_mb": rss_mb(bot.process.pid)})
                    print(f"{samples[-1]}", file=sys.stderr)
            item += 1
        data = folder / "data"
        files = {path.name: round(path.stat().st_size / 1e3, 1) for path in sorted(data.glob("*"))}
        stop_seconds, code = await bot.stop()
        await server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    after_first = [s["rss_mb"] for s in samples[1:]]
    latencies.sort()
    return {
        "what": "citebot serve against tests/fake_discord.py: start-up, then RSS over a long session",
        "command": f"nice -n 10 {command()}",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores shared with other developers (load varies)",
        "index": described,
        "questions_from": str((NEWS_DEV if bbc else GOLDEN).name),
        "starts": starts,
        "median_s": {key: statistics.median(s[key] for s in starts) for key in starts[0]},
        "rss_mb": samples,
        "rss_growth_mb": {"first_to_last_sample": round(samples[-1]["rss_mb"] - samples[0]["rss_mb"], 1),
                          f"after_{args.every}_questions_to_last": round(after_first[-1] - after_first[0], 1)
                          if after_first else None},
        "question_latency_ms": {"p50": round(1000 * latencies[len(latencies) // 2]),
                                "p95": round(1000 * latencies[int(len(latencies) * 0.95)]),
                                "note": "from the fake's event to the bot's reply, one question at a time"},
        "data_files_kb": files,
        "stop": {"seconds": stop_seconds, "exit_code": code},
    }


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--index", default=str(BBC_INDEX), help="index to serve (copied)")
    cli.add_argument("--questions", type=int, default=1000, help="questions asked of the last start (default 1000)")
    cli.add_argument("--every", type=int, default=100, help="sample RSS after this many questions")
    cli.add_argument("--starts", type=int, default=3, help="start-ups timed; the last one answers")
    cli.add_argument("--out", default=str(RESULT), help="where the JSON goes")
    args = cli.parse_args()
    result = asyncio.run(run(args))
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("index", "median_s", "rss_mb", "rss_growth_mb", "stop")}, indent=1))


if __name__ == "__main__":
    main()
