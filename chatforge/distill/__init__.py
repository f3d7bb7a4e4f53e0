"""Distillation: a small, fast student learns from a chat model (white-box logits, black-box text, on-policy)."""
