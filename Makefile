# gpuprep: make demo | make test | make install PREFIX=/usr/local | make generate
SHELL := /bin/bash
PREFIX ?= /usr/local
SWIFT ?= swift
# The man page's date is pinned so that regenerating it changes nothing unless the CLI did.
MAN_DATE := 2026-11-21
# One release build (gpuprep, and gpuprep-yaml, apply's YAML reader, installed beside it) for
# users, the demo, the benchmark and the VM tests: statically linked Swift
# runtime, which starts in 0.3 s under emulation instead of 1 s, and faster natively too.
# The runtime's libstdc++ is linked statically as well: loading libstdc++.so was 1.2 ms of a 6 ms
# start (README, Performance). The linker takes the first libstdc++ it finds along -L, so a folder
# holding only libstdc++.a makes it take the archive; without one it links libstdc++.so as before.
STATIC_CXX_DIR := $(CURDIR)/.build-static/static-libstdc++
STATIC_BUILD := mkdir -p $(STATIC_CXX_DIR) && a=$$(gcc -print-file-name=libstdc++.a) && \
  { [ ! -f "$$a" ] || ln -sf "$$a" $(STATIC_CXX_DIR)/libstdc++.a; } && \
  $(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-static --product gpuprep -Xswiftc -L$(STATIC_CXX_DIR) && \
  $(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-static --product gpuprep-yaml -Xswiftc -L$(STATIC_CXX_DIR)
RELEASE_BIN = .build-static/release/gpuprep
APT_PACKAGES := libpci-dev libkmod-dev pciutils kmod pkg-config gcc python3-jsonschema python3-venv libvirt-clients libxml2-utils
# What only the tests need: promtool, which checks gpuprep metrics (Debian's prometheus package), and zstd for a capture archive.
test: APT_TEST_PACKAGES := prometheus zstd
NOVA_VENV ?= $(HOME)/.cache/gpuprep-nova
EXAMPLES := desktop-b550 vgpu-l40s-sriov p6t6-no-iommu vgpu-a2-t4-busy dgx-a100-services

.PHONY: deps build demo test test-fleet vmtest vmshell bench bench-smoke bench-hosts generate check-generated examples readme install clean

# System packages the build and the tests need; installed with apt when missing and root.
deps:
	@missing=""; for p in $(APT_PACKAGES) $(APT_TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; \
	    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null; \
	  else echo "missing packages:$$missing (run: sudo apt-get install$$missing)"; exit 1; fi; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "swift not found: install a Swift 6 toolchain (swift.org)"; exit 1; }
	@python3 -c 'import jsonschema' 2>/dev/null || python3 -m pip install -q jsonschema \
	  || { echo "the tests need python3 with jsonschema (apt-get install python3-jsonschema)"; exit 1; }
	@# gpuprep export's outputs are read by the stacks' own parsers in the tests (Tests/export/validate.py).
	@python3 -c 'import yaml, oslo_config, os_resource_classes' 2>/dev/null || python3 -m pip install -q pyyaml oslo.config os-resource-classes \
	  || { echo "the tests need python3 with pyyaml, oslo.config and os-resource-classes (pip install them)"; exit 1; }
	@# Nova itself reads gpuprep export nova in the tests (Tests/export/nova_accepts.py): nova 34 from PyPI, in a venv of its own.
	@[ -x $(NOVA_VENV)/bin/python ] && $(NOVA_VENV)/bin/python -c 'import nova.virt.libvirt.driver' 2>/dev/null \
	  || { rm -rf $(NOVA_VENV) && python3 -m venv $(NOVA_VENV) && $(NOVA_VENV)/bin/pip install -q 'nova==34.0.0'; } \
	  || { echo "the tests need Nova 34 from PyPI in $(NOVA_VENV) (python3 -m venv, then pip install nova==34.0.0; Debian: apt-get install python3-venv)"; exit 1; }
	@command -v ansible-playbook >/dev/null && python3 -c 'import ansible, yaml' 2>/dev/null \
	  || python3 -m pip install -q 'ansible-core>=2.16,<2.20' \
	  || { echo "the tests need ansible-core 2.16 or later (python3 -m pip install ansible-core)"; exit 1; }

build: deps
	$(STATIC_BUILD)

# The sample hosts' device names come from the pci.ids the README was written with (Tests/Fixtures),
# so that the demo prints what the README shows whatever pci.ids this machine has; this machine's
# own devices are named from its pci.ids.
demo: build
	@bin=$(RELEASE_BIN); export GPUPREP_PCI_IDS=Tests/Fixtures/pci.ids; \
	echo "(sample hosts: device names from Tests/Fixtures/pci.ids, as in the README)"; echo; \
	echo "\$$ gpuprep check --root examples/hosts/desktop-b550"; \
	$$bin check --root examples/hosts/desktop-b550; \
	[ $$? = 1 ] && echo "(exit status 1: a check failed, as expected on this sample host)" || exit 1; \
	echo; echo "\$$ gpuprep check --fix --dry-run --root examples/hosts/p6t6-no-iommu"; \
	$$bin check --fix --dry-run --root examples/hosts/p6t6-no-iommu || exit 1; \
	for h in desktop-b550 vgpu-l40s-sriov; do \
	  echo; echo "\$$ gpuprep list --root examples/hosts/$$h"; $$bin list --root examples/hosts/$$h || exit 1; done; \
	echo; echo "\$$ gpuprep list --root examples/hosts/desktop-b550 --json 2b:00.1"; \
	$$bin list --root examples/hosts/desktop-b550 --json 2b:00.1 || exit 1; \
	echo; echo "\$$ gpuprep iommu --root examples/hosts/desktop-b550 --nvidia"; \
	$$bin iommu --root examples/hosts/desktop-b550 --nvidia || exit 1; \
	echo; echo "\$$ gpuprep conflicts --root examples/hosts/desktop-b550"; \
	$$bin conflicts --root examples/hosts/desktop-b550; \
	[ $$? = 1 ] && echo "(exit status 1: blockers found, as expected on this sample host)" || exit 1; \
	echo; echo "\$$ gpuprep doctor --root examples/hosts/vgpu-l40s-sriov a1:00.0"; \
	$$bin doctor --root examples/hosts/vgpu-l40s-sriov a1:00.0; \
	[ $$? = 1 ] && echo "(exit status 1: doctor found the cause, as expected on this sample host)" || exit 1; \
	echo; echo "\$$ gpuprep types --root examples/hosts/vgpu-a2-t4-busy --available"; \
	$$bin types --root examples/hosts/vgpu-a2-t4-busy --available || exit 1; \
	echo; echo "\$$ gpuprep apply --root examples/hosts/vgpu-l40s-sriov -f examples/layouts/l40s-vgpu.yaml --dry-run"; \
	$$bin apply --root examples/hosts/vgpu-l40s-sriov -f examples/layouts/l40s-vgpu.yaml --dry-run || exit 1; \
	unset GPUPREP_PCI_IDS; \
	echo; echo "\$$ gpuprep list          # this machine"; $$bin list || exit 1; \
	echo; echo "\$$ gpuprep list --all    # this machine"; $$bin list --all

test: deps
	GPUPREP_NOVA_PYTHON=$(NOVA_VENV)/bin/python $(SWIFT) test
	$(MAKE) --no-print-directory check-generated
	$(MAKE) --no-print-directory bench-smoke
	$(MAKE) --no-print-directory test-fleet
	$(MAKE) --no-print-directory vmtest

# The Ansible collection (a playbook of cases against copies of the sample hosts, and its modules'
# documentation against their code) and the Kubernetes manifests, with the release build.
FLEET_TMP := $(shell mktemp -d -u /tmp/gpuprep-fleet.XXXXXX)
test-fleet:
	$(STATIC_BUILD)
	@mkdir -p $(FLEET_TMP) && cp -a examples/hosts $(FLEET_TMP)/ && \
	  ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/ansible ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 \
	  GPUPREP_BIN=$(CURDIR)/$(RELEASE_BIN) GPUPREP_HOSTS=$(FLEET_TMP)/hosts GPUPREP_LAYOUTS=$(CURDIR)/examples/layouts \
	  ansible-playbook ansible/tests/collection.yml > $(FLEET_TMP)/playbook.log 2>&1; rc=$$?; \
	  echo "ansible: $$(grep -E '^localhost +:' $(FLEET_TMP)/playbook.log) (the ignored ones are the cases that must fail)"; \
	  [ $$rc = 0 ] || { echo "ansible: the collection's playbook failed:"; grep -B2 -A12 'Assertion failed\|FAILED' $(FLEET_TMP)/playbook.log | tail -n 40; exit 1; }
	@# The README's example: the fleet playbook in check mode (one host differs), then a normal run on the host that matches,
	@# as from the repository's root, but on a copy of it (a normal apply records its result in the sample host's tree).
	@mkdir -p $(FLEET_TMP)/readme/.build-static/release && cp -a examples $(FLEET_TMP)/readme/ && \
	  ln -s $(CURDIR)/$(RELEASE_BIN) $(FLEET_TMP)/readme/.build-static/release/gpuprep
	@cd $(FLEET_TMP)/readme && export PWD=$(FLEET_TMP)/readme ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/ansible ANSIBLE_NOCOLOR=1; \
	  recap=$$(ansible-playbook -i $(CURDIR)/ansible/examples/inventory.yml $(CURDIR)/ansible/examples/vgpu-fleet.yml --check --diff | grep -E '^(a2-t4|l40s)-sample +:' | tr -s ' '); \
	  echo "$$recap" | grep -q 'a2-t4-sample : ok=3 changed=0 unreachable=0 failed=0' && echo "$$recap" | grep -q 'l40s-sample : ok=4 changed=1 unreachable=0 failed=0' \
	  || { echo "ansible: the example playbook in check mode did not end as the README shows: $$recap"; exit 1; }; \
	  recap=$$(ansible-playbook -i $(CURDIR)/ansible/examples/inventory.yml $(CURDIR)/ansible/examples/vgpu-fleet.yml --limit a2-t4-sample | grep -E '^a2-t4-sample +:' | tr -s ' '); \
	  echo "$$recap" | grep -q 'changed=0 unreachable=0 failed=0' || { echo "ansible: the example playbook's normal run: $$recap"; exit 1; }; \
	  echo "ansible: the example playbook ends as the README shows"
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/ansible PYTHONPATH=$(CURDIR)/ansible python3 ansible/tests/check-docs.py
	python3 Tests/deploy/check-manifests.py $(RELEASE_BIN) examples/hosts/vgpu-l40s-sriov
	@rm -rf $(FLEET_TMP)

# The real-kernel tests: Debian's kernel under QEMU runs Tests/vm/scenarios against this build.
vmtest:
	$(STATIC_BUILD)
	GPUPREP_BIN=.build-static/release/gpuprep Tests/vm/run-vm-tests.sh

# The benchmark: gpuprep against lspci and mdevctl on large synthetic hosts (cached, made once),
# as whole processes, with the static build users get from make install. See README.
BENCH_HOSTS ?= $(HOME)/.cache/gpuprep-bench
bench: deps
	@command -v mdevctl >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mdevctl >/dev/null; } || true
	$(STATIC_BUILD)
	$(MAKE) --no-print-directory bench-hosts
	python3 bench/run-bench.py .build-static/release/gpuprep $(BENCH_HOSTS)

# A quick run of the benchmark on the small host, so that it keeps working (part of make test).
bench-smoke:
	$(STATIC_BUILD)
	$(MAKE) --no-print-directory bench-hosts
	python3 bench/run-bench.py .build-static/release/gpuprep $(BENCH_HOSTS) --smoke

# The benchmark hosts, made again whenever the fixture builder has changed since they were made.
BENCH_STAMP = $(shell cat Tests/HostFixtures/*.swift | sha256sum | cut -c1-16)
bench-hosts:
	@if [ "$$(cat $(BENCH_HOSTS)/stamp 2>/dev/null)" != "$(BENCH_STAMP)" ]; then \
	  $(SWIFT) build -c release --product make-fixture-hosts && rm -rf $(BENCH_HOSTS) && \
	  $$($(SWIFT) build -c release --show-bin-path)/make-fixture-hosts Tests/Fixtures/data $(BENCH_HOSTS) bench >/dev/null && \
	  echo "$(BENCH_STAMP)" > $(BENCH_HOSTS)/stamp; fi

# The same VM with a shell on this terminal, to debug a scenario by hand.
vmshell:
	$(STATIC_BUILD)
	GPUPREP_BIN=.build-static/release/gpuprep Tests/vm/run-vm-tests.sh --shell

# Completions and the man page are generated from the command tree and committed.
generate:
	$(SWIFT) build --product gpuprep
	@bin=$$($(SWIFT) build --show-bin-path)/gpuprep; \
	$$bin --generate-completion-script bash > completions/gpuprep.bash; \
	$$bin --generate-completion-script zsh > completions/_gpuprep; \
	$$bin --generate-completion-script fish > completions/gpuprep.fish
	$(SWIFT) package generate-manual --date $(MAN_DATE) --authors "the gpuprep authors" >/dev/null
	python3 man/finish-manual.py .build/plugins/GenerateManual/outputs/gpuprep/gpuprep.1 > man/gpuprep.1

check-generated:
	@$(SWIFT) package generate-manual --date $(MAN_DATE) --authors "the gpuprep authors" >/dev/null
	@python3 man/finish-manual.py .build/plugins/GenerateManual/outputs/gpuprep/gpuprep.1 | diff -u man/gpuprep.1 - \
	  || { echo "man/gpuprep.1 is stale: run 'make generate' and commit it"; exit 1; }
	@if command -v groff >/dev/null; then w=$$(groff -ww -mandoc -Tutf8 man/gpuprep.1 2>&1 >/dev/null); \
	  [ -z "$$w" ] || { echo "man/gpuprep.1: groff warns: $$w"; exit 1; }; fi
	@echo "man page up to date"

# The README's examples on the sample hosts, rewritten from what gpuprep prints now (make test
# checks them: Tests/GPUPrepTests/ReadmeTests.swift).
readme:
	$(SWIFT) build --product gpuprep
	python3 scripts/update-readme-examples.py $$($(SWIFT) build --show-bin-path)/gpuprep

# The sample hosts the demo reads, built from the real data by the test fixture builder.
examples:
	$(SWIFT) build --product make-fixture-hosts
	rm -rf examples/hosts && $$($(SWIFT) build --show-bin-path)/make-fixture-hosts Tests/Fixtures/data examples/hosts $(EXAMPLES)

install: build
	install -D -m 755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/bin/gpuprep
	install -D -m 755 $(RELEASE_BIN)-yaml $(DESTDIR)$(PREFIX)/bin/gpuprep-yaml
	install -D -m 644 man/gpuprep.1 $(DESTDIR)$(PREFIX)/share/man/man1/gpuprep.1
	install -D -m 644 completions/gpuprep.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/gpuprep
	install -D -m 644 completions/_gpuprep $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_gpuprep
	install -D -m 644 completions/gpuprep.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/gpuprep.fish

clean:
	$(SWIFT) package clean
