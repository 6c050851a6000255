"""`citebot index status`: the configured store's current build, checked as a load checks it, and what is around
it (a build running, leftovers of interrupted builds, the build kept for a rollback), gathered as data through the
store protocol; then printed as text or JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from citebot.bot.cli.common import configured_model, display_path, where
from citebot.bot.display import printable
from citebot.config.errors import IndexInvalidError
from citebot.config.settings import Settings
from citebot.index.ingest.texts import article_count


@dataclass(frozen=True)
class IndexStatus:
    """The status of the current build; to_json() is the `--json` object, fields in its order."""

    index: str
    store: dict[str, Any]
    build: str
    built_at: str
    model: str
    weights_sha256: str
    runtime: str | None
    sources_root: str
    articles: int
    passages: int
    chunking: dict[str, Any]
    vectors: dict[str, Any]
    """Texts embedded and reused by the build, the build reused from, and the tokens of the texts embedded (None for a
    build from before the count)."""
    skipped: list[dict[str, str]]
    up_to_date: bool
    changes: list[str]
    leftovers: list[dict[str, Any]]
    """Each leftover of an interrupted build: its name (path), size (bytes), and whether it was removed now."""
    build_running: bool
    rollback: list[str] | None = None
    """The builds kept for a rollback; None where the store keeps none (left out of the JSON)."""
    leftover_builds: list[str] | None = None
    """Builds an interrupted build left in the store (None: the store has none of its own; left out)."""
    journals: list[dict[str, Any]] | None = None
    """Each journal of vectors an interrupted build computed, which the next build resumes from: its name (path)
    and size (bytes); left out of the JSON when there is none."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("rollback", "leftover_builds", "journals"):
            if not data[key] and (key == "journals" or data[key] is None):
                del data[key]
        return data


def gather_status(settings: Settings) -> IndexStatus:
    """Open the configured store's current build with every check a load makes, and say what is around it.
    Leftovers of interrupted builds are removed when no build is running and the folder can be written."""
    from citebot.index.build import changed_settings, source_changes
    from citebot.index.store import store_location
    from citebot.index.vector_journal import journals
    from citebot.retrieval.freshness import CheckBounds, corrupt_passages

    location = store_location(settings)
    running = location.build_running()
    found = location.leftovers()
    removed = {left.path for left in location.remove_leftovers()} if found and not running else set()
    name, weights, dimension = configured_model(settings)
    stored = location.open(settings, model_name=name, weights_sha256=weights, dimension=dimension,
                           with_lexical=False)  # every check a load makes
    bad = corrupt_passages(stored.chunks, stored.sources, CheckBounds.of(settings.ingest, stored.sources_root))
    if bad:
        raise IndexInvalidError(
            f"index in {stored.path} is corrupt: {len(bad)} passage(s) do not match their unchanged source "
            f"(first: {bad[0].id} in {bad[0].source}); {location.rebuild_hint()}")
    manifest = stored.manifest
    changes = source_changes(manifest, stored.sources_root, settings.ingest) + changed_settings(manifest, settings)
    vectors: dict[str, Any] = manifest["vectors"] if isinstance(manifest.get("vectors"), dict) else {}
    return IndexStatus(
        index=where(settings),
        store=stored.store.describe(),
        build=stored.path.name,
        built_at=manifest["built_at"],
        model=manifest["model"]["name"],
        weights_sha256=manifest["model"]["weights_sha256"],
        runtime=manifest["model"].get("runtime"),
        sources_root=str(display_path(stored.sources_root)),
        articles=article_count(manifest),
        passages=manifest["chunk_count"],
        chunking=manifest["chunking"],
        vectors={k: vectors.get(k) for k in ("embedded", "reused", "reused_from", "tokens")},
        skipped=manifest["skipped"],
        up_to_date=not changes,
        changes=changes,
        leftovers=[{"path": left.path.name, "bytes": left.size, "removed": left.path in removed} for left in found],
        build_running=running,
        rollback=location.rollback_builds(),
        leftover_builds=location.leftover_builds(),
        journals=[{"path": path.name, "bytes": path.stat().st_size} for path in journals(location.folder)],
    )


CHUNKING_WORDS = {"max_tokens": "tokens at most a passage", "overlap_tokens": "tokens of overlap",
                  "model_max_tokens": "tokens the model reads"}


def chunking_line(chunking: dict[str, Any]) -> str:
    """The chunking settings as a reader would say them: "128 tokens at most a passage, 48 tokens of overlap"."""
    return ", ".join(f"{value} {CHUNKING_WORDS[key]}" if key in CHUNKING_WORDS else f"{key} {value}"
                     for key, value in chunking.items()) or "(none recorded)"


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def render_status(status: IndexStatus, rebuild: str = "citebot index build") -> str:
    """The status as `citebot index status` prints it, one fact a line."""
    lines = [f"index      {status.index} ({status.build}, built {status.built_at})",
             f"store      {', '.join(f'{k} {v}' for k, v in status.store.items() if k not in ('uri', 'folder'))}"]
    runtime = f", built on {status.runtime}" if status.runtime else ""
    lines.append(f"model      {status.model} (weights sha256 {str(status.weights_sha256)[:12]}…{runtime})")
    lines.append(f"sources    {status.sources_root}: {status.articles} article(s), {status.passages} passages")
    lines.append(f"chunking   {chunking_line(status.chunking)}")
    if status.vectors["embedded"] is not None:
        reused_from = status.vectors["reused_from"] or ""  # a Milvus build's first: the FAISS folder's build
        in_milvus = status.store.get("kind") == "milvus"
        source = Path(reused_from).name if in_milvus and "/" in reused_from else "the build before"
        tokens = status.vectors.get("tokens")
        lines.append(f"vectors    {status.vectors['embedded']} texts embedded, {status.vectors['reused']} reused "
                     f"from {source}" + (f"; {tokens} tokens through the model" if tokens is not None else ""))
    for skipped in status.skipped:
        lines.append(f"skipped    {skipped['path']}: {skipped['reason']}")
    if status.build_running:
        lines.append("build      a build is running now")
    for left in status.leftovers:
        fate = ("removed" if left["removed"] else "kept: a build is running" if status.build_running
                else "kept: it cannot be removed here (the folder is read-only, or not yours)")
        lines.append(f"leftover   {left['path']} ({_megabytes(left['bytes'])}, from an interrupted build): {fate}")
    for journal in status.journals or []:
        lines.append(f"journal    {journal['path']} ({_megabytes(journal['bytes'])}): vectors an interrupted build "
                     "computed; the next build resumes from them")
    for name in status.rollback or []:
        lines.append(f"rollback   {name} (the build before, kept)")
    for name in status.leftover_builds or []:
        lines.append(f"leftover   {name} (collections of an interrupted build; the next build drops them)")
    lines.append("status     up to date" if not status.changes else f"status     STALE, run: {rebuild}")
    lines += [f"           {change}" for change in status.changes]
    return "\n".join(printable(line) for line in lines)  # a file name's control characters shown, not obeyed
