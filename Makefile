# Ari server. `make local` runs the whole system; `make test` runs every test.
SHELL := /bin/bash
GO    ?= go
# Test services live on ports and in a folder of their own, so tests never
# touch a developer's `make local` data.
TEST_DIR      ?= .local/test
TEST_PG_PORT  ?= 55433
TEST_RDS_PORT ?= 63810
# A Redis Cluster (3 masters + 3 replicas) on TEST_RDS_CLUSTER_PORT..+5.
TEST_RDS_CLUSTER_PORT ?= 46380
export TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:$(TEST_PG_PORT)/postgres?sslmode=disable
export TEST_REDIS_URL    ?= redis://127.0.0.1:$(TEST_RDS_PORT)/0
export TEST_REDIS_CLUSTER_URL ?= redis://127.0.0.1:$(TEST_RDS_CLUSTER_PORT)?addr=127.0.0.1:$(shell echo $$(($(TEST_RDS_CLUSTER_PORT)+1)))&addr=127.0.0.1:$(shell echo $$(($(TEST_RDS_CLUSTER_PORT)+2)))

# The relay's process tests that run a second time on the Redis Cluster.
CLUSTER_RELAY_TESTS := TestTwoInstances|TestResume|TestQueue|TestWholeFlow|TestIdempotent|TestCancelQueued|TestFinishedReplyGoesToOffline|TestSyncResultDropped|TestFunctionEvents|TestKilledInstance|TestGraceful|TestAgentReplaced|TestTurnPolicy|TestOperator|TestSendLimit|TestSocketCap

FUNCTIONS := $(notdir $(wildcard functions/*))
LAMBDA_FLAGS := CGO_ENABLED=0 GOOS=linux GOARCH=arm64
LAMBDA_BUILD := $(GO) build -trimpath -tags lambda.norpc -ldflags='-s -w'

.PHONY: local test test-services stop-test-services build build-lambdas build-relay build-local migrate lint fuzz bench-messages clean

local:
	@bash local/scripts/dev.sh

test: test-services lint
	@# Drop the databases earlier runs left behind (one still in use by a
	@# concurrent run is left alone).
	@psql "$(TEST_DATABASE_URL)" -Atqc "select datname from pg_database where datname like 'ari_test_%'" \
	  | while read -r db; do psql "$(TEST_DATABASE_URL)" -qc "drop database if exists $$db" >/dev/null 2>&1 || true; done
	@# Every test, with statement coverage of the module from the test binaries
	@# and from the relay and shim binaries the tests run (local/scripts/coverage.sh).
	bash local/scripts/coverage.sh test $(TEST_DIR)/cover ./...
	@# The same Redis work against a Redis Cluster (3 masters + replicas):
	@# the relay's multi-instance, resume, queue, pending and events tests, and
	@# every test of the packages that talk to Redis directly.
	ARI_TEST_REDIS_CLUSTER=1 $(GO) test -race -count=1 -timeout 20m -run '$(CLUSTER_RELAY_TESTS)' ./relay
	ARI_TEST_REDIS_CLUSTER=1 $(GO) test -race -count=1 -timeout 10m ./relay/hub ./shared/presence ./shared/pushtrigger ./shared/ratelimit
	@$(MAKE) --no-print-directory fuzz
	@# The messages benchmark at its small size, to prove it works (figures are printed, never asserted).
	$(GO) run ./local/bench/messages -messages 10000 -explain=false
	@bash local/scripts/coverage.sh report $(TEST_DIR)/cover

test-services:
	@bash local/scripts/services.sh install
	@bash local/scripts/services.sh install-browser
	@bash local/scripts/services.sh start $(TEST_DIR) $(TEST_PG_PORT) $(TEST_RDS_PORT) $(TEST_RDS_CLUSTER_PORT)

stop-test-services:
	@bash local/scripts/services.sh stop $(TEST_DIR)

# staticcheck (its default checks, unused code included), pinned to a release
# for our Go and built once from the module proxy into .local/bin.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := .local/bin/staticcheck-$(STATICCHECK_VERSION)

lint: $(STATICCHECK)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

$(STATICCHECK):
	@mkdir -p .local/bin
	GOBIN=$(CURDIR)/.local/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv .local/bin/staticcheck $@

# Bounded fuzzing, FUZZTIME per target: the relay's frame decoders, content
# sniffing and structure checks, and the upload path's check-while-storing.
# Seed corpora (f.Add, testdata/fuzz) also run in `go test`; a failure the
# fuzzer finds lands in the package's testdata/fuzz, to be committed with its
# fix. local/scripts/fuzz.sh runs a target again only on Go 1.26's own
# fuzztime deadline race (golang/go#75804), never on a failing input.
FUZZTIME ?= 15s
FUZZ_PKGS := ./relay/protocol ./shared/storage/sniff ./functions/uploads
fuzz:
	@GO="$(GO)" FUZZTIME=$(FUZZTIME) bash local/scripts/fuzz.sh $(FUZZ_PKGS)

# Messages page/search latencies through the real handler (MESSAGES=10000,1000000: both sizes side by side in one run).
MESSAGES ?= 10000
bench-messages: test-services
	$(GO) run ./local/bench/messages -messages $(MESSAGES)

build: build-lambdas build-relay build-local

# One static bootstrap per function for provided.al2023 on arm64.
build-lambdas:
	@for f in $(FUNCTIONS); do \
	  echo "build/lambda/$$f/bootstrap"; \
	  $(LAMBDA_FLAGS) $(LAMBDA_BUILD) -o build/lambda/$$f/bootstrap ./functions/$$f/lambda || exit 1; \
	done

build-relay:
	CGO_ENABLED=0 $(GO) build -trimpath -o build/relay ./relay

build-local:
	CGO_ENABLED=0 $(GO) build -trimpath -o build/ari-local ./local

migrate:
	$(GO) run ./local migrate

# `sam build` calls build-<LogicalId> with ARTIFACTS_DIR set (BuildMethod: makefile).
# The logical id is the folder name, capitalised, plus "Function".
build-%Function:
	$(LAMBDA_FLAGS) $(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(shell echo '$*' | tr '[:upper:]' '[:lower:]')/lambda

clean:
	rm -rf build .aws-sam
