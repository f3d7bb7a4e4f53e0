"""Property tests: round trips and the encoders agreeing on arbitrary text and bytes."""

from __future__ import annotations

from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatforge.tokenizer import SPECIAL_TOKENS, Tokenizer
from chatforge.tokenizer.samples import varied_text
from chatforge.tokenizer.train import train_ranks

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that stresses the split pattern: letters, digits, punctuation, whitespace of every kind,
# apostrophes (contractions), and a few non-Latin and astral characters.
tricky = st.text(alphabet=st.sampled_from(list("aAbZ019 '\t\n\r\u00a0\u3000.,!?-_<|>/sStTlLdDmMvVeErR")
                                          + ["é", "ß", "日", "本", "🙂", "👍", "\U0001f3fd", "\u200d", "٣"]),
                 max_size=60)
any_text = st.one_of(st.text(max_size=80), tricky)


@cache
def trained() -> Tokenizer:
    ranks, _ = train_ranks([varied_text(300, seed=s) for s in range(6)], 600, "rustbpe")
    return Tokenizer.from_ranks(ranks)


@cache
def cl100k() -> Tokenizer:
    return Tokenizer.from_encoding("cl100k_base")


@cache
def hf_json():
    import json

    from tokenizers import Tokenizer as HFTokenizer

    from chatforge.tokenizer import hf
    from chatforge.tokenizer.train import merges_of

    tok = trained()
    blob = hf.tokenizer_json(tok.ranks, merges_of(tok.ranks), tok.special_tokens)
    return HFTokenizer.from_str(json.dumps(blob))


@SETTINGS
@given(any_text)
def test_text_round_trip(text):
    for tok in (trained(), cl100k()):
        assert tok.decode(tok.encode(text)) == text


@SETTINGS
@given(st.binary(max_size=80))
def test_bytes_round_trip(data):
    for tok in (trained(), cl100k()):
        ids = tok.encode_bytes(data)
        assert tok.decode_bytes(ids) == data
        assert not any(tok.is_special(i) for i in ids)


@SETTINGS
@given(any_text)
def test_reference_equals_tiktoken_on_text(text):
    for tok in (trained(), cl100k()):
        assert tok.reference().encode(text) == tok.encode(text)


@SETTINGS
@given(st.binary(max_size=80))
def test_reference_equals_tiktoken_on_bytes(data):
    tok = trained()
    assert tok.reference().encode(data) == tok.encode_bytes(data)


@SETTINGS
@given(any_text)
def test_hf_tokenizer_json_equals_tiktoken(text):
    for s in SPECIAL_TOKENS:
        text = text.replace(s, "")
    assert hf_json().encode(text).ids == trained().encode(text)


@SETTINGS
@given(st.lists(st.one_of(any_text, st.sampled_from(SPECIAL_TOKENS)), max_size=6))
def test_special_strings_in_text_stay_text(parts):
    text = "".join(parts)
    for tok in (trained(), cl100k()):
        ids = tok.encode(text)
        assert not any(tok.is_special(i) for i in ids)
        assert tok.decode(ids) == text
