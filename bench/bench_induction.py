"""How many optimizer steps does a run's architecture need before it can copy from its context?

    python bench/bench_induction.py --run-dir runs/cpu [--steps 2000] [--optimizer adamw --lr 3e-3]
                                    [--seq-len 256] [--batch 8] [--fixed 20]
                                    [--out bench/results/induction.json]

Every tool task needs copying (a number into the calculator, a word into python, a name into the
search query), and copying needs induction heads. This trains the run's model shape from scratch
on rows made only of copy exercises: `<|endoftext|>` + a segment of random words from the run's
documents + optionally a few other random words + the same segment again, with segment lengths
drawn from 3..`--max-words`. Every `--probe-every` steps it prints the copy probe
(`chatforge.eval.copying`: greedy accuracy on the first pass of 20 random words and on their
repeat after gaps of 0-168 tokens of other random words, i.e. by distance), the tokens trained
on and the token count at which Aoyama, Wilcox and Schneider (2025) predict induction heads form,
10^5.7 x sqrt(batch x context). `repeat` climbing above `first` at every distance is induction;
high only back to back is a positional shortcut. With `--fixed N` every segment is exactly N
words and never has a gap: the model can then copy by position (attend ~N words back) without
reading content, which the gapped probe exposes.

Pure copy data is the most favourable case; a pretraining corpus only gives a fraction of
this signal, so the step count this reports is a lower bound for the real stage.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import torch

from chatforge.core.atomic import atomic_write_json
from chatforge.core.errors import UserError
from chatforge.core.rundir import saved_config
from chatforge.eval.copying import GAPS, copy_probe
from chatforge.model.gpt import GPT
from chatforge.pipeline import load_config
from chatforge.tokenizer import Tokenizer
from chatforge.train.optim import OptimConfig, build_optimizer, set_lr
from chatforge.tune.reading import ReadingRows

PROBE_WORDS = 20


def aoyama_tokens(batch: int, context: int) -> float:
    """Training tokens by which induction heads form, per Aoyama, Wilcox and Schneider (2025)."""
    return 10 ** 5.7 * math.sqrt(batch * context)


def _texts(run_dir: Path, limit: int = 400) -> list[str]:
    held = run_dir / "tokenizer" / "heldout.jsonl"
    if not held.is_file():
        sys.exit(f"{held} is missing: run `chatforge run --run-dir {run_dir} --until tokenizer` first.")
    with open(held, encoding="utf-8") as f:
        return [json.loads(line)["text"] for _, line in zip(range(limit), f)]


@torch.no_grad()
def prev_token_init(model: GPT, margin: float = 6.0, const: float = 0.1, pairs: int = 16) -> None:
    """Start layer 0's head 0 as a previous-token head (an initialisation; the architecture and
    the parameter set are unchanged). Every token embedding gets the same value `const` in
    dimension 0, so after the RMSNorm every position carries a nearly constant component; the
    head's q and k read only that component, placed on RoPE's `pairs` fastest frequency pairs so
    that q.k = s * sum_i cos((n - m + 1) theta_i), largest at key position n = m - 1, with s set
    so that position beats its neighbours by `margin` logits."""
    c = model.config
    D, H = c.head_dim, c.n_head
    model.tok_emb.weight[:, 0] = const
    x0 = float(model.layers[0].attn_norm(model.tok_emb.weight)[:, 0].mean())
    inv = 1.0 / (c.rope_theta ** (torch.arange(0, D, 2).float() / D))[:pairs]
    d = torch.arange(-(c.max_seq_len - 1), 1).float()
    prof = torch.cos((d[:, None] + 1) * inv[None, :]).sum(1)
    gap = float(prof[d == -1] - prof[d != -1].max())
    a = math.sqrt(margin * math.sqrt(D) / gap) / x0  # weight on dimension 0 giving |q| = |k| = a * x0
    w = model.layers[0].attn.qkv_proj.weight
    q_rows, k_rows = slice(0, D), slice(H * D, H * D + D)
    w[q_rows, 0] = 0.0
    w[k_rows, 0] = 0.0
    for i in range(pairs):  # pair i is (dim i, dim i + D/2), rotated by theta_i per position
        w[q_rows.start + i, 0] = a  # q = (1, 0) per pair, k = R(theta_i) (1, 0), both times a * x0
        w[k_rows.start + i, 0] = a * math.cos(float(inv[i]))
        w[k_rows.start + i + D // 2, 0] = a * math.sin(float(inv[i]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run-dir", required=True, type=Path, help="a run with a tokenizer and config.json")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--optimizer", default="adamw", choices=["adamw", "muon"])
    ap.add_argument("--lr", type=float, default=3e-3, help="AdamW lr (all params, or non-matrix with muon)")
    ap.add_argument("--muon-lr", type=float, default=0.02)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--max-words", type=int, default=40)
    ap.add_argument("--max-gap", type=int, default=10,
                    help="most random words between a segment and its copy")
    ap.add_argument("--fixed", type=int, default=0, help="every segment exactly this many words, no gaps")
    ap.add_argument("--probe-every", type=int, default=100)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    ap.add_argument("--prev-head", action="store_true",
                    help="initialise layer 0 head 0 as a previous-token head")
    ap.add_argument("--model", action="append", default=[], metavar="KEY=VALUE",
                    help="override the run's model section (n_head=6, qk_norm=true, rope_theta=5e5, ...)")
    ap.add_argument("--qk-gain", type=float, default=0.0,
                    help="with qk_norm: start the q/k norm gains at this value (sharper attention)")
    ap.add_argument("--text-share", type=float, default=0.0,
                    help="share of each batch's rows taken from the run's pretraining token shards "
                         "(real text) instead of copy exercises: 1.0 is plain pretraining")
    ap.add_argument("--words-from", default="heldout", choices=["heldout", "corpus"],
                    help="exercise and probe words: the tokenizer's held-out documents (~500 words on "
                         "the cpu world) or every clean document (what the pretrain stage uses)")
    ap.add_argument("--mask", action="store_true",
                    help="leave an exercise's first pass and gap out of the loss "
                         "(as the pretrain stage does)")
    ap.add_argument("--copy-first", type=int, default=0,
                    help="train this many steps on copy exercises only before mixing text in")
    ap.add_argument("--init", default="standard", choices=["standard", "induction"],
                    help="induction: write a previous-token and an induction head into layers 0-1")
    ap.add_argument("--circuit", action="append", default=[], metavar="KEY=VALUE",
                    help="init_induction_circuit arguments (write_scale=0.3, match_margin=12, ...)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("bench/results/induction.json"))
    args = ap.parse_args()

    run_dir = args.run_dir
    saved = saved_config(run_dir)
    if not saved:
        sys.exit(f"{run_dir}/config.json is missing: not a chatforge run directory.")
    texts = _texts(run_dir)
    if args.words_from == "corpus":
        from chatforge.data import iter_documents

        texts = [d["text"] for d in iter_documents(run_dir / "data")]
    try:
        tok = Tokenizer.load(run_dir / "tokenizer")
        mcfg = load_config(None, [f"model.{kv}" for kv in args.model], saved=saved).model  # type-checked
    except UserError as e:
        sys.exit(str(e))
    mcfg = dataclasses.replace(mcfg, max_seq_len=max(mcfg.max_seq_len, args.seq_len))
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    words = sorted({w for t in texts for w in t.split() if w.isalpha()})
    model = GPT.build(mcfg, tok.n_vocab)
    if args.prev_head:
        prev_token_init(model)
    if args.init == "induction":
        from chatforge.model.circuits import init_induction_circuit

        kw = {k: float(v) for k, _, v in (c.partition("=") for c in args.circuit)}
        print("induction circuit:", init_induction_circuit(model, **kw))
    if args.qk_gain:
        if not mcfg.qk_norm:
            sys.exit("--qk-gain needs --model qk_norm=true")
        with torch.no_grad():
            for layer in model.layers:
                layer.attn.q_norm.weight.fill_(args.qk_gain)
                layer.attn.k_norm.weight.fill_(args.qk_gain)
    opt = build_optimizer(model, OptimConfig(name=args.optimizer, lr=args.lr, muon_lr=args.muon_lr))
    rows = ReadingRows(tok, words, args.seq_len, args.seed, args.max_words, args.max_gap, args.fixed)
    text = None
    if args.text_share > 0:
        from chatforge.train import shards as sh

        tokens_dir = run_dir / "pretrain" / "tokens"
        if sh.load_index(tokens_dir) is None:
            sys.exit(f"{tokens_dir} has no token shards: "
                     f"run `chatforge run --run-dir {run_dir} --until pretrain`.")
        n_text = max(1, round(args.batch * args.text_share))
        text = sh.TokenBatches(sh.open_split(tokens_dir, "train"), args.seq_len, n_text, args.seed)

    def next_rows(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs, targets); with --mask, an exercise's unpredictable targets are -1."""
        if text is None or step <= args.copy_first:
            r, keep = rows.batch(args.batch)
        else:
            x, y = text.next_batch()
            r = torch.cat([x, y[:, -1:]], dim=1)
            keep = torch.ones_like(r, dtype=torch.bool)
            n_copy = args.batch - r.shape[0]
            if n_copy > 0:
                c, k = rows.batch(n_copy)
                r, keep = torch.cat([r, c]), torch.cat([keep, k])
        y = r[:, 1:] if not args.mask else r[:, 1:].masked_fill(~keep[:, 1:], -1)
        return r[:, :-1], y

    print(f"model {model.num_params() / 1e6:.2f}M params ({mcfg.n_layer} layers, d {mcfg.d_model}, "
          f"{mcfg.n_head} heads); {len(words)} words; {args.optimizer} lr {args.lr}"
          f"{f' muon {args.muon_lr}' if args.optimizer == 'muon' else ''}; "
          f"batch {args.batch} x {args.seq_len}; "
          f"segments {'fixed ' + str(args.fixed) if args.fixed else f'3-{args.max_words}'} words")
    predicted = aoyama_tokens(args.batch, args.seq_len)
    print(f"Aoyama et al. predict induction after ~{predicted / 1e6:.1f}M tokens at batch x context "
          f"{args.batch} x {args.seq_len}")
    head = (f"{'step':>6} {'tokens':>8} {'loss':>7} {'first':>6} "
            + " ".join(f"{f'rep@gap{g}':>10}" for g in GAPS) + f" {'s':>6}")
    print(head)
    history = []
    t0 = time.perf_counter()

    def probe_now(step: int, loss: float) -> None:
        model.eval()
        with torch.no_grad():
            probe = copy_probe(model, tok, texts, rows=8, words=PROBE_WORDS, seed=1, gaps=GAPS)
        el = time.perf_counter() - t0
        tokens = step * args.batch * args.seq_len
        history.append({"step": step, "tokens": tokens, "loss": round(loss, 4), "seconds": round(el, 1),
                        "probe": {str(g): p for g, p in probe["by_gap"].items()}})
        cells = " ".join(f"{p['repeat']:>10.3f}" for p in probe["by_gap"].values())
        print(f"{step:>6} {tokens / 1e6:>7.2f}M {loss:>7.3f} {probe['first']:>6.3f} {cells} {el:>6.0f}",
              flush=True)

    probe_now(0, float("nan"))  # the initialisation (a built-in circuit shows here)
    for step in range(1, args.steps + 1):
        model.train()
        set_lr(opt, min(1.0, step / max(1, args.warmup)))
        x, y = next_rows(step)
        loss = model(x, targets=y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step % args.probe_every == 0 or step == args.steps:
            probe_now(step, loss.item())

    first_induction = next((h for h in history
                            if h["step"] > 0
                            and all(p["repeat"] >= p["first"] + 0.2 for p in h["probe"].values())), None)
    print("induction (repeat >= first + 0.20 at every distance): " + (
        f"from step {first_induction['step']} ({first_induction['tokens'] / 1e6:.2f}M tokens, "
        f"{first_induction['tokens'] / predicted:.2f}x the prediction)" if first_induction
        else f"not within {args.steps} steps ({args.steps * args.batch * args.seq_len / 1e6:.2f}M tokens)"))
    result = {
        "run_dir": str(run_dir), "machine": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
        "config": vars(args),
        "params": model.num_params(), "aoyama_tokens": predicted,
        "first_induction_step": first_induction["step"] if first_induction else None, "history": history,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out, result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
