# had: build, test, demo, bench, check. Tests, the demo and the benchmark
# create network namespaces: run them as root.
GO      ?= go
BIN     := $(CURDIR)/bin
PROGS   := ./had1/cmd/had1 ./had2/cmd/had2 ./comm/cmd/had-sender ./comm/cmd/had-receiver \
           ./console/cmd/hactl ./tables/cmd/had-tee ./agents/cmd/had-agent ./admin/cmd/had-admin ./e2e/cmd/echod ./e2e/cmd/haddemo ./e2e/cmd/hadbench
export HAD_BIN := $(BIN)

.PHONY: build test unit e2e torture demo bench stress check clean install

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(PROGS)

# Unit tests (the state machine's random schedules in their short form),
# then the end-to-end tests in namespaces against the built binaries.
test: build
	$(GO) vet ./...
	$(GO) test -short -timeout 10m ./...
	$(GO) test -count=1 -timeout 15m -run . ./e2e/
	$(GO) test -count=1 -timeout 15m -run . ./e2e/torture/ -torture.seed=1 -torture.trials=3 -torture.steps=12

unit:
	$(GO) test -short ./...

e2e: build
	$(GO) test -count=1 -timeout 15m -v ./e2e/

# The fault campaign, long form: TRIALS trials of STEPS random faults, from
# SEED (default: the clock). Every trial goes to bin/torture/torture.log;
# a failed one keeps its logs there and prints the command that replays it.
TRIALS ?= 50
STEPS  ?= 12
torture: build
	$(GO) test -count=1 -timeout 0 -v -run '^TestTorture$$' ./e2e/torture/ -torture.trials=$(TRIALS) \
		-torture.steps=$(STEPS) $(if $(SEED),-torture.seed=$(SEED))

demo: build
	$(BIN)/haddemo

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./shm/ ./comm/... ./tables/
	$(BIN)/hadbench

# False failovers under load (SPEC §8): the default cluster for STRESS with
# stress-ng saturating the CPUs (STRESS_ARGS), counting takeovers, late
# heartbeats and the daemons' own scheduling stalls.
STRESS      ?= 10m
STRESS_ARGS ?= --cpu 2
stress: build
	$(BIN)/hadbench -stress $(STRESS) -stress-args "$(STRESS_ARGS)"

check:
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) test -count=1 -run TestSafetyRandom ./had2/fsm/ -seeds=3000

clean:
	rm -rf $(BIN)

# Install the node's programs, configuration, unit and init script.
# DESTDIR (a staging root) and PREFIX are honoured; configuration goes to
# /etc/had whatever PREFIX is. Existing configuration, tables, key file
# and /etc/default/had are never overwritten.
PREFIX     ?= /usr
SBINDIR    ?= $(PREFIX)/sbin
DOCDIR     ?= $(PREFIX)/share/doc/had
SYSCONFDIR ?= /etc
CONFDIR    ?= $(SYSCONFDIR)/had
INITDIR    ?= $(SYSCONFDIR)/init.d
DEFAULTDIR ?= $(SYSCONFDIR)/default
UNITDIR    ?= /lib/systemd/system
INSTALLED  := had1 had2 had-sender had-receiver had-admin had-agent had-tee hactl
# The shipped files name the default paths; an install elsewhere rewrites them.
PATHS_SED  := -e 's|/usr/sbin|$(SBINDIR)|g' -e 's|/etc/had/|$(CONFDIR)/|g'

install: build
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(CONFDIR) $(DESTDIR)$(INITDIR) $(DESTDIR)$(DEFAULTDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)/examples
	cd $(BIN) && install -m 0755 $(INSTALLED) $(DESTDIR)$(SBINDIR)/
	sed $(PATHS_SED) deploy/systemd/had.service >$(DESTDIR)$(UNITDIR)/had.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/had.service
	sed $(PATHS_SED) deploy/init.d/had >$(DESTDIR)$(INITDIR)/had
	chmod 0755 $(DESTDIR)$(INITDIR)/had
	test -e $(DESTDIR)$(DEFAULTDIR)/had || { sed $(PATHS_SED) deploy/default/had >$(DESTDIR)$(DEFAULTDIR)/had; \
		chmod 0644 $(DESTDIR)$(DEFAULTDIR)/had; }
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 deploy/examples/* $(DESTDIR)$(DOCDIR)/examples/
	test -e $(DESTDIR)$(CONFDIR)/had.toml || install -m 0644 deploy/examples/node1.toml $(DESTDIR)$(CONFDIR)/had.toml
	for t in recover takeover; do \
		test -e $(DESTDIR)$(CONFDIR)/$$t.table || install -m 0644 deploy/examples/$$t.table $(DESTDIR)$(CONFDIR)/; \
	done
	@# A fresh random key, readable by root only. Both nodes need the same
	@# file: copy it to the peer.
	@test -e $(DESTDIR)$(CONFDIR)/authkeys || { umask 077 && \
		printf '# had key file: both nodes need this same file (mode 0600); copy it to the peer.\nactive 1\nkey 1 base64:%s\n' \
			"$$(head -c 32 /dev/urandom | base64)" >$(DESTDIR)$(CONFDIR)/authkeys && \
		chmod 0600 $(DESTDIR)$(CONFDIR)/authkeys && \
		echo "generated $(DESTDIR)$(CONFDIR)/authkeys: copy it to the peer node"; }

# Every fuzz target, FUZZTIME each (go fuzzes one target per run), one
# after the other. FUZZMINIMIZE bounds the minimising of each new input,
# which at go's default of 60s can take longer than the run. The list
# must name every Fuzz function of the tree: the target checks.
FUZZTIME     ?= 10s
FUZZMINIMIZE ?= 100x
FUZZ_TARGETS := comm:FuzzReceiver comm/wire:FuzzDecode comm/wire:FuzzDeframer \
                config:FuzzParse config:FuzzKeyfile node:FuzzLoad \
                tables:FuzzParse tables:FuzzTokenize tables:FuzzParseTeeConfig \
                shm:FuzzReadSlot shm:FuzzAttach \
                agents:FuzzParseStats agents:FuzzParseProcStat agents:FuzzParsePIDFile \
                alerts:FuzzCompose e2e/testbed:FuzzParseNeigh e2e/testbed:FuzzDecodeReply

.PHONY: fuzz
fuzz:
	@found="$$(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed -E 's#^\./(.*)/[^/]*:func #\1:#' | sort -u)"; \
	listed="$$(printf '%s\n' $(FUZZ_TARGETS) | sort -u)"; \
	if [ "$$found" != "$$listed" ]; then \
		echo "fuzz: FUZZ_TARGETS and the tree's Fuzz functions differ (< tree, > list):"; \
		printf '%s\n' "$$found" >.fuzz-found; printf '%s\n' "$$listed" >.fuzz-listed; \
		diff .fuzz-found .fuzz-listed; rm -f .fuzz-found .fuzz-listed; exit 1; \
	fi
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $$t"; \
		$(GO) test -run '^$$' -parallel=1 -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) ./$${t%%:*}/; \
	done
