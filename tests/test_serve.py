"""The server: the official openai client talks to it; bad requests get 4xx JSON, never 5xx."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest

torch = pytest.importorskip("torch")

from tiny import cached_tiny_checkpoint  # noqa: E402

from chatforge.serve.app import App, start_in_thread  # noqa: E402
from chatforge.serve.config import ServeConfig  # noqa: E402
from chatforge.serve.models import Models  # noqa: E402


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("serve") / "run"
    cached_tiny_checkpoint(d, tmp_path_factory.getbasetemp() / "tiny-cache", train_steps=80)
    return d


def _start(run_dir, **kw):
    cfg = ServeConfig(**{"max_tokens": 200, "default_max_tokens": 32, "concurrency": 4, "queue_size": 16,
                         "max_message_chars": 2000, "max_request_bytes": 20_000, **kw.pop("cfg", {})})
    app = App(cfg, Models(run_dir, None), run_dir, **kw)
    srv, url = start_in_thread(app)
    return app, srv, url


@pytest.fixture(scope="module")
def server(run_dir):
    app, srv, url = _start(run_dir)
    yield app, url
    srv.shutdown()
    app.close()


def request(url, method, path, body=None, headers=None, raw: bytes | None = None):
    u = urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    c.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    r = c.getresponse()
    payload = r.read()
    c.close()
    try:
        return r.status, json.loads(payload)
    except ValueError:
        return r.status, payload


CHAT = [{"role": "user", "content": "hi"}]


# ---- the official client ------------------------------------------------------------------------

def test_openai_client_chat(server):
    openai = pytest.importorskip("openai")
    _, url = server
    client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
    r = client.chat.completions.create(model="sft", messages=CHAT, temperature=0, max_tokens=40)
    text = r.choices[0].message.content
    assert text.strip() and r.choices[0].finish_reason in ("stop", "length")
    assert r.usage.completion_tokens > 0 and r.usage.prompt_tokens > 0
    stream = client.chat.completions.create(model="sft", messages=CHAT, temperature=0, max_tokens=40,
                                            stream=True, stream_options={"include_usage": True})
    pieces, finish, usage = [], None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for c in chunk.choices:
            pieces.append(c.delta.content or "")
            finish = c.finish_reason or finish
    assert "".join(pieces) == text  # streaming and not give the same greedy answer
    assert len([p for p in pieces if p]) > 1  # it really streamed, piece by piece
    assert finish == r.choices[0].finish_reason and usage.completion_tokens == r.usage.completion_tokens


def test_openai_client_completions_models_n(server):
    openai = pytest.importorskip("openai")
    _, url = server
    client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list().data][0] == "sft"
    st, listed = request(url, "GET", "/v1/models")
    default = [m for m in listed["data"] if m["default"]]
    assert st == 200 and [m["id"] for m in default] == ["sft"]
    assert default[0]["why_default"] == "the most refined chat model"
    r = client.completions.create(model="sft", prompt="The model", max_tokens=8, temperature=0)
    s = client.completions.create(model="sft", prompt="The model", max_tokens=8, temperature=0, stream=True)
    assert "".join(c.choices[0].text for c in s) == r.choices[0].text
    many = client.chat.completions.create(model="sft", messages=CHAT, n=3, max_tokens=12, temperature=1.0,
                                          seed=1)
    assert sorted(c.index for c in many.choices) == [0, 1, 2]


def test_health_models_openapi_page(server):
    _, url = server
    st, h = request(url, "GET", "/health")
    assert st == 200 and h["status"] == "ok"
    st, spec = request(url, "GET", "/openapi.json")
    assert st == 200 and "/v1/chat/completions" in spec["paths"]
    st, page = request(url, "GET", "/")
    assert st == 200 and b"chatforge" in page
    assert request(url, "GET", "/static/../app.py")[0] == 404
    assert request(url, "GET", "/static/app.js")[0] == 200


def test_openapi_and_docs_work_offline(server):
    """FastAPI's /openapi.json describes every route with its request model; /docs (Swagger UI)
    loads only files this server serves, so it works without the internet."""
    _, url = server
    st, spec = request(url, "GET", "/openapi.json")
    assert st == 200 and spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {"/health", "/v1/models", "/v1/chat/completions", "/v1/completions",
                                  "/api/info", "/api/tokenize", "/api/inspect", "/api/reward", "/api/rank",
                                  "/api/arena/pair", "/api/arena/vote"}
    assert {"ChatRequest", "CompletionRequest", "Message", "ErrorBody"} <= set(spec["components"]["schemas"])
    st, page = request(url, "GET", "/docs")
    assert st == 200 and b"SwaggerUIBundle" in page
    refs = re.findall(rb'(?:src|href)="([^"]+)"', page)
    assert refs and all(r.startswith(b"/") for r in refs), refs  # nothing from a CDN
    for r in refs:
        assert request(url, "GET", r.decode())[0] == 200, r


def test_stop_strings_and_stop_at_context(server):
    _, url = server
    st, r = request(url, "POST", "/v1/chat/completions",
                    {"messages": CHAT, "temperature": 0, "max_tokens": 40})
    full = r["choices"][0]["message"]["content"]
    cut = full[5:8]
    st, r = request(url, "POST", "/v1/chat/completions",
                    {"messages": CHAT, "temperature": 0, "max_tokens": 40, "stop": [cut]})
    assert st == 200 and r["choices"][0]["message"]["content"] == full[: full.index(cut)]
    assert r["choices"][0]["finish_reason"] == "stop"


# ---- bad requests: 4xx in OpenAI's error shape ---------------------------------------------------

def _is_error(st, body, status, code=None):
    assert st == status, (st, body)
    assert isinstance(body, dict) and set(body["error"]) >= {"message", "type", "param", "code"}
    if code:
        assert body["error"]["code"] == code


@pytest.mark.parametrize("body,code", [
    ({}, None),
    ({"messages": []}, None),
    ({"messages": "hi"}, None),
    ({"messages": [{"role": "wizard", "content": "x"}]}, None),
    ({"messages": [{"role": "user"}]}, None),
    ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, None),
    ({"messages": CHAT, "max_tokens": 10_000}, "max_tokens_exceeded"),
    ({"messages": CHAT, "max_tokens": 0}, None),
    ({"messages": CHAT, "max_tokens": "5"}, None),
    ({"messages": CHAT, "temperature": -1}, None),
    ({"messages": CHAT, "temperature": "hot"}, None),
    ({"messages": CHAT, "top_p": 2}, None),
    ({"messages": CHAT, "n": 99}, None),
    ({"messages": CHAT, "stop": ["a", "b", "c", "d", "e"]}, None),
    ({"messages": CHAT, "stream": "yes"}, None),
    ({"messages": CHAT, "seed": -3}, None),
    ({"messages": CHAT, "model": 7}, None),
    ({"messages": [{"role": "user", "content": "x" * 2001}]}, "message_too_long"),
    ({"messages": [{"role": "user", "content": "hi " * 600}]}, "context_length_exceeded"),
    ({"messages": [{"role": "tool", "content": "x"}]}, None),
])
def test_bad_chat_requests(server, body, code):
    _, url = server
    _is_error(*request(url, "POST", "/v1/chat/completions", body), 400, code)


def test_bad_http(server):
    _, url = server
    _is_error(*request(url, "POST", "/v1/chat/completions", raw=b"{not json"), 400, "invalid_json")
    _is_error(*request(url, "POST", "/v1/chat/completions", raw=b"[1, 2]"), 400, "invalid_json")
    _is_error(*request(url, "POST", "/v1/chat/completions", raw=b"\xff\xfe"), 400, "invalid_json")
    _is_error(*request(url, "POST", "/v1/chat/completions", raw=b"x" * 30_000), 413, "request_too_large")
    _is_error(*request(url, "POST", "/v1/chat/completions", {"messages": CHAT, "model": "gpt-4"}), 404,
              "model_not_found")
    _is_error(*request(url, "POST", "/v1/completions", {"prompt": {"a": 1}}), 400)
    _is_error(*request(url, "POST", "/v1/completions", {"prompt": [10 ** 9]}), 400)
    _is_error(*request(url, "GET", "/v1/chat/completions"), 405)
    _is_error(*request(url, "GET", "/v2/nothing"), 404)
    _is_error(*request(url, "POST", "/api/tokenize", {"text": 5}), 400)
    _is_error(*request(url, "POST", "/api/rank", {"answers": ["a"], "ranking": [0], "messages": CHAT}), 400)
    _is_error(*request(url, "POST", "/api/rank", {"answers": ["a", "b"], "ranking": [0, 0],
                                                   "messages": CHAT}), 400)
    # a malformed request line and a header flood get JSON 400s too
    u = urlsplit(url)
    for raw in (b"GET / HTTP/9.x\r\n\r\n", b"NOT AN HTTP/1.1 LINE\r\n\r\n",
                b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n"):
        with socket.create_connection((u.hostname, u.port), timeout=10) as s:
            s.sendall(raw)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        status = int(data.split(b" ")[1])
        assert 400 <= status < 500 and b'"error"' in data, data


def _raw(url, data: bytes) -> tuple[int, bytes]:
    u = urlsplit(url)
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(data)
        got = b""
        while chunk := s.recv(65536):
            got += chunk
            if b"\r\n\r\n" in got and b'"error"' in got:
                break
    return int(got.split(b" ")[1]), got


def test_request_limits(server):
    """A POST without a length, and a chunked body over the limit, are refused before any route."""
    _, url = server
    status, data = _raw(url, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 411 and b"length_required" in data
    chunk = b"x" * 8000
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4)) + b"0\r\n\r\n"
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    status, data = _raw(url, head + b"Transfer-Encoding: chunked\r\n\r\n" + body)
    assert status == 413 and b"request_too_large" in data
    # a small chunked body is read like any other
    ok = json.dumps({"messages": CHAT, "max_tokens": 2}).encode()
    status, data = _raw(url, head + b"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + b"%x\r\n%s\r\n0\r\n\r\n" % (len(ok), ok))
    assert status == 200 and b"chat.completion" in data


def test_api_key(run_dir):
    app, srv, url = _start(run_dir, api_key="sekret")
    try:
        _is_error(*request(url, "GET", "/v1/models"), 401, "invalid_api_key")
        _is_error(*request(url, "GET", "/v1/models", headers={"Authorization": "Bearer nope"}), 401)
        assert request(url, "GET", "/v1/models", headers={"Authorization": "Bearer sekret"})[0] == 200
        assert request(url, "GET", "/health")[0] == 200
        # the page, its files and the API's description are public (the page asks for the key)
        assert [request(url, "GET", p)[0] for p in ("/", "/openapi.json", "/docs")] == [200, 200, 200]
        _is_error(*request(url, "GET", "/api/info"), 401, "invalid_api_key")
        openai = pytest.importorskip("openai")
        client = openai.OpenAI(base_url=url + "/v1", api_key="sekret", max_retries=0)
        assert client.chat.completions.create(model="sft", messages=CHAT, max_tokens=4).choices
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=url + "/v1", api_key="bad", max_retries=0).models.list()
    finally:
        srv.shutdown()
        app.close()


# ---- learner endpoints and rankings -------------------------------------------------------------

def test_tokenize_inspect_rank(server, run_dir):
    _, url = server
    st, r = request(url, "POST", "/api/tokenize", {"text": "Hello world 12345"})
    assert st == 200 and r["ours"]["count"] > 0 and r["cl100k_base"]["count"] == 5
    assert "".join(t["text"] for t in r["cl100k_base"]["tokens"]) == "Hello world 12345"
    st, r = request(url, "POST", "/api/inspect", {"messages": CHAT})
    T = len(r["tokens"])
    assert st == 200 and r["n_layer"] == 2 and r["n_head"] == 4
    for layer in r["attention"]:
        for head in layer:
            assert [len(row) for row in head] == list(range(1, T + 1))
            assert all(abs(sum(row) - 1) < 1e-3 for row in head)
    assert all(len(top) == 5 and top[0]["p"] >= top[1]["p"] for top in r["top"])
    body = {"messages": CHAT, "answers": ["a", "b", "c"], "ranking": [2, 0, 1]}
    assert request(url, "POST", "/api/rank", body)[0] == 200
    st, r = request(url, "POST", "/api/rank", body)
    assert st == 200 and r["count"] == 2
    lines = (run_dir / "rankings.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["ranking"] == [2, 0, 1] and json.loads(lines[-1])["model"] == "sft"


def test_inspect_matches_sdpa(run_dir):
    """The recomputed attention weights reproduce the model's own attention output."""
    from chatforge.serve.inspect import attention_weights
    from chatforge.train.checkpoint import load_model

    model, _, _ = load_model(run_dir / "sft" / "ckpt")
    x = torch.randint(0, model.config.vocab_size, (1, 12))
    attn = model.layers[0].attn
    seen = {}
    h = attn.register_forward_hook(lambda m, a, out: seen.update(args=a, out=out))
    with torch.no_grad():
        model(x)
        h.remove()
        xin, cos, sin = seen["args"][:3]
        w = attention_weights(attn, xin, cos, sin)  # [1, H, T, T]
        B, T, _ = xin.shape
        qkv = attn.qkv_proj(xin).view(B, T, -1, attn.head_dim)
        v = qkv[:, :, attn.n_head + attn.n_kv_head:].transpose(1, 2).repeat_interleave(
            attn.n_head // attn.n_kv_head, dim=1)
        y = (w @ v).transpose(1, 2).reshape(B, T, -1)
        assert torch.allclose(attn.o_proj(y), seen["out"], atol=1e-5)


# ---- scheduling: disconnects free slots, the queue is bounded -----------------------------------

def _job(served, prompt, max_tokens, events, index=0):
    from chatforge.serve.scheduler import BatchKey, Job
    from chatforge.serve.stream import OutputDecoder

    return Job(key=BatchKey(served.name, 0.0, 0, 1.0, None, None), engine=served.engine, prompt=prompt,
               max_tokens=max_tokens, decoder=OutputDecoder(served.tokenizer, False), stop_ids=frozenset(),
               events=events, index=index)


def test_scheduler_cancel_frees_slot_and_queue_bound(run_dir):
    import queue

    from chatforge.serve.scheduler import QueueFull, Scheduler

    served = Models(run_dir, None).get(None)
    prompt = served.tokenizer.encode("The model")
    sched = Scheduler(concurrency=1, queue_size=2, min_steps_before_merge=1)
    try:
        ev_a, ev_b = queue.Queue(), queue.Queue()
        a = _job(served, prompt, 200, ev_a)
        sched.submit([a])
        ev_a.get(timeout=30)  # A is generating
        b = _job(served, prompt, 5, ev_b)
        sched.submit([b])
        a.gone.set()  # A's client disconnects: its slot goes to B
        while ev_b.get(timeout=30)[1] != "done":
            pass
        assert b.finish_reason == "length" and len(b.tokens) == 5
        deadline = time.time() + 30
        while a.finish_reason is None and time.time() < deadline:
            time.sleep(0.05)
        assert a.finish_reason == "cancelled" and len(a.tokens) < 200
        # the queue holds at most queue_size waiting requests
        blocker = _job(served, prompt, 200, queue.Queue())
        sched.submit([blocker])
        with pytest.raises(QueueFull):
            for _ in range(4):
                sched.submit([_job(served, prompt, 5, queue.Queue())])
        blocker.gone.set()
    finally:
        sched.close()


def test_http_disconnect_frees_slot(run_dir):
    """A streaming client that hangs up mid-answer: its generation stops, the next one runs."""
    app, srv, url = _start(run_dir, cfg={"concurrency": 1})
    try:
        u = urlsplit(url)
        body = json.dumps({"prompt": [1, 2, 3], "max_tokens": 200, "temperature": 1.5, "seed": 3,
                           "stream": True}).encode()
        s = socket.create_connection((u.hostname, u.port), timeout=30)
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        got = b""
        while got.count(b"data: ") < 3:
            got += s.recv(4096)
        s.close()  # hang up mid-stream
        st, r = request(url, "POST", "/v1/completions", {"prompt": "x", "max_tokens": 3, "temperature": 0})
        assert st == 200
        deadline = time.time() + 30
        while app.scheduler.status()["running"] and time.time() < deadline:
            time.sleep(0.05)
        stats = app.scheduler.status()
        if stats["cancelled"] == 0:
            pytest.skip("the sampled answer ended on its own before the client hung up")
        assert stats["tokens"] < 200  # the abandoned answer did not run to its max_tokens
    finally:
        srv.shutdown()
        app.close()


def test_http_disconnect_frees_slot_without_streaming(run_dir):
    """A client waiting for a whole (non-streamed) answer hangs up: its generation stops too."""
    app, srv, url = _start(run_dir, cfg={"concurrency": 1})
    try:
        u = urlsplit(url)
        body = json.dumps({"prompt": [1, 2, 3], "max_tokens": 200, "temperature": 1.5, "seed": 3}).encode()
        s = socket.create_connection((u.hostname, u.port), timeout=30)
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        deadline = time.time() + 30
        while app.scheduler.status()["tokens"] < 3 and time.time() < deadline:
            time.sleep(0.005)
        s.close()  # hang up while the answer is being generated
        while app.scheduler.status()["running"] and time.time() < deadline:
            time.sleep(0.05)
        stats = app.scheduler.status()
        if stats["cancelled"] == 0:
            pytest.skip("the sampled answer ended on its own before the client hung up")
        assert stats["tokens"] < 200
        st, r = request(url, "POST", "/v1/completions", {"prompt": "x", "max_tokens": 3, "temperature": 0})
        assert st == 200  # the slot is free for the next client
    finally:
        srv.shutdown()
        app.close()


def test_full_queue_is_a_429(run_dir, monkeypatch):
    """The scheduler's queue bound (tested above) reaches the client as OpenAI's rate-limit error,
    streaming or not, before any byte of an answer."""
    from chatforge.serve.scheduler import QueueFull

    app, srv, url = _start(run_dir)
    try:
        def full(jobs):
            raise QueueFull

        monkeypatch.setattr(app.scheduler, "submit", full)
        for stream in (False, True):
            st, body = request(url, "POST", "/v1/chat/completions", {"messages": CHAT, "stream": stream})
            _is_error(st, body, 429, "queue_full")
            assert body["error"]["type"] == "rate_limit_error"
    finally:
        srv.shutdown()
        app.close()


def test_concurrent_streams_batch_together(server):
    """Several clients at once: all get complete answers (batched, merged as they arrive)."""
    from concurrent.futures import ThreadPoolExecutor

    _, url = server

    def one(i):
        return request(url, "POST", "/v1/chat/completions",
                       {"messages": CHAT, "temperature": 0, "max_tokens": 30})

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(one, range(6)))
    texts = {r["choices"][0]["message"]["content"] for st, r in results}
    assert all(st == 200 for st, _ in results) and len(texts) == 1  # greedy: batching changes nothing


def test_cli_module_is_light():
    """`chatforge --help` imports every command's module: serve's loads no torch, FastAPI or uvicorn."""
    code = ("import sys, chatforge.serve.cli; "
            "print(sorted(m for m in ('torch', 'fastapi', 'uvicorn', 'starlette') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_cli_serve_bad_args(tmp_path):
    from chatforge.cli import main

    assert main(["--quiet", "serve", "--run-dir", str(tmp_path / "missing")]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["--quiet", "serve", "--run-dir", str(tmp_path / "empty")]) == 2
    assert main(["--quiet", "serve", "--checkpoint", str(tmp_path / "nope.pt")]) == 2


# ---- tools run by the server, shown to the client -----------------------------------------------

def test_tool_call_runs_and_is_reported(server):
    from tiny import TOOL_QUESTION, TOOL_SYSTEM

    _, url = server
    msgs = [{"role": "system", "content": TOOL_SYSTEM}, {"role": "user", "content": TOOL_QUESTION}]
    st, r = request(url, "POST", "/v1/chat/completions",
                    {"messages": msgs, "temperature": 0, "max_tokens": 60})
    assert st == 200
    segs = r["choices"][0]["message"]["chatforge_segments"]
    assert segs[0] == {"type": "tool_call", "tool": "calculator", "input": "17*23"}
    assert segs[1] == {"type": "tool_result", "output": "391"}  # the real calculator ran
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
    events = [getattr(c.choices[0].delta, "chatforge_event", None)
              for c in client.chat.completions.create(model="sft", messages=msgs, temperature=0,
                                                      max_tokens=60, stream=True) if c.choices]
    assert [e["type"] for e in events if e] == ["tool_call", "tool_result"]
    # the same question with tools switched off: a call is answered with an error, not run
    off = [{"role": "system", "content": "Tools: none."}, {"role": "user", "content": TOOL_QUESTION}]
    st, r = request(url, "POST", "/v1/chat/completions",
                    {"messages": off, "temperature": 0, "max_tokens": 60})
    results = [s["output"] for s in r["choices"][0]["message"].get("chatforge_segments", [])
               if s["type"] == "tool_result"]
    assert all("switched off" in out for out in results)


def test_output_decoder_segments_and_stop_strings(run_dir):
    from chatforge.serve.stream import OutputDecoder
    from chatforge.tokenizer import Tokenizer

    tok = Tokenizer.load(run_dir / "tokenizer")
    sp = tok.special
    ids = ([sp("<|tool_call|>")] + tok.encode("calculator\n1+1") + [sp("<|/tool_call|>")]
           + [sp("<|tool_result|>")] + tok.encode("2") + [sp("<|/tool_result|>")]
           + tok.encode("It is 2. Done here.") + [sp("<|im_end|>")])
    d = OutputDecoder(tok, chat=True)
    events = [e for t in ids for e in d.feed(t)] + d.finish()
    assert [k for k, _ in events if k != "text"] == ["tool_call", "tool_result"]
    assert "".join(p for k, p in events if k == "text") == "It is 2. Done here." == d.text
    d = OutputDecoder(tok, chat=True, stop=[". Do"])
    events = [e for t in ids for e in d.feed(t)] + d.finish()
    assert "".join(p for k, p in events if k == "text") == "It is 2" and d.stopped
    # a character split across byte tokens is never sent half-decoded
    d = OutputDecoder(tok, chat=False)
    text = "".join(p for t in tok.encode("naïve 日本語 🙂") for k, p in d.feed(t)) + "".join(
        p for k, p in d.finish())
    assert text == "naïve 日本語 🙂"
