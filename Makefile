# aarshjul: two commands do all the set-up on a machine with python3 and make.
#   make demo   a simulated cycle year on embedded defaults (SQLite and files), into out/
#   make test   the tests; with CI set, also the PostgreSQL, browser and office tests
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PY ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9
VENV := .venv
BIN := $(VENV)/bin
OUT ?= out
YEAR ?= 2012
export UV_PYTHON_DOWNLOADS := never
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: demo test lint typecheck bench sync ci-deps preview clean

$(UV):
	$(PY) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check 'uv==$(UV_VERSION)'

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --compile-bytecode
	touch $@

# uv compiles the installed packages; this compiles the project's own modules, which the
# editable install leaves alone (PYTHONDONTWRITEBYTECODE=1 here: without it, every process
# would compile them again, about 0.5 s per start). Up to date, it takes 0.1 s.
sync: $(VENV)/.synced
	@$(BIN)/python -m compileall -q models letters flows tests docs

demo: sync
	$(BIN)/aarshjul check
	$(BIN)/aarshjul simulate --year $(YEAR) --out $(OUT)
	$(BIN)/aarshjul calendar --year $(YEAR) -o $(OUT)/aarshjul-$(YEAR).ics
	$(BIN)/aarshjul wheel --year $(YEAR) -o $(OUT)/aarshjul-$(YEAR).png
	@echo
	@echo "Look in $(OUT)/: summary.json (every request and e-mail of the simulated year),"
	@echo "journal/ (the .eml copies), documents/ (letters, forms, reports, charts),"
	@echo "aarshjul-$(YEAR).ics (import into Outlook or Google) and aarshjul-$(YEAR).png (the wheel)."

# Renders the latest report and letters to tagged PDF (letters/pdf.py) and PNG for a visual
# check (LibreOffice, pdftoppm).
PREVIEW_PKGS := libreoffice-writer-nogui fonts-crosextra-carlito fonts-dejavu-core poppler-utils
preview: sync
	@if ! command -v soffice >/dev/null || ! command -v pdftoppm >/dev/null || ! fc-list | grep -qi carlito; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $(PREVIEW_PKGS) >/dev/null; \
	fi
	@if [ -z "$$(find $(OUT)/documents -name '*.docx' -print -quit 2>/dev/null)" ]; then \
	  $(BIN)/aarshjul simulate --year $(YEAR) --out $(OUT); \
	fi
	$(BIN)/python -m tests.tools.preview --documents $(or $(DOCS),$(OUT)/documents) --out $(OUT)/preview

# axe-core (the accessibility engine the site's browser tests inject), from npm, pinned,
# into a git-ignored folder; tests/letters/test_site.py finds it there.
AXE_VERSION := 4.14.1
AXE_STAMP := $(TOOLS)/npm/.axe-core-$(AXE_VERSION)

$(AXE_STAMP):
	npm install --prefix $(TOOLS)/npm --no-audit --no-fund --no-save --silent 'axe-core@$(AXE_VERSION)'
	touch $@

# Under CI the PostgreSQL, browser (ui), office, reverse-proxy and IMAP tests must run: their
# Debian packages are installed here, and a test of those kinds that skips fails the run
# (tests/conftest.py). The proxy tests run their own nginx, the imap tests their own Dovecot,
# on free loopback ports.
ci-deps:
ifdef CI
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null || ! command -v npm >/dev/null || ! command -v soffice >/dev/null || ! command -v pdftoppm >/dev/null || ! fc-list | grep -qi carlito || ! fc-list | grep -qi dejavu || ! command -v nginx >/dev/null || ! test -x /usr/sbin/dovecot; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  npm=; command -v npm >/dev/null || npm=npm; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends \
	    chromium chromium-driver $$npm libreoffice-writer-nogui fonts-crosextra-carlito fonts-dejavu-core poppler-utils nginx \
	    dovecot-imapd >/dev/null; \
	fi
	@$(MAKE) --no-print-directory $(AXE_STAMP)
	@pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
endif

lint: sync
	$(BIN)/ruff check models letters flows tests docs
	$(BIN)/mypy
	@$(BIN)/python docs/build_readme.py --check || { echo 'README.md is not built from docs/ (run: python docs/build_readme.py)'; exit 1; }

test: sync ci-deps lint
ifdef CI
	AARSHJUL_TEST_POSTGRES_URL=$${AARSHJUL_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
	AARSHJUL_REQUIRE_MARKERS=postgres,ui,office,proxy,imap \
	$(BIN)/pytest -p no:cacheprovider
else
	$(BIN)/pytest -p no:cacheprovider
endif

bench: sync
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(OUT) .pytest_cache .mypy_cache .ruff_cache
