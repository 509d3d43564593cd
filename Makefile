# Two commands on a fresh machine (Python 3.11):
#   make quickstart   the whole pipeline at CPU scale: generate, validate, train a tiny GPT through the
#                     curriculum, evaluate rollouts vs baselines, GIFs, report, results table (< 10 min)
#   make test         run the test suite
# Also: make demo (generate and validate 5 scenes of every type, about a minute).
# Each creates .venv from requirements.txt on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= data_scenarios/demo

.PHONY: quickstart demo test clean-venv

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

quickstart: $(VENV)/.installed
	$(PY) scripts/quickstart.py --config configs/quickstart.yaml

demo: $(VENV)/.installed
	$(PY) scripts/generate_scenarios_dataset.py --output-dir $(DEMO_DIR) --num-scenes-per-type 5 \
		--num-workers 2 --seed 42
	$(PY) scripts/validate_dataset.py --data-dir $(DEMO_DIR) --check-physics --num-workers 2

test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

clean-venv:
	rm -rf $(VENV)
