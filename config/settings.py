"""Settings: config/default.toml, the one source of defaults, with the user's config file over it (it names only
what it changes), read once into frozen dataclasses."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from citebot.config.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "default.toml"


@dataclass(frozen=True)
class Paths:
    sources: Path
    index: Path
    golden: Path
    data: Path


@dataclass(frozen=True)
class IngestSettings:
    headline_max_words: int
    boilerplate_max_words: int
    corpus_repeat_fraction: float
    max_file_bytes: int
    allow_links_outside: bool
    pdf_max_decompressed_bytes: int
    pdf_max_seconds: float
    front_matter_max_bytes: int
    """Markdown front matter longer than this is not read (the article is, without its fields)."""
    columns: ColumnNames
    """Collection field ("title", "text", "url", "date", "author") -> the column names read for it, in order
    of preference, case-insensitive, "*" matching any characters (index/ingest/formats/collection.py)."""
    min_row_words: int
    """A collection's row of fewer words (title and text together) is left out: too short to be an article."""


COLUMN_FIELDS = ("title", "text", "url", "date", "author")
"""The fields a collection's row gives an article; text is required."""
ColumnNames = dict[str, list[str]]
MERGED_TABLES = {("ingest", "columns")}
"""Tables a config file changes key by key (naming `text` keeps the default `title`), not as a whole."""


@dataclass(frozen=True)
class ChunkSettings:
    max_tokens: int
    overlap_tokens: int
    model_max_tokens: int


@dataclass(frozen=True)
class EmbeddingSettings:
    model: str
    weights_sha256: str
    batch_size: int
    title_in_vectors: bool
    runtime: str
    onnx_cache: Path


@dataclass(frozen=True)
class RetrievalSettings:
    top_k: int
    candidates: int
    fusion: str
    rrf_k: int
    dense_weight: float
    sentence_weight: float
    lexical_weight: float
    bm25_k1: float
    bm25_b: float
    lexical_title: bool
    prf_weight: float
    prf_depth: int
    abstain_below: float
    abstain_missing: int
    abstain_articles: int
    abstain_missing_year: bool
    abstain_missing_number: bool
    abstain_money_unquoted: bool
    abstain_attribute_unmentioned: bool
    abstain_bank_quantile: float
    abstain_bank_margin: float
    abstain_min_cover: float
    abstain_max_unknown: float
    abstain_unknown_min_passages: int
    max_per_article: int
    duplicate_share: float


STOPWORD_LISTS = ("en", "none")
"""en: bm25s's 33 English stop words; none: every word counts."""
LEXICAL_CONTEXTS = ("none", "previous", "names", "lead")


@dataclass(frozen=True)
class LexicalSettings:
    """What BM25 indexes and how its terms are made (retrieval/lexical.py). The defaults are bm25s's own
    tokenization: lower-cased `\\w\\w+` words, its 33 English stop words, Snowball English stems."""

    stem: bool = True
    """Snowball English stems ("shares" and "shared" -> "share")."""
    stopwords: str = "en"
    """One of STOPWORD_LISTS."""
    numbers: bool = False
    """Numbers are whole terms ("1.13bn", "2.5", single digits) rather than split at the point."""
    names: bool = False
    """A capitalised word inside a sentence also gives an unstemmed, case-folded name term ("=wales"), so names
    count twice and "Gates" does not meet "gate"."""
    bigrams: bool = False
    """Adjacent terms (after stop words are removed) also give a pair term ("prime_minist")."""
    title_repeat: int = 1
    """How many times the article title is indexed with each passage (when titles are indexed at all): a crude
    field weight for the title."""
    context: str = "none"
    """What of the article before a passage BM25 indexes with it: "none", "previous" (the sentence before it),
    "names" (the names in the two sentences before it), "lead" (the article's first sentence)."""


@dataclass(frozen=True)
class RerankSettings:
    depth: int
    weights: dict
    """Feature name -> weight (see retrieval/features.py); missing features weigh 0."""
    within_article: dict
    """Feature name -> weight that orders each article's candidates among the places the article holds
    (empty: the order of `weights`)."""


@dataclass(frozen=True)
class AnswerSettings:
    passages_considered: int
    max_sentences: int
    extend_ratio: float
    word_overlap_weight: float
    kind_weight: float
    rank_weight: float
    own_question_weight: float


@dataclass(frozen=True)
class ConversationSettings:
    max_turns: int
    idle_minutes: float
    topic_max_share: float


@dataclass(frozen=True)
class LimitSettings:
    max_question_chars: int


@dataclass(frozen=True)
class BotSettings:
    allowed_channels: list
    dev_guild: int
    rate_limit_per_minute: int
    passages_shown: int
    more_passages: int
    worker_threads: int
    reload_seconds: float


@dataclass(frozen=True)
class StoreSettings:
    kind: str
    """"faiss" (the index folder at [paths] index) or "milvus"."""
    uri: str
    """Milvus: a local .db path (Milvus Lite) or http://host:19530 (a server or cluster)."""
    collection: str
    """Milvus: the alias readers search; each build is a collection of its own behind it."""
    token_env: str
    """Milvus: the environment variable holding the token (user:password or an API key); never the file."""
    lexical: str
    """Milvus: where the BM25 ranking comes from, "bm25s" (as the FAISS path) or "milvus" (its BM25 function)."""
    compressed_from: int
    """FAISS: passages or sentences from which a table is searched by its 8-bit copy, the candidates re-scored
    exactly (index/store/faiss/compressed.py); 0: always exact."""
    approximate_from: int
    """FAISS: passages or sentences from which a build writes an IVF index of the table and a search visits only
    approximate_probe of its lists, the candidates re-scored exactly (index/store/faiss/approximate.py); 0: never."""
    approximate_lists: int
    """FAISS: lists of such an IVF index (0: 4 x the square root of the table's rows)."""
    approximate_probe: int
    """FAISS: lists a search visits."""
    approximate_scores: str
    """FAISS: where an IVF-searched table's scores come from, "floats" (its candidates re-scored exactly from the
    float file) or "codes" (the IVF's own 8-bit codes, decoded: no float row read at question time)."""
    milvus_index: str
    """Milvus: the vector index, "FLAT" (exact; the only one Milvus Lite has), "HNSW", "IVF_FLAT" or "DISKANN"."""
    milvus_index_params: dict
    """Milvus: the index's build parameters (create_index), e.g. {M = 32, efConstruction = 200} for HNSW."""
    milvus_search_params: dict
    """Milvus: the index's search parameters, e.g. {ef = 256} for HNSW, {nprobe = 64} for IVF_FLAT."""

    @property
    def is_server(self) -> bool:
        return is_server_uri(self.uri)


MILVUS_INDEXES = ("FLAT", "HNSW", "IVF_FLAT", "DISKANN")
"""The vector indexes [store] milvus_index may name (Milvus Lite builds FLAT only)."""


def is_server_uri(uri: str) -> bool:
    """A Milvus server's address rather than a Milvus Lite file."""
    return uri.startswith(("http://", "https://", "tcp://", "grpc://"))



@dataclass(frozen=True)
class Settings:
    paths: Paths
    ingest: IngestSettings
    chunking: ChunkSettings
    embedding: EmbeddingSettings
    retrieval: RetrievalSettings
    lexical: LexicalSettings
    rerank: RerankSettings
    answer: AnswerSettings
    conversation: ConversationSettings
    limits: LimitSettings
    bot: BotSettings
    store: StoreSettings

    def with_index(self, index_dir: Path) -> Settings:
        return replace(self, paths=replace(self.paths, index=index_dir))

    def with_store(self, kind: str) -> Settings:
        return replace(self, store=replace(self.store, kind=kind))


_SECTIONS = {
    "paths": Paths,
    "ingest": IngestSettings,
    "chunking": ChunkSettings,
    "embedding": EmbeddingSettings,
    "retrieval": RetrievalSettings,
    "lexical": LexicalSettings,
    "rerank": RerankSettings,
    "answer": AnswerSettings,
    "conversation": ConversationSettings,
    "limits": LimitSettings,
    "bot": BotSettings,
    "store": StoreSettings,
}


def _build_section(name: str, cls: type, table: dict[str, Any], root: Path) -> Any:
    expected = {f.name: f.type for f in fields(cls)}
    missing = sorted(set(expected) - set(table))
    unknown = sorted(set(table) - set(expected))
    if unknown:
        raise ConfigError(f"config [{name}]: unknown setting(s) {', '.join(unknown)} "
                          f"(known: {', '.join(expected)})")
    if missing:  # only config/default.toml itself can leave a setting out
        raise ConfigError(f"config [{name}]: {', '.join(missing)} not set in {DEFAULT_CONFIG}")
    values: dict[str, Any] = {}
    for key, kind in expected.items():
        value = table[key]
        if kind == "Path":
            value = (root / value) if not Path(value).is_absolute() else Path(value)
        elif kind == "int" and (not isinstance(value, int) or isinstance(value, bool)):
            raise ConfigError(f"config [{name}] {key} must be an integer, got {value!r}")
        elif kind == "float":
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ConfigError(f"config [{name}] {key} must be a number, got {value!r}")
            value = float(value)
        elif kind == "bool" and not isinstance(value, bool):
            raise ConfigError(f"config [{name}] {key} must be true or false, got {value!r}")
        elif kind == "list" and not (isinstance(value, list) and all(isinstance(v, int) for v in value)):
            raise ConfigError(f"config [{name}] {key} must be a list of ids (integers), got {value!r}")
        elif kind == "dict":
            if not isinstance(value, dict) or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in value.values()):
                raise ConfigError(f"config [{name}] {key} must be a table of numbers, got {value!r}")
            value = {k: float(v) for k, v in value.items()}
        elif kind == "ColumnNames":
            value = _column_names(name, key, value)
        elif kind == "str" and not isinstance(value, str):
            raise ConfigError(f"config [{name}] {key} must be a string, got {value!r}")
        if kind in ("int", "float") and value < 0:
            raise ConfigError(f"config [{name}] {key} must not be negative, got {value!r}")
        values[key] = value
    return cls(**values)


def _column_names(name: str, key: str, value: Any) -> ColumnNames:
    """A table of field -> column names (a list of strings, or one string), checked."""
    if not isinstance(value, dict):
        raise ConfigError(f"config [{name}] {key} must be a table of field = [column names], got {value!r}")
    unknown = sorted(set(value) - set(COLUMN_FIELDS))
    if unknown:
        raise ConfigError(f"config [{name}.{key}]: unknown field(s) {', '.join(unknown)} "
                          f"(known: {', '.join(COLUMN_FIELDS)})")
    missing = [field for field in COLUMN_FIELDS if field not in value]
    if missing:
        raise ConfigError(f"config [{name}.{key}]: {', '.join(missing)} not set in {DEFAULT_CONFIG}")
    names: ColumnNames = {}
    for field in COLUMN_FIELDS:
        listed = [value[field]] if isinstance(value[field], str) else value[field]
        if not isinstance(listed, list | tuple) or not listed or not all(
                isinstance(n, str) and n.strip() for n in listed):
            raise ConfigError(f"config [{name}.{key}] {field} must be a list of column names, "
                              f"got {value[field]!r}")
        names[field] = [n.strip() for n in listed]
    return names


def _layered(name: str, key: str, old: Any, new: Any) -> Any:
    """new over old: a whole value, or key by key for MERGED_TABLES."""
    if (name, key) in MERGED_TABLES and isinstance(old, dict) and isinstance(new, dict):
        return {**old, **new}
    return new


@dataclass(frozen=True)
class LoadedConfig:
    """The effective settings and where each value came from."""

    settings: Settings
    origins: dict[str, str]
    """"section.key" -> "default" (config/default.toml), the path of the config file that set it, or "--set"."""
    files: tuple[Path, ...]
    """The files read, defaults first."""


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"config file {path}: unknown section(s) {', '.join(unknown)} "
                          f"(known: {', '.join(_SECTIONS)})")
    for name, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"config file {path}: {name} must be a [{name}] section")
    return data


def _resolved(name: str, key: str, value: Any, root: Path) -> Any:
    """A path setting made absolute against root (the folder its file resolves paths from)."""
    cls = _SECTIONS[name]
    kind = {f.name: f.type for f in fields(cls)}.get(key)
    is_path = kind == "Path" or (name == "store" and key == "uri")
    if not is_path or not isinstance(value, str) or Path(value).is_absolute():
        return value
    if name == "store" and is_server_uri(value):
        return value
    return str(root / value)


def load_config(config_path: Path | str | None = None) -> LoadedConfig:
    """config/default.toml, then the given file (else $CITEBOT_CONFIG) over it: a config file names only what
    it changes. Relative paths resolve from the folder of the file that names them (for the defaults: the
    project root, the folder holding config/)."""
    chosen = config_path or os.environ.get("CITEBOT_CONFIG")
    layers: list[tuple[Path, Path, str]] = [(DEFAULT_CONFIG, PROJECT_ROOT, "default")]
    if chosen and Path(chosen).resolve() != DEFAULT_CONFIG.resolve():
        path = Path(chosen)
        layers.append((path, path.resolve().parent, str(path)))
    tables: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS}
    origins: dict[str, str] = {}
    for path, root, origin in layers:
        for name, table in _read_toml(path).items():
            for key, value in table.items():
                tables[name][key] = _layered(name, key, tables[name].get(key), _resolved(name, key, value, root))
                origins[f"{name}.{key}"] = origin
    sections = {name: _build_section(name, cls, tables[name], PROJECT_ROOT) for name, cls in _SECTIONS.items()}
    settings = Settings(**sections)
    _check(settings)
    return LoadedConfig(settings, origins, tuple(path for path, _, _ in layers))


def load_settings(config_path: Path | str | None = None) -> Settings:
    """The effective settings: config/default.toml with the given file (else $CITEBOT_CONFIG) over it."""
    return load_config(config_path).settings


AT_LEAST_ONE = {
    "ingest": ("max_file_bytes", "front_matter_max_bytes"),
    "chunking": ("model_max_tokens",),
    "embedding": ("batch_size",),
    "lexical": ("title_repeat",),
    "retrieval": ("top_k", "candidates", "abstain_articles", "max_per_article"),
    "answer": ("passages_considered", "max_sentences"),
    "limits": ("max_question_chars",),
    "bot": ("rate_limit_per_minute", "worker_threads", "passages_shown"),
    "store": ("approximate_probe",),
}
"""Counts where 0 means nothing at all (no candidate searched, every file too big, no worker), not "off"."""


def _check(settings: Settings) -> None:
    """Checks that span a section's values."""
    for section, keys in AT_LEAST_ONE.items():
        for key in keys:
            if getattr(getattr(settings, section), key) < 1:
                raise ConfigError(f"config [{section}] {key} must be at least 1")
    if settings.chunking.max_tokens < 8:
        raise ConfigError("config [chunking] max_tokens must be at least 8")
    if settings.chunking.overlap_tokens >= settings.chunking.max_tokens:
        raise ConfigError("config [chunking] overlap_tokens must be smaller than max_tokens")
    fusion = settings.retrieval.fusion
    if fusion not in ("rrf", "convex"):
        raise ConfigError(f'config [retrieval] fusion must be "rrf" or "convex", got {fusion!r}')
    runtime = settings.embedding.runtime
    if runtime not in ("onnx", "torch"):
        raise ConfigError(f'config [embedding] runtime must be "onnx" or "torch", got {runtime!r}')
    store = settings.store
    if store.kind not in ("faiss", "milvus"):
        raise ConfigError(f'config [store] kind must be "faiss" or "milvus", got {store.kind!r}')
    if store.lexical not in ("bm25s", "milvus"):
        raise ConfigError(f'config [store] lexical must be "bm25s" or "milvus", got {store.lexical!r}')
    if store.approximate_scores not in ("floats", "codes"):
        raise ConfigError(f'config [store] approximate_scores must be "floats" or "codes", '
                          f'got {store.approximate_scores!r}')
    if store.milvus_index not in MILVUS_INDEXES:
        raise ConfigError(f"config [store] milvus_index must be one of {', '.join(map(repr, MILVUS_INDEXES))}, "
                          f"got {store.milvus_index!r}")
    lexical = settings.lexical
    if lexical.stopwords not in STOPWORD_LISTS:
        raise ConfigError(f"config [lexical] stopwords must be one of {', '.join(STOPWORD_LISTS)}, "
                          f"got {lexical.stopwords!r}")
    if lexical.context not in LEXICAL_CONTEXTS:
        raise ConfigError(f"config [lexical] context must be one of {', '.join(LEXICAL_CONTEXTS)}, "
                          f"got {lexical.context!r}")


def with_overrides(settings: Settings, overrides: list[str]) -> Settings:
    """The settings with `section.key=value` overrides applied (value in TOML: 0.3, true, "names"), each checked
    as the config file's own values are."""
    for override in overrides:
        name, sep, raw = override.partition("=")
        section, dot, key = name.strip().partition(".")
        if not sep or not dot or section not in _SECTIONS or section == "paths":
            raise ConfigError(f"override {override!r}: expected section.key=value, e.g. lexical.stem=false")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()  # a bare word is a string
        current = getattr(settings, section)
        table = {f.name: getattr(current, f.name) for f in fields(current)}
        if key not in table:
            raise ConfigError(f"override {override!r}: [{section}] has no setting {key!r}")
        table[key] = _layered(section, key, table[key], value)
        # Path fields are already absolute, so the root passed here is not used.
        rebuilt = _build_section(section, _SECTIONS[section], table, PROJECT_ROOT)
        settings = replace(settings, **{section: rebuilt})
    _check(settings)
    return settings
