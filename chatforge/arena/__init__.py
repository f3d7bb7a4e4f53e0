"""`chatforge arena`: pairwise battles between checkpoints, judged by the gold scorer or people."""
