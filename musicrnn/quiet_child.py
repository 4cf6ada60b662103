"""Imported first by the processes the package starts for itself (ingest's forkserver preloads it), as the
entry points call musicrnn.runtime: such a child shares the CLI's stdout, so its fluidsynth import stays quiet."""

from .runtime import import_fluidsynth_quietly

import_fluidsynth_quietly()
