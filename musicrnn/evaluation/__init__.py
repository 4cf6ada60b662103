"""How good is a model? scores (cross-entropy against baselines), musical (what the music is like), novelty (what it copies)."""
