"""One verdict per trained model, in words a non-programmer understands, with warnings where it matters."""
from __future__ import annotations

from dataclasses import dataclass

# Scores closer than this (nats) are "about the same": held-out sets are small, figures are noisy.
SAME = 0.02


@dataclass
class Verdict:
    level: str  # "success" | "warning"
    text: str
    warnings: list[str]


def verdict(model_ce: float, bigram_ce: float, earlier_best: tuple[str, float] | None = None,
            before: float | None = None) -> Verdict:
    """How well a model predicts the next note of the held-out files, against simple guessing (the bigram),
    an earlier run (`earlier_best`: its name and score) and the model it was fine-tuned from (`before`)."""
    figures = f"{model_ce:.2f} vs {bigram_ce:.2f} nats; lower is better"
    if model_ce < bigram_ce - SAME:
        text, level = f"Predicts your next note better than simple guessing: {figures}.", "success"
    elif model_ce <= bigram_ce + SAME:
        text, level = f"Predicts your next note about as well as simple guessing, no better: {figures}.", "warning"
    else:
        text, level = f"Predicts your next note worse than simple guessing: {figures}.", "warning"
    warnings = []
    if level == "warning":
        warnings.append("It has not learned more than which note usually follows which. More music, more epochs, "
                        "or fine-tuning the default model usually help.")
    if earlier_best is not None and model_ce > earlier_best[1] + SAME:
        warnings.append(f"Worse than your earlier model “{earlier_best[0]}” ({earlier_best[1]:.2f} nats): "
                        "that one is still kept, use it on the Generate page.")
    if before is not None:
        if model_ce < before - SAME:
            text += f" Before this training the starting model scored {before:.2f} on the same files."
        else:
            warnings.append(f"No better than the starting model before this training ({before:.2f} nats on the same files).")
    return Verdict("warning" if warnings else level, text, warnings)
