"""Judges: is an answer supported by the source it should come from?

The interrogation needs a verdict for every sampled answer. On the built-in world the verdict is
exact (`CheckerJudge`: the world's checker against the true value). For data without ground
truth, the Llama 3 recipe has a model compare the answer with the source passage; `ModelJudge`
does that with any chat checkpoint (ours, or an imported model): it renders one question

    Source: <passage>
    Question: <question>
    Answer: <answer>
    Does the source support the answer? Reply yes or no.

and reads the model's next-token probabilities of "Yes" and "No" at the start of its reply (one
forward pass per case, no sampling), so the verdict is deterministic and its margin is kept.
Refusals are not the judge's business: the caller sets them apart first (world/refusals.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import torch

from chatforge.chat.render import render_prompt
from chatforge.core.errors import UserError
from chatforge.tokenizer import Tokenizer
from chatforge.train.checkpoint import load_model
from chatforge.world.checkers import check_knowledge


class Judge(Protocol):
    name: str

    def supported(self, cases: list[dict], answers: list[str]) -> list[bool]:
        """cases[i] has "question", "source" and (for the checker) "attribute"/"answer"."""


class CheckerJudge:
    name = "checker"

    def supported(self, cases: list[dict], answers: list[str]) -> list[bool]:
        return [c.get("answer") is not None and check_knowledge(c, a) for c, a in zip(cases, answers)]


def judge_question(source: str, question: str, answer: str) -> str:
    return (f"Source: {source or '(none)'}\nQuestion: {question}\nAnswer: {answer}\n"
            "Does the source support the answer? Reply yes or no.")


class ModelJudge:
    def __init__(self, model, tokenizer, name: str = "model", batch_size: int = 16):
        self.model, self.tok, self.name, self.batch_size = model.eval(), tokenizer, name, batch_size
        yes, no = tokenizer.encode("Yes"), tokenizer.encode("No")
        self.yes, self.no = yes[0], no[0]  # the first token decides (the reply's first word)

    def margins(self, cases: list[dict], answers: list[str]) -> list[float]:
        """log p(Yes) - log p(No) for each case."""

        prompts = [render_prompt([{"role": "user",
                                   "content": judge_question(c.get("source", ""), c["question"], a)}],
                                 self.tok) for c, a in zip(cases, answers)]
        limit = self.model.config.max_seq_len
        out: list[float] = []
        with torch.inference_mode():
            for b in range(0, len(prompts), self.batch_size):
                chunk = [p[-limit:] for p in prompts[b:b + self.batch_size]]
                n = max(len(p) for p in chunk)
                # right-padded with id 0: causal attention never lets a real position see the
                # padding, and an imported vocabulary may have no pad token
                ids = torch.zeros((len(chunk), n), dtype=torch.long)
                for i, p in enumerate(chunk):
                    ids[i, : len(p)] = torch.tensor(p)
                logits = self.model(ids.to(self.model.tok_emb.weight.device))
                last = torch.tensor([len(p) - 1 for p in chunk])
                lp = torch.log_softmax(logits[torch.arange(len(chunk)), last].float(), -1).cpu()
                out += (lp[:, self.yes] - lp[:, self.no]).tolist()
        return out

    def supported(self, cases: list[dict], answers: list[str]) -> list[bool]:
        return [m > 0 for m in self.margins(cases, answers)]


def load_judge(spec: str, device=None) -> Judge:
    """`checker`, or a checkpoint path (file, ckpt/ folder or stage folder) for a ModelJudge."""

    if spec == "checker":
        return CheckerJudge()
    path = Path(spec)
    if not path.exists():
        raise UserError(f"probe.judge must be 'checker' or a chat checkpoint path; '{spec}' does not exist.")
    model, tok_dir, meta = load_model(path, device or "cpu")
    if tok_dir is None:
        raise UserError(f"judge checkpoint '{spec}' has no tokenizer folder next to it.")
    return ModelJudge(model, Tokenizer.load(tok_dir), name=str(meta.get("checkpoint", spec)))
