"""The web page in a real browser: Debian's chromium, headless, driven by Playwright.

Never downloads a browser: Playwright launches /usr/bin/chromium (installed by .ci/run with
apt-get) and the test skips cleanly where it is missing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHATFORGE_CHROMIUM", "/usr/bin/chromium"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]

if not CHROMIUM.is_file():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("torch")

from tiny import cached_tiny_checkpoint  # noqa: E402

from chatforge.serve.app import App, start_in_thread  # noqa: E402
from chatforge.serve.config import ServeConfig  # noqa: E402
from chatforge.serve.models import Models  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("web") / "run"
    cached_tiny_checkpoint(run_dir, tmp_path_factory.getbasetemp() / "tiny-cache", train_steps=80)
    from conftest import tiny_reward_model

    tiny_reward_model(run_dir)  # the chat view shows its score beside each answer
    app = App(ServeConfig(max_tokens=64, default_max_tokens=32), Models(run_dir, None), run_dir)
    srv, url = start_in_thread(app)
    yield url, run_dir
    srv.shutdown()
    app.close()


@pytest.fixture(scope="module")
def page(site):
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            p = browser.new_page()
            p.set_default_timeout(30_000)
            errors: list[str] = []
            p.on("pageerror", lambda e: errors.append(str(e)))
            p.goto(site[0] + "/")
            p.wait_for_function("document.querySelector('#model').options.length > 0")
            yield p
            assert not errors, errors
        finally:
            browser.close()


def test_chat_streams_a_reply(page):
    chunks = []
    page.on("response", lambda r: chunks.append(r.url) if "chat/completions" in r.url else None)
    page.fill("#temperature", "0")
    page.uncheck("#tools")
    # count the updates the reply bubble gets while it streams (one per SSE text delta), and note
    # whether it was ever marked as streaming: a short reply can finish between two polls of
    # wait_for_selector, so the transient state is recorded by the observer instead
    page.evaluate("""() => {
      window.__updates = 0;
      window.__streamed = false;
      new MutationObserver((records) => {
        window.__updates += records.filter(
          (r) => r.type === 'characterData' || r.addedNodes.length).length;
        if (document.querySelector('.msg.assistant.streaming')) window.__streamed = true;
      }).observe(document.querySelector('#messages'),
                 {subtree: true, childList: true, characterData: true, attributes: true});
    }""")
    page.fill("#prompt", "hi")
    page.click("#send")
    page.wait_for_selector(".msg.assistant[data-done='1']")
    assert page.evaluate("window.__streamed")
    page.wait_for_selector(".msg.assistant .rmscore")
    assert page.inner_text(".msg.assistant .rmscore").startswith("reward model: ")
    reply = page.evaluate("document.querySelector('.msg.assistant').firstChild.textContent")
    assert reply.strip() and reply != "(no answer)"
    assert page.evaluate("window.__updates") > 3  # the reply grew piece by piece
    assert page.inner_text(".msg.user") == "hi"
    assert chunks  # it went through the API


def test_chat_shows_tool_calls(page):
    from tiny import TOOL_QUESTION

    page.click("#reset")
    page.check("#tools")
    page.fill("#prompt", TOOL_QUESTION)
    page.click("#send")
    page.wait_for_selector(".msg.assistant[data-done='1']")
    boxes = page.locator(".msg.assistant .tool")
    assert boxes.count() == 2
    assert "calculator" in boxes.nth(0).inner_text() and "17*23" in boxes.nth(0).inner_text()
    assert "391" in boxes.nth(1).inner_text()  # the server ran the real calculator


def test_tokens_view(page):
    page.click("#tabs button[data-tab='tokens']")
    page.fill("#toktext", "Hello world 12345")
    page.wait_for_function("document.querySelectorAll('#cl100k .tok').length === 5")
    assert page.locator("#ours .tok").count() > 0
    assert "5 tokens" in page.inner_text("#cl-title")


def test_inside_view(page):
    page.click("#tabs button[data-tab='inside']")
    page.fill("#insidetext", "The model learns")
    page.click("#insiderun")
    page.wait_for_function("document.querySelectorAll('#predictions tr').length > 2")
    assert page.locator("#layer option").count() == 2 and page.locator("#head option").count() == 4
    page.select_option("#layer", "1")
    page.locator("#insidetokens .tok").nth(1).click()
    assert "looks most at" in page.inner_text("#attninfo")


def test_rank_view_saves(page, site):
    page.click("#tabs button[data-tab='rank']")
    page.select_option("#rankn", "2")
    page.click("#ranksample")
    page.wait_for_function("document.querySelectorAll('#answers .answer').length === 2")
    page.locator("#answers .answer").nth(1).click()  # best first; the last one follows by itself
    page.wait_for_function("!document.querySelector('#ranksave').disabled")
    page.click("#ranksave")
    page.wait_for_function("document.querySelector('#rankstatus').textContent.includes('saved')")
    rec = json.loads((site[1] / "rankings.jsonl").read_text().splitlines()[-1])
    assert rec["ranking"] == [1, 0] and len(rec["answers"]) == 2 and rec["source"] == "web"
