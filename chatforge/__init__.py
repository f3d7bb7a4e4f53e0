"""chatforge: build a ChatGPT-style assistant from nothing, every stage of it."""

__version__ = "0.1.0"
