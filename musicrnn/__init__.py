"""musicrnn: learn music from MIDI files with an LSTM and generate new pieces.

The package never imports Streamlit, and TensorFlow only for training (musicrnn.model, musicrnn.train).
"""
import contextlib
import io

__version__ = "0.1.0"

# pyfluidsynth (imported by pretty_midi) prints a debug line to stdout when $CI is set; importing it here,
# quietly, keeps the CLI's output (JSON, OK/ERROR lines) clean everywhere.
with contextlib.redirect_stdout(io.StringIO()):
    try:
        import fluidsynth  # noqa: F401
    except (ImportError, OSError):
        pass  # no system library: musicrnn.audio falls back to a plain synth
