# `make demo`: set up .venv and run the main job on the shipped default.
# `make test`: set up .venv and run the test suite (what .ci/run calls).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.neurodeploy-installed

.PHONY: setup demo test bench clean

setup: $(STAMP)

$(STAMP): requirements.txt setup.cfg pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps --ignore-requires-python lava-nc==0.10.0 lava-dl==0.6.0 torchattacks==3.5.1
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

demo: setup
	bash scripts/demo.sh

test: setup
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) runs
