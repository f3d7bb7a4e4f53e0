"""GGUF export: the file's contents (always), and llama.cpp agreeing with us (when installed).

The llama.cpp part needs `llama-cpp-python` (a ~6-minute source build; `pip install
llama-cpp-python`) and skips cleanly without it.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
gguf = pytest.importorskip("gguf")

from tiny import cached_tiny_checkpoint  # noqa: E402

from chatforge.engine import source  # noqa: E402
from chatforge.export.gguf import export_gguf, gguf_tensors, interleave_rope_rows  # noqa: E402


@pytest.fixture(scope="module", params=["llama", "qwen3"])
def tiny(request, tmp_path_factory):
    base = tmp_path_factory.mktemp(f"gguf_{request.param}")
    qwen = request.param == "qwen3"
    # trained briefly, so greedy answers have clear winners (no near-ties for float noise to flip)
    # the Llama one is the same tiny model the serve and web tests use (built once per session)
    kw = dict(qk_norm=True, tie_embeddings=False, n_kv_head=4, rope_theta=50000.0) if qwen else {}
    ckpt = cached_tiny_checkpoint(base / "run", tmp_path_factory.getbasetemp() / "tiny-cache",
                                  train_steps=80, **kw)
    return request.param, source.load(checkpoint=ckpt), base


def test_rope_interleave_is_a_permutation():
    w = np.arange(2 * 8 * 3, dtype=np.float32).reshape(16, 3)  # 2 heads of head_dim 8
    p = interleave_rope_rows(w, 2)
    # head 0: rows 0,4,1,5,2,6,3,7 ; head 1: 8,12,9,13,...
    assert p[:, 0].tolist()[:8] == [w[i, 0] for i in (0, 4, 1, 5, 2, 6, 3, 7)]
    assert sorted(p[:, 0].tolist()) == sorted(w[:, 0].tolist())


def test_metadata_and_tensors(tiny, tmp_path):
    name, loaded, _ = tiny
    f = export_gguf(loaded.model, loaded.tokenizer, loaded.tokenizer_dir, tmp_path / "m.gguf", "f32")
    r = gguf.GGUFReader(str(f))

    def field(key):
        fl = r.fields[key]
        v = fl.parts[fl.data[0]]
        return bytes(v).decode() if fl.types[0] == gguf.GGUFValueType.STRING else v.tolist()[0]

    assert field("general.architecture") == name
    assert field("tokenizer.ggml.model") == "gpt2"
    assert field("tokenizer.ggml.pre") == "llama-bpe"
    tok = loaded.tokenizer
    assert field("tokenizer.ggml.eos_token_id") == tok.special("<|im_end|>")
    assert field("tokenizer.ggml.bos_token_id") == tok.special("<|endoftext|>")
    assert "<|im_start|>" in field("tokenizer.chat_template")
    assert len(r.fields["tokenizer.ggml.tokens"].data) == tok.n_vocab
    ours = gguf_tensors(loaded.model)
    got = {t.name: t for t in r.tensors}
    assert set(got) == set(ours)
    for k, a in ours.items():
        assert np.array_equal(np.asarray(got[k].data).reshape(a.shape), a), k
    assert ("output.weight" in got) == (not loaded.model.config.tie_embeddings)


@pytest.mark.parametrize("quant", ["f16", "q8_0"])
def test_quantized_close(tiny, tmp_path, quant):
    _, loaded, _ = tiny
    f = export_gguf(loaded.model, loaded.tokenizer, loaded.tokenizer_dir, tmp_path / "q.gguf", quant)
    r = gguf.GGUFReader(str(f))
    ours = gguf_tensors(loaded.model)
    for t in r.tensors:
        a = ours[t.name]
        deq = gguf.quants.dequantize(t.data, t.tensor_type).reshape(a.shape)
        tol = 1e-3 if quant == "f16" else 2e-2
        assert np.abs(deq - a).max() <= tol * max(1.0, np.abs(a).max()), t.name
        if a.ndim == 1:
            assert t.tensor_type == gguf.GGMLQuantizationType.F32


def test_cli_bad_args(tiny, tmp_path):
    from chatforge.cli import main

    _, loaded, base = tiny
    ckpt = loaded.meta["checkpoint"]
    assert main(["--quiet", "export", "--format", "gguf", "--checkpoint", ckpt, "--out", str(tmp_path)]) == 2
    assert main(["--quiet", "export", "--format", "gguf", "--checkpoint", ckpt,
                 "--out", str(tmp_path / "m.gguf"), "--quant", "q8_0"]) == 0
    assert (tmp_path / "m.gguf").stat().st_size > 0


def test_llama_cpp_same_tokens_and_greedy(tiny, tmp_path):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (opt-in check)")
    from chatforge.export.verify import compare_llama_cpp

    _, loaded, _ = tiny
    f = export_gguf(loaded.model, loaded.tokenizer, loaded.tokenizer_dir, tmp_path / "m.gguf", "f32")
    rep = compare_llama_cpp(f, loaded.model, loaded.tokenizer, n_tokens=16)
    assert rep["texts"] == 100
    assert not rep["tokenize_mismatches"], rep["tokenize_mismatches"][:3]
    for g in rep["generation"]:
        assert g["prompt_ids_equal"], g["prompt"]
        assert g["equal"], g
