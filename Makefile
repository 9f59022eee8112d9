# `make run` serves the demo; `make test` runs every check. Both work on a fresh Debian
# machine as root: they install the Debian packages and the .venv they need.

VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
# Debian packages the tests talk to: real clients and servers, never mocks.
TEST_DEBS   := openssl curl tftp-hpa atftp postgresql nginx-light wrk iproute2 sip-tester snmpd snmp
# The programs those packages provide, checked before anything is installed.
TEST_BINS   := openssl curl tftp atftp wrk nginx ip sipp /usr/lib/postgresql/*/bin/initdb snmpd snmpbulkwalk snmpget

.PHONY: run test lint bench venv debs clean

run: $(STAMP)
	$(VENV)/bin/provisioner serve --demo

test: debs $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: debs $(STAMP)
	$(PY) -m bench.boot_storm
	$(PY) -m bench.snmp_sweep

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 python3-venv; }
	python3 -m venv $(VENV) || { apt-get update -qq && apt-get install -y -qq python3-venv && python3 -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

debs:
	@missing=""; for b in $(TEST_BINS); do command -v $$b >/dev/null 2>&1 || [ -x "$$b" ] || missing=1; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $(TEST_DEBS)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(TEST_DEBS) >/dev/null; \
	fi

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
