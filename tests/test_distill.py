"""Distillation: the divergences on tiny examples (zero at the teacher, the right gradient sign,
T^2 scaling, top-k == full when k = V), the white-box tokenizer check, and the stage on the smoke
run: every arm, the table, a text teacher behind `chatforge serve`, bad settings. (Importing a
GGUF that `chatforge export` wrote gives back the same weights: tests/test_import.py.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

KINDS = ("forward", "reverse", "jsd")


@pytest.mark.parametrize("kind", KINDS)
def test_divergence_is_zero_at_the_teacher_and_pulls_the_student_towards_it(kind):
    from chatforge.distill.losses import divergence

    g = torch.Generator().manual_seed(0)
    t = torch.randn(3, 5, 11, generator=g)
    assert divergence(t.clone(), t, kind, temperature=2.0).abs().max() < 1e-6
    s = torch.randn(3, 5, 11, generator=g)
    assert (divergence(s, t, kind) > 0).all()

    # teacher sure of token 0, student uniform: descending the gradient raises the student's logit 0
    # and lowers the others
    teacher = torch.tensor([[4.0, 0.0, 0.0]])
    student = torch.zeros(1, 3, requires_grad=True)
    divergence(student, teacher, kind).sum().backward()
    assert student.grad[0, 0] < 0 and (student.grad[0, 1:] > 0).all()
    with torch.no_grad():
        stepped = student - 0.5 * student.grad
    assert divergence(stepped, teacher, kind) < divergence(student.detach(), teacher, kind)


def test_forward_kl_value_temperature_and_top_k():
    from chatforge.distill.losses import divergence, topk_forward_kl

    p, q = torch.tensor([0.7, 0.2, 0.1]), torch.tensor([0.2, 0.5, 0.3])
    want = float((p * (p / q).log()).sum())
    assert float(divergence(q.log(), p.log(), "forward")) == pytest.approx(want, rel=1e-5)
    assert float(divergence(p.log(), q.log(), "reverse")) == pytest.approx(want, rel=1e-5)  # KL(p||q) again
    jsd = float(divergence(q.log(), p.log(), "jsd", beta=0.5))
    m = (p + q) / 2
    assert jsd == pytest.approx(float(0.5 * (p * (p / m).log()).sum() + 0.5 * (q * (q / m).log()).sum()),
                                rel=1e-5)
    # T: both distributions softened by the same T (a flatter pair differs less)
    assert float(divergence(q.log(), p.log(), "forward", temperature=3.0)) < want
    # top-k with k = V is the full forward KL; a smaller k renormalises the teacher over its top k
    g = torch.Generator().manual_seed(1)
    s, t = torch.randn(4, 9, generator=g), torch.randn(4, 9, generator=g)
    logp = torch.log_softmax(t / 2.0, -1)
    vals, idx = logp.topk(9, -1)
    assert torch.allclose(topk_forward_kl(s, vals, idx, 2.0), divergence(s, t, "forward", 2.0), atol=1e-5)
    vals, idx = logp.topk(3, -1)
    assert (topk_forward_kl(s, vals, idx, 2.0) >= 0).all()


def test_the_loss_mixes_kd_and_cross_entropy_with_t_squared():
    import types

    from chatforge.distill.losses import make_loss

    torch.manual_seed(0)

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(7, 7)

        def forward(self, x):
            return self.emb(x)
    student, teacher = Tiny(), Tiny()
    x = torch.randint(0, 7, (2, 5))
    y = torch.randint(0, 7, (2, 5))
    mask = torch.ones(2, 5)
    mask[0, :2] = 0
    per_token = torch.nn.functional.cross_entropy(student(x).detach().transpose(1, 2), y, reduction="none")
    ce = float(per_token[mask > 0].mean())

    def loss(alpha, T, teacher_model=teacher):
        cfg = types.SimpleNamespace(temperature=T, alpha=alpha, divergence="forward", jsd_beta=0.5)
        stats = {}
        value, n = make_loss(teacher_model, cfg, "cpu", stats)(student, (x, y, mask))
        return float(value.detach()), n, stats["kd"]
    v, n, _ = loss(0.0, 2.0)
    assert n == 8 and v == pytest.approx(ce, rel=1e-5)  # alpha 0: the ordinary loss
    v, _, kd = loss(1.0, 2.0)
    assert v == pytest.approx(4.0 * kd, rel=1e-5) and kd > 0  # alpha 1: T^2 * KD
    assert loss(1.0, 1.0, teacher_model=student)[0] == pytest.approx(0.0, abs=1e-6)  # student == teacher
    # an on-policy batch (the student's own tokens): only the divergence, over its mask
    cfg = types.SimpleNamespace(temperature=1.0, alpha=0.5, divergence="reverse", jsd_beta=0.5)
    ids = torch.randint(0, 7, (2, 6))
    stats = {}
    v, n = make_loss(teacher, cfg, "cpu", stats)(student, {"ids": ids, "mask": mask})
    assert n == 8 and float(v) == pytest.approx(stats["kd"], rel=1e-6) and stats["onpolicy"]


def test_document_loss_counts_every_token():
    from chatforge.distill.losses import divergence, document_loss

    torch.manual_seed(1)
    student, teacher = torch.nn.Embedding(7, 7), torch.nn.Embedding(7, 7)
    x, y = torch.randint(0, 7, (2, 5)), torch.randint(0, 7, (2, 5))
    with torch.no_grad():
        ce = float(torch.nn.functional.cross_entropy(student(x).flatten(0, 1), y.flatten()))
        kd = float(divergence(student(x), teacher(x), "forward", 2.0).mean())
    with torch.no_grad():
        assert float(document_loss(teacher, 0.0, 2.0)(student, x, y)) == pytest.approx(ce, rel=1e-5)
        assert (float(document_loss(teacher, 1.0, 2.0)(student, x, y)) == pytest.approx(4 * kd, rel=1e-5)
                and kd > 0)
        assert (float(document_loss(teacher, 0.25, 2.0)(student, x, y))
                == pytest.approx(0.25 * 4 * kd + 0.75 * ce, rel=1e-5))
        assert float(document_loss(student, 1.0, 1.0)(student, x, y)) == pytest.approx(0.0, abs=1e-6)
    # the gradient pulls the student towards the teacher
    loss = document_loss(teacher, 1.0, 1.0)(student, x, y)
    loss.backward()
    with torch.no_grad():
        student.weight -= 0.5 * student.weight.grad
        assert float(divergence(student(x), teacher(x), "forward", 1.0).mean()) < float(loss.detach())


def test_white_box_needs_one_tokenizer(smoke_run):
    from chatforge.core.errors import UserError
    from chatforge.distill.models import check_white_box
    from chatforge.tokenizer import Tokenizer

    tok = Tokenizer.load(smoke_run / "tokenizer")
    check_white_box(tok, Tokenizer.load(smoke_run / "tokenizer"), "logits")
    ranks = dict(tok.ranks)
    ranks.pop(max(ranks, key=ranks.get))
    other = Tokenizer(ranks, tok.special_tokens, pattern=tok.pattern, name="other")
    with pytest.raises(UserError, match="share a tokenizer.*--method text"):
        check_white_box(tok, other, "on-policy")


def _distill(run, *args):
    return subprocess.run([sys.executable, "-m", "chatforge", "distill", "--run-dir", str(run), *args],
                          capture_output=True, text=True, timeout=600)


def test_distill_stage_on_the_smoke_run(smoke_run, tmp_path):
    d = smoke_run / "distill"
    m = json.loads((d / "metrics.json").read_text())
    assert m["method"] == "logits" and m["steps"] == 4 and m["teacher"].startswith(str(smoke_run / "rl"))
    row = m["table"]["logits"]
    teacher_params = m["teacher_row"]["params"]
    assert row["params"] < teacher_params / 4 and row["params_vs_teacher"] < 0.25
    assert row["tokens_per_s"] > 0 and m["teacher_row"]["tokens_per_s"] > 0 and row["val_loss"] > 0
    assert set(row["scores"]) >= {"knowledge_known_qa", "arithmetic", "letters", "identity", "letters_python"}
    assert (d / "ckpt" / "latest.json").is_file() and (d / "base" / "ckpt" / "latest.json").is_file()
    base = torch.load(next((d / "base" / "ckpt").glob("step_*.pt")), weights_only=False)["model_config"]
    assert (base["n_layer"], base["d_model"]) == (1, 32)  # the smoke preset's student shape

    # every other arm, from the same start (a student checkpoint: no base pretraining), the same steps
    run = tmp_path / "run"
    shutil.copytree(smoke_run, run, ignore=shutil.ignore_patterns("distill"))
    args = ["--student", str(d / "base"), "--compare", "scratch,text,on-policy,logits-topk",
            "--set", "distill.divergence=jsd"]
    r = _distill(run, *args)
    assert r.returncode == 0, r.stderr
    assert "pretraining the student base" not in r.stdout + r.stderr
    m2 = json.loads((run / "distill" / "metrics.json").read_text())
    assert set(m2["table"]) == {"logits", "scratch", "text", "on-policy", "logits-topk"}
    assert all(t["steps"] == 4 for t in m2["training"].values())
    topk = m2["training"]["logits-topk"]["topk"]
    assert topk["teacher_row_forwards"] == topk["rows"] <= topk["rows_served"]
    assert topk["bytes"] < topk["bytes_full_logits_fp16"]  # k = 64 of 512 here (4x); 32x at vocab 4096
    assert m2["training"]["on-policy"]["onpolicy_batches_this_process"] >= 1
    text = [json.loads(x) for x in (run / "distill" / "text" / "train.jsonl").read_text().splitlines()]
    assert text and all(c["messages"][-1]["role"] == "assistant" for c in text)
    for arm in ("scratch", "text", "on-policy", "logits-topk"):
        assert (run / "distill" / "arms" / arm / "ckpt" / "latest.json").is_file()
    r = _distill(run, *args)
    assert r.returncode == 0 and "complete, skipping" in r.stdout + r.stderr

    # a student base that learns the documents from the run's pretrain model too (base_alpha)
    run2 = tmp_path / "run2"
    shutil.copytree(smoke_run, run2, ignore=shutil.ignore_patterns("distill"))
    r = _distill(run2, "--compare", "", "--set", "distill.base_alpha=0.5")
    assert r.returncode == 0, r.stderr
    assert f"learns the documents from {run2 / 'pretrain' / 'ckpt'}" in r.stdout + r.stderr
    assert (run2 / "distill" / "base" / "done.json").is_file()
    assert json.loads((run2 / "distill" / "metrics.json").read_text())["table"]["logits"]["val_loss"] > 0


def test_text_teacher_behind_an_openai_endpoint(smoke_run, tmp_path):
    from chatforge.cli import main
    from chatforge.serve.app import App, start_in_thread
    from chatforge.serve.config import ServeConfig
    from chatforge.serve.models import Models

    app = App(ServeConfig(max_tokens=64, default_max_tokens=16), Models(smoke_run, None), smoke_run)
    srv, url = start_in_thread(app)
    try:
        run = tmp_path / "run"
        shutil.copytree(smoke_run, run, ignore=shutil.ignore_patterns("distill"))
        rc = main(["--quiet", "distill", "--run-dir", str(run), "--method", "text", "--teacher-url", url,
                   "--compare", ""])
    finally:
        srv.shutdown()
        app.close()
    assert rc == 0
    convs = [json.loads(x) for x in (run / "distill" / "text" / "train.jsonl").read_text().splitlines()]
    assert convs and all(isinstance(c["messages"][-1]["content"], str) for c in convs)  # text only
    assert json.loads((run / "distill" / "metrics.json").read_text())["method"] == "text"


@pytest.mark.parametrize("args,words", [
    (["--set", "distill.method=dark"], "distill.method must be"),
    (["--compare", "magic"], "unknown arm 'magic'"),
    (["--set", "distill.divergence=reverse", "--set", "distill.top_k=8"], "forward KL only"),
    (["--set", "distill.jsd_beta=1"], "jsd_beta"),
    (["--teacher", "/nonexistent/ckpt"], "does not exist"),
    (["--set", "distill.base_alpha=0.5", "--set", "distill.base_teacher=/nonexistent/base"],
     "does not exist"),
    (["--set", "distill.base_alpha=2"], "base_alpha"),
    (["--method", "text", "--teacher-url", "http://127.0.0.1:9", "--compare", ""], "cannot be reached"),
])
def test_bad_distill_settings_are_one_sentence(smoke_run, tmp_path, args, words):
    run = tmp_path / "run"
    shutil.copytree(smoke_run, run, ignore=shutil.ignore_patterns("distill"))
    r = _distill(run, *args)
    assert r.returncode != 0 and words in r.stderr and "Traceback" not in r.stderr


def test_on_policy_batches_resume_exactly(smoke_run, one_thread):
    """The on-policy batch source: a share of steps are the student's samples (only its own,
    non-forced tokens in the mask); from a saved state it yields the same batches again."""
    from chatforge.chat.render import render
    from chatforge.distill.onpolicy import OnPolicy, OnPolicyBatches, prompts_of
    from chatforge.tokenizer import Tokenizer
    from chatforge.tools.training import training_executor
    from chatforge.train.checkpoint import load_model
    from chatforge.tune.pack import RowBatches, pack

    tok = Tokenizer.load(smoke_run / "tokenizer")
    model, _, _ = load_model(smoke_run / "distill" / "ckpt")
    convs = [json.loads(x) for x in (smoke_run / "sft" / "mixture" / "train.jsonl").read_text().splitlines()]
    rows = pack([(r.ids, r.mask) for r in (render(c["messages"], tok) for c in convs)], 128,
                tok.special("<|pad|>"))

    def source():
        return OnPolicyBatches(RowBatches(rows, 2, seed=3), model, tok, prompts_of(convs),
                               OnPolicy(0.5, 2, 1.0, 12), seed=3, execute=training_executor(smoke_run))
    a = source()
    for _ in range(3):
        a.next_batch()
    state = json.loads(json.dumps(a.state_dict()))
    first = [a.next_batch() for _ in range(5)]
    kinds = [isinstance(b, dict) for b in first]
    assert any(kinds) and not all(kinds)  # both kinds of step
    for b in first:
        if isinstance(b, dict):
            assert b["ids"].shape[1] - 1 == b["mask"].shape[1] and b["mask"].sum() > 0
    b = source()
    b.load_state_dict(state)
    again = [b.next_batch() for _ in range(5)]
    for x, y in zip(first, again):
        if isinstance(x, dict):
            assert torch.equal(x["ids"], y["ids"]) and torch.equal(x["mask"], y["mask"])
        else:
            assert all(torch.equal(p, q) for p, q in zip(x, y))
