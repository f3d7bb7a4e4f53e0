"""The GPU presets load, validate and build the model they promise (on the meta device: no
memory, no training), and their pretraining budget is the one docs/gpu.md states."""

from __future__ import annotations

import pytest
import torch

from chatforge.core.config import list_presets
from chatforge.pipeline import load_config

# preset -> (parameters, tolerance, tokens per step on 8 GPUs, steps)
GPU_PRESETS = {"gpu124m": (124e6, 0.02, 524_288, 4800), "gpu560m": (560e6, 0.02, 524_288, 21400)}


@pytest.mark.parametrize("name", sorted(GPU_PRESETS))
def test_gpu_preset_builds_the_promised_model(name):
    from chatforge.data.stage import _validate as validate_data
    from chatforge.model.gpt import GPT
    from chatforge.pretrain.stage import _validate as validate_pretrain

    assert name in list_presets()
    params, tol, step_tokens, steps = GPU_PRESETS[name]
    cfg = load_config(name)
    validate_pretrain(cfg.pretrain)
    validate_data(cfg.data)
    with torch.device("meta"):
        model = GPT.build(cfg.model, cfg.tokenizer.vocab_size)
    model.config.validate()
    assert abs(model.num_params() - params) / params < tol, model.num_params()
    assert all(p.device.type == "meta" for p in model.parameters())

    p = cfg.pretrain
    assert p.seq_len <= cfg.model.max_seq_len and p.dtype == "auto" and p.compile
    assert p.batch_size * p.seq_len * p.grad_accum * 8 == step_tokens and p.steps == steps
    tokens_per_param = steps * step_tokens / model.num_params()
    assert 18 <= tokens_per_param <= 22, tokens_per_param  # ~Chinchilla's 20
    assert cfg.tokenizer.vocab_size <= 65536  # the token shards stay uint16
    assert cfg.model.d_model % cfg.model.n_head == 0 and cfg.model.head_dim in (64, 128)
    assert cfg.world.n_known == load_config("cpu").world.n_known  # the chat stages' tasks: cpu's


def test_gpu_preset_overrides_for_fewer_gpus():
    """docs/gpu.md: on N GPUs, grad_accum = 16 / N keeps the batch; the override validates."""
    cfg = load_config("gpu124m", ["pretrain.grad_accum=16"])
    p = cfg.pretrain
    assert p.batch_size * p.seq_len * p.grad_accum * 1 == 524_288
