"""Every error a client can get, in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.

The server's own checks raise `ApiError`. FastAPI's and Starlette's errors are translated here:
a request body that fails its pydantic model (FastAPI's 422) becomes a 400 naming the field, as
OpenAI and vLLM answer; an unknown path is a 404 and a known path with the wrong method a 405.
A `UserError` from the layers below (the arena's "no answers yet", ...) is a 400 with its one
sentence. Anything else is a bug: a 500 in the same shape, with the traceback in the log.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from chatforge.core.errors import UserError


class ApiError(Exception):
    def __init__(self, status: int, message: str, type_: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code

    def body(self) -> dict:
        return error_body(self.message, self.type, self.param, self.code)

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def error_body(message: str, type_: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def bad(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    """OpenAI's error body, for the OpenAPI description of the error responses."""

    error: ErrorDetail


def responses(*codes: int) -> dict[int | str, dict]:
    """The error responses of a route, for /openapi.json and /docs."""
    text = {400: "Bad request (the message names the field)", 401: "Missing or wrong API key",
            404: "Unknown model", 411: "Content-Length required", 413: "Request body too large",
            429: "The request queue is full"}
    return {c: {"model": ErrorBody, "description": text[c]} for c in codes}


# ---- pydantic's errors -> one clear 400 ------------------------------------------------------

def _param(loc: tuple) -> str | None:
    """('body', 'messages', 0, 'content') -> 'messages[0].content'; pydantic's union branch tags
    ('str', 'list[str]', 'function-after[...]') are left out."""
    out = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier() and part not in _TAGS:
            out += f".{part}" if out else part
    return out or None


_TAGS = {"str", "int", "float", "bool", "list", "dict", "none"}


def _message(err: dict) -> str:
    msg = str(err.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ").rstrip(".")


def from_validation(exc: RequestValidationError) -> ApiError:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return bad("The request body is not valid JSON.", code="invalid_json")
    if not errors or any(tuple(e.get("loc", ())) == ("body",) for e in errors):
        return bad("The request body must be a JSON object, sent with 'Content-Type: application/json'.",
                   code="invalid_json")
    param = _param(tuple(errors[0].get("loc", ())))
    # a union field fails once per alternative: say all of them, once each
    msgs = list(dict.fromkeys(_message(e) for e in errors if _param(tuple(e.get("loc", ()))) == param))
    where = f"'{param}'" if param else "the request"
    return bad(f"Invalid {where}: {'; or '.join(msgs)}.", param)


# ---- the handlers ---------------------------------------------------------------------------

def install(app: FastAPI, log: Callable[[str], None]) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return from_validation(exc).response()

    @app.exception_handler(UserError)
    async def user_error(request: Request, exc: UserError) -> JSONResponse:
        return bad(str(exc)).response()

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        path, method = request.url.path, request.method
        if exc.status_code == 404:
            err = ApiError(404, f"No such endpoint: {path}.", code="not_found")
        elif exc.status_code == 405:
            err = ApiError(405, f"{method} is not allowed on {path}.", code="method_not_allowed")
        elif exc.status_code == 400:  # FastAPI could not read the body (e.g. it is not UTF-8)
            err = bad("The request body is not valid JSON.", code="invalid_json")
        else:
            err = ApiError(exc.status_code, str(exc.detail))
        return err.response(dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log("internal error:\n" + "".join(traceback.format_exception(exc)))
        return ApiError(500, f"Internal server error ({type(exc).__name__}).", "server_error").response()
