"""`chatforge eval` over every checkpoint of a run: the table, what it reuses, and the paired test."""

from __future__ import annotations

import json
import math
import shutil

import pytest

pytest.importorskip("torch")


def test_mcnemar_counts_only_the_items_two_models_disagree_on():
    from chatforge.eval.stats import mcnemar

    a = [1] * 50 + [0] * 50
    b = list(a)
    assert mcnemar(a, b) == 1.0  # the same answers: no evidence of a change
    # 8 items only b gets right, 1 only a gets right: two-sided binomial tail 2 * (1 + 9) / 2**9
    b = [1] * 50 + [1] * 8 + [0] * 42
    b[0] = 0
    assert mcnemar(a, b) == pytest.approx(20 / 512)
    assert mcnemar(b, a) == pytest.approx(20 / 512)
    # 50% -> 57% with 57 disagreements (32 up, 25 down): noise, though the gap looks the same
    d = [1] * 25 + [0] * 25 + [1] * 32 + [0] * 18
    assert sum(d) == 57 and mcnemar(a, d) > 0.4
    with pytest.raises(ValueError):
        mcnemar([1], [1, 0])


@pytest.fixture(scope="module")
def run(smoke_run, tmp_path_factory):
    dst = tmp_path_factory.mktemp("evalboard") / "run"
    shutil.copytree(smoke_run, dst, ignore=shutil.ignore_patterns("eval"))
    return dst


def test_eval_table_over_the_smoke_runs_checkpoints(run, capsys, one_thread):
    from chatforge.cli import main

    assert main(["eval", "--run-dir", str(run)]) == 0
    out = capsys.readouterr().out
    m = json.loads((run / "eval" / "metrics.json").read_text())
    names = [r["name"] for r in m["rows"]]
    found = sorted(p.parent.parent.name for p in run.glob("*/ckpt/latest.json")
                   if not p.parent.parent.name.endswith(".prev"))
    assert sorted(names) == found  # every checkpoint of the run (rlhf, distill too once they exist) ...
    assert names[:4] == ["pretrain", "sft", "probe", "rl"]  # ... in pipeline order
    base, chats = m["rows"][0], m["rows"][1:4]
    assert base["kind"] == "base" and base["tasks"] == {} and base["copy_far"] is not None
    pre = json.loads((run / "pretrain" / "metrics.json").read_text())
    assert base["val_bpb"] == pre["val_bpb"] and base["source"]["val_bpb"] == "pretrain/metrics.json"
    # what the stages measured on their final checkpoints with these items is reused, not redone
    assert chats[0]["source"]["suite"] == "sft/eval.json"
    assert chats[2]["source"]["suite"] == "rl/eval_suite.json"
    for r in chats:
        assert r["kind"] == "chat" and math.isfinite(r["val_bpb"]) and r["val_bpb"] > 0
        assert set(r["tasks"]) >= {"knowledge_known_qa", "identity", "letters", "refusal_unknown"}
        for name, t in r["tasks"].items():
            lo, hi = t["ci95"]
            assert lo <= t["accuracy"] <= hi and t["n"] == (2 if name == "tools_off" else 3)
        assert 0 <= r["gold"]["ci95"][0] <= r["gold"]["mean"] <= r["gold"]["ci95"][1] <= 1
    rm = (json.loads((run / "rm" / "metrics.json").read_text()) if (run / "rm" / "metrics.json").is_file()
          else None)
    if rm:  # the reward model's held-out accuracy, as its stage measured it; the rm is no chat model
        assert m["reward_model"]["accuracy"] == rm["heldout"]["strict"] and "rm" not in names
    # the probe row is compared with sft's on the same items
    assert all(t["vs_prev"]["name"] == "sft" for t in chats[1]["tasks"].values() if "vs_prev" in t)
    table = (run / "eval" / "table.md").read_text()
    assert table.count("\n| ") == len(names) and "[" in table and "McNemar" in table
    # the terminal shows the same cells on their side: a line per measure, a column per checkpoint
    lines = {ln.split("  ")[0]: ln for ln in out.splitlines()}
    assert "pretrain (base)" in lines["checkpoint"] and "rl" in lines["checkpoint"]
    assert lines["identity"].count("[") == len(names) - 1  # every chat model, not the base
    # the same suite on the stage's own report and on a fresh measurement agree
    stage = json.loads((run / "sft" / "eval.json").read_text())
    assert chats[0]["tasks"]["identity"]["correct"] == stage["tasks"]["identity"]["correct"]

    # a second run reuses eval/<name>.json (the other checkpoints' cached rows stay in the table);
    # a changed checkpoint is measured again
    assert main(["eval", "--run-dir", str(run), "--only", "sft,probe"]) == 0
    again = json.loads((run / "eval" / "metrics.json").read_text())
    assert [r["name"] for r in again["rows"]] == names and all(r["cached"] for r in again["rows"])
    rec = json.loads((run / "eval" / "sft.json").read_text())
    rec["key"]["sha256"] = "0" * 64  # as if the checkpoint had been trained again
    (run / "eval" / "sft.json").write_text(json.dumps(rec))
    assert main(["eval", "--run-dir", str(run), "--only", "sft"]) == 0
    rows = {r["name"]: r for r in json.loads((run / "eval" / "metrics.json").read_text())["rows"]}
    assert not rows["sft"]["cached"] and rows["probe"]["cached"] and len(rows) == len(names)


def test_a_stage_report_on_other_items_is_not_reused(run, one_thread):
    from chatforge.cli import main

    assert main(["eval", "--run-dir", str(run), "--only", "sft", "--items", "2", "--tasks", "identity",
                 "--force"]) == 0
    rows = json.loads((run / "eval" / "metrics.json").read_text())["rows"]
    assert [r["name"] for r in rows] == ["sft"]  # no other row is cached for these items
    row = rows[0]
    assert row["source"]["suite"] == "computed" and list(row["tasks"]) == ["identity"]
    assert row["tasks"]["identity"]["n"] == 2


def test_eval_bad_input_is_one_sentence(run, capsys):
    from chatforge.cli import main

    assert main(["eval", "--run-dir", str(run), "--only", "nope"]) == 2
    assert "no checkpoint named 'nope'" in capsys.readouterr().err
    assert main(["eval", "--run-dir", str(run), "--items", "0"]) == 2
    assert main(["eval", "--run-dir", str(run), "--tasks", "nope"]) == 2
    assert main(["eval", "--run-dir", str(run / "missing")]) == 2


def test_bits_per_byte_in_another_tokenizer_measure_the_same_text(run, one_thread):
    """An imported model reads the held-out documents in its own tokens; with the run's own
    tokenizer that path must give the shards' figure exactly (the same ids, re-encoded)."""
    from chatforge.core.atomic import read_json
    from chatforge.eval.bpb import val_bpb, val_texts
    from chatforge.pipeline import load_config
    from chatforge.tokenizer import Tokenizer
    from chatforge.train import shards as sh
    from chatforge.train.checkpoint import load_model

    cfg = load_config(None, [], saved=read_json(run / "config.json"))
    model, tok_dir, _ = load_model(run / "pretrain" / "ckpt")
    tok = Tokenizer.load(tok_dir)
    exact = val_bpb(model, tok, tok_dir, run, cfg)
    retok = val_bpb(model, tok, None, run, cfg)  # no tokenizer folder to compare: the text path
    pre = json.loads((run / "pretrain" / "metrics.json").read_text())
    assert exact[0] == pytest.approx(pre["val_bpb"], abs=1e-4)
    assert retok[0] == pytest.approx(exact[0], abs=1e-9) and retok[1] == pytest.approx(exact[1], abs=1e-9)
    tokens = run / "pretrain" / "tokens"
    texts = val_texts(run, sh.open_split(tokens, "val"), sh.load_index(tokens)["bos_id"])
    assert len(texts) == sh.load_index(tokens)["docs"]["val"] and all(texts)


def test_checkpoints_named_on_the_command_line(run):
    from chatforge.eval.board import named, run_checkpoints

    ckpt = run / "pretrain" / "ckpt"
    steps = sorted(ckpt.glob("step_*.pt"))
    latest = json.loads((ckpt / "latest.json").read_text())["file"]
    got = named([ckpt / latest, run / "sft", *[s for s in steps if s.name != latest][:1]])
    assert list(got)[:2] == ["pretrain", "sft"]  # the latest file of a stage is that stage
    for s in steps:
        if s.name != latest:  # an earlier step gets its own name, so its row and cache stay apart
            assert got[f"pretrain@{int(s.stem[5:])}"] == s
            break
    assert named([run / "sft", run / "sft" / "ckpt"]) == {"sft": run / "sft", "sft-2": run / "sft" / "ckpt"}
    assert "rm" not in run_checkpoints(run)


def test_a_moved_aside_stage_is_not_a_checkpoint(tmp_path):
    """The protocol moves a stage's old outputs to <stage>.prev/ when its config changes: not a model."""
    from chatforge.eval.board import run_checkpoints

    for name in ("sft", "sft.prev", "distill.prev", "smollm2"):
        (tmp_path / name / "ckpt").mkdir(parents=True)
        (tmp_path / name / "ckpt" / "latest.json").write_text("{}")
    assert list(run_checkpoints(tmp_path)) == ["sft", "smollm2"]
