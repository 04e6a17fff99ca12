# Two commands for a new user:
#   make run    create .venv, install, meta-train a small ProtoNet on Tox21 and print its benchmark table
#   make test   create .venv, install, run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: install run test test-fast benchmark clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch is pinned to the CPU build first so no dependency can pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The main job (until the web app lands): a quick meta-training run on the shared data,
# then the few-shot benchmark table for Tox21 (results go to runs/quick/, not benchmarks/).
run: $(STAMP)
	$(BIN)/sciml train --dataset tox21 --out runs/quick/protonet-tox21 --steps 300 --eval-every 100
	$(BIN)/sciml evaluate --datasets tox21 --learners protonet,rf,knn --shots 1,10 --seeds 10 \
		--checkpoint 'runs/quick/protonet-{dataset}' --results-dir runs/quick/results

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# Full benchmark (about an hour on 2 CPU cores); writes benchmarks/results/.
benchmark: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash benchmarks/fewshot_moleculenet.sh

clean:
	rm -rf $(VENV) runs/quick .pytest_cache
