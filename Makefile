# Two commands do everything: `make run` (set up and serve the app) and `make test` (set up, lint, run every test).
# `make test-fast` runs the quick tests only (no TensorFlow, no browser, nothing slow); `make lint` the checks.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
# The bundled chorale model's epochs (the default preset's cosine schedule runs over all of them).
DEFAULT_EPOCHS ?= 90
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Every install is held to the versions CI tested (constraints.txt).
PIP := $(PY) -m pip install --quiet -c constraints.txt

.PHONY: run test test-fast lint bench setup setup-test system-deps system-test-deps clean default-model corpus corpora style-models

run: setup
	$(VENV)/bin/streamlit run app.py --server.port $(PORT)

test: setup setup-test lint
	$(PY) -m pytest

# No TensorFlow, no browser, nothing slow (markers in pyproject.toml): under a minute on two cores.
test-fast: setup setup-test
	$(PY) -m pytest -m "not slow and not tf and not browser"

lint: setup-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy musicrnn

bench: setup
	$(PY) bench/run_all.py

setup: system-deps $(VENV)/.installed

setup-test: system-test-deps $(VENV)/.installed-dev

# Debian's own python3 makes virtual environments only with python3-venv installed (apt, when root).
$(PY):
	@if ! $(PYTHON) -c "import ensurepip, venv" 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing python3-venv with apt"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null; \
	  else echo "Note: $(PYTHON) cannot make a virtual environment (sudo apt-get install python3-venv)."; fi; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# requirements.txt first (what Community Cloud installs), then this package itself, editable and without
# dependencies, so bench/ and scripts/ import it from anywhere and edits take effect at once.
$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml | $(PY)
	$(PIP) -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PIP) -r requirements-dev.txt
	touch $@

# System libraries: installed with apt only when running as root and missing (otherwise audio falls back
# to a plain synth and browser tests report how to install Chromium).
system-deps:
	@if ! ldconfig -p 2>/dev/null | grep -q libfluidsynth; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing the fluidsynth library with apt"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fluidsynth >/dev/null; \
	  else echo "Note: the fluidsynth library is missing (sudo apt-get install fluidsynth); audio will use a plain synth."; fi; \
	fi

system-test-deps:
	@if ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	  else echo "Note: chromium is missing (sudo apt-get install chromium); browser tests will fail."; fi; \
	fi

# Maintainers only: rebuild the bundled corpus (needs music21) and retrain the default model.
corpus: setup
	$(PIP) -r scripts/requirements-corpus.txt
	$(PY) scripts/build_corpus.py

default-model: setup
	# The bundled model was trained at the preset's earlier rate and batch size (0.002, 64), kept here to remake it.
	$(PY) scripts/train_style_models.py --style chorales --epochs $(DEFAULT_EPOCHS) --learning-rate 0.002 --batch-size 64
	# Then 30 more epochs on twice the windows (stride 8) from a lower peak: 0.05 nats a note better held out.
	$(PY) scripts/train_style_models.py --style chorales --further musicrnn/assets/default_model.keras \
	  --epochs 30 --stride 8 --learning-rate 0.0007 --note "90 epochs at stride 16, then 30 at stride 8"
	# How sure it must be to end a piece on a strong-beat tonic chord: the odds whose pieces are as long as Bach's.
	$(PY) scripts/calibrate_endings.py --model chorales --write
	# How far its soprano leans towards a step and away from a repeat: as far as Bach's sopranos move so.
	$(PY) scripts/calibrate_melody.py --model chorales --write

# Maintainers only: build every style's corpus from music21 into the cache (~/.cache/musicrnn/corpora, or
# $$MUSICRNN_CORPORA) and its small bundled sample (musicrnn/assets/styles/), then train the bundled style models
# (musicrnn/assets/models/, one after another, with the default preset) and record their held-out figures.
corpora: setup
	$(PIP) -r scripts/requirements-corpus.txt
	$(PY) scripts/build_corpus.py --style all

style-models: setup
	$(PY) scripts/train_style_models.py
	# A tune's every tonic note is a place to end: the folk model's end odds are its own (README, "end on the tonic").
	$(PY) scripts/calibrate_endings.py --model folk --write
	# Each style's melody moves as its own top voices do (the folk model writes tunes: no lean to calibrate).
	$(PY) scripts/calibrate_melody.py --model renaissance --write
	$(PY) scripts/calibrate_melody.py --model quartets --write

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build *.egg-info test-output
