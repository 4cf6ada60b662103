"""One verdict per trained model, in words a non-programmer understands, with warnings where it matters."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

# Scores closer than this (nats) are "about the same": held-out sets are small, figures are noisy.
SAME = 0.02


Comparison = Literal["better", "same", "worse"]


def compare(model_ce: float, guess_ce: float) -> Comparison:
    """A model's cross-entropy against a simple guess's (or another model's): "same" within SAME nats. The one
    rule for "better than" / "worse than" everywhere a score is put into words."""
    if model_ce < guess_ce - SAME:
        return "better"
    return "same" if model_ce <= guess_ce + SAME else "worse"


# What the words below call the bigram: guessing each note from the one before it, by counting which note
# followed which in the training files.
COUNTING = "simple counting"
COUNTING_EXPLAINED = (
    "Simple counting guesses each note from the one before it, by counting which note followed which in the "
    "training files. “Less surprised”: the network gave the true next notes of the held-out files more chance "
    "than counting did."
)


# The guessers of plots.metrics.evaluation_table, in words (the table's own row names go under "Details").
GUESSERS = {
    "model": "the network",
    "bigram": "counting which note follows which",
    "unigram": "counting how common each note is",
    "uniform": "a blind guess",
}


def surprise(model_ce: float, guess_ce: float) -> str:
    """How much less (or more) surprised by the true notes a model is than a guess, in words: "13 % less
    surprised" (the share by which its cross-entropy is lower), "about as surprised" within SAME nats."""
    kind = compare(model_ce, guess_ce)
    if kind == "same" or guess_ce <= 0:
        return "about as surprised"
    share = abs(guess_ce - model_ce) / guess_ce * 100
    return f"{share:.0f} % {'less' if kind == 'better' else 'more'} surprised"


def unsure_among(cross_entropy: float) -> str:
    """Perplexity in words: "as unsure as choosing among 36 pitches" (e^cross-entropy)."""
    return f"as unsure as choosing among {math.exp(cross_entropy):.0f} pitches"


@dataclass
class Verdict:
    level: Literal["success", "warning"]
    text: str
    warnings: list[str]
    details: str = ""  # the figures behind the words (nats, perplexity), for a "Details" section


def verdict(
    model_ce: float, bigram_ce: float, earlier_best: tuple[str, float] | None = None, before: float | None = None
) -> Verdict:
    """How well a model guesses the next note of the held-out files, in words, against simple counting (the
    bigram), an earlier run (`earlier_best`: its name and score) and the model it was fine-tuned from
    (`before`); the figures go to `details`."""
    against_counting = compare(model_ce, bigram_ce)
    if against_counting == "better":
        text = f"Guesses your next note better than {COUNTING} does: {surprise(model_ce, bigram_ce)}."
    elif against_counting == "same":
        text = f"Guesses your next note about as well as {COUNTING} does, no better."
    else:
        text = f"Guesses your next note worse than {COUNTING} does: {surprise(model_ce, bigram_ce)}."
    warnings = []
    if against_counting != "better":
        warnings.append(
            "It has not learned more than which note usually follows which. More music, a longer time limit, "
            "or fine-tuning a bundled model usually help."
        )
    if earlier_best is not None and compare(model_ce, earlier_best[1]) == "worse":
        warnings.append(
            f"It guesses worse than your earlier model “{earlier_best[0]}”: that one is still kept, use it on "
            "the Generate page."
        )
    if before is not None:
        if compare(model_ce, before) == "better":
            text += f" It guesses better than the model it started from did before this training ({surprise(model_ce, before)})."
        else:
            warnings.append("It guesses no better than the model it started from did before this training.")
    figures = [
        f"pitch cross-entropy on the held-out files {model_ce:.2f} nats per note (perplexity {math.exp(model_ce):.1f})",
        f"{COUNTING} (the bigram) {bigram_ce:.2f} ({math.exp(bigram_ce):.1f})",
    ]
    if before is not None:
        figures.append(f"the starting model before this training {before:.2f}")
    if earlier_best is not None:
        figures.append(f"your earlier “{earlier_best[0]}” {earlier_best[1]:.2f}")
    details = "; ".join(figures) + ". Lower is better; perplexity is e^(cross-entropy)."
    return Verdict("warning" if warnings else "success", text, warnings, details[0].upper() + details[1:])
