"""The answer quote: the sentence(s) of the top passages that best answer the question."""

from __future__ import annotations

from dataclasses import dataclass

from citebot.config.settings import AnswerSettings
from citebot.retrieval.question import ANY_KIND, Question, QuestionKind, content_stems


@dataclass(frozen=True)
class Sentence:
    passage_rank: int
    source: str
    start: int
    end: int
    text: str
    similarity: float
    """Cosine similarity with the searched query (from the index's sentence vectors)."""
    own_similarity: float | None = None
    """For a follow-up searched with names carried from the last turn: the similarity with the question as asked."""

    def blended(self, own_weight: float) -> float:
        if self.own_similarity is None:
            return self.similarity
        return (1 - own_weight) * self.similarity + own_weight * self.own_similarity


def pick_answer(question: Question, candidates: list[Sentence], settings: AnswerSettings,
                kind: QuestionKind = ANY_KIND) -> tuple[Sentence, Sentence, Sentence] | None:
    """First and last sentence of the answer quote, and its best: the best-scoring sentence, joined with an
    adjacent one of the same passage that scores nearly as well. candidates are in passage order, then file order.
    A sentence holding the kind of fact asked for (a new name for "who", a number the question does not give for
    "how many"; see Question.answer_kind) gains `kind_weight`. For a follow-up, `own_question_weight` of a sentence's
    similarity is with the question as asked rather than as searched.
    """
    if not candidates:
        return None
    question_words = question.content_stems
    known = question.words
    scores = []
    for sentence in candidates:
        overlap = len(question_words & content_stems(sentence.text)) / max(1, len(question_words))
        typed = kind.name != "other" and kind.present_in(sentence.text, known, strict=True)
        # Meaning first; shared content words, the kind of fact asked for and a higher-ranked passage next.
        similarity = sentence.blended(settings.own_question_weight)
        scores.append(similarity + settings.word_overlap_weight * overlap + settings.kind_weight * typed
                      + settings.rank_weight / sentence.passage_rank)
    best = max(range(len(scores)), key=scores.__getitem__)
    chosen = [best]
    while len(chosen) < settings.max_sentences:
        neighbours = [i for i in (chosen[0] - 1, chosen[-1] + 1)
                      if 0 <= i < len(candidates)
                      and candidates[i].passage_rank == candidates[best].passage_rank
                      and scores[i] >= settings.extend_ratio * scores[best]]
        if not neighbours:
            break
        chosen = sorted(chosen + [max(neighbours, key=lambda i: scores[i])])
    return candidates[chosen[0]], candidates[chosen[-1]], candidates[best]
