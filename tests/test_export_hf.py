"""HF export: transformers loads it offline and computes what our model computes."""

from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("safetensors")

from tiny import make_tiny_checkpoint  # noqa: E402

from chatforge.engine import source  # noqa: E402
from chatforge.export.hf import export_hf  # noqa: E402
from chatforge.export.verify import chat_prompts, greedy_engine, varied_texts  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

VARIANTS = {
    # Llama: tied embeddings, grouped-query attention
    "llama": dict(qk_norm=False, tie_embeddings=True, n_kv_head=2, rope_theta=10000.0),
    # Qwen3: QK-norm, untied output, a non-default RoPE base (catches a dropped rope_theta)
    "qwen3": dict(qk_norm=True, tie_embeddings=False, n_kv_head=4, rope_theta=50000.0),
}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def exported(request, tmp_path_factory):
    torch.manual_seed(0)
    base = tmp_path_factory.mktemp(f"hf_{request.param}")
    # init_std 0.1 spreads the logits so greedy choices are not near-ties
    ckpt = make_tiny_checkpoint(base / "run", train_steps=0, init_std=0.1, max_seq_len=128,
                                **VARIANTS[request.param])
    loaded = source.load(checkpoint=ckpt)
    out = export_hf(loaded.model, loaded.tokenizer, loaded.tokenizer_dir, base / "hf")
    hf_model = transformers.AutoModelForCausalLM.from_pretrained(out, local_files_only=True).eval()
    hf_tok = transformers.AutoTokenizer.from_pretrained(out, local_files_only=True)
    return request.param, loaded, hf_model, hf_tok, out


def test_architecture_and_files(exported):
    name, loaded, hf_model, _, out = exported
    assert type(hf_model).__name__ == ("Qwen3ForCausalLM" if name == "qwen3" else "LlamaForCausalLM")
    for f in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
              "generation_config.json", "chat_template.jinja"):
        assert (out / f).is_file(), f
    assert sum(p.numel() for p in hf_model.parameters()) == loaded.model.num_params()


def test_logits_match(exported):
    _, loaded, hf_model, _, _ = exported
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, loaded.tokenizer.n_vocab, (3, 100), generator=g)
    with torch.no_grad():
        ours = loaded.model(x)
        theirs = hf_model(x).logits.float()
    assert ours.shape == theirs.shape
    assert (ours - theirs).abs().max().item() < 1e-4


def test_greedy_generation_matches_engine(exported):
    _, loaded, hf_model, hf_tok, _ = exported
    from chatforge.chat.render import render_prompt

    for msgs in chat_prompts():
        ids = render_prompt(msgs, loaded.tokenizer)
        ours = greedy_engine(loaded.model, loaded.tokenizer, ids, 20)
        with torch.no_grad():
            out = hf_model.generate(torch.tensor([ids]), do_sample=False, max_new_tokens=20,
                                    eos_token_id=None, pad_token_id=hf_tok.pad_token_id)
        assert out[0, len(ids):].tolist() == ours


def test_tokenizer_same_ids(exported):
    _, loaded, _, hf_tok, _ = exported
    from chatforge.chat.render import render_prompt

    for t in varied_texts(100):
        if "<|" in t:
            continue  # HF tokenizers read special-token strings in text as the tokens (by design)
        assert hf_tok.encode(t, add_special_tokens=False) == loaded.tokenizer.encode(t), t
        ids = loaded.tokenizer.encode(t)
        assert hf_tok.decode(ids) == loaded.tokenizer.decode(ids)
    # the chat template, tokenized by transformers, is exactly what our renderer feeds the model
    for msgs in chat_prompts():
        hf_ids = hf_tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True)
        if isinstance(hf_ids, dict) or hasattr(hf_ids, "keys"):
            hf_ids = hf_ids["input_ids"]
        assert list(hf_ids) == render_prompt(msgs, loaded.tokenizer)
    assert hf_tok.eos_token == "<|im_end|>" and hf_tok.bos_token == "<|endoftext|>"


def test_cli_export_hf(tmp_path):
    from chatforge.cli import main

    ckpt = make_tiny_checkpoint(tmp_path / "run", train_steps=0)
    assert main(["--quiet", "export", "--format", "hf", "--run-dir", str(tmp_path / "run"),
                 "--out", str(tmp_path / "hf")]) == 0
    assert (tmp_path / "hf" / "model.safetensors").is_file()
    assert ckpt.is_dir()
    (tmp_path / "afile").write_text("x")
    assert main(["--quiet", "export", "--format", "hf", "--checkpoint", str(ckpt),
                 "--out", str(tmp_path / "afile")]) == 2
    assert main(["--quiet", "export", "--format", "hf", "--run-dir", str(tmp_path / "nope"),
                 "--out", str(tmp_path / "x")]) == 2
