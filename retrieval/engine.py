"""The one retrieval function the command line and the Discord bot both call."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from citebot.config.errors import QuestionError
from citebot.config.settings import Settings
from citebot.index.build import changed_settings
from citebot.index.chunking import Chunk
from citebot.index.embedding import make_embedder
from citebot.index.embedding.protocol import Embedder
from citebot.index.ingest.corpus import Document, normalise_line
from citebot.index.lexical import folded_words
from citebot.index.store import open_index
from citebot.index.store.protocol import LoadedIndex
from citebot.retrieval.abstain import (
    Evidence,
    abstain_reason,
    key_cover,
    missing_numbers,
    missing_specifics,
    missing_years,
    money_unquoted,
    names_shown,
)
from citebot.retrieval.answer import Sentence, pick_answer
from citebot.retrieval.calibration import load_calibration
from citebot.retrieval.citations import Answer, Passage, Result, cite, text_file
from citebot.retrieval.conversation import Conversation
from citebot.retrieval.diversity import arrange
from citebot.retrieval.features import Context
from citebot.retrieval.freshness import CheckBounds, SourceWatcher
from citebot.retrieval.question import OPENERS, STOPWORDS, Question, word_set
from citebot.retrieval.rerank import Reranker
from citebot.retrieval.search import Hit, HybridSearcher, RowScores, Signals
from citebot.retrieval.text_fragment import fragment_link

log = logging.getLogger(__name__)

MORE_PASSAGES = 10


def check_question(question: str, max_chars: int) -> str:
    """The question stripped, or a QuestionError saying what is wrong with it."""
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("the question is empty; ask something about the articles")
    if len(question) > max_chars:
        raise QuestionError(f"the question is {len(question)} characters long; the limit is {max_chars}")
    return " ".join(question.split())


@dataclass(frozen=True)
class Candidates:
    searched: Question
    context: Context
    hits: list[Hit]
    signals: Signals
    sentence_scores: RowScores
    left_out: tuple[str, ...] = ()
    """Sources whose passages ranked here but changed or were removed since the build."""


class Engine:
    """Loads the model and index once; answers questions with cited passages."""

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None,
                 rebuild_hint: str = "citebot index build") -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings.embedding)
        self.stored: LoadedIndex = open_index(
            settings, model_name=self.embedder.name,
            weights_sha256=self.embedder.weights_sha256, dimension=self.embedder.dimension,
        )
        self.searcher = HybridSearcher(self.stored, self.embedder, settings.retrieval)
        self.reranker = Reranker(self.searcher, settings.rerank)
        self.sources = SourceWatcher(self.stored.sources, CheckBounds.of(settings.ingest, self.stored.sources_root),
                                     rebuild_hint)  # changed sources are never cited
        self.sources.check_all()
        r = settings.retrieval
        self.calibration = load_calibration(self.stored.path, self.stored.store, self.embedder) \
            if r.abstain_bank_quantile > 0 else None
        self.abstain_below = max(r.abstain_below, self.calibration.floor(r.abstain_bank_quantile,
                                                                         r.abstain_bank_margin)) \
            if self.calibration else r.abstain_below
        """The similarity below which a question is declined: the configured floor, or this index's own."""
        self.max_unknown = r.abstain_max_unknown if len(self.stored.chunks) >= r.abstain_unknown_min_passages else 1.0
        """The most of a question's key words that may be in no passage: off in a small folder, which lacks many
        words of questions it answers (the seeds: 41 passages)."""
        for change in changed_settings(self.stored.manifest, settings):
            log.warning("%s; run %s to apply it", change, rebuild_hint)

    def check(self, question: str) -> str:
        """The question cleaned, or a QuestionError saying why it cannot be searched."""
        return check_question(question, self.settings.limits.max_question_chars)

    def unknown_names(self, query: Question) -> list[str]:
        """Names in the query most of whose words no article uses ("Keir Starmer", "World Cup"):
        the articles cannot be about them. A possessive is no word of a name: "Microsoft's OneFuzz" is
        "microsoft" and "onefuzz", not "s" too."""
        missing = []
        for name in query.entities:
            words = re.findall(r"\w+", normalise_line(re.sub(r"['\u2019]s\b", "", name)))
            absent = [w for w in words if w not in self.searcher.lexical.words]
            if words and 2 * len(absent) >= len(words):
                missing.append(name)
        return missing

    def abstention_evidence(self, searched: Question, slots: list, hits: dict[int, Hit],
                            asked: Question | None = None, quote: str | None = None) -> Evidence:
        """What decides whether the articles answer: similarity, unknown names, specifics the top articles lack,
        and what the answer quote (when one was picked) holds of the question (`asked`, as asked)."""
        best = max((max(h.dense_score, h.sentence_score) for h in hits.values()), default=-1.0)
        sources = list(dict.fromkeys(s.chunk.source for s in slots))[:self.settings.retrieval.abstain_articles]
        words = [self.reranker.view.article_words(source) for source in sources]
        missing, specifics = missing_specifics(searched, words)
        shown = bool(slots) and names_shown(searched, word_set(slots[0].chunk.text))
        view = self.reranker.view
        keys = searched.key_words
        terms = list(dict.fromkeys(t for word in keys for t in view.tokenize(word)))
        top = view.chunk_terms[slots[0].row] | view.title_terms(slots[0].chunk.source, slots[0].chunk.title) \
            if slots else set()
        unknown = [w for w in keys if not folded_words(w) <= self.searcher.lexical.words]
        near = set().union(*(view.chunk_terms[s.row] | view.title_terms(s.chunk.source, s.chunk.title)
                             for s in slots[:self.settings.retrieval.abstain_articles]))
        absent = [view.weight(t) / view.max_idf for t in terms if t not in near]
        asked = asked or searched
        answer_terms = set(view.tokenize(quote)) if quote is not None else None
        attribute = asked.attribute if asked.attribute and not set(view.tokenize(asked.attribute)) <= near else None
        return Evidence(best, tuple(self.unknown_names(searched)), missing, specifics,
                        missing_years=missing_years(searched, words),
                        missing_numbers=missing_numbers(searched, words), names_shown=shown,
                        key_cover=key_cover(terms, top, view.weight),
                        unknown_share=len(unknown) / len(keys) if keys else 0.0,
                        top_cover=key_cover(terms, near, view.weight), missing_weight=max(absent, default=0.0),
                        answer_cover=key_cover(terms, answer_terms, view.weight) if answer_terms is not None else 1.0,
                        kind_held=None if quote is None or asked.answer_kind.name == "other"
                        else asked.answer_kind.present_in(quote, asked.words, strict=True),
                        money_unquoted=money_unquoted(asked.text, quote), attribute_unmentioned=attribute)

    def topic_words(self, text: str) -> list[str]:
        """The words of text that at most [conversation] topic_max_share of the passages use (any case, "nginx"):
        what a follow-up carries as the topic of the turn before it."""
        limit = self.settings.conversation.topic_max_share
        if limit <= 0:
            return []
        view = self.reranker.view
        found = []
        for word in dict.fromkeys(re.findall(r"\w[\w'\u2019-]*\w|\w", text)):
            if word.casefold() in STOPWORDS or word.casefold() in OPENERS:
                continue
            terms = view.tokenize(word)
            if terms and all(view.share(term) <= limit for term in terms):
                found.append(word)
        return found

    def new_conversation(self) -> Conversation:
        c = self.settings.conversation
        return Conversation(c.max_turns, c.idle_minutes * 60)

    def document_of(self, source: str) -> Document | None:
        """The document of an article read from another format than .txt (None for a .txt article)."""
        found = self.stored.sources.get(source)
        return found.document if found is not None else None

    def _passage(self, rank: int, hit: Hit, chunk: Chunk, also_in: list[Hit] = ()) -> Passage:
        citation = cite(chunk.source, chunk.title, chunk.start, chunk.end, chunk.paragraph,
                        self.document_of(chunk.source), chunk.text)
        twins = tuple(self._passage(rank, twin, self.stored.chunks[twin.row]) for twin in also_in)
        return Passage(rank, hit.score, chunk.text, citation, chunk.id, max(hit.dense_score, hit.sentence_score),
                       twins)

    def answer_sentences(self, rows: list[int], sentence_scores: RowScores,
                         own_scores: RowScores | None = None) -> list[Sentence]:
        """The sentences of the given passages, in passage order then file order, with their similarity (and
        with a follow-up's own wording, when own_scores are given)."""
        candidates = []
        wanted = [i for row in rows for i in self.searcher.sentences_by_chunk.get(row, [])]
        for scores in (sentence_scores, own_scores):
            if scores is not None:
                scores[wanted]  # one fetch
        for rank, row in enumerate(rows, start=1):
            chunk = self.stored.chunks[row]
            for i in self.searcher.sentences_by_chunk.get(row, []):
                ref = self.stored.sentences[i]
                text = chunk.text[ref.start - chunk.start:ref.end - chunk.start]
                own = float(own_scores[i]) if own_scores is not None else None
                candidates.append(Sentence(rank, chunk.source, ref.start, ref.end, text, float(sentence_scores[i]),
                                           own))
        return candidates

    def own_scores(self, question: Question, searched: Question) -> RowScores | None:
        """The sentences' similarity with a follow-up as asked, when it was searched with more (carried names)."""
        if searched.text == question.text:
            return None
        return self.searcher.sentence_scores(self.searcher.embed_query(question.text))

    def _answer(self, question: Question, searched: Question, rows: list[int],
                sentence_scores: RowScores) -> tuple[Answer, str] | None:
        """The answer quote (holding, if it can, the kind of fact the question as asked wants), and its best
        sentence (what a follow-up leans on)."""
        own = self.own_scores(question, searched) if self.settings.answer.own_question_weight > 0 else None
        sentences = self.answer_sentences(rows, sentence_scores, own)
        picked = pick_answer(searched, sentences, self.settings.answer, question.answer_kind)
        if picked is None:
            return None
        first, last, best = picked
        chunk = self.stored.chunks[rows[first.passage_rank - 1]]
        text = chunk.text[first.start - chunk.start:last.end - chunk.start]
        document = self.document_of(chunk.source)
        link = fragment_link(document.url, text) if document is not None and document.url else None
        file, offset = text_file(chunk.source, document)  # a collection's row: offsets in its collection's text
        return Answer(text, file, first.start + offset, last.end + offset, first.passage_rank, link,
                      chunk.source if file != chunk.source else None), best.text

    def first_stage(self, question: Question, conversation: Conversation | None = None) -> Candidates:
        """The searched question (a follow-up rewritten) and the fused ranking of fresh sources, before the
        second stage."""
        searched = conversation.searched_for(question, self.topic_words) if conversation else question
        previous = conversation.previous_answer(question) if conversation else None
        query_vector = self.searcher.embed_query(searched.text)
        sentence_scores = self.searcher.sentence_scores(query_vector)
        hits, signals = self.searcher.rank(searched.text, query_vector, sentence_scores)
        fresh = [h for h in hits if self.sources.passage_ok(self.stored.chunks[h.row])]
        left_out = {self.stored.chunks[h.row].source for h in hits} - {self.stored.chunks[h.row].source for h in fresh}
        context = self.reranker.context(searched, question, previous, query_vector)
        return Candidates(searched, context, fresh, signals, sentence_scores, tuple(sorted(left_out)))

    def ask(self, question: str, conversation: Conversation | None = None, top_k: int | None = None) -> Result:
        """Search the articles for a question (a follow-up when a conversation is given). The question is read
        here, once (Question.read), and the reading passed on."""
        asked = Question.read(check_question(question, self.settings.limits.max_question_chars))
        top_k = top_k or self.settings.retrieval.top_k
        if top_k < 1:
            raise QuestionError(f"top-k must be at least 1, got {top_k}")
        found = self.first_stage(asked, conversation)
        searched, sentence_scores = found.searched, found.sentence_scores
        hits = {h.row: h for h in self.reranker.rerank(found.context, found.hits, found.signals, sentence_scores)}
        r = self.settings.retrieval
        slots = arrange(list(hits), self.stored.chunks, top_k + MORE_PASSAGES, r.max_per_article, r.duplicate_share)
        passages = [self._passage(rank, hits[s.row], s.chunk, [hits[row] for row in s.also_in])
                    for rank, s in enumerate(slots, 1)]
        considered = slots[:min(top_k, self.settings.answer.passages_considered)]
        picked = self._answer(asked, searched, [s.row for s in considered], sentence_scores)
        answer, core = picked if picked else (None, "")
        evidence = self.abstention_evidence(searched, slots, hits, asked, answer.text if answer else None)
        reason = abstain_reason(evidence, self.abstain_below, r.abstain_missing, year_rule=r.abstain_missing_year,
                                min_cover=r.abstain_min_cover, max_unknown=self.max_unknown,
                                number_rule=r.abstain_missing_number, money_rule=r.abstain_money_unquoted,
                                attribute_rule=r.abstain_attribute_unmentioned)
        abstained = reason is not None
        if abstained:
            answer, core = None, ""
        if conversation is not None:
            # A follow-up leans on the answer's best sentence: a neighbour added to the quote brings names of its own.
            conversation.remember(asked, searched, core, (answer.article or answer.source) if answer else None)
        left_out = self.sources.left_out(found.left_out)
        return Result(asked.text, searched.text, abstained, answer, tuple(passages[:top_k]),
                      tuple(passages[top_k:top_k + MORE_PASSAGES]), reason, evidence, left_out)
