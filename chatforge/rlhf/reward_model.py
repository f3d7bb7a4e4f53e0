"""The reward model: the chat transformer with a scalar head on the last token of the answer.

reward(conversation, answer) = head(h_last) where h_last is the final hidden state at the
answer's closing <|im_end|>, the conversation rendered by the one chat renderer. Its checkpoint
is the training core's (keys "gpt.*" and "head.*") in run_dir/rm/model/, not in a `ckpt/` folder,
so nothing offers it as a chat model.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch import nn

from chatforge.chat.render import render
from chatforge.core.errors import UserError
from chatforge.model.gpt import GPT
from chatforge.train import checkpoint as ckpt

FOLDER = "model"


class RewardModel(nn.Module):
    def __init__(self, gpt):
        super().__init__()
        self.gpt = gpt
        self.config = gpt.config
        self.head = nn.Linear(gpt.config.d_model, 1)
        with torch.no_grad():
            self.head.weight.normal_(0.0, 0.02)
            self.head.bias.zero_()

    def forward(self, ids: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        """ids [B, T] (right-padded), last [B]: the index of each row's final token -> rewards [B]."""
        h = self.gpt.forward_hidden(ids)
        return self.head(h[torch.arange(ids.shape[0], device=ids.device), last].float()).squeeze(-1)


def encode(tokenizer, messages: list[dict], answer: str, limit: int) -> list[int]:
    """The conversation and the answer as one closed assistant turn (its last token <|im_end|>),
    cut from the front of the conversation after BOS if it would not fit."""

    ids = render(list(messages) + [{"role": "assistant", "content": answer}], tokenizer).ids
    end = tokenizer.special("<|im_end|>")
    while ids and ids[-1] != end:  # drop the renderer's trailing newline
        ids = ids[:-1]
    return ids if len(ids) <= limit else ids[:1] + ids[len(ids) - limit + 1:]


def pad_rows(rows: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    L = max(len(r) for r in rows)
    ids = torch.full((len(rows), L), pad, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
    return ids, torch.tensor([len(r) - 1 for r in rows])


@torch.no_grad()
def score(rm: RewardModel, rows: list[list[int]], pad: int, batch: int = 64) -> list[float]:
    was = rm.training
    rm.eval()
    out: list[float] = []
    device = next(rm.parameters()).device
    for i in range(0, len(rows), batch):
        ids, last = pad_rows(rows[i:i + batch], pad)
        out.extend(rm(ids.to(device), last.to(device)).tolist())
    rm.train(was)
    return out


def model_config(rm: RewardModel) -> dict:
    return dataclasses.asdict(rm.config)


def load(stage_dir: Path, device="cpu") -> tuple[RewardModel, Path, dict]:
    """(reward model, tokenizer dir, meta) from run_dir/rm (or its model folder)."""
    folder = Path(stage_dir)
    folder = folder / FOLDER if (folder / FOLDER).is_dir() else folder
    path = ckpt.latest_checkpoint(folder)
    if path is None:
        raise UserError(f"no reward model in {stage_dir} (run `chatforge rm` first).")
    obj = ckpt.load_checkpoint(path, device)
    state = obj["model"]
    if "head.weight" not in state:
        raise UserError(f"checkpoint '{path}' is not a reward model (it has no scalar head).")
    gpt = GPT.from_state(obj["model_config"], {k[4:]: v for k, v in state.items() if k.startswith("gpt.")},
                         device)
    rm = RewardModel(gpt).to(device)
    rm.head.load_state_dict({"weight": state["head.weight"], "bias": state["head.bias"]})
    return rm.eval(), folder / "tokenizer", {**obj.get("meta", {}), "checkpoint": str(path)}
