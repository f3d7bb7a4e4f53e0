"""The "model" config section: the few dials that size the decoder."""

from __future__ import annotations

from dataclasses import dataclass

from chatforge.core.errors import UserError


@dataclass
class ModelConfig:
    n_layer: int = 6
    d_model: int = 256
    n_head: int = 4
    n_kv_head: int = 4  # < n_head means grouped-query attention (must divide n_head)
    ffn_hidden: int = 0  # 0 = auto: the multiple of 64 nearest to 8/3 * d_model
    max_seq_len: int = 512
    rope_theta: float = 10000.0
    qk_norm: bool = False  # Qwen3-style RMSNorm on q and k per head
    tie_embeddings: bool = True  # output projection shares the token embedding
    norm_eps: float = 1e-5
    init_std: float = 0.02
    vocab_size: int = 0  # 0 = taken from the tokenizer when the model is built
    # 0 = d_model / n_head. Qwen3 sets its head size on its own (e.g. 0.6B: 16 heads of 128 on a
    # 1024-wide stream), so an imported model needs it as a separate dial.
    head_size: int = 0

    @property
    def head_dim(self) -> int:
        return self.head_size or self.d_model // self.n_head

    @property
    def ffn_dim(self) -> int:
        if self.ffn_hidden > 0:
            return self.ffn_hidden
        return max(64, int(round(8 * self.d_model / 3 / 64)) * 64)

    def validate(self) -> None:
        """Raise UserError for sizes that cannot build a model."""

        for name in ("n_layer", "d_model", "n_head", "n_kv_head", "max_seq_len"):
            if getattr(self, name) <= 0:
                raise UserError(f"model.{name} must be positive, got {getattr(self, name)}.")
        if self.head_size < 0:
            raise UserError("model.head_size must be 0 (d_model / n_head) or positive, "
                            f"got {self.head_size}.")
        if not self.head_size and self.d_model % self.n_head:
            raise UserError(f"model.d_model ({self.d_model}) must be divisible by "
                            f"model.n_head ({self.n_head}).")
        if self.head_dim % 2:
            raise UserError(f"model head size d_model/n_head = {self.head_dim} must be even for RoPE.")
        if self.n_head % self.n_kv_head:
            raise UserError(f"model.n_head ({self.n_head}) must be a multiple of "
                            f"model.n_kv_head ({self.n_kv_head}).")
        if self.ffn_hidden < 0:
            raise UserError(f"model.ffn_hidden must be 0 (auto) or positive, got {self.ffn_hidden}.")
        if self.vocab_size <= 0:
            raise UserError("model.vocab_size is not set; "
                            "it is taken from the tokenizer when the model is built.")
