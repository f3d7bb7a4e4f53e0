"""RLHF: the pairwise loss on a hand-computed example, the rankings store (concurrent writers,
a server restart), the hacking detector, the gold labeler, and the three stages on the smoke run."""

from __future__ import annotations

import json
import math
import multiprocessing
import shutil
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")


def test_bradley_terry_loss_on_a_hand_computed_example():
    from chatforge.rlhf.labelers import pairs
    from chatforge.rlhf.rm import pair_loss

    r = torch.tensor([0.5, 2.0, -1.0], requires_grad=True)
    ranking = [1, 0, 2]  # answer 1 best, then 0, then 2
    assert pairs(ranking) == [(1, 0), (1, 2), (0, 2)]
    loss = pair_loss(r, pairs(ranking), center=0.0)
    sp = lambda x: math.log1p(math.exp(-x))  # noqa: E731  -log sigmoid(x)
    assert float(loss.detach()) == pytest.approx((sp(1.5) + sp(3.0) + sp(1.5)) / 3, rel=1e-6)
    loss.backward()
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    # d/dr_1 = -(1 - sig(1.5)) - (1 - sig(3)), over 3 pairs: the best answer is pushed up, the worst down
    assert r.grad[1].item() == pytest.approx(-((1 - sig(1.5)) + (1 - sig(3.0))) / 3, rel=1e-5)
    assert r.grad[2].item() > 0 and r.grad.sum().item() == pytest.approx(0.0, abs=1e-6)
    centered = pair_loss(torch.tensor([0.5, 2.0, -1.0]), pairs(ranking), center=0.1)
    assert float(centered) == pytest.approx(float(loss.detach()) + 0.1 * (2.5 ** 2 + 1.0 ** 2 + 0.5 ** 2) / 3,
                                            rel=1e-6)


def test_gold_labeler_orders_by_the_scorer_and_tosses_coins_on_ties():
    import random

    from chatforge.rlhf.labelers import agreement, gold_ranking, self_consistency

    item = {"topic": "cats", "keywords": ["cat"], "min_words": 8, "max_words": 60, "kind": "joke"}
    good = "Why did the cat sit on the computer? Because it wanted to keep an eye on the mouse."
    bad = "the the the the the the"
    assert gold_ranking(item, [bad, good], random.Random(0)) == [1, 0]
    firsts = {gold_ranking(item, [bad, bad], random.Random(s))[0] for s in range(20)}
    assert firsts == {0, 1}  # a tie is a coin toss
    assert agreement([0, 1, 2], [0, 1, 2]) == (3, 3) and agreement([0, 1, 2], [2, 1, 0]) == (0, 3)
    assert self_consistency([item], [[good, bad, "Cats."]], 1)["rate"] == 1.0
    assert self_consistency([item] * 40, [[bad, bad]] * 40, 1)["rate"] < 0.8


def _writer(args):
    run_dir, who = args
    from chatforge.rlhf import rankings

    for i in range(25):
        rankings.append(run_dir, {"source": "gold", "who": who, "i": i,
                                  "messages": [{"role": "user", "content": "x"}],
                                  "answers": ["a" * 5000, "b" * 5000], "ranking": [1, 0]})


def test_rankings_survive_concurrent_writers_and_a_server_restart(tmp_path):
    from tiny import cached_tiny_checkpoint

    from chatforge.rlhf import rankings

    run = tmp_path / "run"
    run.mkdir()
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_writer, [(run, w) for w in range(4)])
    recs = rankings.read(run)
    assert len(recs) == 100 and all(len(r["answers"][0]) == 5000 for r in recs)
    assert sorted((r["who"], r["i"]) for r in recs) == [(w, i) for w in range(4) for i in range(25)]
    assert len(rankings.select(recs, "web")) == 0 and len(rankings.select(recs, "gold,web")) == 100

    from test_serve import _start, request

    cached_tiny_checkpoint(run, tmp_path / "tiny-cache", train_steps=5)
    body = {"messages": [{"role": "user", "content": "Tell me a joke."}], "answers": ["a", "b"],
            "ranking": [1, 0]}
    for _ in range(2):  # a server, stopped, and a new one on the same run directory
        app, srv, url = _start(run)
        st, r = request(url, "POST", "/api/rank", body)
        srv.shutdown()
        app.close()
        assert st == 200
    assert r["count"] == 102 and len(rankings.select(rankings.read(run), "web")) == 2


def test_reward_endpoint_scores_answers_with_the_runs_reward_model(tmp_path):
    from conftest import tiny_reward_model
    from test_serve import _start, request
    from tiny import cached_tiny_checkpoint

    run = tmp_path / "run"
    cached_tiny_checkpoint(run, tmp_path / "tiny-cache", train_steps=5)
    msgs = [{"role": "user", "content": "Tell me a joke about cats."}]
    app, srv, url = _start(run)
    try:
        st, r = request(url, "POST", "/api/reward", {"messages": msgs, "answer": "Cats sleep a lot."})
        assert st == 400 and "no reward model" in r["error"]["message"]
        assert request(url, "GET", "/api/info")[1]["reward_model"] is False
        tiny_reward_model(run)
        assert request(url, "GET", "/api/info")[1]["reward_model"] is True
        st, a = request(url, "POST", "/api/reward", {"messages": msgs, "answer": "Cats sleep a lot."})
        st2, b = request(url, "POST", "/api/reward", {"messages": msgs, "answer": "the the the the"})
        assert st == st2 == 200 and isinstance(a["score"], float) and a["score"] != b["score"]
        assert a["checkpoint"].endswith("step_000000.pt")
        for body in ({"messages": msgs}, {"messages": [], "answer": "x"}, {"messages": msgs, "answer": 3},
                     {"messages": [{"role": "robot", "content": "x"}], "answer": "x"}):
            st, r = request(url, "POST", "/api/reward", body)
            assert st == 400 and r["error"]["message"]
    finally:
        srv.shutdown()
        app.close()


def test_detector_fires_on_a_diverging_curve_and_stays_quiet_on_a_healthy_one():
    from chatforge.rlhf.detect import detect

    def curve(proxy, true, rep=None):
        return [{"step": 10 * i, "proxy": p, "true": t, "repetition": (rep or [0.0] * len(proxy))[i]}
                for i, (p, t) in enumerate(zip(proxy, true))]

    hacked = curve([0.0, 0.5, 1.0, 1.6, 2.4], [0.30, 0.38, 0.36, 0.25, 0.12], [0.01, 0.01, 0.02, 0.10, 0.30])
    v = detect(hacked)
    assert v and v["step"] == 30 and v["best_step"] == 10 and v["repetition_change"] > 0
    assert "rose" in v["message"] and "fell" in v["message"]
    assert detect(curve([0.0, 0.5, 1.0, 1.4], [0.30, 0.35, 0.41, 0.44])) is None  # both rise
    assert detect(curve([0.0, 0.5, 1.0], [0.30, 0.38, 0.36])) is None  # a small dip is not a hack
    assert detect(curve([0.0, -0.2, -0.5], [0.30, 0.20, 0.10])) is None  # the proxy fell too: no divergence
    # per-prompt scores: a fall within the noise of 4 prompts does not count
    noisy = [{"step": 0, "proxy": 0.0, "true": 0.4, "true_by_prompt": [0.9, 0.1, 0.5, 0.1]},
             {"step": 10, "proxy": 1.0, "true": 0.3, "true_by_prompt": [0.1, 0.5, 0.5, 0.1]}]
    assert detect(noisy) is None
    clear = [{"step": 0, "proxy": 0.0, "true": 0.4, "true_by_prompt": [0.5, 0.4, 0.45, 0.25]},
             {"step": 10, "proxy": 1.0, "true": 0.3, "true_by_prompt": [0.4, 0.3, 0.33, 0.17]}]
    assert detect(clear)["step"] == 10


def _stage(cmd, run, *args):
    return subprocess.run([sys.executable, "-m", "chatforge", cmd, "--run-dir", str(run), *args],
                          capture_output=True, text=True, timeout=600)


def test_rank_rm_rlhf_stages_on_the_smoke_run(smoke_run):
    from chatforge.engine.source import list_checkpoints
    from chatforge.rlhf import rankings

    rank = json.loads((smoke_run / "rank" / "metrics.json").read_text())
    assert (rank["train_rankings"] == 12 and rank["test_rankings"] == 6
            and rank["self_consistency"]["pairs"] == 18)
    recs = [r for r in rankings.read(smoke_run) if r.get("tag") == rank["tag"]]
    assert len(recs) == 18 and all(sorted(r["ranking"]) == [0, 1, 2] for r in recs)
    rm = json.loads((smoke_run / "rm" / "metrics.json").read_text())
    assert (rm["train_rankings"] == 12 and rm["heldout"]["all_pairs"] == 18
            and 0 <= rm["heldout"]["strict"] <= 1)
    assert rm["sources"] == {"gold": 12}
    m = json.loads((smoke_run / "rlhf" / "metrics.json").read_text())
    assert [p["step"] for p in m["curve"]] == [0, 2, 3] and [p["step"] for p in m["hack_curve"]] == [0, 2]
    assert len(m["rollouts"]) == 3 and len(m["hack_rollouts"]) == 2
    for p in m["curve"]:
        assert {"proxy", "true", "kl", "words", "repetition", "distinct2"} <= set(p)
    assert set(m["comparison"]) == {"sft", "start", "rlhf", "no-kl"}
    assert m["comparison"]["rlhf"]["prompts"] == 7  # the world's 10 open test prompts less 3 for selection
    assert set(m["paired"]) == {"rlhf_vs_sft", "rlhf_vs_start", "no-kl_vs_rlhf"}
    assert (m["paired"]["rlhf_vs_start"]["prompts"] == 7
            and set(m["met"]) >= {"above_sft_significant", "hack_shown"})
    ex = json.loads((smoke_run / "rlhf" / "examples.json").read_text())
    assert {"before", "best", "hacked"} <= set(ex) and ex["before"][0]["answer"] is not None
    cks = list_checkpoints(smoke_run)
    assert "rlhf" in cks and "rm" not in cks  # the reward model is no chat model
    r = subprocess.run([sys.executable, "-m", "chatforge", "chat",
                        "--checkpoint", str(smoke_run / "rm" / "model")],
                       input="hi\n", capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "is a reward model" in r.stderr and "Traceback" not in r.stderr


def test_rlhf_can_start_from_the_sft_model(smoke_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(smoke_run, run, ignore=shutil.ignore_patterns("rlhf", "distill"))
    r = _stage("rlhf", run, "--set", "rlhf.start=sft", "--set", "rlhf.hack_steps=0")
    assert r.returncode == 0, r.stderr
    assert f"policy {run / 'sft' / 'ckpt'}" in r.stdout + r.stderr
    m = json.loads((run / "rlhf" / "metrics.json").read_text())
    c = m["comparison"]
    assert set(c) == {"sft", "start", "rlhf"} and m["hack_curve"] is None
    assert (c["start"]["true"] == c["sft"]["true"]
            and c["start"]["proxy"] == c["sft"]["proxy"])  # the same model


def test_rm_mixes_web_rankings_and_never_trains_on_held_out_prompts(smoke_run, tmp_path):
    from chatforge.core.atomic import read_json
    from chatforge.rlhf import rankings
    from chatforge.rlhf.rm import split
    from chatforge.world import load_world

    run = tmp_path / "run"
    shutil.copytree(smoke_run, run, ignore=shutil.ignore_patterns("rm", "rlhf", "distill"))
    world = load_world(run / "world")
    test_prompt = world.tasks("open", "test")[0]["prompt"]
    rankings.append(run, {"source": "web", "messages": [{"role": "user", "content": "Tell me about trains."}],
                          "answers": ["Trains are long.", "x"], "ranking": [0, 1]})
    rankings.append(run, {"source": "web", "messages": [{"role": "user", "content": test_prompt}],
                          "answers": ["a", "b"], "ranking": [0, 1]})
    tag = read_json(run / "rank" / "metrics.json")["tag"]
    tests = world.tasks("open", "test")
    train, test = split(rankings.read(run), tag, {t["id"] for t in tests}, {t["prompt"] for t in tests})
    assert len(test) == 6 and len(train) == 13  # 12 gold + the trains one; the held-out prompt stays out
    r = _stage("rm", run)
    assert r.returncode == 0, r.stderr
    assert read_json(run / "rm" / "metrics.json")["sources"] == {"gold": 12, "web": 1}
    r = _stage("rm", run, "--set", "rm.sources=web", "--force")
    assert r.returncode == 0 and read_json(run / "rm" / "metrics.json")["sources"] == {"web": 1}


@pytest.mark.parametrize("cmd,setting,words", [
    ("rank", "rank.labeler=judge", "rank.labeler must be"), ("rank", "rank.answers=9", "2 to 8"),
    ("rlhf", "rlhf.samples=1", "at least 2"), ("rlhf", "rlhf.select_prompts=50", "leaves none"),
    ("rlhf", "rlhf.start=pretrain", "rlhf.start must be one of rl, probe, sft"),
    ("rm", "rm.sources=nobody", "no rankings to train on")])
def test_bad_rlhf_settings_are_one_sentence(smoke_run, tmp_path, cmd, setting, words):
    run = tmp_path / "run"
    shutil.copytree(smoke_run, run, ignore=shutil.ignore_patterns(cmd, "distill"))
    r = _stage(cmd, run, "--set", setting)
    assert r.returncode != 0 and words in r.stderr and "Traceback" not in r.stderr
