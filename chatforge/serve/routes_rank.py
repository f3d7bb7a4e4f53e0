"""Preferences from people: the page's ranking of sampled answers (/api/rank, into
<run_dir>/rankings.jsonl for RLHF) and the arena's side-by-side vote (/api/arena/pair, /api/arena/vote,
into <run_dir>/arena/votes.sqlite). The stores and the pairing live in chatforge.rlhf.rankings and
chatforge.arena.web; this is their HTTP side. File and database work runs on the thread pool.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from chatforge.arena import web as arena
from chatforge.rlhf import rankings
from chatforge.serve.errors import bad, responses
from chatforge.serve.rankings import RankRequest
from chatforge.serve.schemas import ArenaVote
from chatforge.serve.state import AppDep, require_key

router = APIRouter(dependencies=[Depends(require_key)], responses=responses(400, 401), tags=["preferences"])


@router.post("/api/rank", summary="save a ranking of sampled answers to rankings.jsonl",
             responses=responses(404))
def rank(req: RankRequest, app: AppDep) -> dict:
    if app.run_dir is None:
        raise bad("This server has no run directory to save rankings in (start it with --run-dir).")
    rec = req.record(app.cfg.max_message_chars)
    served = app.model(req.model)
    path = rankings.append(app.run_dir, {"model": served.name, "checkpoint": served.meta.get("checkpoint"),
                                         "source": "web", **rec})
    return {"saved": True, "count": len(rankings.read(app.run_dir)), "file": str(path)}


@router.get("/api/arena/pair", summary="two saved arena answers to one open-ended prompt")
def arena_pair(app: AppDep) -> dict:
    return arena.pair(app.run_dir)


@router.post("/api/arena/vote", summary="a person's vote on an arena pair, into arena/votes.sqlite")
def arena_vote(req: ArenaVote, app: AppDep) -> dict:
    return arena.vote(app.run_dir, req.prompt_id, req.models, req.winner)
