"""The one retrieval function the command line and the Discord bot both call."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from index.chunking import Chunk
from index.embed import Embedder, file_sha256, make_embedder
from index.errors import QuestionError
from index.settings import Settings
from index.store import StoredIndex, load_index
from retrieval.answer import pick_answer
from retrieval.citations import Citation, Passage, Result
from retrieval.conversation import Conversation
from retrieval.search import Hit, HybridSearcher

log = logging.getLogger(__name__)

MORE_PASSAGES = 10


def check_question(question: str, max_chars: int) -> str:
    """The question stripped, or a QuestionError saying what is wrong with it."""
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("the question is empty; ask something about the articles")
    if len(question) > max_chars:
        raise QuestionError(f"the question is {len(question)} characters long; the limit is {max_chars}")
    return " ".join(question.split())


class Engine:
    """Loads the model and index once; answers questions with cited passages."""

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings.embedding)
        self.stored: StoredIndex = load_index(
            settings.paths.index, model_name=self.embedder.name,
            weights_sha256=self.embedder.weights_sha256, dimension=self.embedder.dimension,
        )
        self.searcher = HybridSearcher(self.stored, self.embedder, settings.retrieval)
        self.unchanged_sources = self._unchanged_sources()

    def _unchanged_sources(self) -> set[str]:
        """Sources whose file still matches the build; passages from any other would cite wrongly."""
        built_in = Path(self.stored.manifest.get("cwd", os.getcwd()))
        fresh = set()
        for source, digest in self.stored.manifest.get("sources", {}).items():
            path = Path(source) if Path(source).is_absolute() else built_in / source
            if path.is_file() and file_sha256(path) == digest:
                fresh.add(source)
            else:
                log.warning("%s changed since the index was built; its passages are left out "
                            "until you run: citebot index build", source)
        return fresh

    def new_conversation(self) -> Conversation:
        c = self.settings.conversation
        return Conversation(c.max_turns, c.idle_minutes * 60)

    def _passage(self, rank: int, hit: Hit, chunk: Chunk) -> Passage:
        citation = Citation(chunk.source, chunk.title, chunk.start, chunk.end, chunk.paragraph)
        return Passage(rank, hit.score, chunk.text, citation, chunk.id, hit.dense_score)

    def ask(self, question: str, conversation: Conversation | None = None, top_k: int | None = None) -> Result:
        """Search the articles for a question (a follow-up when a conversation is given)."""
        question = check_question(question, self.settings.limits.max_question_chars)
        top_k = top_k or self.settings.retrieval.top_k
        if top_k < 1:
            raise QuestionError(f"top-k must be at least 1, got {top_k}")
        searched = conversation.searched_for(question) if conversation else question
        query_vector = self.searcher.embed_query(searched)
        hits = [h for h in self.searcher.search(searched, query_vector)
                if self.stored.chunks[h.row].source in self.unchanged_sources]
        chunks = [self.stored.chunks[h.row] for h in hits]
        passages = [self._passage(rank, hit, chunk) for rank, (hit, chunk) in enumerate(zip(hits, chunks), 1)]
        best_similarity = max((h.dense_score for h in hits), default=-1.0)
        abstained = best_similarity < self.settings.retrieval.abstain_below
        answer = None if abstained else pick_answer(searched, query_vector, chunks[:top_k], self.embedder,
                                                    self.settings.answer)
        if conversation is not None:
            conversation.remember(question, searched)
        return Result(question, searched, abstained, answer, tuple(passages[:top_k]),
                      tuple(passages[top_k:top_k + MORE_PASSAGES]))
