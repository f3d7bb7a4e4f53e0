"""The arena: Bradley-Terry recovers known strengths, bootstrap intervals cover them, votes are
durable (restart, concurrent writers), the command on the smoke run, and the web page's vote."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

from chatforge.arena.bt import ratings, win_probability

TRUE = {"a": 1150.0, "b": 1050.0, "c": 1000.0, "d": 950.0, "e": 850.0}


def synthetic_votes(n: int, seed: int, tie_band: float = 0.0) -> list[tuple[str, str, float]]:
    """Votes drawn from the Bradley-Terry model with the TRUE ratings (random pairs)."""
    rng = np.random.default_rng(seed)
    names = list(TRUE)
    out = []
    for _ in range(n):
        i, j = rng.choice(len(names), 2, replace=False)
        a, b = names[i], names[j]
        u = rng.random()
        p = win_probability(TRUE[a], TRUE[b])
        out.append((a, b, 0.5 if abs(u - p) < tie_band else (1.0 if u < p else 0.0)))
    return out


def test_bradley_terry_recovers_known_strengths():
    r = ratings(synthetic_votes(4000, seed=1), list(TRUE), boot=200)
    got = {m: r[m]["rating"] for m in TRUE}
    assert sorted(got, key=got.get, reverse=True) == list(TRUE)  # the order, exactly
    for m in TRUE:
        assert abs(got[m] - TRUE[m]) < 25, (m, got[m])
    assert sum(got.values()) / len(got) == pytest.approx(1000, abs=0.1)
    # ties count half a win for each side: symmetric ties leave equal models equal
    tied = ratings([("x", "y", 0.5)] * 50 + [("x", "y", 1.0), ("y", "x", 1.0)], ["x", "y"], boot=50)
    assert tied["x"]["rating"] == pytest.approx(tied["y"]["rating"]) and tied["x"]["ties"] == 50
    # a model that won every vote still gets a finite rating (the prior), above the others
    sweep = ratings([("x", "y", 1.0)] * 30 + [("y", "z", 1.0)] * 30, ["x", "y", "z"], boot=50)
    assert (np.isfinite(sweep["x"]["rating"])
            and sweep["x"]["rating"] > sweep["y"]["rating"] > sweep["z"]["rating"])
    assert sweep["x"]["wins"] == 30 and sweep["x"]["losses"] == 0


def test_bootstrap_intervals_cover_the_true_ratings():
    covered, total, widths = 0, 0, {}
    for seed in range(40):
        votes = synthetic_votes(600, seed=100 + seed, tie_band=0.05)
        r = ratings(votes, list(TRUE), boot=300, seed=seed)
        for m in TRUE:
            lo, hi = r[m]["ci95"]
            assert lo <= r[m]["rating"] <= hi
            # the truth is centred the same way as the fit (mean 1000)
            covered += lo <= TRUE[m] <= hi
            total += 1
    assert 0.88 <= covered / total <= 0.995, covered / total  # nominal 95%
    for n in (300, 3000):  # more votes, narrower intervals (~1/sqrt(n))
        r = ratings(synthetic_votes(n, seed=7), list(TRUE), boot=300)
        widths[n] = np.mean([r[m]["ci95"][1] - r[m]["ci95"][0] for m in TRUE])
    assert 2.2 < widths[300] / widths[3000] < 4.5


def _vote(i: int, judge: str = "gold", winner: str = "a") -> dict:
    return {"judge": judge, "prompt_id": f"p{i}", "model_a": "x", "sha_a": "1", "model_b": "y", "sha_b": "2",
            "winner": winner, "score_a": 0.5, "score_b": 0.25}


def test_votes_survive_restart_and_concurrent_writers(tmp_path):
    from chatforge.arena import votes

    assert votes.add(tmp_path, [_vote(i) for i in range(5)]) == 5
    assert votes.add(tmp_path, [_vote(i) for i in range(7)]) == 2  # the gold judge votes once per battle
    assert votes.add(tmp_path, [_vote(0, "person", "b")] * 3) == 3  # people may vote again
    # another process reads them back (a restart), and two processes write at once
    code = ("import sys; from chatforge.arena import votes; "
            "votes.add(sys.argv[1], [{'judge': 'person', 'prompt_id': f'q{i}', 'model_a': 'x', 'sha_a': '1', "
            "'model_b': 'y', 'sha_b': '2', 'winner': 'tie'} for i in range(int(sys.argv[2]))]); "
            "print(len(votes.read(sys.argv[1])))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path), "40"], stdout=subprocess.PIPE)
             for _ in range(2)]
    for p in procs:
        assert p.wait(timeout=60) == 0
    out = subprocess.run([sys.executable, "-c", "import sys, json; from chatforge.arena import votes; "
                          "print(json.dumps(votes.read(sys.argv[1])))", str(tmp_path)],
                         capture_output=True, text=True, check=True).stdout
    rows = json.loads(out)
    assert len(rows) == 7 + 3 + 80
    assert [r["winner"] for r in rows[:7]] == ["a"] * 7 and rows[7]["judge"] == "person"
    with pytest.raises(ValueError):
        votes.add(tmp_path, [_vote(99, winner="left")])  # the schema refuses what is not a vote
    assert len(votes.read(tmp_path)) == 90


@pytest.fixture(scope="module")
def arena_run(smoke_run, tmp_path_factory):
    pytest.importorskip("torch")
    dst = tmp_path_factory.mktemp("arena") / "run"
    shutil.copytree(smoke_run, dst, ignore=shutil.ignore_patterns("eval", "arena"))
    return dst


def test_arena_command_on_the_smoke_run(arena_run, capsys, one_thread):
    from chatforge.cli import main
    from chatforge.eval.board import run_checkpoints

    assert main(["arena", "--run-dir", str(arena_run), "--boot", "200"]) == 0
    st = json.loads((arena_run / "arena" / "ratings.json").read_text())
    chat = [n for n in run_checkpoints(arena_run) if n != "pretrain"]
    assert st["models"] == chat and len(chat) >= 3
    pairs = len(chat) * (len(chat) - 1) // 2
    assert st["votes"] == st["prompts"] * pairs and st["by_judge"]["gold"]["votes"] == st["votes"]
    for m in chat:
        r = st["ratings"][m]
        assert r["ci95"][0] <= r["rating"] <= r["ci95"][1]
        assert (r["votes"] == st["prompts"] * (len(chat) - 1)
                and r["wins"] + r["losses"] + r["ties"] == r["votes"])
    # gold wins agree with the stored scores
    from chatforge.arena import votes

    for v in votes.read(arena_run):
        d = v["score_a"] - v["score_b"]
        assert v["winner"] == ("tie" if abs(d) < 0.01 else "a" if d > 0 else "b")
    assert "| model | rating |" in capsys.readouterr().out
    # a rerun judges nothing twice, whatever the order the models are listed in; answers are cached
    assert main(["arena", "--run-dir", str(arena_run), "--boot", "50",
                 "--models", ",".join(reversed(chat))]) == 0
    again = json.loads((arena_run / "arena" / "ratings.json").read_text())
    assert again["votes"] == st["votes"] and again["seconds"] >= 0
    # the eval table's gold score reads the same answers: nothing is generated again
    import chatforge.eval.gold as gold

    def no_generation(*a, **k):
        raise AssertionError("an answer the arena already has was generated again")
    real, gold.open_answers = gold.open_answers, no_generation
    try:
        assert main(["--quiet", "eval", "--run-dir", str(arena_run), "--only", "sft"]) == 0
    finally:
        gold.open_answers = real
    row = json.loads((arena_run / "eval" / "metrics.json").read_text())["rows"][0]
    cached = json.loads((arena_run / "eval" / "open_answers" / "sft.json").read_text())
    assert row["name"] == "sft" and row["gold"]["n"] >= 1 and len(cached["answers"]) == st["prompts"]
    assert main(["arena", "--run-dir", str(arena_run), "--models", "nope"]) == 2
    assert main(["arena", "--run-dir", str(arena_run), "--models", "sft"]) == 2  # one model is no arena


def _call(url: str, body: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_people_vote_through_the_server_and_the_votes_count(arena_run, one_thread):
    from chatforge.arena.battles import standings
    from chatforge.cli import main
    from chatforge.serve.app import App, start_in_thread
    from chatforge.serve.config import ServeConfig
    from chatforge.serve.models import Models

    if not (arena_run / "eval" / "open_answers").is_dir():
        assert main(["arena", "--run-dir", str(arena_run), "--boot", "50"]) == 0
    for attempt in range(2):  # the second server is a restart: the first one's votes are still there
        app = App(ServeConfig(), Models(arena_run, None), arena_run)
        srv, url = start_in_thread(app)
        try:
            st, pair = _call(url + "/api/arena/pair")
            assert st == 200 and pair["a"] is not None and len(set(pair["models"])) == 2
            st, r = _call(url + "/api/arena/vote", {"prompt_id": pair["prompt_id"], "models": pair["models"],
                                                    "winner": "b"})
            assert st == 200 and r["saved"] and r["person_votes"] == attempt + 1
            st, err = _call(url + "/api/arena/vote", {"prompt_id": pair["prompt_id"],
                                                      "models": pair["models"], "winner": "left"})
            assert st == 400 and "winner" in err["error"]["message"]
            st, err = _call(url + "/api/arena/vote", {"prompt_id": "nope", "models": pair["models"],
                                                      "winner": "a"})
            assert st == 400
        finally:
            srv.shutdown()
            app.close()
    from chatforge.arena import votes

    stored = votes.read(arena_run)
    people = [v for v in stored if v["judge"] == "person"]
    assert len(people) == 2
    current = {n: json.loads(p.read_text())["sha"] for n, p in
               ((f.stem, f) for f in (arena_run / "eval" / "open_answers").glob("*.json"))}
    st = standings(stored, current, boot=20)
    assert st["by_judge"]["person"]["votes"] == 2 and st["votes"] == len(stored)
    # people vs the gold judge, on the very pairs they voted on (either order of the two models)
    def preferred(v):  # the name of the model a vote prefers (None for a tie)
        return {"a": v["model_a"], "b": v["model_b"], "tie": None}[v["winner"]]
    agree = 0
    for v in people:
        g = next(g for g in stored if g["judge"] == "gold" and g["prompt_id"] == v["prompt_id"]
                 and {g["model_a"], g["model_b"]} == {v["model_a"], v["model_b"]})
        agree += preferred(g) == preferred(v)
    assert st["people_vs_gold"] == {"votes": 2, "agree": agree, "rate": round(agree / 2, 4)}


def test_the_side_by_side_vote_in_the_browser(arena_run, one_thread):
    test_web = pytest.importorskip("test_web")  # skips (module level) where Chromium or Playwright is absent
    sync_api = pytest.importorskip("playwright.sync_api")
    from chatforge.arena import votes
    from chatforge.cli import main
    from chatforge.serve.app import App, start_in_thread
    from chatforge.serve.config import ServeConfig
    from chatforge.serve.models import Models

    if not (arena_run / "eval" / "open_answers").is_dir():
        assert main(["arena", "--run-dir", str(arena_run), "--boot", "50"]) == 0
    before = sum(v["judge"] == "person" for v in votes.read(arena_run))
    app = App(ServeConfig(), Models(arena_run, None), arena_run)
    srv, url = start_in_thread(app)
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(test_web.CHROMIUM), headless=True,
                                         args=test_web.FLAGS)
            try:
                p = browser.new_page()
                p.set_default_timeout(30_000)
                errors: list[str] = []
                p.on("pageerror", lambda e: errors.append(str(e)))
                p.goto(url + "/")
                p.click('#tabs button[data-tab="arena"]')
                p.wait_for_function("document.querySelector('#arenaprompt').textContent.length > 0")
                a, b = p.inner_text("#arenaa"), p.inner_text("#arenab")
                assert a and b
                assert "A was" not in p.inner_text("#arenastatus")  # names hidden until the vote
                p.click('#tab-arena .vote[data-winner="b"]')
                p.wait_for_function("document.querySelector('#arenastatus').textContent.includes('A was')")
                assert p.is_disabled('#tab-arena .vote[data-winner="a"]')  # one vote per pair shown
                assert not errors, errors
            finally:
                browser.close()
    finally:
        srv.shutdown()
        app.close()
    people = [v for v in votes.read(arena_run) if v["judge"] == "person"]
    assert len(people) == before + 1 and people[-1]["winner"] == "b"
