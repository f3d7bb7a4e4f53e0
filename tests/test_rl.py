"""RL: advantages, masking and the skip rule on a hand-made batch; pass@k; the blind guesser;
the stage on the smoke run (both methods), its outputs, exact resume and bad settings."""

from __future__ import annotations

import copy
import json
import math
import shutil
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")


def _sample(group, prompt, tokens, forced, reward):
    from chatforge.rl.rollout import Sample

    return Sample(group, prompt, tokens, forced, "", [], True, reward)


def test_advantages_masking_and_the_skip_rule_on_a_hand_made_batch():
    from chatforge.rl.grpo import advantages, build_rows, policy_loss

    assert advantages([1, 1, 1]) is None and advantages([0.0, 0.0]) is None  # no signal
    assert advantages([1, 0, 0, 1]) == [0.5, -0.5, -0.5, 0.5]
    a = advantages([1, 0, 0, 0], std_scale=True)
    assert a == pytest.approx([1.5, -0.5, -0.5, -0.5], rel=1e-4)  # (r - mean) / std, std = 0.5
    groups = [
        [_sample(0, [1, 2], [5, 6, 7], [False, False, False], 1.0),
         _sample(0, [1, 2], [8, 9], [False, False], 0.0)],
        [_sample(1, [3], [4, 4], [False, False], 1.0),  # all right: skipped
         _sample(1, [3], [4], [False], 1.0)],
        [_sample(2, [1, 2, 3], [10, 11, 12, 13], [False, True, True, False], 0.0),  # a tool result inside
         _sample(2, [1, 2, 3], [10, 13], [False, False], 1.0)],
    ]
    b = build_rows(groups, std_scale=False, pad=0)
    assert b["stats"] == {"groups": 3, "skipped": 1, "rows": 4}
    assert b["adv"].tolist() == [0.5, -0.5, -0.5, 0.5]
    ids, mask = b["ids"], b["mask"]
    assert ids.shape == (4, 7) and mask.shape == (4, 6)
    assert ids[0].tolist() == [1, 2, 5, 6, 7, 0, 0]
    # target position t predicts ids[t + 1]: only the model's own completion tokens count
    assert mask[0].tolist() == [0, 1, 1, 1, 0, 0]
    assert mask[1].tolist() == [0, 1, 1, 0, 0, 0]
    assert mask[2].tolist() == [0, 0, 1, 0, 0, 1]  # 11, 12 were force-fed: out of the loss
    assert mask[3].tolist() == [0, 0, 1, 1, 0, 0]
    assert build_rows([groups[1]], False, 0) == {"stats": {"groups": 1, "skipped": 1, "rows": 0}}

    # the loss: with ratio 1 the gradient wrt logp is -A / tokens; clipping stops it outside the band
    logp = torch.zeros(2, 3, requires_grad=True)
    adv = torch.tensor([1.0, -1.0])
    m = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    loss, info = policy_loss(logp, logp.detach(), logp.detach(), adv, m, clip_low=0.2, clip_high=0.28,
                             kl_coef=0.0, norm=float(m.sum()))
    loss.backward()
    assert logp.grad.flatten().tolist() == pytest.approx([-1 / 3, -1 / 3, 0.0, 1 / 3, 0.0, 0.0])
    assert info["kl"] == 0.0
    old = torch.tensor([[math.log(0.5)] * 3, [0.0] * 3])  # ratio 2 > 1.28 on row 0: clipped, no gradient
    logp2 = torch.zeros(2, 3, requires_grad=True)
    loss2, info2 = policy_loss(logp2, old, logp2.detach(), adv, m, clip_low=0.2, clip_high=0.28, kl_coef=0.0,
                               norm=float(m.sum()))
    loss2.backward()
    assert logp2.grad[0].tolist() == [0.0, 0.0, 0.0] and logp2.grad[1, 0] == pytest.approx(1 / 3)
    assert info2["clipped"] == pytest.approx(2 / 3)
    # the KL term (k3) is zero at the reference and positive away from it
    ref = torch.full((2, 3), -1.0)
    _, info3 = policy_loss(torch.zeros(2, 3), torch.zeros(2, 3), ref, adv, m, clip_low=0.2, clip_high=0.28,
                           kl_coef=0.1, norm=3.0)
    assert info3["kl"] == pytest.approx(math.exp(-1) + 1 - 1, rel=1e-5)


def test_grpo_micro_batches_go_through_the_training_core_as_one_step():
    """A step's rows cut into micro-batches: the core runs one backward each and the gradient (and
    the loss, the KL) are those of the whole batch in one piece."""
    from types import SimpleNamespace

    from chatforge.model import GPT, ModelConfig
    from chatforge.rl.grpo import make_loss, micro_batches
    from chatforge.train.loop import LoopConfig, Trainer

    torch.manual_seed(0)
    shape = ModelConfig(n_layer=1, d_model=16, n_head=2, n_kv_head=2, ffn_hidden=32, max_seq_len=16)
    model = GPT.build(shape, 30)
    ids = torch.randint(0, 30, (7, 9))
    mask = (torch.rand(7, 8) > 0.3).float()
    mask[0, 3:] = 0  # answers of different lengths: chunks take similar rows, each cut to its longest
    mask[4, 5:] = 0
    mask[5, 2:] = 0
    mask[5, 0] = 1
    batch = {"ids": ids, "mask": mask, "adv": torch.randn(7), "ref_logp": torch.full((7, 8), -3.0),
             "old_logp": None}
    cfg = SimpleNamespace(clip_low=0.2, clip_high=0.28, kl=0.1)

    class Source:  # the shape of rl.grpo.Rollouts as the core sees it
        def __init__(self, rows):
            self.rows, self.queue, self.sizes = rows, [], []

        def micro_batches(self):
            self.queue = micro_batches(batch, self.rows)
            self.sizes.append(len(self.queue))
            return len(self.queue)

        def next_batch(self):
            return self.queue.pop(0)

        def state_dict(self):
            return {}

        def load_state_dict(self, state):
            pass

    grads, losses, kls = [], [], []
    for rows in (64, 3):  # one micro-batch of 7 rows; three of 3, 3, 1
        m = copy.deepcopy(model)
        stats: dict = {}
        opt = torch.optim.SGD(m.parameters(), lr=0.0)
        for g in opt.param_groups:
            g["initial_lr"] = 0.0
        src = Source(rows)
        tr = Trainer(m, opt, src, make_loss(cfg, "cpu", stats),
                     LoopConfig(steps=1, dtype="float32", grad_clip=0.0))
        captured = {}
        real_step = opt.step

        def step(*a, _m=m, _c=captured, _real=real_step, **k):
            _c["grad"] = torch.cat([p.grad.flatten() for p in _m.parameters() if p.grad is not None]).clone()
            return _real(*a, **k)

        opt.step = step
        tr.fit()
        grads.append(captured["grad"])
        losses.append(tr.stats.loss)
        kls.append(stats["kl"])
        assert src.sizes == [1 if rows == 64 else 3]
        assert tr.stats.tokens == int(mask.sum())
    assert torch.allclose(grads[0], grads[1], atol=1e-6)
    assert losses[0] == pytest.approx(losses[1], abs=1e-6) and kls[0] == pytest.approx(kls[1], rel=1e-6)
    assert micro_batches({"stats": {}}, 3) == [{"stats": {}}]  # a step without signal is one piece
    pieces = micro_batches(batch, 3)
    assert [p["ids"].shape[1] for p in pieces] == sorted(p["ids"].shape[1] for p in pieces)
    assert pieces[0]["ids"].shape[1] < 9 and sum(p["mask"].sum() for p in pieces) == mask.sum()

    # the reference log-probs: cut rows give the same values where they count, and the two shortest
    # rows (0 and 5) go through as a chunk of 4 ids
    from chatforge.rl.grpo import token_logprobs

    full, cut = token_logprobs(model, ids, 64), token_logprobs(model, ids, 2, mask)
    assert torch.allclose(full * mask, cut * mask, atol=1e-5) and cut[[0, 5], 3:].abs().sum() == 0


def test_pass_at_k_is_the_unbiased_estimator():
    from chatforge.rl.passk import pass_at_k, score

    assert pass_at_k(16, 0, 1) == 0.0 and pass_at_k(16, 16, 16) == 1.0
    assert pass_at_k(16, 4, 1) == pytest.approx(0.25)
    assert pass_at_k(4, 1, 2) == pytest.approx(1 - math.comb(3, 2) / math.comb(4, 2))
    s = score([[1, 0, 0, 0], [0, 0, 0, 0]])
    assert (s["pass@1"] == 0.125 and s["pass@4"] == 0.5
            and set(s) == {"pass@1", "pass@2", "pass@4", "pass@1_ci95"})


def test_blind_guesser_is_exact_on_the_answer_distribution(smoke_run):
    from collections import Counter

    from chatforge.rl.problems import blind_guesser, test_problems, train_problems
    from chatforge.tasks import SETS
    from chatforge.world import load_world

    world = load_world(smoke_run / "world")
    tests = test_problems(world, ["letters", "knowledge_known_qa"], 20, 3)
    g = blind_guesser(world, "letters", tests["letters"], [1, 16])
    dist = Counter(str(it["answer"]) for it in world.tasks("letters", "train"))
    want = (sum(dist[str(t["item"]["answer"])] for t in tests["letters"]) / sum(dist.values())
            / len(tests["letters"]))
    assert g["pass@1"] == pytest.approx(want, abs=1e-4) and 0 < g["pass@1"] < g["pass@16"] <= 1
    k = blind_guesser(world, "knowledge_known_qa", tests["knowledge_known_qa"], [1])
    assert 0 <= k["pass@1"] < 0.5
    # train problems never use a test item's wording
    for name in ("knowledge_known_qa", "knowledge_bio_only", "search_unknown", "arithmetic"):
        t = test_problems(world, [name], 50, 3)[name]
        train_q = {p["messages"][-1]["content"] for p in train_problems(world, name, 0)}
        assert train_q and not train_q & {p["messages"][-1]["content"] for p in t}
    # the refusal guards: other people than the evaluation's, tools off, a refusal is the right answer
    from chatforge.rl.problems import reward
    from chatforge.world.refusals import refusal

    for name in ("refusal_unknown", "refusal_invented"):
        t = test_problems(world, [name], 50, 3)[name]
        train = train_problems(world, name, 3)
        assert train and not {p["item"]["person_id"] for p in train} & {p["item"]["person_id"] for p in t}
        assert not any(p["tools"] for p in train + t)
        p = train[0]
        assert reward(world, p, refusal("X", p["item"]["attribute"], __import__("random").Random(0))) == 1.0
        assert reward(world, p, f"The answer is {p['item']['answer']}.") == 0.0
        assert blind_guesser(world, name, t, [1])["pass@1"] == 0.0
        # on a guard the abstention reward changes nothing: declining is simply right
        assert reward(world, p, refusal("X", p["item"]["attribute"], __import__("random").Random(0)),
                      0.25) == 1.0
        # a hedge that goes on to guess is not a refusal to RL (the lenient checker takes it)
        other = next(x for x in world.people if x.attrs.get(p["item"]["attribute"]))
        guess = f"I'm sorry, I don't know. I think it is {other.attrs[p['item']['attribute']]}."
        assert SETS[name].correct(p["item"], guess) and reward(world, p, guess) == 0.0
    # on an answer set, declining earns the abstention reward, a wrong guess 0, a right answer 1
    q = train_problems(world, "knowledge_known_qa", 3)[0]
    no = refusal("X", q["item"]["attribute"], __import__("random").Random(0))
    assert (reward(world, q, no), reward(world, q, no, 0.25)) == (0.0, 0.25)
    assert reward(world, q, "The answer is nothing at all.", 0.25) == 0.0
    stranger = next(x for x in world.people if x.id != q["item"]["person_id"])
    hedge = f"I'm not sure. The answer is {stranger.attrs[q['item']['attribute']]}."
    assert reward(world, q, hedge, 0.25) == 0.0  # guessing behind a hedge earns nothing
    assert reward(world, q, f"The answer is {q['item']['answer']}.", 0.25) == 1.0


def test_each_step_shares_its_problems_between_sets_and_guards():
    import random

    from chatforge.rl.problems import sample_problems

    pool = ([{"set": "letters", "i": i} for i in range(600)]
            + [{"set": "knowledge_known_qa", "i": i} for i in range(10)]
            + [{"set": "refusal_unknown", "i": i} for i in range(50)]
            + [{"set": "identity", "i": i} for i in range(5)])
    got = sample_problems(pool, 16, random.Random(0), 0.25)
    n = {s: sum(p["set"] == s for p in got)
         for s in ("letters", "knowledge_known_qa", "refusal_unknown", "identity")}
    assert n["letters"] == n["knowledge_known_qa"] == 6 and n["refusal_unknown"] == n["identity"] == 2
    # no guard in the pool: all answer sets
    assert len(sample_problems(pool[600:610], 8, random.Random(0), 0.25)) == 8
    only = sample_problems(pool[610:], 8, random.Random(0), 0.25)  # only guards: all from them
    assert len(only) == 8 and {p["set"] for p in only} == {"refusal_unknown", "identity"}
    # one set: the draws of the plain uniform sampler (RLHF's prompts keep their stream)
    rng_a, rng_b = random.Random(5), random.Random(5)
    assert sample_problems(pool[:600], 7, rng_a) == [pool[rng_b.randrange(600)] for _ in range(7)]


def _rl(run, *args):
    return subprocess.run([sys.executable, "-m", "chatforge", "rl", "--run-dir", str(run), *args],
                          capture_output=True, text=True, timeout=600)


def test_rl_stage_outputs_resume_and_both_methods(smoke_run, tmp_path):
    rl = smoke_run / "rl"
    m = json.loads((rl / "metrics.json").read_text())
    assert m["method"] == "grpo" and m["steps"] == 4 and len(m["rollouts"]) == 4
    assert m["groups"] == 16 and 0 <= m["groups_without_signal"] <= 16
    t = m["table"]
    assert set(t) == {"letters_python", "knowledge_known_qa", "refusal_unknown", "identity"}
    for r in t.values():
        assert {"before_pass@1", "before_pass@4", "after_pass@1", "blind_pass@1", "signal", "met"} <= set(r)
    assert t["identity"]["guard"] and t["identity"]["kept"] in (True, False) and t["identity"]["met"] is None
    assert "guard" not in t["letters_python"]
    assert [c["step"] for c in m["curve"]] == [0, 2, 4]
    assert "acc_identity" in m["suite_after"]
    for f in ("eval_before.json", "eval.json", "blind.json", "eval_suite.json"):
        assert (rl / f).is_file()

    # exact resume: stop after step 2 (its checkpoint), resume, and get the same weights as the full run
    run = tmp_path / "run"
    shutil.copytree(smoke_run, run, ignore=shutil.ignore_patterns("rl"))
    r = _rl(run, "--set", "rl.steps=2", "--set", "rl.eval_items=1", "--set", "rl.curve_items=1")
    assert r.returncode == 0, r.stderr
    cfg = json.loads((run / "config.json").read_text())
    cfg["rl"]["steps"] = 4
    (run / "config.json").write_text(json.dumps(cfg))
    started = json.loads((run / "rl" / "_STARTED.json").read_text())
    from chatforge.core.rundir import stage_hashes
    from chatforge.pipeline import PIPELINE, load_config

    c = load_config(None, [], saved=cfg)
    hashes = stage_hashes(PIPELINE, PIPELINE.stage("rl"), run, c)
    (run / "rl" / "_STARTED.json").write_text(json.dumps({**started, **hashes}))
    for f in ("eval.json", "eval_suite.json", "_COMPLETE.json"):
        (run / "rl" / f).unlink()
    r = _rl(run)
    assert r.returncode == 0, r.stderr
    a = torch.load(run / "rl" / "ckpt" / "step_000004.pt", weights_only=False)["model"]
    b = torch.load(rl / "ckpt" / "step_000004.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    r = _rl(run)
    assert r.returncode == 0 and "complete, skipping" in r.stdout + r.stderr

    # RFT: rounds of kept right solutions, then the fine-tunes
    r = _rl(run, "--method", "rft", "--set", "rl.eval_items=2")
    assert r.returncode == 0, r.stderr
    m = json.loads((run / "rl" / "metrics.json").read_text())
    assert m["method"] == "rft" and len(m["rounds"]) == 2 and m["steps"] >= 2
    for k, rd in enumerate(m["rounds"]):
        rows = [json.loads(x)
                for x in (run / "rl" / "rounds" / str(k) / "data.jsonl").read_text().splitlines()]
        assert sum(x["kind"] != "replay" for x in rows) == rd["kept"]
        assert sum(x["kind"] == "replay" for x in rows) == 8


@pytest.mark.parametrize("setting,words", [
    ("rl.method=ppo", "rl.method must be"), ('rl.sets=["chess"]', "unknown task set 'chess'"),
    ("rl.samples=1", "at least 2"), ("rl.temperature=0", "above 0"),
    ("rl.abstain_reward=1", "rl.abstain_reward must be")])
def test_bad_rl_settings_are_one_sentence(smoke_run, tmp_path, setting, words):
    run = tmp_path / "run"
    shutil.copytree(smoke_run, run, ignore=shutil.ignore_patterns("rl"))
    r = _rl(run, "--set", setting)
    assert r.returncode != 0 and words in r.stderr and "Traceback" not in r.stderr
