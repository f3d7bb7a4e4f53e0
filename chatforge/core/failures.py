"""A stage whose items all fail for one reason is broken, not done.

Per-item exceptions stay per-item drops (one bad page is one dropped page). But when every item,
or an implausible share of them, fails for the same reason, the cause is almost always the
setup (a package that moved, a sandbox that cannot start), and reporting success would hand the
next stage nothing, or garbage, with no word why. So the stage stops with the reason and the
first error's message, before it marks itself complete.
"""

from __future__ import annotations

from chatforge.core.errors import UserError


class SystematicFailure(UserError):
    """Every (or nearly every) item of a stage failed one way."""


def stop_if_systematic(stage: str, what: str, total: int, failures: dict[str, int],
                       first_error: dict[str, str] | None = None, max_share: float = 0.5,
                       min_items: int = 20) -> None:
    """Raise if one reason accounts for all of `total` items, or for more than `max_share` of
    them once there are at least `min_items`."""
    first_error = first_error or {}
    for reason, n in sorted(failures.items(), key=lambda kv: -kv[1]):
        if total <= 0 or n <= 0:
            continue
        if n >= total or (total >= min_items and n / total > max_share):
            first = first_error.get(reason)
            raise SystematicFailure(
                f"the {stage} stage stopped: {n} of {total} {what} failed with "
                f"'{reason.replace('_', ' ')}'" + (f", the first with: {first}" if first else "")
                + "; this looks like a setup problem, not bad input (see `chatforge doctor`).")
