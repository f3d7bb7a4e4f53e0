// chatforge web page: plain JavaScript, no build step. Talks only to this server's own API.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { info: null, history: [], busy: false, abort: null, inside: null, sel: null,
                rank: { answers: [], order: [], messages: null } };

// ---- plumbing ----------------------------------------------------------------------------------
function headers() {
  const h = { "Content-Type": "application/json" };
  const key = localStorage.getItem("chatforge-key");
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

function showError(msg) {
  const e = $("error");
  e.textContent = msg;
  e.hidden = false;
  clearTimeout(showError.t);
  showError.t = setTimeout(() => (e.hidden = true), 6000);
}

async function api(path, body) {
  const r = await fetch(path, body === undefined ? { headers: headers() }
                                                 : { method: "POST", headers: headers(), body: JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((data.error && data.error.message) || `HTTP ${r.status}`);
  return data;
}

function model() { return $("model").value || undefined; }

// Reads an SSE response body and calls onData(obj) for every `data:` line until [DONE].
async function readSSE(response, onData) {
  const reader = response.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of block.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const payload = line.slice(6);
        if (payload === "[DONE]") return;
        onData(JSON.parse(payload));
      }
    }
  }
}

// ---- tabs and setup ----------------------------------------------------------------------------
document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => {
  document.querySelectorAll("#tabs button").forEach((x) => x.classList.toggle("active", x === b));
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.id === "tab-" + b.dataset.tab));
  if (b.dataset.tab === "tokens") tokenize();
}));

async function init() {
  try {
    state.info = await api("/api/info");
  } catch (e) {
    if (/API key/.test(e.message)) {
      const k = $("apikey");
      k.hidden = false;
      k.addEventListener("change", () => { localStorage.setItem("chatforge-key", k.value); init(); });
    }
    showError(e.message);
    return;
  }
  const sel = $("model");
  sel.innerHTML = "";
  for (const m of state.info.models) {
    const o = document.createElement("option");
    o.value = m.id;
    o.textContent = m.id + (m.step != null ? ` (step ${m.step})` : "");
    o.selected = m.id === state.info.default_model;
    sel.appendChild(o);
  }
  $("maxtokens").max = state.info.max_tokens;
  $("maxtokens").value = Math.min(200, state.info.max_tokens);
  if (!state.info.tools.length) { $("tools").checked = false; $("tools").disabled = true; }
  if (!state.info.rankings) $("rankstatus").textContent = "This server has no run directory: rankings cannot be saved.";
}

// ---- chat --------------------------------------------------------------------------------------
function systemMessage() {
  // the system prompt format the chat model was trained with (chatforge/chat/prompts.py)
  const tools = $("tools").checked && state.info && state.info.tools.length
    ? "Tools: " + state.info.tools.join(", ") + "." : "Tools: none.";
  const text = $("system").value.trim();
  return { role: "system", content: text ? text + "\n" + tools : tools };
}

function bubble(role, text) {
  const d = document.createElement("div");
  d.className = "msg " + role;
  if (text) d.textContent = text;
  $("messages").appendChild(d);
  d.scrollIntoView({ block: "end" });
  return d;
}

function toolBox(parent, seg) {
  const box = document.createElement("span");
  box.className = "tool" + (seg.type === "tool_result" ? " result" : "");
  const label = document.createElement("span");
  label.className = "label";
  label.textContent = seg.type === "tool_call" ? `${seg.tool} ▸ ` : "result ▸ ";
  box.appendChild(label);
  box.appendChild(document.createTextNode(seg.type === "tool_call" ? seg.input : seg.output));
  parent.appendChild(box);
}

async function send(text) {
  if (state.busy || !text.trim()) return;
  state.busy = true;
  $("send").disabled = true; $("stop").hidden = false;
  state.history.push({ role: "user", content: text });
  bubble("user", text);
  const out = bubble("assistant", "");
  out.classList.add("streaming");
  const segments = [];
  let textNode = null;
  state.abort = new AbortController();
  try {
    const r = await fetch("/v1/chat/completions", {
      method: "POST", headers: headers(), signal: state.abort.signal,
      body: JSON.stringify({ model: model(), stream: true, messages: [systemMessage(), ...state.history],
                             temperature: Number($("temperature").value), max_tokens: Number($("maxtokens").value) }),
    });
    if (!r.ok) {
      const data = await r.json().catch(() => ({}));
      throw new Error((data.error && data.error.message) || `HTTP ${r.status}`);
    }
    await readSSE(r, (chunk) => {
      const c = chunk.choices && chunk.choices[0];
      if (!c) return;
      const d = c.delta || {};
      if (d.content) {
        if (!textNode) { textNode = document.createTextNode(""); out.appendChild(textNode); }
        textNode.appendData(d.content);
        const last = segments[segments.length - 1];
        if (last && last.type === "text") last.text += d.content; else segments.push({ type: "text", text: d.content });
      } else if (d.chatforge_event) {
        segments.push(d.chatforge_event);
        toolBox(out, d.chatforge_event);
        textNode = null;
      }
      out.scrollIntoView({ block: "end" });
    });
  } catch (e) {
    if (e.name !== "AbortError") showError(e.message);
  } finally {
    out.classList.remove("streaming");
    if (!segments.length) out.textContent = out.textContent || "(no answer)";
    state.history.push({ role: "assistant", content: segments.some((s) => s.type !== "text") ? segments
                         : segments.map((s) => s.text).join("") });
    state.busy = false; state.abort = null;
    $("send").disabled = false; $("stop").hidden = true;
    out.dataset.done = "1";
    const answer = segments.filter((s) => s.type === "text").map((s) => s.text).join("");
    if (state.info && state.info.reward_model && answer.trim()) showReward(out, state.history.slice(0, -1), answer);
  }
}

// the run's reward model (chatforge rm) scores each answer, shown beside it
async function showReward(out, messages, answer) {
  try {
    const r = await api("/api/reward", { messages: [systemMessage(), ...messages], answer });
    const tag = document.createElement("span");
    tag.className = "rmscore";
    tag.title = "the reward model's score of this answer (higher = it predicts people prefer it)";
    tag.textContent = `reward model: ${r.score.toFixed(2)}`;
    out.appendChild(tag);
  } catch (e) { /* scoring is a side view: the answer stands without it */ }
}

$("chatform").addEventListener("submit", (e) => {
  e.preventDefault();
  const t = $("prompt").value;
  $("prompt").value = "";
  send(t);
});
$("prompt").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("chatform").requestSubmit(); }
});
$("stop").addEventListener("click", () => state.abort && state.abort.abort());
$("reset").addEventListener("click", () => { state.history = []; $("messages").innerHTML = ""; });

// ---- tokens ------------------------------------------------------------------------------------
const COLORS = ["#fde2e2", "#d8f3dc", "#dbeafe", "#fef3c7", "#ede9fe", "#fce7f3", "#cffafe", "#e5e7eb"];

function renderTokens(el, tokens, onClick) {
  el.innerHTML = "";
  tokens.forEach((t, i) => {
    const s = document.createElement("span");
    s.className = "tok" + (t.text.startsWith("<|") && t.text.endsWith("|>") ? " special" : "");
    s.style.background = COLORS[i % COLORS.length];
    s.textContent = t.text.replace(/\n/g, "↵\n").replace(/\t/g, "→");
    s.title = `id ${t.id}` + (t.p !== undefined ? ` p=${t.p}` : "");
    if (onClick) s.addEventListener("click", () => onClick(i));
    el.appendChild(s);
  });
}

let tokTimer = null, tokSeq = 0;
async function tokenize() {
  const seq = ++tokSeq;
  try {
    const r = await api("/api/tokenize", { text: $("toktext").value, model: model() });
    if (seq !== tokSeq) return;  // a newer request is on its way: never show stale tokens
    renderTokens($("ours"), r.ours.tokens);
    renderTokens($("cl100k"), r.cl100k_base.tokens);
    $("ours-title").textContent = `ours (${r.ours.name}, vocab ${r.ours.n_vocab}): ${r.ours.count} tokens`;
    $("cl-title").textContent = `cl100k_base (vocab ${r.cl100k_base.n_vocab}): ${r.cl100k_base.count} tokens`;
  } catch (e) { showError(e.message); }
}
$("toktext").addEventListener("input", () => { clearTimeout(tokTimer); tokTimer = setTimeout(tokenize, 250); });

// ---- inside the model --------------------------------------------------------------------------
async function runInside() {
  const text = $("insidetext").value;
  const body = $("insidechat").checked ? { messages: [{ role: "user", content: text }] } : { text };
  try {
    state.inside = await api("/api/inspect", { ...body, model: model() });
  } catch (e) { showError(e.message); return; }
  const r = state.inside;
  for (const [id, n] of [["layer", r.n_layer], ["head", r.n_head]]) {
    const s = $(id);
    s.innerHTML = "";
    for (let i = 0; i < n; i++) s.add(new Option(String(i), String(i)));
  }
  state.sel = r.tokens.length - 1;
  drawInside();
}

function drawInside() {
  const r = state.inside;
  if (!r) return;
  const L = Number($("layer").value || 0), H = Number($("head").value || 0);
  const A = r.attention[L][H], T = r.tokens.length;
  renderTokens($("insidetokens"), r.tokens, (i) => { state.sel = i; drawInside(); });
  const spans = $("insidetokens").children;
  if (state.sel !== null && spans[state.sel]) spans[state.sel].classList.add("sel");
  // colour the tokens by how much the selected token attends to them
  if (state.sel !== null) {
    A[state.sel].forEach((w, j) => { spans[j].style.background = `rgba(47,111,222,${Math.min(1, w * 1.5)})`; });
  }
  const c = $("attn"), ctx = c.getContext("2d"), cell = c.width / T;
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, c.width, c.height);
  for (let q = 0; q < T; q++) {
    for (let k = 0; k <= q; k++) {
      ctx.fillStyle = `rgba(47,111,222,${A[q][k]})`;
      ctx.fillRect(k * cell, q * cell, Math.ceil(cell), Math.ceil(cell));
    }
  }
  if (state.sel !== null) {
    ctx.strokeStyle = "#1d1d1f"; ctx.strokeRect(0, state.sel * cell, c.width, cell);
    const tok = r.tokens[state.sel];
    const top = A[state.sel].map((w, j) => [w, j]).sort((a, b) => b[0] - a[0]).slice(0, 3);
    $("attninfo").textContent = `layer ${L}, head ${H}: "${tok.text}" (position ${state.sel}) looks most at ` +
      top.map(([w, j]) => `"${r.tokens[j].text}" (${(w * 100).toFixed(0)}%)`).join(", ") + ".";
  }
  drawPredictions();
}

function drawPredictions() {
  const r = state.inside, p = $("predictions");
  p.innerHTML = "";
  const t = document.createElement("table");
  t.innerHTML = "<tr><th>position</th><th>token</th><th>the model's next-token guesses</th></tr>";
  r.tokens.forEach((tok, i) => {
    const tr = document.createElement("tr");
    if (i === state.sel) tr.style.background = "#eef3fc";
    const nxt = r.tokens[i + 1];
    const guesses = r.top[i].map((g) => {
      const hit = nxt && g.id === nxt.id ? " ✓" : "";
      return `<span class="bar" style="width:${Math.round(g.p * 80)}px"></span>${escapeHtml(JSON.stringify(g.text))} ${(g.p * 100).toFixed(1)}%${hit}`;
    }).join("<br>");
    tr.innerHTML = `<td>${i}</td><td>${escapeHtml(JSON.stringify(tok.text))}</td><td>${guesses}</td>`;
    tr.addEventListener("click", () => { state.sel = i; drawInside(); });
    t.appendChild(tr);
  });
  p.appendChild(t);
}

function escapeHtml(s) { return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c])); }

$("insiderun").addEventListener("click", runInside);
$("layer").addEventListener("change", drawInside);
$("head").addEventListener("change", drawInside);
$("attn").addEventListener("click", (e) => {
  if (!state.inside) return;
  const rect = e.target.getBoundingClientRect();
  state.sel = Math.min(state.inside.tokens.length - 1, Math.floor((e.clientY - rect.top) / (rect.height / state.inside.tokens.length)));
  drawInside();
});

// ---- ranking -----------------------------------------------------------------------------------
async function sampleAnswers() {
  const messages = [systemMessage(), { role: "user", content: $("rankprompt").value }];
  $("ranksample").disabled = true;
  try {
    const r = await api("/v1/chat/completions", { model: model(), messages, n: Number($("rankn").value),
                                                  temperature: 1.0, max_tokens: Number($("maxtokens").value) });
    state.rank = { answers: r.choices.map((c) => c.message.content), order: [], messages };
    drawAnswers();
  } catch (e) { showError(e.message); } finally { $("ranksample").disabled = false; }
}

function drawAnswers() {
  const box = $("answers");
  box.innerHTML = "";
  state.rank.answers.forEach((a, i) => {
    const d = document.createElement("div");
    const pos = state.rank.order.indexOf(i);
    d.className = "answer" + (pos >= 0 ? " ranked" : "");
    d.textContent = a || "(empty answer)";
    if (pos >= 0) {
      const b = document.createElement("span");
      b.className = "rank";
      b.textContent = "#" + (pos + 1);
      d.appendChild(b);
    }
    d.addEventListener("click", () => {
      if (pos < 0) state.rank.order.push(i);
      if (state.rank.order.length === state.rank.answers.length - 1) {
        state.rank.order.push(state.rank.answers.findIndex((_, j) => !state.rank.order.includes(j)));
      }
      drawAnswers();
    });
    box.appendChild(d);
  });
  $("ranksave").disabled = !(state.info && state.info.rankings) || state.rank.order.length !== state.rank.answers.length;
}

$("ranksample").addEventListener("click", sampleAnswers);
$("rankclear").addEventListener("click", () => { state.rank.order = []; drawAnswers(); });
$("ranksave").addEventListener("click", async () => {
  try {
    const r = await api("/api/rank", { model: model(), messages: state.rank.messages,
                                       answers: state.rank.answers, ranking: state.rank.order });
    $("rankstatus").textContent = `saved (${r.count} rankings in ${r.file})`;
    $("ranksave").disabled = true;
  } catch (e) { showError(e.message); }
});

// ---- arena: a side-by-side vote -----------------------------------------------------------------
async function arenaPair() {
  try {
    state.arena = await api("/api/arena/pair");
    $("arenaprompt").textContent = state.arena.prompt;
    $("arenaa").textContent = state.arena.a || "(empty answer)";
    $("arenab").textContent = state.arena.b || "(empty answer)";
    $("arenastatus").textContent = "";
    document.querySelectorAll("#tab-arena .vote").forEach((b) => { b.disabled = false; });
  } catch (e) { $("arenastatus").textContent = e.message; }
}
document.querySelectorAll("#tab-arena .vote").forEach((b) => b.addEventListener("click", async () => {
  if (!state.arena) return;
  try {
    const r = await api("/api/arena/vote", { prompt_id: state.arena.prompt_id, models: state.arena.models,
                                             winner: b.dataset.winner });
    document.querySelectorAll("#tab-arena .vote").forEach((x) => { x.disabled = true; });
    $("arenastatus").textContent = `A was ${r.models[0]}, B was ${r.models[1]}; saved (${r.person_votes} votes by people)`;
  } catch (e) { showError(e.message); }
}));
$("arenanext").addEventListener("click", arenaPair);
document.querySelector('#tabs button[data-tab="arena"]').addEventListener("click", () => { if (!state.arena) arenaPair(); });

init();
