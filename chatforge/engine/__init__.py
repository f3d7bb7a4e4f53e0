"""The one inference engine (sample, chat, serve, eval, probe, RL, distillation)."""

from chatforge.engine.engine import Completion, Engine, TextStream, ToolCall
from chatforge.engine.sampling import SamplingParams, make_generator, sample

__all__ = ["Completion", "Engine", "SamplingParams", "TextStream", "ToolCall", "make_generator", "sample"]
