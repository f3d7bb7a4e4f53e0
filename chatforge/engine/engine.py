"""The one inference engine: KV-cached, batched generation on token ids, with streaming, stop
tokens and tool calls executed mid-generation.

How a batch runs (see docs/engine.md for the why):
1. Prefill: the distinct prompts go through the model once, right-padded into one batch. Causal
   attention never looks right, so padding cannot change a real token's result; each row's cache
   then records its own length (`KVCache.set_lengths`) and the padded slots are masked and later
   overwritten.
2. Expand: `num_samples` copies of each prompt's cache row (one prefill, many samples).
3. Decode: each step every unfinished row either samples a token, or feeds tokens it already has
   (force-fed tool results). Once a quarter of the rows have several tokens to feed, they go in
   one forward, right-padded like the prefill, so a 40-token tool result costs one step, not 40;
   before that a result is fed one token a step, since a multi-token step costs every row of the
   batch as many positions. Finished rows leave the batch.

A row's output `tokens` holds everything after its prompt: sampled tokens (the stop token
included, when one ended it) and force-fed tool results, with `forced` marking the latter so RL
and distillation can leave them out of their losses. `max_new_tokens` counts sampled tokens only:
a search result of 200 tokens must not eat the answer that reads it (it did: SmolLM2's answers
after a search were cut to a word or two). Force-fed tokens get `tool_room` more tokens instead,
and the model's context bounds both. The KV cache starts with room for the prompts and their
sampled tokens only and grows when a tool result needs more (reserving the room for every row up
front cost 1.5 GB at 64 SmolLM2 rows, and every finished row's cache copy touched all of it).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from chatforge.core.errors import UserError
from chatforge.engine.decode import DecodeStep
from chatforge.engine.sampling import SamplingParams, make_generator, sample
from chatforge.model.gpt import GPT, KVCache

TokenCallback = Callable[[int, int, bool], None]  # (row, token id, forced) for every output token
Executor = Callable[[str, str], str]  # (tool name, input) -> output text
DEFAULT_SAMPLING = SamplingParams()  # frozen: one shared default is safe


@dataclass
class ToolCall:
    tool: str
    input: str
    output: str


@dataclass
class Completion:
    prompt_index: int
    sample_index: int
    tokens: list[int] = field(default_factory=list)
    forced: list[bool] = field(default_factory=list)  # True where a token was force-fed (tool result)
    finish_reason: str = ""  # "stop" (a stop token, kept in tokens), "length", "cancelled"
    tool_calls: list[ToolCall] = field(default_factory=list)


class Engine:
    """Generation for one model. `tokenizer` is needed only for tool calls and text helpers.
    `lean_decode=False` keeps every step on the model's module path (benchmarks compare the two).
    `tool_room`: the cache a row keeps for force-fed tool results, beyond its max_new_tokens."""

    def __init__(self, model: GPT, tokenizer=None, *, lean_decode: bool = True, tool_room: int = 512):
        self.model = model.eval()
        self.tool_room = max(0, tool_room)
        self.tokenizer = tokenizer
        self.device = model.tok_emb.weight.device
        self.max_seq_len = model.config.max_seq_len
        self._step = DecodeStep(self.model) if lean_decode else None

    def _special(self, name: str) -> int:
        if self.tokenizer is None:
            raise ValueError(f"the engine needs a tokenizer to know the id of {name}")
        return self.tokenizer.special(name)

    def _check(self, prompts, num_samples: int, max_new_tokens: int,
               sampling: SamplingParams) -> list[list[int]]:
        sampling.validate()
        if prompts and isinstance(prompts[0], int):
            prompts = [prompts]  # one prompt given as a flat list of ids
        prompts = [list(p) for p in prompts]
        if not prompts:
            return []
        if num_samples < 1:
            raise UserError(f"number of samples must be >= 1, got {num_samples}.")
        if max_new_tokens < 1:
            raise UserError(f"max new tokens must be >= 1, got {max_new_tokens}.")
        for p in prompts:
            if not p:
                raise UserError("a prompt is empty; it needs at least one token.")
            if len(p) >= self.max_seq_len:
                raise UserError(f"the prompt is {len(p)} tokens but the model's context is "
                                f"{self.max_seq_len} tokens; shorten it to leave room for the answer.")
        return prompts

    def _tool_ids(self, executor: Executor | None) -> tuple[int, int, int, int] | None:
        if executor is None:
            return None
        try:
            return tuple(self._special(n) for n in
                         ("<|tool_call|>", "<|/tool_call|>", "<|tool_result|>", "<|/tool_result|>"))
        except KeyError:  # an imported vocabulary without tool markers: the model has no tools
            return None

    def _prefill(self, prompts: list[list[int]], num_samples: int, budget: list[int]):
        """The distinct prompts, right-padded, in one forward; then one cache row per sample.
        -> (cache, next-token logits per row). The cache holds each prompt plus its `budget`."""
        lens = [len(p) for p in prompts]
        cache_len = min(self.max_seq_len, max(n + b for n, b in zip(lens, budget)))
        idx = torch.zeros(len(prompts), max(lens), dtype=torch.long)
        for i, p in enumerate(prompts):
            idx[i, : len(p)] = torch.tensor(p)
        cache = KVCache.for_model(self.model, len(prompts), cache_len)
        h = self.model.forward_hidden(idx.to(self.device), cache)
        cache.set_lengths(lens)
        last = torch.tensor(lens, device=self.device) - 1
        logits = self.model.logits(h[torch.arange(len(prompts), device=self.device), last])
        if num_samples > 1:
            src = torch.arange(len(prompts), device=self.device).repeat_interleave(num_samples)
            cache = cache.select_rows(src)
            logits = logits[src]
        return cache, logits

    @torch.inference_mode()
    def generate(self, prompts: Sequence[Sequence[int]], *, num_samples: int = 1,
                 max_new_tokens: int = 256, sampling: SamplingParams = DEFAULT_SAMPLING,
                 seed: int | None = None, stop_ids: Sequence[int] = (), on_token: TokenCallback | None = None,
                 executor: Executor | None = None,
                 cancel: Callable[[], bool] | None = None) -> list[Completion]:
        """Complete every prompt `num_samples` times, drawing with `sampling` (GREEDY: argmax). Row r
        of the result (and of `on_token`) is sample r % num_samples of prompt r // num_samples. The
        same inputs and seed give the same output. Each row's prompt plus output stays within the
        model's max_seq_len. `max_new_tokens` bounds the sampled tokens; tool results force-fed
        in between have the engine's `tool_room` tokens of their own."""
        prompts = self._check(prompts, num_samples, max_new_tokens, sampling)
        if not prompts:
            return []
        tool_ids = self._tool_ids(executor)
        gen = make_generator(seed, self.device)
        room = self.tool_room if tool_ids is not None else 0
        budget = [min(max_new_tokens + room, self.max_seq_len - len(p)) for p in prompts]
        cache, logits = self._prefill(prompts, num_samples, [min(b, max_new_tokens) for b in budget])
        fast = self._step is not None and self._step.supported(cache)
        if fast:
            self._step.refresh()  # weights may have changed since the last call (RL)
        d = _Decode(self, prompts, num_samples, budget, max_new_tokens, on_token)
        stops = set(stop_ids)
        while True:
            d.decide(logits, sampling, gen, stops, executor, tool_ids)
            if cancel is not None and cancel():
                for r in d.active:
                    d.outs[r].finish_reason = d.outs[r].finish_reason or "cancelled"
                break
            cache = d.drop_finished(cache)
            if cache is None:
                break
            cache, logits = d.feed(cache, fast)
        return d.outs

    def _run_tool(self, prompt: list[int], out: Completion, executor: Executor,
                  tool_ids: tuple[int, int, int, int]) -> list[int]:
        """Decode the call that just ended, run it, and return the tokens to force-feed."""
        start, _, res_open, res_close = tool_ids
        seq = prompt + out.tokens  # the call may have been opened in the prompt
        try:
            i = len(seq) - 2 - seq[-2::-1].index(start)
        except ValueError:
            call, result = None, "error: <|/tool_call|> without a <|tool_call|> before it"
        else:
            call = self.tokenizer.decode(seq[i + 1 : -1])
        if call is not None:
            tool, _, inp = call.partition("\n")
            tool = tool.strip()
            try:
                result = str(executor(tool, inp))
            except Exception as e:  # a failing tool is an answer the model should see, not a crash
                result = f"error: {type(e).__name__}: {e}"
            out.tool_calls.append(ToolCall(tool, inp, result))
        return [res_open] + self.tokenizer.encode(result) + [res_close]

    # ---- text helpers (base model / `chatforge sample`) --------------------------------------

    def generate_text(self, prompt: str, *, num_samples: int = 1, max_new_tokens: int = 200,
                      temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                      seed: int | None = None, bos: bool = True,
                      on_text: Callable[[int, str], None] | None = None) -> list[str]:
        """Continue a text document: the prompt follows a document boundary (<|endoftext|>, the
        BOS the base model was trained with) and each sample ends at the next boundary or after
        max_new_tokens. on_text(row, piece) streams decoded text as it is generated."""
        eot = self._special("<|endoftext|>")
        ids = ([eot] if bos else []) + self.tokenizer.encode(prompt)
        stream = TextStream(self.tokenizer, skip_ids={eot}) if on_text else None

        def on_token(row: int, tok: int, forced: bool) -> None:
            piece = stream.feed(row, tok)
            if piece:
                on_text(row, piece)

        outs = self.generate([ids], num_samples=num_samples, max_new_tokens=max_new_tokens,
                             sampling=SamplingParams(temperature, top_k, top_p), seed=seed,
                             stop_ids=[eot], on_token=on_token if on_text else None)
        if stream is not None:
            for r in range(len(outs)):
                tail = stream.flush(r)
                if tail:
                    on_text(r, tail)
        return [self.tokenizer.decode([t for t in o.tokens if t != eot]) for o in outs]


class _Decode:
    """The decode loop's state: every output row, the tokens each has left to feed, and which rows
    the cache still holds (cache row i is output row active[i])."""

    def __init__(self, engine: Engine, prompts: list[list[int]], num_samples: int, budget: list[int],
                 max_sampled: int, on_token: TokenCallback | None):
        self.engine, self.prompts, self.on_token = engine, prompts, on_token
        n_rows = len(prompts) * num_samples
        self.outs = [Completion(r // num_samples, r % num_samples) for r in range(n_rows)]
        self.row_budget = [budget[r // num_samples] for r in range(n_rows)]  # every output token
        self.max_sampled = max_sampled  # the tokens a row may sample (tool results not counted)
        self.sampled = [0] * n_rows
        self.pending: list[list[int]] = [[] for _ in range(n_rows)]
        self.active = list(range(n_rows))

    def emit(self, r: int, toks: list[int], forced: bool) -> None:
        self.outs[r].tokens.extend(toks)
        self.outs[r].forced.extend([forced] * len(toks))
        if self.on_token is not None:
            for t in toks:
                self.on_token(r, t, forced)

    def decide(self, logits, params: SamplingParams, gen, stops: set[int], executor, tool_ids) -> None:
        """Rows with nothing left to feed sample their next token (and run a tool call it closes)."""
        need = [i for i, r in enumerate(self.active) if not self.pending[r]]
        if not need:
            return
        sel = logits if len(need) == len(self.active) else logits[need]
        toks = sample(sel, params, gen).tolist()
        for i, t in zip(need, toks):
            r = self.active[i]
            o = self.outs[r]
            self.emit(r, [t], False)
            self.sampled[r] += 1
            if t in stops:
                o.finish_reason = "stop"
                continue
            feed = [t]
            if tool_ids is not None and t == tool_ids[1]:
                forced = self.engine._run_tool(self.prompts[o.prompt_index], o, executor, tool_ids)
                forced = forced[: self.row_budget[r] - len(o.tokens)]
                self.emit(r, forced, True)
                feed += forced
            if len(o.tokens) >= self.row_budget[r] or self.sampled[r] >= self.max_sampled:
                o.finish_reason = "length"
                continue
            self.pending[r] = feed

    def drop_finished(self, cache: KVCache) -> KVCache | None:
        """The cache without finished rows; None when every row is done."""
        keep = [i for i, r in enumerate(self.active) if not self.outs[r].finish_reason]
        if not keep:
            return None
        if len(keep) < len(self.active):
            cache = cache.select_rows(keep)
            self.active = [self.active[i] for i in keep]
        return cache

    def feed(self, cache: KVCache, fast: bool) -> tuple[KVCache, torch.Tensor]:
        """Every row's pending tokens (up to T of them) in one forward; -> (the cache, grown if
        they needed room, the next logits)."""
        eng, active, pending = self.engine, self.active, self.pending
        # A multi-token step costs every row T positions, so it waits until a quarter of the rows
        # have a tool result to feed; until then a result goes in one token a step, like decoding.
        # (One row's 250-token search result used to cost all 48 rows 250 positions each.)
        feeding = sum(len(pending[r]) > 1 for r in active)
        T = max(len(pending[r]) for r in active) if 4 * feeding >= len(active) else 1
        if cache.pos + T > cache.max_len:  # a tool result needs more room than the cache has
            grown = min(eng.max_seq_len, cache.pos + T + self.max_sampled)
            cache = cache.select_rows(torch.arange(cache.batch, device=cache.k.device), grown)
        T = min(T, cache.max_len - cache.pos)
        if T == 1 and fast and cache.lengths is None:
            # the common step: one token per row, every row at the same length
            toks = torch.tensor([pending[r][0] for r in active], device=eng.device)
            for r in active:
                del pending[r][0]
            return cache, eng.model.logits(eng._step(toks, cache))
        chunks = []
        for r in active:
            chunks.append(pending[r][:T])
            pending[r] = pending[r][T:]
        n_fed = torch.tensor([len(c) for c in chunks], device=eng.device)
        idx = torch.zeros(len(active), T, dtype=torch.long)
        for i, c in enumerate(chunks):
            idx[i, : len(c)] = torch.tensor(c)
        old = cache.row_lengths()
        h = eng.model.forward_hidden(idx.to(eng.device), cache)
        if T > 1:
            cache.set_lengths(old + n_fed)
            h = h[torch.arange(len(active), device=eng.device), n_fed - 1]
        else:
            h = h[:, 0]
        return cache, eng.model.logits(h)


class TextStream:
    """Turns each row's token ids into text pieces as they arrive. A token may end in the middle
    of a UTF-8 character; the incremental decoder holds those bytes until the character is whole."""

    def __init__(self, tokenizer, skip_ids: set[int] | frozenset[int] = frozenset()):
        self.tokenizer = tokenizer
        self.skip = set(skip_ids)
        self._dec: dict[int, codecs.IncrementalDecoder] = {}

    def feed(self, row: int, token: int) -> str:
        if token in self.skip:
            return ""
        dec = self._dec.get(row)
        if dec is None:
            dec = self._dec[row] = codecs.getincrementaldecoder("utf-8")(errors="replace")
        return dec.decode(self.tokenizer.id_to_bytes(token))

    def flush(self, row: int) -> str:
        dec = self._dec.pop(row, None)
        return dec.decode(b"", final=True) if dec else ""
