"""The run's reward model in the server: `POST /api/reward` scores an answer, and the chat page
shows the score next to each answer when the run has one (run_dir/rm/model, `chatforge rm`).

Loaded on first use, once; a run without a reward model answers 400 with one sentence.
"""

from __future__ import annotations

import threading
from pathlib import Path

from chatforge.serve.api import bad


class RewardScorer:
    def __init__(self, run_dir: Path | None):
        self.folder = Path(run_dir) / "rm" / "model" if run_dir else None
        self._lock = threading.Lock()
        self._loaded = None  # (reward model, tokenizer, checkpoint)

    def available(self) -> bool:
        return bool(self.folder) and (self.folder / "latest.json").is_file()

    def _load(self):
        with self._lock:
            if self._loaded is None:
                from chatforge.rlhf.reward_model import load
                from chatforge.tokenizer import Tokenizer

                rm, tok_dir, meta = load(self.folder)
                self._loaded = (rm, Tokenizer.load(tok_dir), meta.get("checkpoint"))
            return self._loaded

    def score(self, body: dict, max_chars: int) -> dict:
        if not self.available():
            raise bad("This run has no reward model (train one with `chatforge rm --run-dir ...`).")
        msgs, answer = body.get("messages"), body.get("answer")
        if not isinstance(answer, str) or len(answer) > max_chars:
            raise bad(f"'answer' must be a string of at most {max_chars} characters.", "answer")
        if not isinstance(msgs, list) or not msgs or not all(
                isinstance(m, dict) and m.get("role") in ("system", "user", "assistant")
                and isinstance(m.get("content"), (str, list)) for m in msgs):
            raise bad("'messages' must be the non-empty conversation the answer replies to.", "messages")
        if sum(len(str(m.get("content"))) for m in msgs) > 4 * max_chars:
            raise bad("'messages' is too long.", "messages")
        from chatforge.chat.render import ChatFormatError
        from chatforge.rlhf.reward_model import encode, score

        rm, tok, ckpt = self._load()
        try:
            ids = encode(tok, msgs, answer, rm.config.max_seq_len)
        except ChatFormatError as e:
            raise bad(str(e), "messages") from None
        pad = tok.special_tokens.get("<|pad|>", 0)
        return {"score": round(score(rm, [ids], pad)[0], 4), "checkpoint": ckpt}
