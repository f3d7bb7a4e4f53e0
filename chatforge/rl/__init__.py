"""Reinforcement learning on verifiable problems: `chatforge rl --method rft|grpo`."""
