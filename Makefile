# Single entry point for people and CI. STACK selects the Pulumi stack (dev or prod).
STACK ?= dev

.PHONY: install test
install:
	scripts/install.sh

test:
	scripts/test.sh
