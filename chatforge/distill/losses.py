"""The white-box distillation loss: a divergence between the teacher's and the student's
next-token distributions at temperature T, mixed with the ordinary cross-entropy.

    loss = alpha * T^2 * D(p_teacher^T, p_student^T) + (1 - alpha) * CE(student, data)

Hinton et al. (2015): soft targets at temperature T carry the teacher's "dark knowledge" (how
wrong answers rank); their gradients shrink as 1/T^2, so the term is scaled by T^2 to keep its
weight against the CE term when T changes. D is one of

    forward  KL(p_t || p_s) = sum p_t (log p_t - log p_s)   mass-covering (the classic KD loss)
    reverse  KL(p_s || p_t) = sum p_s (log p_s - log p_t)   mode-seeking (MiniLLM)
    jsd      beta KL(p_t || m) + (1 - beta) KL(p_s || m), m = beta p_t + (1 - beta) p_s
             (GKD's generalised JSD: bounded, between the two)

averaged over the positions the data's loss mask counts (the assistant's own tokens).

Offline top-k (`top_k` > 0): the teacher's k most likely tokens and their log-probabilities are
kept for each row the first time it is seen and reused every epoch, instead of a teacher forward
per step. Only the forward KL has a meaning there: the teacher's distribution is renormalised
over its top k (the tail it dropped is not known) and the student is scored on those tokens.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def divergence(student_logits: torch.Tensor, teacher_logits: torch.Tensor, kind: str = "forward",
               temperature: float = 1.0, beta: float = 0.5) -> torch.Tensor:
    """D(teacher, student) per position ([...]) of logits [..., V], both taken at `temperature`."""
    s = F.log_softmax(student_logits.float() / temperature, dim=-1)
    t = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    if kind == "forward":
        return (t.exp() * (t - s)).sum(-1)
    if kind == "reverse":
        return (s.exp() * (s - t)).sum(-1)
    if kind == "jsd":
        m = torch.logsumexp(torch.stack([t + math.log(beta), s + math.log(1 - beta)]), dim=0)
        return beta * (t.exp() * (t - m)).sum(-1) + (1 - beta) * (s.exp() * (s - m)).sum(-1)
    raise ValueError(f"unknown divergence {kind!r}")


def topk_forward_kl(student_logits: torch.Tensor, top_logp: torch.Tensor, top_idx: torch.Tensor,
                    temperature: float = 1.0) -> torch.Tensor:
    """Forward KL per position from the teacher's top-k log-probs (at `temperature`), renormalised."""
    s = F.log_softmax(student_logits.float() / temperature, dim=-1).gather(-1, top_idx.long())
    t = F.log_softmax(top_logp.float(), dim=-1)
    return (t.exp() * (t - s)).sum(-1)


class TopKCache:
    """The teacher's top-k log-probs (at T) per distinct packed row: fp16 values, int16/int32 ids."""

    def __init__(self, teacher, k: int, temperature: float):
        self.teacher, self.k, self.temperature = teacher, k, temperature
        self.rows: dict[bytes, tuple[torch.Tensor, torch.Tensor]] = {}
        self.forwards = 0  # teacher rows computed
        self.lookups = 0  # rows served

    @torch.no_grad()
    def get(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        keys = [r.numpy().tobytes() for r in x.cpu()]
        missing = [i for i, k in enumerate(keys) if k not in self.rows]
        if missing:
            logits = self.teacher(x[missing])
            logp = F.log_softmax(logits.float() / self.temperature, dim=-1)
            vals, idx = logp.topk(self.k, dim=-1)
            id_type = torch.int16 if logits.shape[-1] <= 32767 else torch.int32
            for j, i in enumerate(missing):
                self.rows[keys[i]] = (vals[j].half(), idx[j].to(id_type))
            self.forwards += len(missing)
        self.lookups += len(keys)
        vals = torch.stack([self.rows[k][0] for k in keys]).to(x.device)
        idx = torch.stack([self.rows[k][1] for k in keys]).to(x.device)
        return vals, idx

    def nbytes(self) -> int:
        return sum(v.numel() * v.element_size() + i.numel() * i.element_size() for v, i in self.rows.values())


def document_loss(teacher, alpha: float, temperature: float, kind: str = "forward", beta: float = 0.5):
    """loss(model, x, y) for pretraining on documents with a teacher: every token counts,
    alpha * T^2 * D(teacher, student) + (1 - alpha) * CE (the student base's recipe)."""
    def loss(model, x, y):
        logits = model(x)
        with torch.no_grad():
            t_logits = teacher(x)
        kd = divergence(logits, t_logits, kind, temperature, beta).mean()
        ce = F.cross_entropy(logits.float().flatten(0, 1), y.flatten())
        return alpha * temperature * temperature * kd + (1 - alpha) * ce
    return loss


def make_loss(teacher, cfg, device, stats: dict, cache: TopKCache | None = None):
    """loss_fn(model, batch) for the training core. A batch is the fine-tune's (inputs, targets,
    mask) rows, or an on-policy dict {"ids", "mask"} of the student's own samples: there only the
    divergence counts (cross-entropy on its own tokens would just reinforce them)."""
    T, alpha = cfg.temperature, cfg.alpha

    def loss_fn(model, batch):
        if isinstance(batch, dict):
            ids, mask = batch["ids"].to(device), batch["mask"].to(device)
            x, y, w_kd, w_ce = ids[:, :-1], ids[:, 1:], 1.0, 0.0
        else:
            x, y, mask = (t.to(device, non_blocking=True) for t in batch)
            w_kd, w_ce = alpha, 1.0 - alpha
        logits = model(x)
        n = mask.sum().clamp(min=1.0)
        if cache is not None and not isinstance(batch, dict):
            per = topk_forward_kl(logits, *cache.get(x), temperature=T)
        else:
            with torch.no_grad():
                t_logits = teacher(x)
            per = divergence(logits, t_logits, cfg.divergence, T, cfg.jsd_beta)
        kd = (per * mask).sum() / n
        loss = w_kd * T * T * kd
        if w_ce > 0:
            ce = F.cross_entropy(logits.float().transpose(1, 2), y, reduction="none")
            loss = loss + w_ce * (ce * mask).sum() / n
        stats["kd"] = float(kd.detach())
        stats["onpolicy"] = isinstance(batch, dict)
        return loss, int(n.item())
    return loss_fn
