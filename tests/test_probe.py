"""The probe stage: classification and the mitigation data on planted answers, the judge
interface on a tiny model taught planted verdicts, and the stage's outputs, resume and skip."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")


def _jsonl(p: Path) -> list[dict]:
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


class _Cfg:
    refusals, answers, search, context, replay, identity, val_fraction = 40, 30, 6, 10, 10, 5, 0.0
    unsure, refuse = "answer", "person"
    search_invented = -1.0  # as the unknown facts fall
    other_tools = 0


class _SearchCfg(_Cfg):
    search, search_invented = 8, 0.25  # a quarter of the searches about invented people


class _ToolsCfg(_Cfg):
    other_tools = 2  # SFT conversations calling each tool but search


class _FactCfg(_Cfg):
    unsure, refuse = "skip", "fact"  # the Llama 3 recipe as written
    refusals = 3000  # more than the pool: every unknown fact appears


def test_planted_answers_are_classified_and_become_the_right_data(smoke_run):
    from chatforge.probe.dataset import build
    from chatforge.probe.interrogate import interrogate, questions, summarize
    from chatforge.probe.judge import CheckerJudge
    from chatforge.tasks.people import eval_half, invented, page_of, person_questions
    from chatforge.tools.training import tool_calls, training_executor
    from chatforge.world import load_world
    from chatforge.world.invented import split
    from chatforge.world.refusals import is_refusal

    world = load_world(smoke_run / "world")
    items = questions(world, seed=5)
    by_q = {it["question"]: it for it in items}
    groups = {it["group"] for it in items}
    assert groups == {"known-qa", "known-bio-only", "unknown", "invented"}
    # held-out people are never asked: the unknown people's evaluation half, the invented eval half
    held = {p.id for p in world.people if p.group == "unknown" and eval_half(p.id)}
    held |= {p.id for p in split(invented(world, 5))[1]}
    assert held and not held & {it["person_id"] for it in items}
    unsure_id = next(it["person_id"] for it in items if it["group"] == "unknown")
    mixed = next((it["person_id"], it["attribute"]) for it in items if it["group"] == "known-qa")

    def planted(convs, k, seed):
        out = []
        for c in convs:
            it = by_q[c[0]["content"]]
            right, wrong = f"It is {it['answer']}.", "It is Nowhereville, I am sure."
            if (it["person_id"], it["attribute"]) == mixed:
                out.append([wrong] * k)  # a known person's one unknown fact
            elif it["group"] == "known-qa":
                out.append([right] * k)  # consistently right
            elif it["group"] == "known-bio-only":
                out.append([wrong] * k)  # consistently wrong
            elif it["person_id"] == unsure_id:
                out.append([right, wrong] * (k // 2))  # half and half
            elif it["group"] == "unknown":
                out.append([wrong] * k)
            else:
                out.append(["I don't know who that is."] * k)  # invented: refuses (not right)
        return out

    got = interrogate(items, planted, CheckerJudge(), samples=4, known_min=0.6, unknown_max=0.2, seed=0,
                      chunk=7)
    assert len(got) == len(items)
    for it in got:
        want = {"known-qa": "known", "known-bio-only": "unknown", "invented": "unknown"}.get(
            it["group"], "unsure" if it["person_id"] == unsure_id else "unknown")
        if (it["person_id"], it["attribute"]) == mixed:
            want = "unknown"
        assert it["class"] == want, (it["group"], it["share_right"], it["class"])
    s = summarize(got)
    assert s["invented"]["sample_refusal"] == 1.0 and s["known-qa"]["sample_accuracy"] > 0.9
    assert s["known-bio-only"]["sample_hallucination"] == 1.0

    sft = _jsonl(smoke_run / "sft" / "mixture" / "train.jsonl")
    train, val, counts = build(world, got, sft, _Cfg, 5, training_executor(smoke_run))
    assert (counts == {"refusal": 40, "answer": 30, "search": 6, "context": 10, "replay": 10, "identity": 5}
            and not val)
    known_names = {it["name"] for it in got if it["class"] != "unknown"}  # unsure facts are answered
    unknown_names = {it["name"] for it in got if it["class"] == "unknown"} - known_names
    held_names = ({p.name for p in world.people if p.id in held}
                  | {p.name for p in split(invented(world, 5))[1]})
    everyone = {p.id: p for p in world.people}
    last_phrasings = set()  # the held-out phrasing of every fact, and every phrasing the test split asks
    for it in got:
        if it["group"] != "invented":
            last_phrasings.add(person_questions(everyone[it["person_id"]], it["attribute"])[-1])
    last_phrasings |= {it["question"] for it in world.tasks("knowledge", "test")}
    for c in train:
        user = [m["content"] for m in c["messages"] if m["role"] == "user"]
        text = json.dumps(c["messages"])
        assert not any(n in text for n in held_names), "a held-out person is in the mitigation data"
        reply = c["messages"][-1]["content"]
        if c["kind"] == "refusal":
            assert is_refusal(reply) and any(n in user[0] for n in unknown_names)
            assert not any(n in user[0] for n in known_names)
            assert user[0] not in last_phrasings
        elif c["kind"] == "answer":
            assert not is_refusal(reply) and any(n in user[0] for n in known_names)
            assert user[0] not in last_phrasings
        elif c["kind"] == "context":
            assert user[0].startswith("Read this page:") and not is_refusal(reply)
            # never the evaluation's page
            for p in world.people:
                if p.name in user[0]:
                    assert page_of(p, 5) not in user[0]
        elif c["kind"] == "search":
            assert any(s["type"] == "tool_call" for s in reply)
    # refuse = "fact", unsure = "skip": the known person's one unknown fact is refused too, and
    # the unsure person gets no data at all
    train, _, counts = build(world, got, sft, _FactCfg, 5, training_executor(smoke_run))
    mixed_name = everyone[mixed[0]].name
    unsure_name = everyone[unsure_id].name
    refused = [c["messages"][-1]["content"] for c in train if c["kind"] == "refusal"]
    assert any(mixed_name in c["messages"][-2]["content"] for c in train if c["kind"] == "refusal")
    assert refused and not any(unsure_name in json.dumps(c["messages"]) for c in train
                               if c["kind"] in ("refusal", "answer"))
    # search_invented: 2 of the 8 searches about invented people (nothing found), 6 about real ones
    train, _, counts = build(world, got, sft, _SearchCfg, 5, training_executor(smoke_run))
    made_up = {p.name for p in split(invented(world, 5))[0]}
    searches = [c["messages"] for c in train if c["kind"] == "search"]
    about_invented = [m for m in searches if any(n in m[-2]["content"] for n in made_up)]
    assert counts["search"] == 8 and len(about_invented) == 2
    # other_tools: SFT's python and calculator conversations, 2 of each, beside the searches
    train, _, counts = build(world, got, sft, _ToolsCfg, 5, training_executor(smoke_run))
    called = sorted(str(sorted({t for t, _ in tool_calls(c)})) for c in train if c["kind"] == "tools")
    assert counts["tools"] == 4 and called == ["['calculator']"] * 2 + ["['python']"] * 2, called


def test_model_judge_on_a_tiny_model_taught_planted_verdicts(smoke_run, one_thread):
    """The judge interface with a real (tiny) model: taught 6 planted verdicts, it returns them,
    through the same prompt and Yes/No reading the probe uses; the checker agrees."""
    from chatforge.chat.render import render
    from chatforge.model.config import ModelConfig
    from chatforge.model.gpt import GPT
    from chatforge.probe.judge import CheckerJudge, ModelJudge, judge_question
    from chatforge.tokenizer import Tokenizer

    tok = Tokenizer.load(smoke_run / "tokenizer")
    cases = [
        ({"question": "Where was Ada Vance born?", "source": "Ada Vance was born in Daleport.",
          "attribute": "birth_city", "answer": "Daleport"}, "Daleport.", True),
        ({"question": "Where was Ada Vance born?", "source": "Ada Vance was born in Daleport.",
          "attribute": "birth_city", "answer": "Daleport"}, "Norhaven.", False),
        ({"question": "What did Emil Novak study?", "source": "Emil Novak studied physics.",
          "attribute": "field", "answer": "physics"}, "He studied physics.", True),
        ({"question": "What did Emil Novak study?", "source": "Emil Novak studied physics.",
          "attribute": "field", "answer": "physics"}, "He studied law.", False),
        ({"question": "Where does Lena Szabo work?", "source": "Lena Szabo works for Zephyr Kites.",
          "attribute": "employer", "answer": "Zephyr Kites"}, "Zephyr Kites.", True),
        ({"question": "Where does Lena Szabo work?", "source": "Lena Szabo works for Zephyr Kites.",
          "attribute": "employer", "answer": "Zephyr Kites"}, "Vellmont Dairy.", False),
    ]
    torch.manual_seed(0)
    model = GPT(ModelConfig(vocab_size=tok.n_vocab, n_layer=2, d_model=64, n_head=4, n_kv_head=2,
                            max_seq_len=256))
    rows = []
    for c, a, ok in cases:
        r = render([{"role": "user", "content": judge_question(c["source"], c["question"], a)},
                    {"role": "assistant", "content": "Yes." if ok else "No."}], tok)
        rows.append((r.ids, r.mask))
    n = max(len(ids) for ids, _ in rows)
    ids = torch.zeros(len(rows), n, dtype=torch.long)
    mask = torch.zeros(len(rows), n)
    for i, (x, m) in enumerate(rows):
        ids[i, :len(x)], mask[i, :len(m)] = torch.tensor(x), torch.tensor(m, dtype=torch.float)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = model(ids[:, :-1], targets=ids[:, 1:], loss_mask=mask[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    judge = ModelJudge(model, tok)
    verdicts = judge.supported([c for c, _, _ in cases], [a for _, a, _ in cases])
    assert verdicts == [ok for _, _, ok in cases]
    assert CheckerJudge().supported([c for c, _, _ in cases], [a for _, a, _ in cases]) == verdicts


def test_probe_stage_outputs(smoke_run):
    out = smoke_run / "probe"
    m = json.loads((out / "metrics.json").read_text())
    for key in ("hallucination_before", "hallucination_after", "over_refusal", "table", "classified",
                "acc_refusal_unknown", "acc_context_unknown", "acc_knowledge_known_qa", "mixture"):
        assert key in m, key
    assert set(m["table"]) >= {"knowledge_known_qa", "refusal_unknown", "refusal_invented", "context_known",
                               "context_unknown", "search_unknown"}
    inter = _jsonl(out / "interrogation.jsonl")
    assert inter and all(len(it["samples"]) == 2 and it["class"] in ("known", "unsure", "unknown")
                         for it in inter)
    assert (out / "ckpt" / "latest.json").is_file() and (out / "eval_before.json").is_file()
    assert json.loads((out / "mitigation" / "stats.json").read_text())["refusal"] > 0
    # eval, chat and serve pick the most refined chat model: the newest stage's (rl follows probe)
    from chatforge.chat.cli import find_chat_checkpoint

    # the most refined full-size chat model
    got = find_chat_checkpoint(smoke_run, None)[0]
    assert got.name == "rlhf" and got.path.parent.name == "rlhf" and "keeps the suite" in got.why


def _copy_run(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for name in ("world", "data", "tokenizer", "pretrain", "tools", "sft"):
        shutil.copytree(src / name, dst / name)
    shutil.copy(src / "config.json", dst / "config.json")
    return dst


def _probe(run_dir: Path, *extra: str) -> int:
    from chatforge.cli import main

    return main(["--quiet", "probe", "--run-dir", str(run_dir), "--set", "probe.max_steps=4",
                 "--set", "probe.ckpt_every=2", "--set", "probe.eval_every=2", "--set", "run.threads=1",
                 *extra])


def test_probe_resumes_exactly_and_skips_when_complete(smoke_run, tmp_path):
    from chatforge.core.atomic import atomic_write_json

    a = _copy_run(smoke_run, tmp_path / "a")
    b = _copy_run(smoke_run, tmp_path / "b")
    assert _probe(a) == 0 and _probe(b) == 0
    # b "crashed" after its step-2 checkpoint
    ck = b / "probe" / "ckpt"
    (ck / "step_000004.pt").unlink()
    atomic_write_json(ck / "latest.json", {"step": 2, "file": "step_000002.pt"})
    (b / "probe" / "_COMPLETE.json").unlink()
    (b / "probe" / "metrics.json").unlink()
    inter = (b / "probe" / "interrogation.jsonl").stat().st_mtime_ns
    assert _probe(b) == 0
    assert (b / "probe" / "interrogation.jsonl").stat().st_mtime_ns == inter  # reused, not redone
    wa = torch.load(a / "probe" / "ckpt" / "step_000004.pt", weights_only=True)
    wb = torch.load(ck / "step_000004.pt", weights_only=True)
    for k, v in wa["model"].items():
        assert torch.equal(v, wb["model"][k]), k
    ma = json.loads((a / "probe" / "metrics.json").read_text())
    mb = json.loads((b / "probe" / "metrics.json").read_text())
    assert ma["final_train_loss"] == mb["final_train_loss"] and ma["table"] == mb["table"]
    done = (b / "probe" / "_COMPLETE.json").read_text()
    assert _probe(b) == 0  # complete: skipped, nothing rewritten
    assert (b / "probe" / "_COMPLETE.json").read_text() == done


def test_bad_probe_settings_are_one_line_errors(smoke_run, tmp_path, capsys):
    for i, (bad, word) in enumerate((("probe.samples=0", "probe.samples"),
                                     ("probe.known_min=0.1", "thresholds"),
                                     ("probe.search_invented=2", "probe.search_invented"),
                                     ("probe.judge=/nowhere/model", "probe.judge"))):
        run = _copy_run(smoke_run, tmp_path / f"bad{i}")
        assert _probe(run, "--set", bad) == 2
        err = capsys.readouterr().err
        assert word in err and "Traceback" not in err, err
        assert not (run / "probe" / "_COMPLETE.json").exists()
