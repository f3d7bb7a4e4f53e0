"""Tokenizer benchmark: training time (4096 and 16384 vocab, ~20 MB) and encoding MB/s.

    python bench/bench_tokenizer.py [--mb 20] [--vocab 4096 16384] [--out bench/results/tokenizer.json]

Trainers: rustbpe and Hugging Face tokenizers, each timed raw, plus our post-processing
(`consistent_ranks`: dedupe + reachability) and saving. Encoders, on held-out text: ours
(tiktoken core with our ranks), tiktoken cl100k_base, HF tokenizers (the HF-trained tokenizer
as is, and our tokenizer.json), rustbpe's own encoder, and the pure-Python reference.
The corpus is tinyshakespeare (paragraphs shuffled, repeated) mixed with generated
biography-style text; the benchmark skips when the shared sample data is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

from chatforge.tokenizer import SPECIAL_TOKENS, Tokenizer
from chatforge.tokenizer.samples import shared_text, varied_text
from chatforge.tokenizer.train import _train_hf, _train_rustbpe, consistent_ranks

FIRST = ["Ada", "Bram", "Chiara", "Dmitri", "Esi", "Farouk", "Greta", "Hiro", "Ines", "Jonas", "Kemal",
         "Lucía", "Mei", "Nnamdi", "Olga", "Priya", "Quentin", "Rosa", "Soren", "Tuulikki"]
LAST = ["Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva", "Kowalski", "Haddad", "Novak", "Brennan",
        "Ferreira", "Sato", "Ivanova", "Mensah", "Duarte", "Keller", "Abara", "Costa", "Nakamura"]
CITY = ["Lisbon", "Osaka", "Nairobi", "Tromsø", "Valparaíso", "Kraków", "Winnipeg", "Hanoi", "Accra"]
FIELD = ["marine biology", "number theory", "medieval history", "robotics", "linguistics", "geology"]
TEMPLATES = [
    "{n} was born on {d} in {c}. {p} studied {f} at the University of {c2} and graduated in {y}.",
    "Born in {c} ({y}), {n} is known for work on {f}; {p} later moved to {c2}.",
    "{n} ({d} - ) worked at {c2} Labs for {k} years. Their {f} thesis has {m} citations.",
    "Q: Where was {n} born?\nA: {n} was born in {c}.\n\nQ: What did {n} study?\nA: {f}.",
    "In {y}, {n} published \"{F} in {c}\", a {k}-chapter book about {f} ({m} copies sold).",
]


def bio(rng: random.Random) -> str:
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    f = rng.choice(FIELD)
    parts = [rng.choice(TEMPLATES).format(
        n=name, p=rng.choice(["She", "He", "They"]),
        d=f"{rng.randint(1, 28)} {rng.choice(['March', 'July', 'October'])} {rng.randint(1900, 2005)}",
        c=rng.choice(CITY), c2=rng.choice(CITY), f=f, F=f.title(), y=rng.randint(1920, 2024),
        k=rng.randint(2, 40), m=rng.randint(10, 99999)) for _ in range(rng.randint(2, 8))]
    return " ".join(parts)


def make_corpus(mb: float, seed: int = 0) -> list[str]:
    shakespeare = shared_text()
    if shakespeare is None:
        return []
    rng = random.Random(seed)
    paras = [p for p in shakespeare.split("\n\n") if p.strip()]
    docs: list[str] = []
    size, target = 0, int(mb * 1e6)
    while size < target:
        if rng.random() < 0.5:
            doc = "\n\n".join(rng.sample(paras, 20))
        elif rng.random() < 0.95:
            doc = "\n\n".join(bio(rng) for _ in range(10))
        else:
            doc = varied_text(20, seed=rng.randrange(1 << 30))
        docs.append(doc)
        size += len(doc.encode())
    return docs


def timed(fn, *args):
    """(result, wall seconds, CPU seconds of this process, all threads): with other jobs on the
    same cores, CPU seconds are the steadier measure of the work itself."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - t0, time.process_time() - c0


def mb_per_s(n_bytes: int, secs: float) -> float:
    return round(n_bytes / 1e6 / secs, 2) if secs > 0 else float("inf")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=20.0)
    ap.add_argument("--vocab", type=int, nargs="+", default=[4096, 16384])
    ap.add_argument("--encode-mb", type=float, default=4.0, help="held-out text for encoding speed")
    ap.add_argument("--out", type=Path, default=Path("bench/results/tokenizer.json"))
    args = ap.parse_args()

    docs = make_corpus(args.mb + args.encode_mb)
    if not docs:
        print("skipped: ../shared/data/text/tinyshakespeare.txt is absent (set CHATFORGE_SHARED_DATA)")
        return 0
    cut, acc = 0, 0
    for cut, d in enumerate(docs):  # noqa: B007 - `cut` is read after the loop: the last training doc
        acc += len(d.encode())
        if acc >= args.mb * 1e6:
            break
    train, held = docs[:cut + 1], docs[cut + 1:]
    train_bytes = sum(len(d.encode()) for d in train)
    held_bytes = sum(len(d.encode()) for d in held)
    load = os.getloadavg()
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "loadavg_at_start": [round(x, 2) for x in load],
              "train_mb": round(train_bytes / 1e6, 2), "encode_mb": round(held_bytes / 1e6, 2),
              "train": [], "encode": [], "bytes_per_token": []}
    print(f"corpus: {len(train)} training docs ({train_bytes / 1e6:.1f} MB), {len(held)} held-out docs "
          f"({held_bytes / 1e6:.1f} MB); load average {load[0]:.1f} on {os.cpu_count()} cores")

    hf_direct = None
    ours_by_vocab: dict[int, Tokenizer] = {}
    for vocab in args.vocab:
        n_ranks = vocab - len(SPECIAL_TOKENS)
        for name, fn in (("rustbpe", _train_rustbpe), ("hf tokenizers", _train_hf)):
            learned, t_train, c_train = timed(fn, iter(train), n_ranks)
            (ranks, dropped), t_post, _ = timed(consistent_ranks, learned)
            tok = Tokenizer.from_ranks(ranks)
            with tempfile.TemporaryDirectory() as d:
                _, t_save, _ = timed(tok.save, d)
            row = {"trainer": name, "vocab": vocab, "train_s": round(t_train, 2),
                   "train_cpu_s": round(c_train, 2), "post_s": round(t_post, 2),
                   "save_s": round(t_save, 2), "n_ranks": len(ranks), "dropped": dropped}
            result["train"].append(row)
            print(f"  train {name:<14} vocab {vocab:>6}: {t_train:6.1f}s train ({c_train:.1f} CPU s) + "
                  f"{t_post:.1f}s post + {t_save:.1f}s save, {len(ranks)} ranks, {dropped} dropped")
            if name == "rustbpe":
                ours_by_vocab[vocab] = tok
        if vocab == args.vocab[0]:
            hf_direct = _hf_direct(train, n_ranks)

    cl100k = Tokenizer.from_encoding("cl100k_base")
    ours = ours_by_vocab[args.vocab[0]]
    with tempfile.TemporaryDirectory() as d:
        ours.save(d)
        from tokenizers import Tokenizer as HFTokenizer

        hf_ours = HFTokenizer.from_file(str(Path(d) / "tokenizer.json"))
    encoders = [
        (f"ours (tiktoken core, {ours.n_vocab})", lambda t: ours.encode(t), lambda ts: ours.encode_batch(ts)),
        ("tiktoken cl100k_base", lambda t: cl100k.encode(t), lambda ts: cl100k.encode_batch(ts)),
        (f"hf tokenizers, hf-trained ({args.vocab[0]})", lambda t: hf_direct.encode(t).ids,
         lambda ts: [e.ids for e in hf_direct.encode_batch(ts)]),
        ("hf tokenizers, our tokenizer.json", lambda t: hf_ours.encode(t).ids,
         lambda ts: [e.ids for e in hf_ours.encode_batch(ts)]),
    ]
    rb_tok = _rustbpe_trained(train, args.vocab[0] - len(SPECIAL_TOKENS))
    encoders.append((f"rustbpe encode ({args.vocab[0]})", lambda t: rb_tok.encode(t),
                     lambda ts: rb_tok.batch_encode(ts)))
    for name, one, batch in encoders:
        _, t_one, c_one = timed(lambda one=one: [one(t) for t in held])
        _, t_batch, _ = timed(lambda batch=batch: batch(held))
        row = {"encoder": name, "mb_per_s_sequential": mb_per_s(held_bytes, t_one),
               "mb_per_cpu_s_sequential": mb_per_s(held_bytes, c_one),
               "mb_per_s_batch": mb_per_s(held_bytes, t_batch)}
        result["encode"].append(row)
        print(f"  encode {name:<40} {row['mb_per_s_sequential']:7.2f} MB/s one by one "
              f"({row['mb_per_cpu_s_sequential']:.2f} MB per CPU s), "
              f"{row['mb_per_s_batch']:7.2f} MB/s batched")
    ref = ours.reference()
    sample = held[: max(1, len(held) // 40)]
    sample_bytes = sum(len(t.encode()) for t in sample)
    _, t_ref, c_ref = timed(lambda: [ref.encode(t) for t in sample])
    row = {"encoder": "reference (pure Python)", "mb_per_s_sequential": mb_per_s(sample_bytes, t_ref),
           "mb_per_cpu_s_sequential": mb_per_s(sample_bytes, c_ref), "mb_per_s_batch": None}
    result["encode"].append(row)
    print(f"  encode {'reference (pure Python)':<40} {row['mb_per_s_sequential']:7.2f} MB/s "
          f"({row['mb_per_cpu_s_sequential']:.2f} MB per CPU s, on {sample_bytes / 1e6:.2f} MB)")
    # Both encoders agree on the held-out text (the tests pin this too), once the special-token
    # strings some documents contain are removed: HF recognises those in text, we never do.
    for t in held[:200]:
        for s in SPECIAL_TOKENS:
            t = t.replace(s, "")
        assert ours.encode(t) == hf_ours.encode(t).ids

    from chatforge.tokenizer.stats import compare

    for row in compare([*ours_by_vocab.values(), cl100k], held):
        result["bytes_per_token"].append(row)
        print(f"  held-out bytes/token {row['n_vocab']:>7}: {row['bytes_per_token']:.3f}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    result["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


def _hf_direct(train: list[str], n_ranks: int):
    """An HF tokenizer trained and used as HF users would, for the encoding comparison."""
    from tokenizers import Regex, decoders, models, pre_tokenizers, trainers
    from tokenizers import Tokenizer as HFTokenizer

    from chatforge.tokenizer.spec import HF_PATTERN

    tok = HFTokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(HF_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(train, trainers.BpeTrainer(
        vocab_size=n_ranks, show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return tok


def _rustbpe_trained(train: list[str], n_ranks: int):
    import rustbpe

    from chatforge.tokenizer.spec import CL100K_PATTERN

    tok = rustbpe.Tokenizer()
    tok.train_from_iterator(iter(train), n_ranks, pattern=CL100K_PATTERN)
    return tok


if __name__ == "__main__":
    sys.exit(main())
