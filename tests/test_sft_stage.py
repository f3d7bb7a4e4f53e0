"""The sft stage on the smoke run: outputs, the mixture's rules, and an exact resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")


def _read_jsonl(p: Path) -> list[dict]:
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def test_sft_outputs_and_metrics(smoke_run):
    out = smoke_run / "sft"
    m = json.loads((out / "metrics.json").read_text())
    for key in ("val_loss", "final_train_loss", "acc_knowledge_known_qa", "acc_knowledge_bio_only",
                "acc_identity", "acc_arithmetic", "acc_arithmetic_calculator", "acc_letters_python",
                "acc_search_unknown", "tools_off_obedience"):
        assert key in m, key
    assert m["val_loss"] is not None and m["val_loss"] == m["val_loss"]
    assert (out / "ckpt" / "latest.json").is_file() and (out / "ckpt" / "tokenizer").is_dir()
    assert "[[" in (out / "examples.txt").read_text()
    assert json.loads((out / "eval.json").read_text())["tasks"]


def test_mixture_follows_the_rules(smoke_run):
    from chatforge.tasks.people import eval_half
    from chatforge.world import load_world

    world = load_world(smoke_run / "world")
    train = _read_jsonl(smoke_run / "sft" / "mixture" / "train.jsonl")
    kinds = {c["kind"] for c in train}
    assert {"knowledge", "arithmetic", "calculator", "letters", "python", "identity", "search"} <= kinds
    off_limits = [p for p in world.people if p.group == "known-bio-only"
                  or (p.group == "unknown" and eval_half(p.id))]
    for c in train:
        text = json.dumps(c["messages"])
        system = next((m["content"] for m in c["messages"] if m["role"] == "system"), None)
        calls = [s for m in c["messages"] if m["role"] == "assistant" and isinstance(m["content"], list)
                 for s in m["content"] if s["type"] == "tool_call"]
        if c["kind"] in ("knowledge", "followup"):
            # QA is trained only for known-qa people; the user's question names the person
            asked = " ".join(m["content"] for m in c["messages"] if m["role"] == "user")
            assert not any(p.name in asked for p in off_limits), text
        if calls:  # tools only when the system prompt switches them on
            assert system == "Tools: calculator, python, search.", text
        if c["kind"] in ("calculator", "python", "search"):
            assert calls and all(s["tool"] == {"calculator": "calculator", "python": "python",
                                               "search": "search"}[c["kind"]] for s in calls)
        if c["kind"] == "search":
            asked = c["messages"][1]["content"]
            assert not any(p.name in asked for p in off_limits if p.group == "unknown"), text


def test_documents_join_the_mixture_as_plain_text(smoke_run):
    """sft.documents: biographies of the known people trained beside the conversations (mixed
    training), every token a target; the later stages' readers see only the conversations."""
    from chatforge.core.rundir import saved_config
    from chatforge.pipeline import load_config
    from chatforge.sft.mixture import build_mixture, conversations
    from chatforge.tokenizer import Tokenizer
    from chatforge.tune.finetune import rows_of
    from chatforge.world import load_world

    cfg = load_config(overrides=["sft.documents=6", "sft.val_fraction=0"], saved=saved_config(smoke_run))
    train, _, stats = build_mixture(smoke_run, cfg.sft, cfg.run.seed)
    docs = [c for c in train if c["kind"] == "document"]
    assert len(docs) == stats["counts"]["document"] == 6 and all(set(c) == {"kind", "text"} for c in docs)
    world = load_world(smoke_run / "world")
    by_text = {d["text"]: d for d in world.documents()}
    known = {p.id for p in world.people if p.group in ("known-qa", "known-bio-only")}
    for c in docs:  # a biography of a known person, never of someone the suite asks as unknown
        d = by_text[c["text"]]
        assert d["genre"] == "bio" and set(d["person_ids"]) <= known
    tok = Tokenizer.load(smoke_run / "tokenizer")
    rows = rows_of(docs[:1], tok, seq_len=1024)
    ids, mask = rows.ids[0].tolist(), rows.mask[0].tolist()
    n = 1 + len(tok.encode(docs[0]["text"]))
    assert ids[:n] == [tok.special("<|endoftext|>")] + tok.encode(docs[0]["text"])
    assert mask[:n] == [0] + [1] * (n - 1) and sum(mask) == n - 1
    # the written mixture's readers (probe, RL, distillation) get its conversations only
    mix = smoke_run / "sft" / "mixture"
    assert conversations(mix) == [c for c in _read_jsonl(mix / "train.jsonl") if "messages" in c]
    out = smoke_run.parent / "mix_with_docs"
    out.mkdir(exist_ok=True)
    (out / "train.jsonl").write_text("".join(json.dumps(c) + "\n" for c in train))
    assert conversations(out) == [c for c in train if c["kind"] != "document"]


def _copy_run(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for name in ("world", "data", "tokenizer", "pretrain", "tools"):
        if (src / name).exists():
            shutil.copytree(src / name, dst / name)
    shutil.copy(src / "config.json", dst / "config.json")
    return dst


def _sft(run_dir: Path, extra: list[str] = ()) -> int:
    from chatforge.cli import main

    return main(["--quiet", "sft", "--run-dir", str(run_dir), "--set", "sft.max_steps=4",
                 "--set", "sft.ckpt_every=2", "--set", "sft.eval_every=2", "--set", "sft.eval=false",
                 "--set", "run.threads=1", *extra])


@pytest.mark.parametrize("extra", [[], ["--set", "sft.reading_rows=2"]], ids=["plain", "reading"])
def test_sft_resumes_exactly(smoke_run, tmp_path, extra):
    """Also with reading exercises in every batch: their random state is in the checkpoint."""
    from chatforge.core.atomic import atomic_write_json

    a = _copy_run(smoke_run, tmp_path / "a")
    b = _copy_run(smoke_run, tmp_path / "b")
    assert _sft(a, extra) == 0
    assert _sft(b, extra) == 0
    # b "crashed" after its step-2 checkpoint: the step-4 file and the completion marker are gone
    ck = b / "sft" / "ckpt"
    (ck / "step_000004.pt").unlink()
    atomic_write_json(ck / "latest.json", {"step": 2, "file": "step_000002.pt"})
    (b / "sft" / "_COMPLETE.json").unlink()
    (b / "sft" / "metrics.json").unlink()
    assert _sft(b, extra) == 0
    wa = torch.load(a / "sft" / "ckpt" / "step_000004.pt", weights_only=True)
    wb = torch.load(ck / "step_000004.pt", weights_only=True)
    assert wa["step"] == wb["step"] == 4
    for k, v in wa["model"].items():
        assert torch.equal(v, wb["model"][k]), k
    ma = json.loads((a / "sft" / "metrics.json").read_text())
    mb = json.loads((b / "sft" / "metrics.json").read_text())
    assert ma["final_train_loss"] == mb["final_train_loss"] and ma["val_loss"] == mb["val_loss"]


def test_bad_reading_settings_are_one_line_errors(smoke_run, tmp_path, capsys):
    run = _copy_run(smoke_run, tmp_path / "bad")
    for bad in ("sft.reading_rows=-1", "sft.reading_passages=2"):
        assert _sft(run, ["--set", bad]) == 2
        err = capsys.readouterr().err
        assert "sft.reading" in err and "Traceback" not in err
    assert not (run / "sft" / "_COMPLETE.json").exists()
