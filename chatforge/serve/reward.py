"""The run's reward model in the server: `POST /api/reward` scores an answer, and the chat page
shows the score next to each answer when the run has one (run_dir/rm/model, `chatforge rm`).

Loaded on first use, once; a run without a reward model answers 400 with one sentence.
"""

from __future__ import annotations

import threading
from pathlib import Path

from chatforge.chat.render import ChatFormatError
from chatforge.rlhf.reward_model import encode, load, score
from chatforge.serve.errors import bad
from chatforge.serve.schemas import RewardRequest
from chatforge.tokenizer import Tokenizer


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
                rm, tok_dir, meta = load(self.folder)
                self._loaded = (rm, Tokenizer.load(tok_dir), meta.get("checkpoint"))
            return self._loaded

    def score(self, req: RewardRequest, max_chars: int) -> dict:
        if not self.available():
            raise bad("This run has no reward model (train one with `chatforge rm --run-dir ...`).")
        if len(req.answer) > max_chars:
            raise bad(f"'answer' must be a string of at most {max_chars} characters.", "answer")
        msgs = [m.model_dump() for m in req.messages]
        if sum(len(str(m["content"])) for m in msgs) > 4 * max_chars:
            raise bad("'messages' is too long.", "messages")
        rm, tok, ckpt = self._load()
        try:
            ids = encode(tok, msgs, req.answer, rm.config.max_seq_len)
        except ChatFormatError as e:
            raise bad(str(e), "messages") from None
        pad = tok.special_tokens.get("<|pad|>", 0)
        return {"score": round(score(rm, [ids], pad)[0], 4), "checkpoint": ckpt}
