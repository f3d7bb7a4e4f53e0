"""Optimizers: AdamW for everything, or Muon for the hidden matrices with AdamW for the rest.

Muon (Jordan et al., 2024) keeps SGD momentum per weight matrix and replaces the update by the
nearest semi-orthogonal matrix, computed with a few Newton-Schulz iterations. It only makes
sense for 2-D weights inside the network; embeddings, the output head and the norm gains stay
on AdamW. Both live in one torch Optimizer (`Muon`, with a `kind` per param group) so that the
training loop, the LR schedule and checkpoints see a single object.

Every group keeps its base learning rate in `initial_lr`; the loop sets
`group["lr"] = group["initial_lr"] * multiplier` each step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class OptimConfig:
    """What `build_optimizer` needs; stage configs copy their fields into one of these."""

    name: str = "adamw"  # adamw | muon
    lr: float = 3e-3  # AdamW lr for matrices (adamw) / embeddings, head and gains (both)
    embed_lr: float | None = None  # AdamW lr for embeddings and head; None = lr
    muon_lr: float = 0.02
    muon_momentum: float = 0.95
    weight_decay: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8


def split_params(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    """Group parameters by role: 'matrix' (hidden Linear weights), 'embed' (embeddings and the
    output head, which is any Linear producing vocabulary-sized outputs or tied to an embedding),
    'scalar' (norm gains, biases, anything else)."""
    embeds = [m for m in model.modules() if isinstance(m, nn.Embedding)]
    vocab_sizes = {m.num_embeddings for m in embeds}
    embed_ids = {id(m.weight) for m in embeds}
    groups: dict[str, list[nn.Parameter]] = {"matrix": [], "embed": [], "scalar": []}
    seen: set[int] = set()
    for mod in model.modules():
        for pname, p in mod.named_parameters(recurse=False):
            if id(p) in seen or not p.requires_grad:
                continue
            seen.add(id(p))
            if id(p) in embed_ids:
                groups["embed"].append(p)
            elif isinstance(mod, nn.Linear) and pname == "weight":
                head = mod.out_features in vocab_sizes
                groups["embed" if head else "matrix"].append(p)
            else:
                groups["scalar"].append(p)
    return groups


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    """One optimizer for the model. Weight decay applies to matrices only (not embeddings,
    gains or biases), the usual choice for small transformers."""
    g = split_params(model)
    embed_lr = cfg.embed_lr if cfg.embed_lr is not None else cfg.lr
    adam = dict(kind="adamw", betas=(cfg.beta1, cfg.beta2), eps=cfg.eps)
    if cfg.name == "adamw":
        groups = [
            dict(params=g["matrix"], lr=cfg.lr, weight_decay=cfg.weight_decay, **adam),
            dict(params=g["embed"], lr=embed_lr, weight_decay=0.0, **adam),
            dict(params=g["scalar"], lr=cfg.lr, weight_decay=0.0, **adam),
        ]
    elif cfg.name == "muon":
        groups = [
            dict(params=g["matrix"], lr=cfg.muon_lr, weight_decay=cfg.weight_decay, kind="muon",
                 momentum=cfg.muon_momentum),
            dict(params=g["embed"], lr=embed_lr, weight_decay=0.0, **adam),
            dict(params=g["scalar"], lr=cfg.lr, weight_decay=0.0, **adam),
        ]
    else:
        raise ValueError(f"unknown optimizer {cfg.name!r} (use adamw or muon)")
    groups = [gr for gr in groups if gr["params"]]
    for gr in groups:
        gr["initial_lr"] = gr["lr"]
    return Muon(groups)


def set_lr(optimizer: torch.optim.Optimizer, multiplier: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"] * multiplier


# Coefficients of the quintic Newton-Schulz iteration tuned in the Muon write-up to push all
# singular values towards ~1 in five steps (they land in roughly [0.7, 1.2], which is enough).
_NS_COEFFS = (3.4445, -4.7750, 2.0315)


def orthogonalize(g: torch.Tensor, steps: int = 5) -> torch.Tensor:
    """Approximately U V^T for g = U S V^T. Runs in bf16 on GPU (stable enough, much faster),
    fp32 on CPU (a CPU's bf16 matmul gains little, where it is native at all, and the matrices
    are small)."""
    a, b, c = _NS_COEFFS
    x = g.to(torch.bfloat16 if g.is_cuda else torch.float32)
    tall = x.size(0) > x.size(1)
    if tall:
        x = x.mT
    x = x / (x.norm() + 1e-7)  # spectral norm <= Frobenius norm <= 1
    for _ in range(steps):
        s = x @ x.mT
        # addmm fuses the scalings into the matmuls: b*s + c*s@s, then a*x + (...)@x
        x = torch.addmm(x, torch.addmm(s, s, s, beta=b, alpha=c), x, beta=a)
    if tall:
        x = x.mT
    return x.to(g.dtype)


class Muon(torch.optim.Optimizer):
    """Groups with kind='muon' get Muon (Nesterov momentum, orthogonalized update scaled by
    sqrt(max(1, rows/cols)) so every matrix moves by a similar RMS); groups with kind='adamw'
    get AdamW with decoupled weight decay. A group list with only AdamW groups is plain AdamW."""

    def __init__(self, groups: list[dict]):
        defaults = dict(lr=1e-3, weight_decay=0.0, kind="adamw", betas=(0.9, 0.95), eps=1e-8,
                        momentum=0.95)
        super().__init__(groups, defaults)

    @torch.no_grad()
    def step(self, closure=None):  # torch signature
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            if group["kind"] == "muon":
                self._muon(group)
            else:
                self._adamw(group)
        return loss

    def _muon(self, group: dict) -> None:
        lr, wd, mom = group["lr"], group["weight_decay"], group["momentum"]
        for p in group["params"]:
            if p.grad is None:
                continue
            grad = p.grad
            state = self.state[p]
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = torch.zeros_like(grad)
            buf = state["momentum_buffer"]
            buf.lerp_(grad, 1 - mom)
            update = grad.lerp(buf, mom)  # Nesterov look-ahead
            update = orthogonalize(update.view(update.size(0), -1)).view_as(p)
            scale = max(1.0, p.size(0) / p[0].numel()) ** 0.5
            if wd:
                p.mul_(1 - lr * wd)
            p.add_(update, alpha=-lr * scale)

    def _adamw(self, group: dict) -> None:
        # foreach ops: one kernel launch per op for the whole group instead of per tensor.
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            return
        grads = [p.grad for p in params]
        for p in params:
            state = self.state[p]
            if "step" not in state:
                state["step"] = torch.tensor(0.0)
                state["exp_avg"] = torch.zeros_like(p)
                state["exp_avg_sq"] = torch.zeros_like(p)
            state["step"] += 1
        t = self.state[params[0]]["step"].item()
        ms = [self.state[p]["exp_avg"] for p in params]
        vs = [self.state[p]["exp_avg_sq"] for p in params]
        torch._foreach_lerp_(ms, grads, 1 - beta1)
        torch._foreach_mul_(vs, beta2)
        torch._foreach_addcmul_(vs, grads, grads, value=1 - beta2)
        bias1 = 1 - beta1 ** t
        bias2 = 1 - beta2 ** t
        if wd:
            torch._foreach_mul_(params, 1 - lr * wd)
        denom = torch._foreach_div(vs, bias2)
        torch._foreach_sqrt_(denom)
        torch._foreach_add_(denom, eps)
        torch._foreach_addcdiv_(params, ms, denom, value=-lr / bias1)
