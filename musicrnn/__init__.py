"""musicrnn: learn music from MIDI files with an LSTM and generate new pieces.

The package never imports Streamlit, and TensorFlow only for training (musicrnn.model, musicrnn.train).
"""

__version__ = "0.1.0"
