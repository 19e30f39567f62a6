# had: build, test, demo, bench, check. Tests, the demo and the benchmark
# create network namespaces: run them as root.
GO      ?= go
BIN     := $(CURDIR)/bin
PROGS   := ./had1/cmd/had1 ./had2/cmd/had2 ./comm/cmd/had-sender ./comm/cmd/had-receiver \
           ./console/cmd/hactl ./tables/cmd/had-tee ./agents/cmd/had-agent ./admin/cmd/had-admin ./e2e/cmd/echod ./e2e/cmd/haddemo ./e2e/cmd/hadbench
export HAD_BIN := $(BIN)

.PHONY: build test unit e2e demo bench check clean

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(PROGS)

# Unit tests (the state machine's random schedules in their short form),
# then the end-to-end tests in namespaces against the built binaries.
test: build
	$(GO) vet ./...
	$(GO) test -short -timeout 10m ./...
	$(GO) test -count=1 -timeout 15m -run . ./e2e/

unit:
	$(GO) test -short ./...

e2e: build
	$(GO) test -count=1 -timeout 15m -v ./e2e/

demo: build
	$(BIN)/haddemo

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./shm/ ./comm/... ./tables/
	$(BIN)/hadbench

check:
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) test -count=1 -run TestSafetyRandom ./had2/fsm/ -seeds=3000

clean:
	rm -rf $(BIN)
