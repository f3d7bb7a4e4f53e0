"""Pretraining: token shards from the data stage's documents, then the training core."""
