# Two commands for a fresh machine (see README.md):
#   make demo   -- set up .venv, then run the main job on built-in examples
#   make test   -- set up .venv, then run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO ?= demo

.PHONY: setup demo test bench notebook-screenshot clean-demo

# torch and torchvision are pinned in pyproject.toml (2.14.1 / 0.29.1, from this machine's disk).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(BIN)/python -m clevrlang.demo --out $(DEMO)

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python -m pytest tests/bench --benchmark-enable --benchmark-only -q

# docs/images/notebook_tutorial.png; needs Chromium (apt-get install chromium), so not in `test`.
notebook-screenshot: setup
	$(BIN)/python docs/notebook_screenshot.py

clean-demo:
	rm -rf $(DEMO)
