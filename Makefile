# Two commands for a new user:
#   make run    create .venv, install, start the web app on the shipped default checkpoint (offline)
#   make test   create .venv, install, run the test suite (browser tests need Debian's chromium)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: install run test test-fast benchmark benchmark-meta quick-train clean
PORT ?= 8501

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch is pinned to the CPU build first so no dependency can pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The main job: the Streamlit app on data/checkpoints/default, with the shipped examples.
run: $(STAMP)
	$(BIN)/streamlit run app/main.py --server.headless true --server.port $(PORT) \
		--browser.gatherUsageStats false --client.toolbarMode minimal

# A quick meta-training run on the shared data, then the Tox21 benchmark table (runs/quick/).
quick-train: $(STAMP)
	$(BIN)/sciml train --dataset tox21 --out runs/quick/protonet-tox21 --steps 300 --eval-every 100
	$(BIN)/sciml evaluate --datasets tox21 --learners protonet,rf,knn --shots 1,10 --seeds 10 \
		--checkpoint 'runs/quick/protonet-{dataset}' --results-dir runs/quick/results

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# Full ProtoNet benchmark (about an hour on 2 CPU cores); writes benchmarks/results/.
benchmark: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash benchmarks/fewshot_moleculenet.sh

# MAML / FOMAML / BMAML / deep-kernel GP on MoleculeACE and few-shot MoleculeNet (hours on 2 cores).
benchmark-meta: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash benchmarks/meta_learners.sh all

clean:
	rm -rf $(VENV) runs/quick .pytest_cache
