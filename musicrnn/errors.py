"""The error a visitor can fix: settings or typed input that cannot be used as given.

It is a ValueError (callers that catch ValueError keep working), but the pages catch this class (and the other
visitor-facing ones: MidiError, RecipeError, ScoreError, ...) rather than every ValueError, so that a programming
error such as a numpy shape mismatch surfaces instead of reading as "cannot generate with these settings".
"""


class SettingsError(ValueError):
    """Settings or typed input (a melody, chords, a number, a link) that cannot be used; the message says why."""
