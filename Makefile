# The two commands:  make demo   |   make test
# Both set everything up on a fresh Debian/Ubuntu machine: system programs via apt-get when
# missing (ffmpeg, fluidsynth + a General MIDI soundfont, chromium for the book's browser tests),
# Python packages into .venv.  make book: the Jupyter Book into book/_build/html.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := ffmpeg fluidsynth fluid-soundfont-gm chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RUN := runs/demo
TORCH_VERSION := 2.11.0

.PHONY: install system-deps demo test book bench clean

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	$(MAKE) system-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torchaudio's last release (2.11) does not declare the torch it was built against: pin the pair
	$(BIN)/pip install -q "torch==$(TORCH_VERSION)" "torchaudio==$(TORCH_VERSION)"
	$(BIN)/pip install -q -e ".[dev,book]"
	touch $(STAMP)

install: $(STAMP)

# Train the demo model on generated data, separate a test song, score the test split.
demo: DATA = $(shell $(BIN)/python -c 'from waveunet_lit.data import default_rendered_root as r; print(r())')
demo: install
	$(BIN)/lightning fit -c waveunet_lit/configs/demo.yaml
	$(BIN)/waveunet separate "$(DATA)/test/song_000/mixture.wav" --checkpoint $(RUN)/checkpoints/best.ckpt --out $(RUN)/separated
	$(BIN)/waveunet evaluate --checkpoint $(RUN)/checkpoints/best.ckpt --root "$(DATA)" --out $(RUN)/eval --min-gain 3

test: install
	$(BIN)/python -m pytest

# The Jupyter Book: notebooks with stored outputs, course, API and CLI reference -> book/_build/html
book: install
	$(BIN)/python book/build.py

bench: install
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/data_speed.py

clean:
	rm -rf runs $(VENV)
