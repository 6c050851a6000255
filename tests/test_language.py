"""The "is this language?" measure (index/ingest/language.py): prose in any script passes, glyph codes, mojibake
of a font's own encoding and number soup do not; a PDF whose text layer is glyph codes is skipped with its reason.
Real-file figures: benchmarks/corpora/language_scores.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from citebot.config.settings import load_settings
from citebot.index.ingest.formats import Extraction, read_document
from citebot.index.ingest.language import MIN_WORD_SHARE, language_score, not_language_reason
from tests.pdf_samples import glyph_code_pdf, pdf_with_pages, text_stream

PROSE = {
    "en": "The harbour board met eleven times during the year and approved a budget for dredging the inner basin, "
          "which has silted up since the storms of the previous winter. Its chair, Dr McDonald, said the work on "
          "the JavaScript-free ticket kiosk and the quay's lights would follow in spring.",
    "fr": "Le conseil municipal a voté mardi soir un budget en hausse pour la rénovation des écoles primaires de la "
          "ville, malgré les critiques de l'opposition qui dénonce une dette trop lourde pour les années à venir.",
    "fi": "Kaupunginvaltuusto hyväksyi tiistai-iltana korotetun talousarvion kaupungin alakoulujen "
          "peruskorjaukseen, vaikka oppositio varoitti liian suuresta velasta tulevina vuosina ja pormestari "
          "puolusti päätöstä täydelle salille kokouksen lopussa illalla.",
    "ru": "Городской совет во вторник вечером утвердил увеличенный бюджет на ремонт начальных школ города, несмотря "
          "на критику оппозиции, которая предупреждает о слишком большом долге в ближайшие годы. Мэр защищал это "
          "решение перед полным залом.",
    "el": "Το δημοτικό συμβούλιο ενέκρινε την Τρίτη το βράδυ αυξημένο προϋπολογισμό για την ανακαίνιση των "
          "δημοτικών σχολείων της πόλης, παρά την κριτική της αντιπολίτευσης για υπερβολικό χρέος που θα "
          "βαρύνει την πόλη τα επόμενα χρόνια.",
    "zh": " ".join(["市议会周二晚间通过了一项增加的预算，用于翻新该市的小学。"] * 40),
}
# What two real papers' text layers gave (fonts with their own encodings), and a table of figures.
NOT_PROSE = {
    "glyphs-1": "K:è]^[\"36Dç<(89OW5YX é <98(O?ê(êHë GgìA[Hí(50åW3;8pí95Y\\ËR68 æ?5î[ í(5 36:Ê[pR_R636[9C R6J`í95=5 "
                "ïKR;5YOAX_JM8(O R68ðL)BAa|R6J|T åA[\"3E[\"LN5 R;5 3½Rm:Kå¤5 C aM[9X;X;5YXnJMOÔñ%[9X_D95 aMaÐ> ä 893 "
                "5 ïW[\"LNåWaM5(G¤C 8(O?X_J¦\\U5 3/[=C a¦[(X6X JMO9R65 OA\\W5Y\\îR;8 \\U5YX6C 36J`æ¤5)[=C "
                "ìW5 åA[\"3;R ¤þ ó9ÿ Sô 0JMXÕ[ ò BAOAC R6J`89OA[\"a%\\W5 å¤5 OA\\U5YOAC :9Gy[(OA\\ËJ`OA",
    "glyphs-2": "Ó Õ°Ù4ÛªþUÿ ³þ oþ þDÿ §þ ÿ Ñ4Ü jä ã Ù4ÞDÙEÓ Ñvá*ã <ÐeÎ¤Ð>Õ Ó Ú Ù4Ó°Óeû-Û ÑvâDÎ Û×8ã ?× à<Î&þDÿ "
                "³þ oþ ¤þUÿ §þ ÿ Eä+ó>à<Î&ÞDÙ4Ø Î Ý ÙEÛÎ ÚoÓ Ñ*Ý Î±Î Þ<ÑvÒ<á*àÏ×Ñ á*Õîv Î Ò Ý>âDÙEÒ<ÝÎ*ä\"!8Þ'Ü",
    "figures": " ".join(f"{i} {i * 0.37:.2f} {i * 13 % 97} ({i % 7}) {1990 + i}" for i in range(12)),
}


@pytest.mark.parametrize("name", sorted(PROSE))
def test_prose_in_any_script_is_language(name: str) -> None:
    score = language_score(PROSE[name])
    assert score.is_language and not_language_reason(PROSE[name]) is None, (name, score.share)


@pytest.mark.parametrize("name", sorted(NOT_PROSE))
def test_glyph_codes_and_number_soup_are_not(name: str) -> None:
    score = language_score(NOT_PROSE[name])
    assert score.words >= 30 and score.share < MIN_WORD_SHARE, (name, score.share)
    assert not_language_reason(NOT_PROSE[name]).startswith("only ")


def test_short_texts_are_not_judged() -> None:
    assert language_score("12 34 56 78 ÛªþUÿ").is_language


LINES = [f"Line {n}: the harbour board met eleven times during the year and approved a budget for dredging."
         for n in range(8)]


def test_a_pdf_whose_text_layer_is_glyph_codes_is_skipped(tmp_path: Path) -> None:
    settings = load_settings().ingest
    path = tmp_path / "own-encoding.pdf"
    path.write_bytes(glyph_code_pdf(LINES))
    reason = read_document(path, path.read_bytes(), settings)
    assert isinstance(reason, str)
    assert reason.startswith("its text layer cannot be decoded (only 0% of its ") and reason.endswith("; OCR it first")
    # The same lines in a font with the standard encoding read.
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(pdf_with_pages([text_stream(*LINES)]))
    found = read_document(plain, plain.read_bytes(), settings)
    assert isinstance(found, Extraction) and LINES[3] in found.articles[0].text
