# sleutel — the two commands in the README, and their parts.
#   make demo    install what is missing, build, start the demo
#   make check   install what is missing, build, run every test
BUILD   ?= build
SAN     ?= build-asan
RELEASE ?= build-release
FUZZ    ?= build-fuzz

.PHONY: all deps build demo check unit install clean format bench fuzz alloc-faults screenshots

all: build

deps:
	@sh scripts/deps.sh

# The development build: with the test-only key, data read from the tree.
$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dtest_key=true -Ddata_dir=$(CURDIR)/$(BUILD)/share

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)
	@sh scripts/link-share.sh $(BUILD)

demo: build
	@sh scripts/demo.sh $(BUILD)

check: build
	@sh scripts/check.sh $(BUILD) $(SAN) $(FUZZ)

unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

# Every unit suite with each allocation path of src/ failing in turn, on the
# sanitizer build (docs/faults.md, "Allocation failures").
alloc-faults: deps
	[ -f $(SAN)/build.ninja ] || meson setup $(SAN) -Dtest_key=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Ddata_dir=$(CURDIR)/$(SAN)/share
	ninja -C $(SAN)
	@sh scripts/link-share.sh $(SAN)
	python3 tests/alloc/sweep.py --build $(SAN)

# What an operator installs: no test key, data from the install prefix.
install: deps
	[ -f $(RELEASE)/build.ninja ] || meson setup $(RELEASE) --buildtype=release
	ninja -C $(RELEASE)
	meson install -C $(RELEASE)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(SAN) $(RELEASE) $(FUZZ)

# Fuzz campaigns (docs/fuzzing.md): each libFuzzer target for FUZZ_SECONDS,
# its new inputs merged into fuzz/corpus/, the run entered in
# fuzz/campaign.tsv.  FUZZ_TARGETS: some targets only, e.g. "jose form".
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: deps
	@FUZZ_BUILD=$(FUZZ) FUZZ_SECONDS=$(FUZZ_SECONDS) sh scripts/fuzz.sh $(FUZZ_TARGETS)

# Throughput figures (not part of check): see bench/README.md and
# docs/performance.md.  BENCH_ARGS for a quick run, e.g.
#   make bench BENCH_ARGS="--seconds 2 --waiters 1000"
BENCH_ARGS ?=
bench: build
	$(BUILD)/bench/bench_splitkey --seconds 5 --keys 3
	$(BUILD)/bench/bench_load --build $(BUILD) --out $(BUILD)/bench/results.json $(BENCH_ARGS)

# The screenshot gallery (not part of check: a few minutes): every page in
# nl, fr, de and en at 1024 and 390 px into docs/screenshots/, with axe on
# each; see docs/screenshots/README.md and docs/accessibility.md.
screenshots: build
	eval "$$(sh scripts/test-env.sh $(BUILD))" && ca=$${SLEUTEL_TEST_CA%/ca/tls} && \
		node tests/browser/gallery.mjs; rc=$$?; rm -rf "$$ca"; exit $$rc
