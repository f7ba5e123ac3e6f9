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

.PHONY: install system-deps demo test test-fast book bench dist clean web

# Checked on every make test too (dpkg -s is quick): the browser tests need chromium even when
# .venv was installed before it was added to this list.
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
	$(BIN)/pip install -q -e ".[dev,web,book]"
	touch $(STAMP)

install: $(STAMP)

# Train the demo model on generated data, separate a test song with the checkpoint this run
# wrote, score the test split (fails below +3 dB over the mixture), draw the training curves.
demo: install
	$(BIN)/waveunet demo --out $(RUN) --min-gain 3

# One test worker per core; a notebook's cells (and a module's fixtures) stay in one worker.
# CI=true: the notebooks' small-data mode, the one their stored outputs (compared by nbval) come from.
TEST_JOBS ?= $(shell nproc)
test: install system-deps
	CI=true $(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadfile

# Everything but the tests marked slow (listed with: pytest --collect-only -q -m slow).
test-fast: install system-deps
	CI=true $(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadfile -m "not slow"

# The Jupyter Book: notebooks with stored outputs, course, API and CLI reference -> book/_build/html
book: install
	$(BIN)/python book/build.py

bench: install
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/data_speed.py

# A wheel and an sdist in dist/, checked by twine (upload: twine upload dist/*; see notebooks/COLAB.md).
dist: install
	rm -rf dist
	$(BIN)/python -m build --outdir dist
	$(BIN)/python -m twine check --strict dist/*

# The web app on http://127.0.0.1:8000 (WEB_PORT=..., WEB_DATA=... to change); trains nothing:
# it offers the checkpoints `make demo` wrote and says how to get one when there is none.
WEB_PORT ?= 8000
WEB_DATA ?= $(HOME)/.local/share/waveunet-web
web: install
	@find $(RUN) -name '*.ckpt' 2>/dev/null | grep -q . || \
	  echo "no demo model yet: run 'make demo' first (a few minutes on a CPU), or start 'waveunet web --models DIR'"
	$(BIN)/waveunet web --port $(WEB_PORT) --data "$(WEB_DATA)"

clean:
	rm -rf runs dist build $(VENV)
