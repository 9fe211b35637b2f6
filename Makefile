# fraudguard — build, run, test.
GO        ?= go
BIN       := bin/fraudguard
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# The shipped default model is rebuilt from the real transaction sample with a fixed seed and
# time stamp; its normal rows stand for 56.863 real ones each (datasets/README.md).
MODEL_DATA       ?= datasets/creditcard-sample-train.csv
MODEL_SEED       ?= 20261126
MODEL_CREATED_AT ?= 2026-11-26T00:00:00Z
# make bench QUICK=1 cuts every measurement short.
QUICK            ?= 0

.PHONY: all build run test test-scaleout lint test-short bench bench-go bench-batch fuzz mutate deps deps-bench model synth-params assets fmt vet clean

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/fraudguard

## run: start the service with the embedded defaults and the shipped model on :8000
run: build
	./$(BIN) serve

## test: every test, with the race detector, plus gofmt and go vet
test:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) test-scaleout

## test-scaleout: (needs make deps) three instances on PostgreSQL and Redis behind nginx: a shared rate limit, a job surviving kill -9 of an instance, a rolling restart and dependencies stopped under load, without -race, in under 5 minutes
test-scaleout:
	GO=$(GO) bash scripts/scaleout.sh

## lint: staticcheck at a pinned version, and a check that go.mod and go.sum are tidy, in every module of the repository
STATICCHECK_VERSION := v0.8.2
MODULES := . tools/crscompare
lint:
	@for m in $(MODULES); do \
		(cd $$m && $(GO) mod tidy -diff >/dev/null) || { echo "lint: go mod tidy would change $$m/go.mod or go.sum: run 'go mod tidy' in $$m"; exit 1; }; \
	done
	@for m in $(MODULES); do \
		echo "staticcheck $(STATICCHECK_VERSION) in $$m"; \
		(cd $$m && $(GO) vet ./... && $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...) || exit 1; \
	done

## test-short: the tests without the race detector
test-short:
	$(GO) test -count=1 ./...

## bench: (needs make deps-bench) measure fraudguard over HTTP beside a bare net/http handler and write BENCHMARKS.md; QUICK=1 for a two-minute run
bench:
	QUICK=$(QUICK) bash scripts/bench.sh

## bench-go: the Go benchmarks
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

## bench-batch: (needs make deps-bench) time a 1,000,000-row CSV batch job (upload, scoring, download), its RSS, and /predict latency during it (ROWS=...)
bench-batch:
	bash scripts/bench-batch.sh

## fuzz: run every fuzz target of the module for FUZZTIME each (default 30s); failing inputs are kept in testdata/fuzz
FUZZTIME ?= 30s
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

## mutate: (by hand or nightly, not in CI: tens of minutes) mutation testing with gremlins of PKGS (default: model, txjson, ratelimit, store/sqlite, batch); MIN=percent fails a package whose tests kill fewer of the mutants they run; TIMEOUT_COEFFICIENT, MAX_TIME (per package)
PKGS                ?=
MIN                 ?=
TIMEOUT_COEFFICIENT ?=
MAX_TIME            ?=
mutate:
	GO=$(GO) bash scripts/mutate.sh $(if $(MIN),--min $(MIN)) $(if $(TIMEOUT_COEFFICIENT),--timeout-coefficient $(TIMEOUT_COEFFICIENT)) $(if $(MAX_TIME),--max-time $(MAX_TIME)) $(PKGS)

## deps: install the Debian packages the tests need (root)
deps:
	bash scripts/deps.sh

## deps-bench: also install the load-test tools of bench-batch and the README's figures (root)
deps-bench:
	bash scripts/deps.sh bench

## model: rebuild the shipped default model (the ensemble, default flags) in models/ from the real transaction sample, and its report models/<version>.report.html beside it
model: build
	rm -rf models && mkdir -p models
	./$(BIN) train --data $(MODEL_DATA) --weight-normal 56.863 --out models/ --seed $(MODEL_SEED) --created-at $(MODEL_CREATED_AT) --name default

## synth-params: refit the synthetic generator on datasets/
synth-params: build
	./$(BIN) gen --fit datasets/creditcard-sample-train.csv --params-out internal/synth/params.json

## assets: re-fetch the documentation pages' front-end assets from npm
assets:
	bash scripts/docs-assets.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

clean:
	rm -rf bin
