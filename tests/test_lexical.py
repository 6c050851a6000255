"""BM25 term options ([lexical]): each changes the terms it should and nothing else."""

from __future__ import annotations

from dataclasses import replace

import pytest

from index.errors import ConfigError
from index.settings import LexicalSettings, Settings, with_overrides
from retrieval.lexical import Tokenizer, name_words

QUESTION = "Who said Wales' shares rose 5% to $1.13bn, or 1,000 jobs?"


def terms(**options: object) -> list[str]:
    return Tokenizer(LexicalSettings(**options))(QUESTION)  # type: ignore[arg-type]


def test_default_terms() -> None:
    assert terms() == ["who", "said", "wale", "share", "rose", "13bn", "000", "job"]


def test_stemming_off_keeps_words_whole() -> None:
    assert terms(stem=False) == ["who", "said", "wales", "shares", "rose", "13bn", "000", "jobs"]


def test_stopword_lists() -> None:
    assert "who" not in terms(stopwords="question") and "said" in terms(stopwords="question")
    assert Tokenizer(LexicalSettings(stopwords="none"))("the firm")[0] == "the"
    assert Tokenizer(LexicalSettings())("the firm") == ["firm"]


def test_numbers_stay_whole() -> None:
    found = terms(numbers=True)
    assert {"5", "1.13bn", "1000"} <= set(found) and "13bn" not in found and "000" not in found


def test_names_add_unstemmed_name_terms_inside_sentences_only() -> None:
    found = terms(names=True)
    assert found[:8] == terms() and found[8:] == ["=wales"]  # "Who" opens the sentence: not a name
    assert name_words("He met Tony Blair. Blair said no.\nBrown") == ["tony", "blair"]


def test_bigrams_pair_adjacent_terms() -> None:
    found = Tokenizer(LexicalSettings(bigrams=True))("the prime minister said")
    assert found == ["prime", "minist", "said", "prime_minist", "minist_said"]


def test_overrides_are_checked_like_the_config(hash_settings: Settings) -> None:
    changed = with_overrides(hash_settings, ["lexical.stem=false", "context.sentence_neighbours=0.3",
                                             'lexical.context="names"', "lexical.stopwords=question"])
    assert changed.lexical == replace(hash_settings.lexical, stem=False, context="names", stopwords="question")
    assert changed.context.sentence_neighbours == 0.3
    for bad in ("lexical.stopwords=most", "lexical.context=after", "lexical.title_repeat=0", "lexical.stem=3",
                "lexical.nothing=1", "context.passage_title=-1", "nosection"):
        with pytest.raises(ConfigError):
            with_overrides(hash_settings, [bad])
