"""The web page and what its learner views ask for: the page and its files, /docs, and /api/info,
/api/tokenize, /api/inspect, /api/reward.

Files are served only by exact name from their folder (no path tricks). /docs is FastAPI's
Swagger UI page with its script and style served from the swagger-ui-py package, so it works
without the internet. The tokenize, inspect and reward endpoints are plain functions: FastAPI
runs them on its thread pool, off the event loop, while they run the model or the tokenizer.
"""

from __future__ import annotations

import importlib.util
import mimetypes
from pathlib import Path

from fastapi import APIRouter, Depends
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response

from chatforge.chat.prompts import ALL_TOOLS
from chatforge.serve import api
from chatforge.serve.errors import ApiError, bad, responses
from chatforge.serve.inspect import cl100k, inside, tokens_view
from chatforge.serve.schemas import InspectRequest, RewardRequest, TokenizeRequest
from chatforge.serve.state import AppDep, require_key

STATIC = Path(__file__).parent / "static"
_spec = importlib.util.find_spec("swagger_ui")  # located, not imported: only its files are used
SWAGGER = Path(_spec.submodule_search_locations[0]) / "static" if _spec else None
SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")

files = APIRouter(include_in_schema=False)
router = APIRouter(dependencies=[Depends(require_key)], responses=responses(400, 401, 404),
                   tags=["web page"])


def _file(folder: Path | None, name: str, allowed: set[str] | tuple[str, ...]) -> Response:
    if folder is None or name not in allowed or not (folder / name).is_file():
        raise ApiError(404, f"No such file: {name}.", code="not_found")
    ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if ctype.startswith("text/") or ctype.endswith("javascript"):
        ctype += "; charset=utf-8"
    return Response((folder / name).read_bytes(), media_type=ctype, headers={"Cache-Control": "no-cache"})


@files.api_route("/", methods=["GET", "HEAD"])
def page() -> Response:
    return _file(STATIC, "index.html", ("index.html",))


@files.api_route("/static/{name}", methods=["GET", "HEAD"])
def static(name: str) -> Response:
    return _file(STATIC, name, {p.name for p in STATIC.iterdir() if p.is_file()})


@files.get("/docs")
def docs() -> HTMLResponse:
    if SWAGGER is None:  # without the package: FastAPI's default page, which loads them from a CDN
        return get_swagger_ui_html(openapi_url="/openapi.json", title="chatforge API")
    return get_swagger_ui_html(openapi_url="/openapi.json", title="chatforge API",
                               swagger_js_url="/docs/swagger-ui-bundle.js",
                               swagger_css_url="/docs/swagger-ui.css",
                               swagger_favicon_url="/docs/favicon-32x32.png")


@files.get("/docs/{name}")
def docs_file(name: str) -> Response:
    return _file(SWAGGER, name, SWAGGER_FILES)


@router.get("/api/info", summary="limits, models and tools, for the web page")
async def info(app: AppDep) -> dict:
    c = app.cfg
    return {"models": app.models.describe(), "default_model": app.models.default,
            "tools": list(ALL_TOOLS) if c.tools else [], "max_tokens": c.max_tokens,
            "default_max_tokens": c.default_max_tokens, "max_n": c.max_n,
            "inspect_max_tokens": c.inspect_max_tokens, "auth": bool(app.api_key),
            "rankings": app.run_dir is not None, "reward_model": app.reward.available()}


@router.post("/api/tokenize", summary="the tokens of a text: this model's and GPT-4's cl100k_base")
def tokenize(req: TokenizeRequest, app: AppDep) -> dict:
    limit = app.cfg.max_message_chars
    if len(req.text) > limit:
        raise bad(f"'text' is longer than {limit} characters.", "text", "message_too_long")
    served = app.model(req.model)
    return {"chars": len(req.text), "bytes": len(req.text.encode("utf-8", "surrogatepass")),
            "ours": tokens_view(served.tokenizer, req.text), "cl100k_base": tokens_view(cl100k(), req.text)}


@router.post("/api/inspect", summary="attention maps and the top next-token guesses of one forward pass")
def inspect(req: InspectRequest, app: AppDep) -> JSONResponse:
    cfg = app.cfg
    served = app.model(req.model)
    tok = served.tokenizer
    if req.messages is not None:
        ids = api.chat_prompt(api.messages(req.messages, cfg), served)
    else:
        if not req.text:
            raise bad("Send 'text' (a non-empty string) or 'messages'.", "text")
        if len(req.text) > cfg.max_message_chars:
            raise bad(f"'text' is longer than {cfg.max_message_chars} characters.", "text",
                      "message_too_long")
        ids = [tok.special("<|endoftext|>")] + tok.encode(req.text)
    limit = min(cfg.inspect_max_tokens, served.context)
    out = inside(served.model, tok, ids[:limit])
    out.update(truncated=len(ids) > limit, model=served.name)
    return JSONResponse(out)  # straight to JSON: the attention maps are many numbers


@router.post("/api/reward", summary="the run's reward model's score of an answer (chatforge rm)")
def reward(req: RewardRequest, app: AppDep) -> dict:
    return app.reward.score(req, app.cfg.max_message_chars)
