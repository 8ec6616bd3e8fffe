# Set-up in two commands: `make demo` and `make test` each create .venv when missing,
# install the pinned CPU torch first (so pip never resolves torch itself and pulls a
# CUDA build), then lrviz with its test extras, every version held by constraints.txt
# (the frameworks of tests/frameworks would otherwise pull a CUDA torch).
PYTHON ?= python3
TORCH ?= 2.13.0
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.lrviz-setup-torch-$(TORCH)
DEMO ?= demo

.PHONY: setup demo test lint typecheck clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "torch==$(TORCH)"
	@grep -v '^torch==' constraints.txt > $(VENV)/constraints.txt
	@echo "torch==$(TORCH)" >> $(VENV)/constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c $(VENV)/constraints.txt -e ".[test]"
	@rm -f $(VENV)/.lrviz-setup-torch-*
	@touch $@

demo: setup
	@mkdir -p $(DEMO)
	$(BIN)/lrviz plot cyclic --base-lr 1e-4 --max-lr 1e-2 --step-size-up 200 \
		--mode triangular2 -o $(DEMO)/cyclic.png -o $(DEMO)/cyclic.csv
	$(BIN)/lrviz plot configs/cosine_warm_restarts.yaml -o $(DEMO)/cosine_warm_restarts.png

test: setup
	$(BIN)/python -m pytest -q
	$(BIN)/ruff check lrviz tests
	$(BIN)/mypy

typecheck: setup
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .ruff_cache .mypy_cache .hypothesis
