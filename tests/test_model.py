"""The model: exact agreement with Hugging Face Llama / Qwen3, KV cache == full forward, loss path."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from chatforge.core.errors import UserError
from chatforge.model import GPT, KVCache, ModelConfig
from chatforge.model.hf_map import from_hf_state_dict, to_hf_model, to_hf_state_dict

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(**kw) -> GPT:
    base = dict(n_layer=2, d_model=64, n_head=4, n_kv_head=4, max_seq_len=64, vocab_size=300)
    base.update(kw)
    torch.manual_seed(0)
    m = GPT(ModelConfig(**base)).eval()
    with torch.no_grad():  # norm weights away from 1 so a wrong mapping cannot hide
        for p in m.parameters():
            if p.dim() == 1:
                p.add_(torch.randn_like(p) * 0.2)
    return m


@pytest.mark.parametrize("kw", [
    dict(),  # Llama, tied
    dict(n_kv_head=2, tie_embeddings=False, rope_theta=500000.0),  # Llama, GQA, untied
    dict(qk_norm=True),  # Qwen3, tied
    dict(qk_norm=True, n_kv_head=1, tie_embeddings=False, ffn_hidden=96),  # Qwen3, MQA
])
def test_matches_hf_logits(kw):
    pytest.importorskip("transformers")
    m = tiny(**kw)
    hf = to_hf_model(m)
    assert type(hf).__name__ == ("Qwen3ForCausalLM" if m.config.qk_norm else "LlamaForCausalLM")
    assert sum(p.numel() for p in hf.parameters()) == m.num_params()
    idx = torch.randint(0, 300, (2, 40))
    with torch.no_grad():
        diff = (m(idx) - hf(idx).logits).abs().max().item()
    assert diff < 1e-4


def test_hf_mapping_round_trip_and_sensitivity():
    pytest.importorskip("transformers")
    m = tiny(n_kv_head=2, qk_norm=True, tie_embeddings=False)
    sd = m.state_dict()
    back = from_hf_state_dict(to_hf_state_dict(sd, m.config), m.config)
    assert back.keys() == sd.keys() and all(torch.equal(back[k], sd[k]) for k in sd)
    hf = to_hf_model(m)
    # a slightly wrong RoPE must show: the 1e-4 comparison above is not vacuous
    wrong = GPT.from_state(dataclasses.asdict(dataclasses.replace(m.config, rope_theta=9000.0)), sd)
    idx = torch.randint(0, 300, (1, 40))
    with torch.no_grad():
        assert (wrong(idx) - hf(idx).logits).abs().max().item() > 1e-3


@pytest.mark.parametrize("kw", [dict(), dict(n_kv_head=2, qk_norm=True)])
def test_kv_cache_matches_full_forward(kw):
    m = tiny(**kw)
    idx = torch.randint(0, 300, (3, 30))
    with torch.no_grad():
        full = m(idx)
        cache = KVCache.for_model(m, 3)
        parts = [m(idx[:, :11], cache), m(idx[:, 11:12], cache), m(idx[:, 12:], cache)]
        assert cache.pos == 30
        assert (torch.cat(parts, 1) - full).abs().max().item() < 1e-5
        # rows of different lengths: right-padded prefill, then per-row positions
        lens = [5, 17, 9]
        cache = KVCache.for_model(m, 3)
        m(idx[:, :17], cache)
        cache.set_lengths(lens)
        nxt = torch.stack([idx[i, n : n + 4] for i, n in enumerate(lens)])
        out = m(nxt, cache)
        for i, n in enumerate(lens):
            ref = m(idx[i : i + 1, : n + 4])[0, n:]
            assert (out[i] - ref).abs().max().item() < 1e-5
        assert cache.lengths.tolist() == [9, 21, 13] and cache.pos == 21


def test_select_rows_copies_cache():
    m = tiny()
    idx = torch.randint(0, 300, (2, 10))
    with torch.no_grad():
        cache = KVCache.for_model(m, 2, max_len=32)
        m(idx, cache)
        c2 = cache.select_rows([1, 1, 0])
        out = m(torch.tensor([[7], [8], [9]]), c2)
        ref = m(torch.cat([idx[[1, 1, 0]], torch.tensor([[7], [8], [9]])], 1))[:, -1]
    assert (out[:, 0] - ref).abs().max().item() < 1e-5


def test_select_rows_grows_the_cache():
    m = tiny()
    idx = torch.randint(0, 300, (2, 10))
    with torch.no_grad():
        cache = KVCache.for_model(m, 2, max_len=12)
        m(idx, cache)
        big = cache.select_rows([0, 1], max_len=20)
        out = m(torch.randint(0, 300, (2, 8)), big)  # 18 tokens: would not fit the old 12
    assert big.max_len == 20 and big.pos == 18 and torch.isfinite(out).all()


def test_one_query_attention_equals_sdpa():
    # the bf16 decode step's attention: one query per row, grouped heads, a per-row mask
    from chatforge.model.gpt import one_query_attention
    g = torch.Generator().manual_seed(0)
    B, H, Hk, S, D = 5, 6, 2, 17, 8
    q, k, v = (torch.randn(s, generator=g) for s in ((B, H, 1, D), (B, Hk, S, D), (B, Hk, S, D)))
    mask = (torch.arange(S)[None, :] <= torch.tensor([3, 16, 9, 0, 12])[:, None])[:, None, None, :]
    for m in (mask, None):
        ref = F.scaled_dot_product_attention(q, k, v, attn_mask=m, enable_gqa=True)
        assert (one_query_attention(q, k, v, m) - ref).abs().max().item() < 1e-5
    got = one_query_attention(q.bfloat16(), k.bfloat16(), v.bfloat16(), mask)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
    assert got.dtype == torch.bfloat16 and (got.float() - ref).abs().max().item() < 0.05


def test_bf16_cached_decode_follows_the_uncached_forward():
    m = tiny(n_kv_head=2).to(torch.bfloat16)
    idx = torch.randint(0, 300, (3, 12))
    lens = [5, 12, 8]
    with torch.no_grad():
        cache = KVCache.for_model(m, 3, max_len=16)
        m(idx, cache)
        cache.set_lengths(lens)
        nxt = torch.tensor([[7], [8], [9]])
        out = m(nxt, cache)[:, 0]
        for i, n in enumerate(lens):
            ref = m(torch.cat([idx[i : i + 1, :n], nxt[i : i + 1]], 1))[0, -1]
            assert (out[i] - ref).abs().max().item() < 0.1 * ref.abs().max().item()


def test_loss_path_and_mask():
    m = tiny()
    idx = torch.randint(0, 300, (2, 16))
    tgt = torch.randint(0, 300, (2, 16))
    logits = m(idx)
    ce = torch.nn.functional.cross_entropy(logits.view(-1, 300), tgt.view(-1), reduction="none").view(2, 16)
    assert torch.allclose(m(idx, targets=tgt), ce.mean(), atol=1e-6)
    mask = torch.zeros(2, 16)
    mask[:, 8:] = 1
    assert torch.allclose(m(idx, targets=tgt, loss_mask=mask), ce[:, 8:].mean(), atol=1e-6)
    t2 = tgt.clone()
    t2[:, :8] = -1
    assert torch.allclose(m(idx, targets=t2), ce[:, 8:].mean(), atol=1e-6)
    assert torch.allclose(m(idx, targets=t2, reduction="sum"), ce[:, 8:].sum(), atol=1e-4)
    m(idx, targets=tgt).backward()
    assert all(p.grad is not None for p in m.parameters())


def test_sizes_flops_and_bf16_autocast():
    cfg = ModelConfig(vocab_size=4096)  # the cpu preset's shape
    assert cfg.ffn_dim == 704 and cfg.ffn_dim % 64 == 0
    m = GPT(cfg)
    n = m.num_params()
    assert 5_000_000 < n < 7_000_000
    assert m.num_params(non_embedding=True) == n - 4096 * 256
    L, d, T = 6, 256, 512
    assert m.flops_per_token() == 6 * (n - L * 2 * d - d) + 12 * L * d * T  # norms left out
    small = tiny()
    idx = torch.randint(0, 300, (2, 16))
    with torch.autocast("cpu", torch.bfloat16):
        out = small(idx)
    assert out.dtype == torch.float32
    assert (out - small(idx)).abs().max().item() < 0.5


def test_bad_config_and_checkpoint(tmp_path):
    with pytest.raises(UserError):
        GPT(ModelConfig(d_model=65, vocab_size=10))
    with pytest.raises(UserError):
        GPT(ModelConfig(n_head=4, n_kv_head=3, vocab_size=10))
    with pytest.raises(UserError):
        GPT(ModelConfig())  # vocab not set
    with pytest.raises(UserError):
        GPT.from_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError):
        GPT.from_checkpoint(tmp_path / "bad.pt")
    m = tiny(qk_norm=True)
    path = tmp_path / "ok.pt"
    torch.save({"model_config": dataclasses.asdict(m.config),
                "model": {"_orig_mod." + k: v for k, v in m.state_dict().items()}}, path)
    m2 = GPT.from_checkpoint(path)
    idx = torch.randint(0, 300, (1, 12))
    assert torch.equal(m(idx), m2(idx))
