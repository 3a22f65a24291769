# FlowPlane: the two commands are `make demo` (the main job) and `make test` (the tests).
SWIFT ?= swift
# A whole test run that takes longer than this is a hang: fail it, do not wait forever (s).
TEST_TIMEOUT ?= 2700

.PHONY: deps build demo test bench bench-smoke clean

deps:
	./scripts/install-deps.sh

build: deps
	$(SWIFT) build

demo: deps
	$(SWIFT) build -c release --product flowctl
	./scripts/demo.sh "$$($(SWIFT) build -c release --show-bin-path)/flowctl"

# Privileged tests (BPF_PROG_TEST_RUN, namespaces) are required: without root they fail
# rather than skip. scripts/run-tests.sh bounds the run by TEST_TIMEOUT and, on timeout,
# SIGINT or SIGTERM, kills the whole test process tree and removes what it left (namespaces,
# links, pins, daemons, files). `exec`: a SIGTERM that make passes on reaches the runner
# itself, not a shell in between.
test: deps
	$(SWIFT) build --build-tests
	FLOWPLANE_REQUIRE_PRIVILEGED=1 TEST_TIMEOUT=$(TEST_TIMEOUT) SWIFT=$(SWIFT) exec ./scripts/run-tests.sh

# Benchmark (issue 5): fp-bench in release mode, as root. FlowPlane, the Linux bridge and the
# trivial XDP redirect side by side in one run; report in results/<UTC time>/ and results/latest.
# See docs/benchmarks.md.
BENCH_RUNS ?= 5
bench: deps
	$(SWIFT) build -c release --product fp-bench
	$(SWIFT) build -c release --product flowctl
	timeout -k 10 1800 "$$($(SWIFT) build -c release --show-bin-path)/fp-bench" --runs $(BENCH_RUNS) \
	  --flowctl "$$($(SWIFT) build -c release --show-bin-path)/flowctl"

# Short bounded run (< 60 s once built) that checks the benchmark still runs and prints its
# table; writes no report.
bench-smoke:
	$(SWIFT) build -c release --product fp-bench
	$(SWIFT) build -c release --product flowctl
	timeout -k 5 60 "$$($(SWIFT) build -c release --show-bin-path)/fp-bench" --smoke \
	  --flowctl "$$($(SWIFT) build -c release --show-bin-path)/flowctl"

clean:
	rm -rf .build
