# `make run` serves the demo; `make test` runs every check. Both work on a fresh Debian
# machine as root: they install the Debian packages and the .venv they need.
# `make check` is the fast lane while editing: lint, types and tests/unit, no Debian packages.

VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
# Debian packages the tests talk to: real clients and servers, never mocks.
TEST_DEBS   := openssl curl tftp-hpa tftpd-hpa atftp postgresql nginx-light wrk iproute2 sip-tester snmpd snmp
# gateway32 and the PBX core: Kamailio, rtpengine, and a SIP scanner for the hostile-input test.
TEST_DEBS   += kamailio kamailio-extra-modules rtpengine-daemon kamailio-sqlite-modules sipvicious
# The PBX core's BLF: presence, presence_dialoginfo, pua, pua_dialoginfo (issue 15).
TEST_DEBS   += kamailio-presence-modules
# The bench LAN: dnsmasq-base (no service to grab port 53), DHCP clients, dig, syntax checkers.
TEST_DEBS   += dnsmasq-base udhcpc isc-dhcp-client bind9-dnsutils kea-dhcp4-server isc-dhcp-server
# The office NAT of the PBX core's NAT test: iptables MASQUERADE in a namespace.
TEST_DEBS   += iptables
# The staging pages' browser test: Debian's Chromium (Playwright drives it) and Japanese glyphs.
TEST_DEBS   += chromium fonts-noto-cjk
# The service units' check (systemd-analyze verify and security).
TEST_DEBS   += systemd
# The programs those packages provide, checked before anything is installed.
TEST_BINS   := openssl curl tftp /usr/sbin/in.tftpd atftp wrk nginx ip sipp /usr/lib/postgresql/*/bin/initdb snmpd snmpbulkwalk snmpget
TEST_BINS   += kamailio rtpengine /usr/lib/*/kamailio/modules/db_sqlite.so svmap iptables /usr/lib/*/kamailio/modules/nathelper.so
TEST_BINS   += /usr/lib/*/kamailio/modules/presence_dialoginfo.so
TEST_BINS   += /usr/sbin/dnsmasq /usr/sbin/udhcpc /sbin/dhclient dig /usr/sbin/kea-dhcp4 /usr/sbin/dhcpd
TEST_BINS   += chromium /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc systemd-analyze

.PHONY: run test check lint bench venv debs clean

run: $(STAMP)
	$(VENV)/bin/provisioner serve --demo

test: debs $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

# Never apt-get: tests/unit starts no process or server and needs no Debian package.
# Two pytest workers, one per core of the reference machine.
check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q -n 2 tests/unit

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: debs $(STAMP)
	$(PY) -m bench.boot_storm
	$(PY) -m bench.field_storm
	$(PY) -m bench.field_storm --https
	$(PY) -m bench.dhcp_burst
	$(PY) -m bench.firmware_tftp
	$(PY) -m bench.snmp_sweep
	$(PY) -m bench.gateway_cps
	$(PY) -m bench.retention_purge
	$(PY) -m bench.phonebook_import
	$(PY) -m bench.audit_import
	$(PY) -m bench.timeline_write
	$(PY) -m bench.front_direct

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 python3-venv; }
	python3 -m venv $(VENV) || { apt-get update -qq && apt-get install -y -qq python3-venv && python3 -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

debs:
	@missing=""; for b in $(TEST_BINS); do command -v $$b >/dev/null 2>&1 || [ -e "$$b" ] || missing=1; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $(TEST_DEBS)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(TEST_DEBS) >/dev/null; \
		{ systemctl disable --now tftpd-hpa || service tftpd-hpa stop; } >/dev/null 2>&1 || true; \
	fi

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
