"""Read a folder of articles and clean them: title found, boilerplate marked, offsets kept.

Nothing is ever rewritten: an article keeps its file text exactly as `open(path).read()`
returns it, and cleaning only decides which paragraphs (non-empty lines) are the article.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import stat
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from citebot.config.errors import SourcesError
from citebot.config.settings import IngestSettings
from citebot.index.ingest.bounded import NotRegular, not_regular, read_bounded
from citebot.index.ingest.formats import SUFFIXES, read_document

if TYPE_CHECKING:
    from citebot.index.ingest.read_cache import ReadCache

log = logging.getLogger(__name__)

READABLE = frozenset({".txt"} | SUFFIXES)
"""The suffixes a sources folder is read for (lower case)."""

# Lines that are page furniture rather than reporting: consent walls, links, teasers,
# share/follow prompts, picture credits. Only short lines are tested against these.
_BOILERPLATE = re.compile(
    r"""
      privacy\s+(settings|policy|notice) | \bcookies?\s+(policy|settings|preferences|notice|consent)
    | \b(accept|reject|we\s+use|uses|manage|allow)\s+(all\s+)?(the\s+)?cookies\b | consent
    | enable\s+javascript | view\s+this\s+content
    | \b(click|tap)\s+here\b | ^\s*read\s+more\b | \bread\s+more\s+(at|on|here|about)\b | ^\s*read\s+next\b
    | ^\s*(sign\s+(up|in)|log\s+in|subscribe|follow\s+(us|@|the\b)|share\s+(this|on|via)\b|download\s+(the|our)\s+app)
    | \bnewsletters?\b | ^\s*(advertisement|advert|sponsored(\s+content)?|promoted|ad)\s*:?\s*$
    | ^\s*(related|related\s+(articles?|stories|topics|links|content|coverage)|see\s+also|more\s+on\s+this(\s+story)?
        |more\s+from\s+[\w\s]{1,30}|watch|listen|most\s+(read|popular|shared)|trending|recommended|top\s+stories
        |you\s+(may|might)\s+also\s+like|also\s+in\s+the\s+news|follow|share|photo|image|picture|video|caption)
      \s*[:|\u2013\u2014-]
    | ^\s*(share|tweet|email|print|comments?|share\s+this(\s+article|\s+story|\s+page)?|save\s+article
        |skip\s+to\s+(content|main)|back\s+to\s+top|all\s+rights\s+reserved|terms\s+(of|and)\s+\w+)\s*$
    | \|.*\|
    | \bjoin\s+the\s+(conversation|discussion)\b | \bcomments?\s+(are\s+)?(closed|open)\b
    | https?://|www\.|\b(visit|at|on|see|go\s+to|from)\s+[a-z0-9.-]+\.(com|co\.uk|org|net)\b\s*\.?\s*$
    | ^\s*(image|picture|video|photo)\s+(copyright|caption|source|credit)\b
    | \((getty|reuters|pa|ap|afp|epa)(\s+images)?\)\s*$
    | ^\s*(©|copyright\b)
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Consent walls and sign-up prompts can run long; these are page furniture at any length.
_LONG_BOILERPLATE = re.compile(
    r"\b(we\s+use\s+cookies|accept\s+(all\s+)?cookies|cookie\s+(policy|settings|preferences)|sign\s+up\s+(to|for)\s+"
    r"(our|the)\b.*\bnewsletter|manage\s+(your\s+)?(privacy|consent)|by\s+continuing\s+to\s+(use|browse)\s+(this|our|the)\s+(site|website))",
    re.IGNORECASE,
)
_LONG_BOILERPLATE_WORDS = ("cookie", "sign", "manage", "continuing")
"""One of these is in every line _LONG_BOILERPLATE matches (a quick test before the slow one)."""
QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u00b4": "'", "`": "'", "\u201c": '"', "\u201d": '"'})
_BLANK = re.compile(r"[\s\u00ad\u200b-\u200d\u2060\ufeff]*")
"""A text with nothing to read: whitespace (any script's: no-break, em spaces), zero-width characters, a BOM."""
_SENTENCE_END = re.compile(r"""[.!?:;,]["'\u2019\u201d)\]]*\s*$""")


@dataclass(frozen=True)
class Paragraph:
    """One non-empty line of a file: its span, its number in the body, and why it was dropped."""

    start: int
    end: int
    number: int
    """1-based position among the non-empty lines after the title, as a reader counts them."""
    dropped: str | None = None
    """Why this line is not part of the article (None when it is)."""


@dataclass(frozen=True)
class Document:
    """Where an article that is not a .txt file came from, and what its file said about it."""

    file: str
    """The file it was read from, relative to the sources folder ("news.jsonl", "pages/a.html")."""
    row: str | None = None
    """Its row in a collection ("row 12"), None for a file that is one article."""
    url: str | None = None
    date: str | None = None
    author: str | None = None
    pages: tuple[tuple[int, int, int], ...] = ()
    """PDF: (page number, start, end) spans of the article's text."""
    offset: int = 0
    """Where the article's text starts in the text file the index kept (a collection's rows share one file; citations
    count from the file's start). Not written to the manifest: a loaded index sets it from the row table."""

    def page_at(self, offset: int) -> int | None:
        """The page of a PDF that holds the character at offset of the text read."""
        return next((number for number, start, end in self.pages if start <= offset < end), None)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"file": self.file}
        out.update({k: v for k, v in (("row", self.row), ("url", self.url), ("date", self.date),
                                      ("author", self.author)) if v})
        if self.pages:
            out["pages"] = [list(page) for page in self.pages]
        return out

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Document:
        pages = tuple(tuple(page) for page in data.get("pages", ()))  # type: ignore[union-attr]
        return cls(str(data["file"]), *(data.get(k) for k in ("row", "url", "date", "author")),  # type: ignore[arg-type]
                   pages)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Article:
    source: str
    """Its name in the index: for a .txt file, the path relative to the sources folder ("/" separators), so
    `open(root / source).read()` is `text`; for another format, that path with "#row N" for a collection's row."""
    text: str
    title: str | None
    paragraphs: tuple[Paragraph, ...]
    fingerprint: str
    """sha256 of the file's bytes."""
    document: Document | None = None
    """For an article read from another format than .txt: its file and what the file said (url, date, pages);
    `text` is then the text read, which the index keeps as a file of its own."""

    def kept_runs(self) -> list[list[Paragraph]]:
        """Runs of consecutive kept paragraphs; no chunk may span a dropped line."""
        runs: list[list[Paragraph]] = [[]]
        for paragraph in self.paragraphs:
            if paragraph.dropped:
                runs.append([])
            else:
                runs[-1].append(paragraph)
        return [run for run in runs if run]


@dataclass(frozen=True)
class Skipped:
    path: str
    """Relative to the sources folder when it comes from read_corpus."""
    reason: str


@dataclass(frozen=True)
class Corpus:
    articles: tuple[Article, ...]
    skipped: tuple[Skipped, ...]


def normalise_line(line: str) -> str:
    """The comparison key of a line: quotes unified, whitespace collapsed, case folded."""
    return " ".join(line.translate(QUOTES).split()).casefold()


def _lines(text: str) -> list[tuple[int, int]]:
    """Spans of the non-empty lines of text, surrounding whitespace excluded."""
    spans = []
    for match in re.finditer(r"[^\n]+", text):
        line = match.group()
        stripped = line.strip()
        if stripped:
            start = match.start() + (len(line) - len(line.lstrip()))
            spans.append((start, start + len(stripped)))
    return spans


def _is_headline(line: str, settings: IngestSettings) -> bool:
    return len(line.split()) <= settings.headline_max_words and not _SENTENCE_END.search(line)


def read_file(path: Path, max_bytes: int) -> tuple[str, str] | Skipped:
    """The text of a file as open(path).read() gives it and the sha256 of its bytes (read once), or why
    it cannot be indexed (a regular file only, never more than max_bytes of it read)."""
    try:
        raw = read_bounded(path, max_bytes)
    except NotRegular as exc:
        return Skipped(str(path), exc.reason)
    except OSError as exc:
        return Skipped(str(path), f"cannot be read ({exc.strerror or exc})")
    if b"\x00" in raw:
        return Skipped(str(path), "looks binary (contains NUL bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Skipped(str(path), f"is not UTF-8 (bad byte at offset {exc.start})")
    if _BLANK.fullmatch(text):
        return Skipped(str(path), "is empty")
    # Universal newlines, as a reader's open() gives (a BOM stays, as open(encoding="utf-8") keeps it).
    return text.replace("\r\n", "\n").replace("\r", "\n"), hashlib.sha256(raw).hexdigest()


def outside_link(path: Path, root: Path, real_root: Path | None = None) -> Skipped | None:
    """Why a file listed under root is really elsewhere (a symlink out of the folder), or None (real_root:
    root.resolve(), when known)."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        return Skipped(str(path), f"cannot be read ({getattr(exc, 'strerror', None) or exc})")
    if real.is_relative_to(real_root or root.resolve()):
        return None
    return Skipped(str(path), f"links outside the sources folder (to {real}); "
                              "set [ingest] allow_links_outside = true to index it")


def relative_source(path: Path, root: Path) -> str:
    """How an index names a source: its path under the sources folder, "/"-separated."""
    return path.relative_to(root).as_posix()


def shown_name(name: str) -> str:
    """A file name as UTF-8 text can show it: bytes that are not UTF-8 (kept by Python as surrogates) as \\xNN."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def unnamed_source(path: Path, root: Path) -> Skipped | None:
    """Why a file under root cannot be indexed by its name: the name is not UTF-8, so no index, citation or JSON
    can name it (an escaped name would name another file). None when the name is text."""
    name = relative_source(path, root)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return Skipped(shown_name(name), "its name is not valid UTF-8 (rename the file to index it)")
    return None


def _keyed_lines(text: str) -> tuple[list[tuple[int, int]], list[str]]:
    """The spans of text's non-empty lines and their comparison keys."""
    spans = _lines(text)
    return spans, [normalise_line(text[s:e]) for s, e in spans]


def clean_article(source: str, text: str, fingerprint: str, settings: IngestSettings,
                  corpus_boilerplate: frozenset[str] = frozenset(),
                  lines: tuple[list[tuple[int, int]], list[str]] | None = None,
                  document: Document | None = None, known_title: str | None = None) -> Article:
    """Split a file into title and paragraphs and mark the lines that are not the article
    (lines: _keyed_lines(text), when already computed; known_title: the title its format gave, on the first line)."""
    spans, keys = lines or _keyed_lines(text)
    title = None
    first = text[slice(*spans[0])] if spans else ""
    if len(spans) > 1 and (first == known_title or (known_title is None and _is_headline(first, settings))):
        title = text[slice(*spans[0])]
        spans, keys = spans[1:], keys[1:]
    short = [len(k.split()) <= settings.boilerplate_max_words for k in keys]
    seen: set[str] = set()
    paragraphs = []
    for i, (start, end) in enumerate(spans):
        key = keys[i]
        reason = None
        if i > 0 and key == keys[i - 1]:
            reason = "repeats the paragraph before it"
        elif (short[i] and _BOILERPLATE.search(key)) or (any(w in key for w in _LONG_BOILERPLATE_WORDS)
                                                         and _LONG_BOILERPLATE.search(key)):
            reason = "link, consent or teaser line"
        elif short[i] and key in corpus_boilerplate:
            reason = "line repeated across many files"
        elif short[i] and key in seen:
            reason = "repeats an earlier line of the file"  # a caption printed twice keeps its first copy
        seen.add(key)
        paragraphs.append(Paragraph(start, end, i + 1, reason))
    return Article(source, text, title, tuple(paragraphs), fingerprint, document)


def learn_corpus_boilerplate(texts: Iterable[str], settings: IngestSettings) -> frozenset[str]:
    """Short lines that recur in a large share of the files: site furniture, not reporting."""
    texts = list(texts)
    return _repeated_lines(texts, len(texts), settings)


def _short_keys(text: str, settings: IngestSettings) -> set[str]:
    """The distinct comparison keys of text's lines short enough to be judged boilerplate by repetition."""
    return {k for k in _keyed_lines(text)[1] if len(k.split()) <= settings.boilerplate_max_words}


def _repeat_threshold(articles: int, settings: IngestSettings) -> float:
    return max(3, settings.corpus_repeat_fraction * articles)


def _repeated_lines(texts: Iterable[str], articles: int, settings: IngestSettings,
                    keep: Callable[[str], bool] = lambda key: True) -> frozenset[str]:
    """The short lines (those keep accepts) found in enough of the articles' texts."""
    document_frequency = Counter(k for text in texts for k in _short_keys(text, settings) if keep(k))
    threshold = _repeat_threshold(articles, settings)
    return frozenset(k for k, n in document_frequency.items() if n >= threshold)


@dataclass(frozen=True)
class SourceWalk:
    files: tuple[Path, ...]
    """Every regular file under the folder with a suffix citebot reads, sorted."""
    skipped: tuple[Skipped, ...]
    """What the walk could not look into or read as a file (named relative to the folder, a folder with a "/")."""


def source_files(sources: Path) -> list[Path]:
    """Every file under sources that citebot reads: .txt, and the formats of index/ingest/formats."""
    return list(walk_sources(sources).files)


def walk_sources(sources: Path) -> SourceWalk:
    """The files under sources that citebot reads, and why others were passed over: folders that cannot be read
    or searched, links to nothing, symlink loops, FIFOs and devices. Links to folders are not followed (as
    pathlib's rglob did not). Iterative: any depth of folders, no recursion."""
    if not sources.is_dir():
        raise SourcesError(f"sources folder not found: {sources} (give one with --sources DIR)")
    files: list[Path] = []
    skipped: list[Skipped] = []
    stack = [sources]
    while stack:
        folder = stack.pop()
        entries, problem = _folder_entries(folder)
        if problem is not None:
            if folder == sources:
                raise SourcesError(f"sources folder {sources} {problem}")
            skipped.append(Skipped(shown_name(relative_source(folder, sources)) + "/",
                                   f"is a folder that {problem}; the files in it are left out"))
            continue
        for entry in entries:
            path = Path(entry.path)
            if _is_folder(entry):
                stack.append(path)
                continue
            readable = path.suffix.casefold() in READABLE
            if not readable and not entry.is_symlink():
                continue
            problem = _entry_problem(entry)
            if problem is None:
                if readable:
                    files.append(path)
            elif readable or problem.startswith(_FOLDER_LINK):  # a folder's articles are never passed over unsaid
                skipped.append(Skipped(shown_name(relative_source(path, sources)), problem))
    return SourceWalk(tuple(sorted(files)), tuple(sorted(skipped, key=lambda s: s.path)))


def _folder_entries(folder: Path) -> tuple[list[os.DirEntry[str]], str | None]:
    """The entries of a folder, or what keeps it from being listed ("cannot be read (Permission denied)") or its
    entries from being looked at (a folder readable but not searchable: names without files)."""
    try:
        with os.scandir(folder) as listing:
            entries = list(listing)
    except OSError as exc:
        return [], f"cannot be read ({exc.strerror or exc})"
    if entries:
        try:
            os.lstat(entries[0].path)
        except PermissionError as exc:
            return [], f"cannot be searched ({exc.strerror})"
        except OSError:
            pass  # gone since the listing: the entry itself says so below
    return entries, None


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


_FOLDER_LINK = "is a link to a folder"


def _entry_problem(entry: os.DirEntry[str]) -> str | None:
    """Why an entry (not a folder) is not read as a file, or None for a regular file (or a link to one)."""
    try:
        mode = entry.stat().st_mode  # follows a link
    except FileNotFoundError:
        if entry.is_symlink():
            return f"is a link to nothing (its target {_link_target(entry)} does not exist)"
        return "was removed while the folder was read"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symlink loop (following its links leads back to it)"
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return f"{_FOLDER_LINK} ({_link_target(entry)}); links to folders are not followed"
    return not_regular(mode)


def _link_target(entry: os.DirEntry[str]) -> str:
    try:
        return shown_name(os.readlink(entry.path))
    except OSError:
        return "?"


def article_name(file: str, row: str | None) -> str:
    """An article's name in the index: its file, and for a collection's row "#row N" after it."""
    return f"{file}#{row}" if row else file


def read_source(path: Path, sources: Path, settings: IngestSettings) -> str | Skipped:
    """The text of a file listed under sources, or why it is not indexed: a symlink out of the folder
    (unless [ingest] allow_links_outside), over [ingest] max_file_bytes, empty, binary or not UTF-8."""
    found = read_file_under(path, sources, settings)
    return found if isinstance(found, Skipped) else found[0]


def read_file_under(path: Path, sources: Path, settings: IngestSettings) -> tuple[str, str] | Skipped:
    """read_source's text with the sha256 of the bytes it came from."""
    problem = None if settings.allow_links_outside else outside_link(path, sources)
    return problem or read_file(path, settings.max_file_bytes)


def read_document_under(path: Path, sources: Path, settings: IngestSettings
                        ) -> tuple[list[tuple[str, Document, str | None]], list[Skipped], str] | Skipped:
    """The articles of a file in another format than .txt: (text, document, title) each, the rows left out, and
    the sha256 of the file's bytes; or why the file is not indexed."""
    return _read_document(path, sources, settings)[0]


def _read_document(path: Path, sources: Path, settings: IngestSettings
                   ) -> tuple[tuple[list[tuple[str, Document, str | None]], list[Skipped], str] | Skipped, str | None]:
    """read_document_under's result and the sha256 of the bytes read (None when none were)."""
    problem = None if settings.allow_links_outside else outside_link(path, sources)
    if problem:
        return problem, None
    try:
        if (size := path.stat().st_size) > settings.max_file_bytes:
            return Skipped(str(path), f"is {size:,} bytes, over the limit of {settings.max_file_bytes:,} "
                                      "(raise [ingest] max_file_bytes to index it)"), None
        raw = path.read_bytes()
    except OSError as exc:
        return Skipped(str(path), f"cannot be read ({exc.strerror})"), None
    digest = hashlib.sha256(raw).hexdigest()
    found = read_document(path, raw, settings)
    if isinstance(found, str):
        return Skipped(str(path), found), digest
    name = relative_source(path, sources)
    too_short = f"is too short to be an article (under {settings.min_row_words} words)"
    articles, left_out = [], [(row.key, row.reason) for row in found.skipped]
    for a in found.articles:
        if a.key and len(a.text.split()) < settings.min_row_words:
            left_out.append((a.key, too_short))
        else:
            articles.append((a.text, Document(name, a.key or None, a.url, a.date, a.author, a.pages), a.title))
    rows = rows_left_out(name, left_out)
    if not articles:
        return Skipped(str(path), f"has no article to index ({len(left_out):,} row(s) left out"
                                  f"{': ' + rows[0].reason if rows else ''})"), digest
    return (articles, rows, digest), digest


ROWS_NAMED = 3
"""Rows left out for one reason that are named one by one; more are counted in one line."""


def rows_left_out(file: str, rows: list[tuple[str, str]]) -> list[Skipped]:
    """The rows of a collection left out, (row, reason) each: up to ROWS_NAMED a reason named one by one, the
    others counted in one more line, so a file of a million short rows reports a few lines, not a million."""
    by_reason: dict[str, list[str]] = {}
    for key, reason in rows:
        by_reason.setdefault(reason, []).append(key)
    found = []
    for reason, keys in by_reason.items():
        named = keys if len(keys) <= ROWS_NAMED + 1 else keys[:ROWS_NAMED]
        found += [Skipped(f"{file}#{key}", reason) for key in named]
        if len(keys) > len(named):
            found.append(Skipped(f"{file}#{keys[ROWS_NAMED]}", f"{reason}; so are {len(keys) - ROWS_NAMED - 1:,} more "
                                                               f"rows of this file ({len(keys):,} in all)"))
    return found


def read_corpus(sources: Path, settings: IngestSettings, cache: ReadCache | None = None) -> Corpus:
    """Read every article under sources; they are named relative to the folder, skipped files logged (cache: see
    scan_corpus)."""
    found = scan_corpus(sources, settings, cache)
    articles = tuple(found.articles)
    return Corpus(articles, found.skipped)


def scan_corpus(sources: Path, settings: IngestSettings, cache: ReadCache | None = None) -> CorpusScan:
    """The articles under sources, to be read one at a time (see CorpusScan); skipped files logged. With a cache,
    a file of another format than .txt that did not change since the cache's build is not read again (see
    index/ingest/read_cache.py), and every file read is recorded in it.

    This reads every file once to learn what a build needs before its first article: which files are read,
    how many articles they hold, and the lines repeated across many of them (boilerplate, see
    _repeated_lines). Only a 64-bit hash of each short line is kept; lines whose hash is frequent enough
    are counted exactly in one more reading, so the result is read_corpus's to the letter.
    """
    walk = walk_sources(sources)
    files = walk.files
    readable: list[Path] = []
    skipped: list[Skipped] = list(walk.skipped)
    for passed in walk.skipped:
        log.info("skipping %s: %s", sources / passed.path, passed.reason)  # the command lists them once, at its end
    line_hashes = array("q")  # the distinct short lines of each article, hashed: 8 bytes each
    count = 0
    for path, found in _read_files(files, sources, settings, skipped, cache=cache):
        readable.append(path)
        for text, *_ in found:
            count += 1
            line_hashes.extend(hash(key) for key in _short_keys(text, settings))
    if not count:
        reasons = "; ".join(f"{item.path}: {item.reason}" for item in skipped[:3])
        reasons += "; ..." if len(skipped) > 3 else ""
        found = (f"none of its {len(files)} file(s) of a kind citebot reads gave an article ({reasons})"
                 if files else "no articles")
        raise SourcesError(f"nothing to index in {sources}: {found} (citebot reads {', '.join(sorted(READABLE))})")
    hashes, counts = np.unique(np.frombuffer(line_hashes, dtype=np.int64), return_counts=True)
    candidates = set(hashes[counts >= _repeat_threshold(count, settings)].tolist())
    del line_hashes, hashes, counts
    boilerplate: frozenset[str] = frozenset()
    if candidates:  # the same hash may be two lines: count the lines themselves
        texts = (text for _, found in _read_files(readable, sources, settings, [], skipped, cache=cache)
                 for text, *_ in found)
        boilerplate = _repeated_lines(texts, count, settings, keep=lambda key: hash(key) in candidates)
    return CorpusScan(sources, settings, tuple(readable), skipped, count, boilerplate, cache)


_Found = list[tuple[str, str, str, Document | None, str | None]]
"""The articles of one file: (text, name, sha256 of the file, document, title) each."""


def _read_files(files: Iterable[Path], sources: Path, settings: IngestSettings, skipped: list[Skipped],
                known: Iterable[Skipped] = (), cache: ReadCache | None = None) -> Iterator[tuple[Path, _Found]]:
    """Each file that reads with its articles; the others (and the rows of a collection left out) are logged
    and added to skipped, unless known already."""
    known = set(known)

    def note(item: Skipped, shown: str) -> None:
        skipped.append(item)
        if item not in known:
            known.add(item)
            log.info("skipping %s: %s", shown, item.reason)  # the command lists them once, at its end

    for path, found in _read_each(files, sources, settings, note, cache):
        if found is not None:
            yield path, found


def _read_each(files: Iterable[Path], sources: Path, settings: IngestSettings,
               note: Callable[[Skipped, str], None], cache: ReadCache | None = None
               ) -> Iterator[tuple[Path, _Found | None]]:
    for path in files:
        name = relative_source(path, sources)
        if unnamed := unnamed_source(path, sources):
            note(unnamed, unnamed.path)
            yield path, None
            continue
        stamp = file_stamp(path) if cache is not None else None  # taken before the file is read
        if path.suffix.casefold() == ".txt":
            found = read_file_under(path, sources, settings)
            if not isinstance(found, Skipped):
                if cache is not None:
                    cache.note_text_file(path, name, stamp, found[1], len(found[0]))
                yield path, [(found[0], name, found[1], None, None)]
                continue
        else:
            problem = None if settings.allow_links_outside else outside_link(path, sources)
            read = problem or (cache.take(path, name) if cache is not None else None)
            if read is None:
                read, digest = _read_document(path, sources, settings)
                if cache is not None:
                    cache.put(path, name, stamp, read, digest)
            if not isinstance(read, Skipped):
                articles, rows, digest = read
                for row in rows:
                    note(row, row.path)
                yield path, [(text, article_name(name, doc.row), digest, doc, title) for text, doc, title in articles]
                continue
            found = read
        note(Skipped(name, found.reason), str(path))
        yield path, None


def file_stamp(path: Path) -> tuple[int, int] | None:
    """(size, modification time in ns) of a file, or None when it cannot be stat'ed."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class CorpusArticles:
    """A folder's articles, read and cleaned one at a time each time they are iterated; len() is how many the
    scan found."""

    def __init__(self, scan: CorpusScan) -> None:
        self._scan = scan

    def __len__(self) -> int:
        return self._scan.count

    def __iter__(self) -> Iterator[Article]:
        scan = self._scan
        later: list[Skipped] = []  # a file that changed since the scan is read as it is now
        known = (*scan.skipped_first, *scan.skipped_later)
        for _, found in _read_files(scan.files, scan.sources, scan.settings, later, known, scan.cache):
            for text, name, digest, document, title in found:
                yield clean_article(name, text, digest, scan.settings, scan.boilerplate, None, document, title)
        scan.skipped_later.extend(s for s in later if s not in known)


@dataclass
class CorpusScan:
    """What scan_corpus learnt of a folder; `articles` reads them."""

    sources: Path
    settings: IngestSettings
    files: tuple[Path, ...]
    """The files that read, in order."""
    skipped_first: list[Skipped]
    count: int
    """Articles in those files."""
    boilerplate: frozenset[str]
    cache: ReadCache | None = None
    """Where the articles are taken from when their file did not change, and what was read is recorded."""
    skipped_later: list[Skipped] = field(default_factory=list)
    """Files that no longer read when the articles were read."""

    @property
    def articles(self) -> CorpusArticles:
        return CorpusArticles(self)

    @property
    def skipped(self) -> tuple[Skipped, ...]:
        return (*self.skipped_first, *self.skipped_later)
