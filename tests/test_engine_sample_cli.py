"""`chatforge sample` on a small checkpoint written by the training core's saver."""

import dataclasses

import pytest
import torch

from chatforge.cli import main
from chatforge.model import GPT, ModelConfig
from chatforge.tokenizer import Tokenizer


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from chatforge.train.checkpoint import copy_tokenizer, save_checkpoint

    root = tmp_path_factory.mktemp("sample") / "run"
    tok = Tokenizer.from_ranks({bytes([i]): i for i in range(256)})
    tok.save(root / "tokenizer")
    torch.manual_seed(0)
    m = GPT(ModelConfig(n_layer=1, d_model=32, n_head=2, n_kv_head=2, max_seq_len=64,
                        vocab_size=tok.n_vocab, init_std=0.3))
    ckpt = root / "pretrain" / "ckpt"
    save_checkpoint(ckpt, 5, m, model_config=dataclasses.asdict(m.config))
    copy_tokenizer(root / "tokenizer", ckpt)
    return root


def test_sample_streams_and_is_seeded(run_dir, capsys):
    args = ["sample", "Hello", "--run-dir", str(run_dir), "--seed", "3", "--max-new-tokens", "20",
            "--device", "cpu"]
    assert main(args) == 0
    first = capsys.readouterr()
    assert first.out.startswith("Hello") and "step 5" in first.err
    assert main(args) == 0
    assert capsys.readouterr().out == first.out
    assert main(args + ["--num-samples", "3", "--no-echo"]) == 0
    out = capsys.readouterr().out
    assert out.count("--- sample") == 3 and "Hello" not in out


def test_sample_from_checkpoint_file_and_stdin(run_dir, capsys, monkeypatch):
    import io

    f = next((run_dir / "pretrain" / "ckpt").glob("step_*.pt"))
    monkeypatch.setattr("sys.stdin", io.StringIO("Q: a\nA: b\n\nQ: c\nA:"))
    assert main(["sample", "-", "--checkpoint", str(f), "--temperature", "0", "--max-new-tokens", "5"]) == 0
    assert capsys.readouterr().out.startswith("Q: a\nA: b\n\nQ: c\nA:")


def test_sample_errors(run_dir, tmp_path, capsys):
    assert main(["sample", "x" * 100, "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "prompt is 101 tokens" in err and "64" in err and "Traceback" not in err
    assert main(["sample", "x", "--run-dir", str(tmp_path)]) == 2
    assert "no base model yet" in capsys.readouterr().err
    assert main(["sample", "x", "--checkpoint", str(tmp_path / "none.pt")]) == 2
    assert main(["sample", "x", "--run-dir", str(run_dir), "--top-p", "1.5"]) == 2
    assert "top-p" in capsys.readouterr().err
