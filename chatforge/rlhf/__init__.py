"""RLHF: rankings of sampled answers, a reward model, RL against it, and reward hacking caught."""
