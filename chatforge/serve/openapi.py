"""The OpenAPI 3.0 description of the server, served at /openapi.json (and fuzzed by bench/)."""

from __future__ import annotations

_ERROR = {"$ref": "#/components/schemas/Error"}


def _errors(*codes: int) -> dict:
    text = {400: "Bad request", 401: "Missing or wrong API key", 404: "Unknown model",
            411: "Length required", 413: "Request too large", 429: "Queue full"}
    return {str(c): {"description": text[c], "content": {"application/json": {"schema": _ERROR}}}
            for c in codes}


def _json(schema: dict, desc: str = "OK") -> dict:
    return {"200": {"description": desc, "content": {"application/json": {"schema": schema}}}}


def _post(summary: str, req: str, resp: dict, stream: bool = False) -> dict:
    ok = _json(resp)
    if stream:
        ok["200"]["content"]["text/event-stream"] = {"schema": {"type": "string"}}
    return {"post": {"summary": summary,
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"$ref": f"#/components/schemas/{req}"}}}},
                     "responses": {**ok, **_errors(400, 401, 404, 411, 413, 429)}}}


_SAMPLING = {
    "model": {"type": "string", "description": "a name from /v1/models (default: the newest chat model)"},
    "max_tokens": {"type": "integer", "minimum": 1, "nullable": True},
    "max_completion_tokens": {"type": "integer", "minimum": 1, "nullable": True},
    "temperature": {"type": "number", "minimum": 0, "maximum": 2, "nullable": True},
    "top_p": {"type": "number", "minimum": 0, "maximum": 1, "nullable": True},
    "top_k": {"type": "integer", "minimum": 0, "nullable": True, "description": "extension: 0 = off"},
    "n": {"type": "integer", "minimum": 1, "nullable": True},
    "seed": {"type": "integer", "minimum": 0, "nullable": True},
    "stream": {"type": "boolean", "nullable": True},
    "stream_options": {"type": "object", "nullable": True,
                       "properties": {"include_usage": {"type": "boolean"}}},
    "stop": {"nullable": True, "oneOf": [{"type": "string"},
                                         {"type": "array", "items": {"type": "string"}, "maxItems": 4}]},
}

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "chatforge", "version": "1",
             "description": "OpenAI-compatible chat and text completions for chatforge models, plus the "
                            "web page's token, inspection and ranking endpoints."},
    "paths": {
        "/health": {"get": {"summary": "liveness and queue state", "responses": _json({"type": "object"})}},
        "/v1/models": {"get": {"summary": "the checkpoints this server offers",
                               "responses": {**_json({"$ref": "#/components/schemas/ModelList"}),
                                             **_errors(401)}}},
        "/v1/chat/completions": _post("chat completion (SSE when stream=true)", "ChatRequest",
                                      {"$ref": "#/components/schemas/ChatCompletion"}, stream=True),
        "/v1/completions": _post("text completion (SSE when stream=true)", "CompletionRequest",
                                 {"$ref": "#/components/schemas/Completion"}, stream=True),
        "/api/info": {"get": {"summary": "limits, models and tools, for the web page",
                              "responses": {**_json({"type": "object"}), **_errors(401)}}},
        "/api/tokenize": _post("tokens of a text: ours and cl100k_base", "TokenizeRequest", {"type": "object"}),
        "/api/inspect": _post("attention maps and top next-token probabilities", "InspectRequest",
                              {"type": "object"}),
        "/api/rank": _post("save a ranking of sampled answers to rankings.jsonl", "RankRequest",
                           {"type": "object"}),
        "/api/reward": _post("the run's reward model's score of an answer (chatforge rm)", "RewardRequest",
                             {"type": "object", "properties": {"score": {"type": "number"},
                                                               "checkpoint": {"type": "string"}}}),
        "/api/arena/pair": {"get": {"summary": "two saved arena answers to one open-ended prompt",
                                    "responses": {**_json({"type": "object"}), **_errors(400, 401)}}},
        "/api/arena/vote": _post("a person's vote on an arena pair, into arena/votes.sqlite", "ArenaVote",
                                 {"type": "object"}),
    },
    "components": {"schemas": {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["message", "type"],
            "properties": {"message": {"type": "string"}, "type": {"type": "string"},
                           "param": {"type": "string", "nullable": True},
                           "code": {"type": "string", "nullable": True}}}}},
        "Message": {"type": "object", "required": ["role", "content"], "properties": {
            "role": {"type": "string", "enum": ["system", "developer", "user", "assistant", "tool"]},
            "content": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}],
                        "nullable": True}}},
        "ChatRequest": {"type": "object", "required": ["messages"], "properties": {
            "messages": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Message"}},
            **_SAMPLING}},
        "CompletionRequest": {"type": "object", "required": ["prompt"], "properties": {
            "prompt": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"},
                                                      "minItems": 1, "maxItems": 1},
                                 {"type": "array", "items": {"type": "integer"}, "minItems": 1}]},
            **_SAMPLING}},
        "TokenizeRequest": {"type": "object", "required": ["text"], "properties": {
            "text": {"type": "string"}, "model": {"type": "string"}}},
        "InspectRequest": {"type": "object", "properties": {
            "text": {"type": "string"}, "model": {"type": "string"},
            "messages": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}}}},
        "RankRequest": {"type": "object", "required": ["messages", "answers", "ranking"], "properties": {
            "model": {"type": "string"},
            "messages": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Message"}},
            "answers": {"type": "array", "minItems": 2, "maxItems": 8, "items": {"type": "string"}},
            "ranking": {"type": "array", "items": {"type": "integer"}}}},
        "RewardRequest": {"type": "object", "required": ["messages", "answer"], "properties": {
            "messages": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Message"}},
            "answer": {"type": "string"}}},
        "ArenaVote": {"type": "object", "required": ["prompt_id", "models", "winner"], "properties": {
            "prompt_id": {"type": "string"},
            "models": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "string"}},
            "winner": {"type": "string", "enum": ["a", "b", "tie"]}}},
        "ModelList": {"type": "object", "properties": {
            "object": {"type": "string"}, "data": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "object": {"type": "string"}, "created": {"type": "integer"},
                "owned_by": {"type": "string"}}}}}},
        "ChatCompletion": {"type": "object", "properties": {
            "id": {"type": "string"}, "object": {"type": "string"}, "created": {"type": "integer"},
            "model": {"type": "string"}, "choices": {"type": "array", "items": {"type": "object"}},
            "usage": {"type": "object"}}},
        "Completion": {"type": "object", "properties": {
            "id": {"type": "string"}, "object": {"type": "string"}, "created": {"type": "integer"},
            "model": {"type": "string"}, "choices": {"type": "array", "items": {"type": "object"}},
            "usage": {"type": "object"}}},
    }},
    "security": [{"bearer": []}],
}
SPEC["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
