"""The errors a visitor can do something about, which the pages show as a message next to what raised them.

Anything else (a numpy shape mismatch, a KeyError) is a bug in musicrnn and surfaces as one, rather than reading
as "cannot generate with these settings".
"""

from musicrnn.errors import SettingsError
from musicrnn.finetune import IncompatibleModel
from musicrnn.infer import ModelFileError
from musicrnn.midi_scan import MidiError
from musicrnn.safezip import ZipRefused
from musicrnn.score import ScoreError

# RecipeError and styles.UnknownModel are SettingsErrors.
VISITOR_ERRORS: tuple[type[Exception], ...] = (
    SettingsError,
    MidiError,
    ScoreError,
    ModelFileError,
    IncompatibleModel,
    ZipRefused,
)
