"""Supervised fine-tuning: conversation mixtures from the world, packed, assistant-only loss."""
