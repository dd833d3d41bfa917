# One command each: `make run` (JupyterLab with CodeCrafter, embedded mode) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Jupyter refuses to run as root unless told; a normal user needs no flag.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# The frontend's tools (jlpm, jupyter-builder) come from the venv, also when it is not activated.
JLPM := cd labextension && PATH="$(abspath $(BIN)):$$PATH" jlpm
LABEXT_SOURCES := labextension/package.json labextension/yarn.lock \
	$(shell find labextension/src labextension/style labextension/schema -type f 2>/dev/null)
LABEXT_BUILT := jupyter_codecrafter/labextension/package.json

.PHONY: install run test lint format bench provision clean

install: $(VENV)/.installed $(LABEXT_BUILT)

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is required ($(PYTHON) is $$($(PYTHON) --version))."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
		{ echo "Could not create $(VENV): on Debian/Ubuntu, apt-get install python3-venv"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	@command -v node >/dev/null || { echo "Node.js is required to build the JupyterLab extension."; exit 1; }
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@# Jupyter loads the extension from the tree, so a rebuild needs no reinstall.
	$(BIN)/jupyter-builder develop --overwrite .
	@touch $@

# pip's build hook built the extension once; this rebuilds it when its sources change.
$(LABEXT_BUILT): $(LABEXT_SOURCES) | $(VENV)/.installed
	$(JLPM) install
	$(JLPM) build
	@touch $@

run: install
	$(BIN)/jupyter lab $(ROOT_FLAG) $(ARGS)

test: install
	$(JLPM) test
	$(BIN)/python -m pytest $(ARGS)

lint: install
	$(BIN)/ruff check jupyter_codecrafter tests bench
	$(BIN)/ruff format --check jupyter_codecrafter tests bench
	$(BIN)/mypy
	$(JLPM) lint
	$(JLPM) typecheck

format: install
	$(BIN)/ruff format jupyter_codecrafter tests bench
	$(BIN)/ruff check --fix jupyter_codecrafter tests bench

# Figures against a baseline measured in the same run (not part of the tests):
# `make bench` lists them, `make bench-<name> ARGS=...` runs one.
bench:
	@for file in bench/[a-z]*.py; do \
		name=$$(basename $$file .py); \
		case $$name in *_common|rooms_latency|rooms_pycrdt_server) continue;; esac; \
		printf '  make bench-%-22s %s\n' "$$name" "$$(sed -n '1s/^"""//p' $$file)"; \
	done

bench-%: install
	$(BIN)/python bench/$*.py $(ARGS)

# Install and start Redis, RabbitMQ and Docker, and build the sandbox image (Debian/Ubuntu, root).
provision:
	bash scripts/provision.sh

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
