"""The induction-circuit initialisation: a fresh model copies from its context at every distance
before any training, and the weights still load as a plain Llama model."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from chatforge.core.errors import UserError  # noqa: E402
from chatforge.eval.copying import copy_probe  # noqa: E402
from chatforge.model.circuits import init_induction_circuit  # noqa: E402
from chatforge.model.config import ModelConfig  # noqa: E402
from chatforge.model.gpt import GPT  # noqa: E402


@pytest.fixture(scope="module")
def tok_and_texts(smoke_run):
    from chatforge.tokenizer import Tokenizer

    tok = Tokenizer.load(smoke_run / "tokenizer")
    texts = [json.loads(line)["text"] for line in (smoke_run / "tokenizer" / "heldout.jsonl").open()]
    return tok, texts


def test_a_fresh_model_copies_at_every_distance(tok_and_texts, one_thread):
    tok, texts = tok_and_texts
    c = ModelConfig(n_layer=2, d_model=96, n_head=3, n_kv_head=3, max_seq_len=256, rope_theta=1e6)
    gaps = (0, 40, 100)
    torch.manual_seed(0)
    plain = GPT.build(c, tok.n_vocab).eval()
    torch.manual_seed(0)
    built = GPT.build(c, tok.n_vocab)
    info = init_induction_circuit(built, match_distance=128)
    built.eval()
    p = copy_probe(built, tok, texts, rows=6, words=12, seed=0, gaps=gaps)
    q = copy_probe(plain, tok, texts, rows=6, words=12, seed=0, gaps=gaps)
    assert info["match_dims"] >= 8
    assert p["first"] <= 0.05  # random words stay unpredictable ...
    for g in gaps:  # ... and their repeat is copied, near and far; the random model copies nothing
        assert p["by_gap"][g]["repeat"] >= 0.2, (g, p["by_gap"][g])
        assert q["by_gap"][g]["repeat"] <= 0.05
    # same parameters, same shapes: the checkpoint format and the HF mapping are untouched
    assert ({k: v.shape for k, v in built.state_dict().items()}
            == {k: v.shape for k, v in plain.state_dict().items()})


def test_shapes_it_cannot_build_are_one_clear_error():
    with pytest.raises(UserError, match="n_layer >= 2"):
        init_induction_circuit(GPT.build(ModelConfig(n_layer=1, d_model=96, n_head=3, n_kv_head=3), 300))
    with pytest.raises(UserError, match="rope_theta"):
        init_induction_circuit(GPT.build(ModelConfig(n_layer=2, d_model=96, n_head=3, n_kv_head=3,
                                                     max_seq_len=256, rope_theta=100.0), 300))
