# The newcomer's two commands: `make report` (main job) and `make test` (the project's tests).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Workers pin BLAS to one thread: NumPy's and TF's thread pools fight on 2 cores.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export TF_CPP_MIN_LOG_LEVEL ?= 3
BUDGET ?= 240

.PHONY: setup test report bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

# Changes nothing outside the checkout: the browser test is skipped without chromium
# (`make browser-deps` installs it; CI does so in .ci/run).
# make test installs nothing outside the checkout; without chromium the browser test is skipped.
NO_BROWSER := make test: no chromium: browser test skipped (`make browser-deps`, as root, installs it)

test: $(STAMP)
	@[ -x /usr/bin/chromium ] || echo '$(NO_BROWSER)'
	$(PY) -m pytest -n 2 -q tests conformance

bench: $(STAMP)
	$(PY) bench/throughput.py --campaign 60

report: $(STAMP)
	$(VENV)/bin/rnnconf check --impl reference --budget $(BUDGET) --out reports/reference-vs-tf_keras; \
	  status=$$?; echo "report: reports/reference-vs-tf_keras/report.html (exit $$status)"; exit $$status

# One column per implementation or target (each its own `rnnconf check`, in turn): reports/scoreboard/index.html.
.PHONY: scoreboard
scoreboard: $(STAMP)
	$(VENV)/bin/rnnconf scoreboard --impl reference --impl keras3 --impl keras3-numpy --impl keras3-jax \
	  --budget $(BUDGET) --out reports/scoreboard

# Converted models (tf2onnx on onnxruntime, onnx's reference evaluator and tract; TFLite + LiteRT; OpenVINO),
# each converter in its own environment (about 600 MB each, created on first use): reports/converters/index.html.
.PHONY: converters
converters: $(STAMP)
	$(VENV)/bin/rnnconf scoreboard --impl onnx --impl onnx-reference --impl onnx-tract --impl tflite --impl openvino --budget $(BUDGET) --out reports/converters

clean:
	rm -rf $(VENV) .hypothesis

# Headless Chromium for tests/test_report_browser.py (skipped without it). Debian/Ubuntu, as root.
.PHONY: browser-deps
browser-deps:
	@if [ -x /usr/bin/chromium ]; then echo "browser-deps: /usr/bin/chromium already installed"; \
	else apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; fi
