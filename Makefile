# One obvious way to run everything. The virtual environment is created on first use and
# reused; it is rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
SPARK_STAMP := $(VENV)/.installed-spark
DEMO   ?= var/demo
PORT   ?= 8000

export OPENBLAS_NUM_THREADS := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install demo test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

demo: $(STAMP)
	$(BIN)/python -m training.demo --dir $(DEMO) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not spark"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy recsys training serving

# The [spark] extra (pyspark, ~400 MB) only for the bench: `make test` never downloads it.
$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	@touch $@

bench: $(STAMP) $(SPARK_STAMP)
	$(BIN)/python -m pytest -q -m slow -p no:cacheprovider tests
	$(BIN)/python -m pytest -q -rs -m spark -p no:cacheprovider tests
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) var reports .pytest_cache
