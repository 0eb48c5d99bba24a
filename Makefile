# Quick start: `make run` and `make test` set themselves up (a .venv with what they need).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "vaxdsl needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# The end-to-end demo until the admin console lands: check the rulesets, make a synthetic district,
# load it, report its compliance under the district's rules, and explain one student.
DEMO   := .demo
AS_OF  := 2026-09-08

run: $(STAMP)
	$(BIN)/vaxdsl check rulesets/minnesota.vax rulesets/example-district.vax
	$(BIN)/vaxdsl synth --students 2000 --seed 1 --out $(DEMO)/facts
	$(BIN)/vaxdsl load --facts $(DEMO)/facts --db $(DEMO)/facts.db
	$(BIN)/vaxdsl report rulesets/example-district.vax --db $(DEMO)/facts.db --as-of $(AS_OF)
	$(BIN)/vaxdsl explain rulesets/example-district.vax --db $(DEMO)/facts.db --as-of $(AS_OF) S0000550 --vaccine DTaP

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(DEMO) build dist .pytest_cache
