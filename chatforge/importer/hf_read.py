"""Read a Hugging Face folder: config.json + safetensors (one file or sharded) + tokenizer.json.

LlamaForCausalLM and Qwen3ForCausalLM only, and only what chatforge's decoder computes: no
biases, SiLU MLP, plain RoPE (no scaling), no sliding window. Anything else is refused in one
sentence rather than imported into a model that would compute something different. Weights are
read with safetensors (no transformers needed) and mapped by `chatforge.model.hf_map`.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file

from chatforge.core.errors import UserError
from chatforge.importer.tokenizer import Vocab, pattern_from_hf
from chatforge.importer.weights import Read, to_chatforge
from chatforge.model.config import ModelConfig

ARCHES = {"LlamaForCausalLM": False, "Qwen3ForCausalLM": True}  # -> qk_norm


def _json(path: Path) -> dict:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"'{path.parent}' has no {path.name}; an HF model folder needs it.") from None
    except (OSError, ValueError) as e:
        raise UserError(f"'{path}' is not readable JSON ({type(e).__name__}).") from None
    if not isinstance(obj, dict):
        raise UserError(f"'{path}' is not a JSON object.")
    return obj


def _rope_theta(cfg: dict) -> float:
    # transformers 5 writes rope settings under rope_parameters; older files use rope_theta/rope_scaling
    rp = cfg.get("rope_parameters") or cfg.get("rope_scaling") or {}
    kind = rp.get("rope_type", rp.get("type", "default"))
    if kind not in ("default", None):
        raise UserError(f"this model uses RoPE scaling '{kind}', which chatforge's model does not implement.")
    return float(rp.get("rope_theta", cfg.get("rope_theta", 10000.0)))


def model_config(cfg: dict, where: Path, max_seq_len: int | None) -> ModelConfig:
    arch = (cfg.get("architectures") or [None])[0]
    if arch not in ARCHES:
        raise UserError(f"'{where}' is a {arch or 'model of unknown architecture'}; chatforge imports "
                        f"{' and '.join(ARCHES)}.")
    for key in ("attention_bias", "mlp_bias"):
        if cfg.get(key):
            raise UserError(f"'{where}' has {key}; chatforge's model has no biases.")
    if cfg.get("hidden_act", "silu") != "silu":
        raise UserError(f"'{where}' uses activation '{cfg['hidden_act']}'; chatforge's MLP is SwiGLU (silu).")
    if cfg.get("use_sliding_window"):
        raise UserError(f"'{where}' uses sliding-window attention, "
                        "which chatforge's model does not implement.")
    try:
        d, h = int(cfg["hidden_size"]), int(cfg["num_attention_heads"])
        head_dim = int(cfg.get("head_dim") or d // h)
        ctx = int(cfg.get("max_position_embeddings", 2048))
        c = ModelConfig(
            n_layer=int(cfg["num_hidden_layers"]), d_model=d, n_head=h,
            n_kv_head=int(cfg.get("num_key_value_heads") or h), ffn_hidden=int(cfg["intermediate_size"]),
            max_seq_len=min(ctx, max_seq_len) if max_seq_len else ctx, rope_theta=_rope_theta(cfg),
            qk_norm=ARCHES[arch], tie_embeddings=bool(cfg.get("tie_word_embeddings", False)),
            norm_eps=float(cfg.get("rms_norm_eps", 1e-6)), vocab_size=int(cfg["vocab_size"]),
            head_size=head_dim if head_dim != d // h else 0)
    except KeyError as e:
        raise UserError(f"'{where / 'config.json'}' lacks '{e.args[0]}'.") from None
    except (TypeError, ValueError):
        raise UserError(f"'{where / 'config.json'}' has a size that is not a number.") from None
    c.validate()
    return c


def _weights(folder: Path) -> dict:
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        files = sorted(set(_json(index).get("weight_map", {}).values()))
    elif (folder / "model.safetensors").is_file():
        files = ["model.safetensors"]
    else:
        raise UserError(f"'{folder}' has no model.safetensors (pytorch_model.bin folders are not read: "
                        "re-save with safe_serialization=True).")
    out = {}
    for name in files:
        try:
            out.update(load_file(str(folder / name)))
        except Exception as e:  # a torn or foreign file
            raise UserError(f"'{folder / name}' is not a readable safetensors file "
                            f"({type(e).__name__}).") from None
    return out


def read_vocab(folder: Path) -> tuple[Vocab, dict]:
    """tokenizer.json -> Vocab, and tokenizer_config.json (may be {})."""
    tj = _json(folder / "tokenizer.json")
    model = tj.get("model") or {}
    if model.get("type") != "BPE" or not isinstance(model.get("vocab"), dict):
        raise UserError(f"'{folder / 'tokenizer.json'}' is not a BPE tokenizer; "
                        "chatforge imports byte-level BPE.")
    if model.get("byte_fallback"):
        raise UserError(f"'{folder / 'tokenizer.json'}' is a SentencePiece-style BPE (byte fallback), "
                        "not byte-level.")
    norm = tj.get("normalizer")
    if norm is not None and norm.get("type") != "NFC":
        raise UserError(f"'{folder / 'tokenizer.json'}' has a {norm.get('type')} normalizer, "
                        "which chatforge does not run.")
    vocab = model["vocab"]
    added = {a["id"]: a["content"] for a in tj.get("added_tokens") or []}
    n = max([*vocab.values(), *added]) + 1
    tokens = [""] * n
    for t, i in vocab.items():
        tokens[i] = t
    for i, t in added.items():
        tokens[i] = t
    present = set(vocab.values()) | set(added)
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges") or []]
    v = Vocab(tokens=tokens, special=set(added), merges=merges,
              pattern=pattern_from_hf(tj.get("pre_tokenizer")),
              pre_tokenizer=tj.get("pre_tokenizer"), normalizer=norm,
              unused={i for i in range(n) if i not in present})
    tc = folder / "tokenizer_config.json"
    return v, (_json(tc) if tc.is_file() else {})


def _token_name(x) -> str | None:
    return x.get("content") if isinstance(x, dict) else x


def read_hf(folder: str | Path, max_seq_len: int | None = None) -> Read:
    folder = Path(folder)
    cfg_json = _json(folder / "config.json")
    cfg = model_config(cfg_json, folder, max_seq_len)
    state = to_chatforge(_weights(folder), cfg, str(folder))
    vocab, tcfg = read_vocab(folder)
    template = tcfg.get("chat_template")
    if (folder / "chat_template.jinja").is_file():  # transformers 5 keeps it in its own file
        template = (folder / "chat_template.jinja").read_text(encoding="utf-8")
    if isinstance(template, list):  # several named templates: the default one
        template = next((t.get("template") for t in template if t.get("name") == "default"), None)
    return Read(cfg, state, vocab, template, _token_name(tcfg.get("bos_token")),
                _token_name(tcfg.get("eos_token")), bool(tcfg.get("add_bos_token", False)),
                {"source_format": "hf", "architecture": cfg_json["architectures"][0],
                 "source_name": str(cfg_json.get("_name_or_path", folder.name))})
