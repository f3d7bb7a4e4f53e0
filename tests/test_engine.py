"""The engine: cached greedy == uncached greedy, batching, sampling determinism, stops, tools."""

import pytest
import torch

from chatforge.core.errors import UserError
from chatforge.engine import Engine, TextStream
from chatforge.engine.sampling import GREEDY, SamplingParams
from chatforge.model import GPT, ModelConfig
from chatforge.tokenizer import Tokenizer

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tok():
    return Tokenizer.from_ranks({bytes([i]): i for i in range(256)})  # bytes + the special tokens


def make_model(vocab: int, cls=GPT, **kw) -> GPT:
    base = dict(n_layer=2, d_model=64, n_head=4, n_kv_head=2, max_seq_len=96, vocab_size=vocab,
                init_std=0.3)  # a larger init gives varied, well-separated greedy choices
    base.update(kw)
    torch.manual_seed(0)
    return cls(ModelConfig(**base)).eval()


def greedy_reference(model, prompt, n):
    """Greedy decoding the slow way: the full sequence through the model at every step."""
    seq = list(prompt)
    with torch.no_grad():
        for _ in range(n):
            seq.append(int(model(torch.tensor([seq]))[0, -1].argmax()))
    return seq[len(prompt):]


@pytest.mark.parametrize("kw", [dict(), dict(qk_norm=True, n_kv_head=4, tie_embeddings=False)])
def test_cached_greedy_equals_uncached(tok, kw):
    m = make_model(tok.n_vocab, **kw)
    eng = Engine(m, tok)
    prompts = [tok.encode("The quick brown fox"), tok.encode("a"), tok.encode("hello, world!")]
    single = eng.generate(prompts[:1], max_new_tokens=24, sampling=GREEDY)[0]
    assert single.tokens == greedy_reference(m, prompts[0], 24) and single.finish_reason == "length"
    batched = eng.generate(prompts, max_new_tokens=24, sampling=GREEDY)  # different prompt lengths
    for p, o in zip(prompts, batched):
        assert o.tokens == greedy_reference(m, p, 24)
        assert o.forced == [False] * 24


def test_sixteen_samples_of_one_prompt(tok):
    m = make_model(tok.n_vocab)
    eng = Engine(m, tok)
    seen = {}
    outs = eng.generate([tok.encode("Once")], num_samples=16, max_new_tokens=12, seed=7,
                        on_token=lambda r, t, f: seen.setdefault(r, []).append(t))
    assert len(outs) == 16 and [o.sample_index for o in outs] == list(range(16))
    assert all(len(o.tokens) == 12 for o in outs)
    assert len({tuple(o.tokens) for o in outs}) > 8  # really different samples
    assert all(seen[r] == outs[r].tokens for r in range(16))  # streaming saw every token
    # each row is a valid continuation: its first token is possible under top-k=1 only if greedy
    g = eng.generate([tok.encode("Once")], num_samples=4, max_new_tokens=5,
                     sampling=SamplingParams(1.0, top_k=1), seed=1)
    assert all(o.tokens == greedy_reference(m, tok.encode("Once"), 5) for o in g)


def test_seeded_determinism_and_mixed_batches(tok):
    m = make_model(tok.n_vocab)
    eng = Engine(m, tok)
    prompts = [tok.encode("abc"), tok.encode("a longer prompt")]
    kw = dict(num_samples=3, max_new_tokens=10, sampling=SamplingParams(0.9, top_k=50, top_p=0.9))
    a = eng.generate(prompts, seed=123, **kw)
    b = eng.generate(prompts, seed=123, **kw)
    c = eng.generate(prompts, seed=124, **kw)
    assert [o.tokens for o in a] == [o.tokens for o in b]
    assert [o.tokens for o in a] != [o.tokens for o in c]
    assert [(o.prompt_index, o.sample_index) for o in a] == [(i, j) for i in range(2) for j in range(3)]
    rng = torch.get_rng_state()
    eng.generate(prompts, seed=5, **kw)
    assert torch.equal(rng, torch.get_rng_state())  # the global RNG is left alone


def test_stop_tokens_and_length(tok):
    m = make_model(tok.n_vocab)
    eng = Engine(m, tok)
    p = tok.encode("stop here")
    ref = greedy_reference(m, p, 20)
    k = next(i for i in range(2, 20) if ref[i] not in ref[:i])
    out = eng.generate([p, tok.encode("x")], max_new_tokens=20, sampling=GREEDY, stop_ids=[ref[k]])
    assert out[0].tokens == ref[: k + 1] and out[0].finish_reason == "stop"
    other = greedy_reference(m, tok.encode("x"), 20)
    cut = other.index(ref[k]) + 1 if ref[k] in other else 20
    assert out[1].tokens == other[:cut]  # the other row continues after the first one stopped
    with pytest.raises(UserError):
        eng.generate([list(range(96))], max_new_tokens=5)  # prompt fills the context
    near = eng.generate([[1] * 90], max_new_tokens=50, sampling=GREEDY)[0]
    assert len(near.tokens) == 6 and near.finish_reason == "length"


class Scripted(GPT):
    """A real model whose logits get a large bonus for chosen tokens at chosen calls, so a test
    can make it 'decide' to close a tool call. Call 0 is the prefill, call k the k-th step."""

    script: dict = {}
    calls = 0

    def logits(self, h):
        out = super().logits(h)
        tok = self.script.get(self.calls)
        self.calls += 1
        out[..., 256:] -= 1e4  # specials only when scripted (the test tokenizer's specials are 256+)
        if tok is not None:
            out[..., tok] += 2e4
        return out


def test_tool_hook_force_feeds_results(tok):
    m = make_model(tok.n_vocab, cls=Scripted)
    end = tok.special("<|/tool_call|>")
    eng = Engine(m, tok)
    prompts = [tok.encode("Q1") + [tok.special("<|tool_call|>")] + tok.encode("calculator\n"),
               tok.encode("Question 2") + [tok.special("<|tool_call|>")] + tok.encode("python\n")]
    calls = []

    def executor(tool, inp):
        calls.append((tool, inp))
        return "=" * (3 + 5 * len(calls))  # different lengths per row

    m.script, m.calls = {3: end}, 0
    events = []
    outs = eng.generate(prompts, max_new_tokens=30, sampling=GREEDY, executor=executor,
                        on_token=lambda r, t, f: events.append((r, t, f)))
    assert [c[0] for c in calls] == ["calculator", "python"]
    for r, o in enumerate(outs):
        assert o.tokens[3] == end and not o.forced[3]
        result = "=" * (8 + 5 * r)
        forced = [tok.special("<|tool_result|>")] + tok.encode(result) + [tok.special("<|/tool_result|>")]
        assert o.tokens[4 : 4 + len(forced)] == forced and all(o.forced[4 : 4 + len(forced)])
        assert o.tool_calls[0].input == tok.decode(o.tokens[:3]) and o.tool_calls[0].output == result
        # max_new_tokens counts the sampled tokens: the result does not eat the answer's budget
        assert not any(o.forced[4 + len(forced):]) and o.forced.count(False) == 30
        assert len(o.tokens) == 30 + len(forced) and o.finish_reason == "length"
        assert [(t, f) for rr, t, f in events if rr == r] == list(zip(o.tokens, o.forced))
        # each row alone gives the same tokens, and every sampled token after the result is the
        # uncached greedy choice given everything before it (so the result really was fed)
        m.script, m.calls = {3: end}, 0
        calls.clear()
        calls.extend([None] * r)
        alone = eng.generate([prompts[r]], max_new_tokens=30, sampling=GREEDY, executor=executor)[0]
        assert alone.tokens == o.tokens
        m.script = {}
        full = prompts[r] + o.tokens
        with torch.no_grad():
            pred = m(torch.tensor([full]))[0].argmax(-1).tolist()
        for j in range(4 + len(forced), len(o.tokens)):
            assert o.tokens[j] == pred[len(prompts[r]) + j - 1]


class RowScripted(Scripted):
    """Scripted, but the bonus goes to some rows only: script = {call: (token, rows)}."""

    def logits(self, h):
        out = GPT.logits(self, h)
        step = self.script.get(self.calls)
        self.calls += 1
        out[..., 256:] -= 1e4
        if step is not None:
            tok, rows = step
            out[rows, tok] += 2e4
        return out


def test_one_row_feeding_a_result_goes_token_by_token(tok):
    """One row of six feeds a long result: it goes in one token a step beside the others'
    decoding (a multi-token step would cost all six rows), with the same tokens as greedy."""
    m = make_model(tok.n_vocab, cls=RowScripted)
    end = tok.special("<|/tool_call|>")
    eng = Engine(m, tok)
    prompts = [tok.encode("search\nwho") if r == 0 else tok.encode(f"row {r} text") for r in range(6)]
    prompts[0] = [tok.special("<|tool_call|>")] + prompts[0]
    m.script, m.calls = {2: (end, [0])}, 0
    outs = eng.generate(prompts, max_new_tokens=12, sampling=GREEDY, executor=lambda t, i: "r" * 40)
    o = outs[0]
    n_res = len(tok.encode("r" * 40)) + 2
    assert o.tokens[2] == end and o.forced[3:3 + n_res] == [True] * n_res and o.forced.count(False) == 12
    assert all(not any(x.forced) and len(x.tokens) == 12 for x in outs[1:])
    # all at once would be 12 forwards (the prefill and 11 steps); row 0 fed its result a token a
    # step while the five others decoded, then the rest in one step once it was alone
    assert 12 < m.calls < 12 + n_res
    m.script = {}
    for r, x in enumerate(outs):
        full = prompts[r] + x.tokens
        with torch.no_grad():
            pred = m(torch.tensor([full]))[0].argmax(-1).tolist()
        for j, (t, f) in enumerate(zip(x.tokens, x.forced)):
            if not f and not (r == 0 and j == 2):
                assert t == pred[len(prompts[r]) + j - 1], (r, j)


def test_tool_hook_errors_and_budget(tok):
    m = make_model(tok.n_vocab, cls=Scripted)
    end = tok.special("<|/tool_call|>")
    eng = Engine(m, tok)

    def boom(tool, inp):
        raise RuntimeError("no such tool")

    m.script, m.calls = {1: end}, 0
    o = eng.generate([tok.encode("hi")], max_new_tokens=80, sampling=GREEDY, executor=boom)[0]
    assert o.tool_calls == [] and "without a <|tool_call|>" in tok.decode(o.tokens)
    m.script, m.calls = {1: end}, 0
    p = tok.encode("hi") + [tok.special("<|tool_call|>")] + tok.encode("search\nx")
    o = eng.generate([p], max_new_tokens=40, sampling=GREEDY, executor=boom)[0]
    assert o.tool_calls[0].output == "error: RuntimeError: no such tool"
    m.script, m.calls = {1: end}, 0
    o = eng.generate([p], max_new_tokens=8, sampling=GREEDY, executor=lambda t, i: "y" * 30)[0]
    n_res = len(tok.encode("y" * 30)) + 2
    assert o.forced.count(True) == n_res and o.forced.count(False) == 8 and o.finish_reason == "length"
    # a result longer than the room left for it is cut there, and the row ends
    m.script, m.calls = {1: end}, 0
    o = Engine(m, tok, tool_room=5).generate([p], max_new_tokens=8, sampling=GREEDY,
                                             executor=lambda t, i: "y" * 30)[0]
    assert len(o.tokens) == 13 and o.forced.count(True) == 11 and o.finish_reason == "length"
    # and nothing ever passes the model's context
    m.script, m.calls = {1: end}, 0
    room = m.config.max_seq_len - len(p)
    o = eng.generate([p], max_new_tokens=room, sampling=GREEDY, executor=lambda t, i: "y" * 100)[0]
    assert len(p) + len(o.tokens) == m.config.max_seq_len and o.finish_reason == "length"


def test_generate_text_and_stream(tok):
    m = make_model(tok.n_vocab)
    eng = Engine(m, tok)
    pieces = {}
    texts = eng.generate_text("Alice was born", num_samples=2, max_new_tokens=15, seed=3,
                              on_text=lambda r, s: pieces.setdefault(r, []).append(s))
    assert len(texts) == 2 and all("".join(pieces.get(r, [])) == texts[r] for r in range(2))
    s = TextStream(tok)
    euro = "€".encode()
    assert [s.feed(0, b) for b in euro] == ["", "", "€"] and s.flush(0) == ""


def test_weights_changed_in_place_are_seen(tok):
    # the decode path caches transposed weights; an optimizer step between generations (RL)
    # must invalidate them
    m = make_model(tok.n_vocab)
    eng = Engine(m, tok)
    p = tok.encode("abc")
    before = eng.generate([p], max_new_tokens=8, sampling=GREEDY)[0].tokens
    opt = torch.optim.SGD(m.parameters(), lr=5.0)
    m(torch.tensor([p]), targets=torch.tensor([p])).backward()
    opt.step()
    after = eng.generate([p], max_new_tokens=8, sampling=GREEDY)[0].tokens
    assert after == greedy_reference(m, p, 8) and after != before


@pytest.mark.parametrize("kw", [dict(), dict(n_kv_head=4, tie_embeddings=False)])
def test_lean_decode_step_equals_module_path(tok, kw):
    # the engine's one-token step folds norm weights into the matmuls and rotates all heads at
    # once; it must compute what the modules compute (norm weights made non-trivial to check it)
    from chatforge.engine.decode import DecodeStep
    from chatforge.model.gpt import KVCache

    m = make_model(tok.n_vocab, **kw)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    step = DecodeStep(m)
    step.refresh()
    prompt = torch.tensor([tok.encode("hello there")] * 3)
    with torch.inference_mode():
        a, b = KVCache.for_model(m, 3, 40), KVCache.for_model(m, 3, 40)
        m.forward_hidden(prompt, a)
        m.forward_hidden(prompt, b)
        assert step.supported(b)
        for t in (5, 77, 200, 12):
            x = torch.tensor([t, t + 1, t + 2])
            ref = m.logits(m.forward_hidden(x[:, None], a)[:, 0])
            got = m.logits(step(x, b))
            torch.testing.assert_close(got, ref, atol=1e-4, rtol=1e-4)
            assert a.pos == b.pos
        torch.testing.assert_close(b.k[:, :, :, : b.pos], a.k[:, :, :, : a.pos], atol=1e-5, rtol=1e-5)
    lean, modules = Engine(m, tok), Engine(m, tok, lean_decode=False)
    kw2 = dict(num_samples=4, max_new_tokens=20, sampling=SamplingParams(1.0, top_k=20), seed=3)
    assert ([o.tokens for o in lean.generate([prompt[0].tolist()], **kw2)]
            == [o.tokens for o in modules.generate([prompt[0].tolist()], **kw2)])
    # QK-norm (Qwen3 style) puts a norm between projection and RoPE: the module path serves it
    q = make_model(tok.n_vocab, qk_norm=True)
    assert not DecodeStep(q).supported(KVCache.for_model(q, 1, 8))


def test_batches_decoded_side_by_side_give_the_same_tokens(tok, monkeypatch):
    """chat.turns.complete_many decodes its batches on several threads on a CPU: each batch has its
    own seed and cache, so the completions are those of one batch at a time, with tools run."""
    from chatforge.chat.turns import complete_many
    from chatforge.core.device import decode_workers

    m = make_model(tok.n_vocab, max_seq_len=128)
    convs = [[{"role": "user", "content": f"question {i}: " + "x" * (i % 5)}] for i in range(7)]
    def execute(tool, inp):
        return "ok"

    def run(workers: str):
        monkeypatch.setenv("CHATFORGE_DECODE_WORKERS", workers)
        assert decode_workers(torch.device("cpu")) == int(workers)
        done = complete_many(m, tok, convs, num_samples=3, executor=execute, max_new_tokens=16, batch_size=2,
                             temperature=1.0, seed=11)
        return [[(c.tokens, c.forced) for c in comps] for _, comps in done]

    one, three = run("1"), run("3")
    assert one == three and len(one) == 7 and all(len(c) == 3 for c in one)
    assert len({tuple(t) for c in one for t, _ in c}) > 10  # really sampled
    monkeypatch.delenv("CHATFORGE_DECODE_WORKERS")
    assert decode_workers(torch.device("cpu")) >= 1  # one torch thread (the fixture): one per core
    monkeypatch.setenv("CHATFORGE_DECODE_WORKERS", "many")
    with pytest.raises(UserError, match="whole number"):
        decode_workers(torch.device("cpu"))
