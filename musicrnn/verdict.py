"""One verdict per trained model, in words a non-programmer understands, with warnings where it matters."""

from __future__ import annotations

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


@dataclass
class Verdict:
    level: Literal["success", "warning"]
    text: str
    warnings: list[str]


def verdict(
    model_ce: float, bigram_ce: float, earlier_best: tuple[str, float] | None = None, before: float | None = None
) -> Verdict:
    """How well a model predicts the next note of the held-out files, against simple guessing (the bigram),
    an earlier run (`earlier_best`: its name and score) and the model it was fine-tuned from (`before`)."""
    figures = f"{model_ce:.2f} vs {bigram_ce:.2f} nats; lower is better"
    against_guessing = compare(model_ce, bigram_ce)
    if against_guessing == "better":
        text = f"Predicts your next note better than simple guessing: {figures}."
    elif against_guessing == "same":
        text = f"Predicts your next note about as well as simple guessing, no better: {figures}."
    else:
        text = f"Predicts your next note worse than simple guessing: {figures}."
    warnings = []
    if against_guessing != "better":
        warnings.append(
            "It has not learned more than which note usually follows which. More music, more epochs, "
            "or fine-tuning the default model usually help."
        )
    if earlier_best is not None and compare(model_ce, earlier_best[1]) == "worse":
        warnings.append(
            f"Worse than your earlier model “{earlier_best[0]}” ({earlier_best[1]:.2f} nats): "
            "that one is still kept, use it on the Generate page."
        )
    if before is not None:
        if compare(model_ce, before) == "better":
            text += f" Before this training the starting model scored {before:.2f} on the same files."
        else:
            warnings.append(
                f"No better than the starting model before this training ({before:.2f} nats on the same files)."
            )
    return Verdict("warning" if warnings else "success", text, warnings)
