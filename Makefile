# markimport — see README.md.
GO      ?= go
BIN     ?= bin/markimport
N       ?= 1000000
RATE    ?= 200
PROFILE ?= 0

.PHONY: build test lint bench bench-backup bench-s3 bench-s3out bench-skip bench-state pgo s3compat demo page-screenshot fixtures fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/markimport

# The test command of the README and of CI: formatting, vet, every test with
# the race detector. Pacing is checked on the client's own departures, so
# the tests hold on a busy machine; per-second counts seen by the emulator
# are figures of make bench.
test: lint
	$(GO) test -race -count=1 -timeout 30m ./...

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...

# Rehearse a whole migration against the built-in emulator, no credentials
# needed: validate, import with a backup, roll back, verify the rollback.
# The emulator keeps its marks between the steps in demo-im.json.
demo: build
	@rm -f demo-im.json demo-backup.csv demo-backup.csv.check
	@echo "== validate: a dry run, nothing is sent"
	@$(BIN) validate --input testdata/demo.csv --report demo-validate.csv --overwrite; \
	  code=$$?; echo "exit code $$code (1: the demo file has 40 invalid rows on purpose; see demo-validate.csv)"; \
	  [ $$code -le 1 ]
	@echo "== run against the built-in emulator, backing up what it changes"
	@$(BIN) run --fake --fake-state demo-im.json --input testdata/demo.csv --report demo-report.csv \
	  --summary demo-summary.json --backup demo-backup.csv --overwrite; \
	  code=$$?; echo "exit code $$code (1: the demo file has 40 invalid rows on purpose; see demo-report.csv)"; \
	  [ $$code -le 1 ]
	@echo "== roll back: the backup is an input"
	$(BIN) run --fake --fake-state demo-im.json --input demo-backup.csv --report demo-rollback.csv --overwrite
	@echo "== verify the rollback: every restored mark is as before the import"
	$(BIN) verify --fake --fake-state demo-im.json --input demo-backup.csv --report demo-verify.csv --overwrite
	@echo "== the sign-off page of the import, made again from its report and summary"
	@$(BIN) page --report demo-report.csv --summary demo-summary.json --html demo-page.html --overwrite
	@echo "open $$(realpath demo-page.html)"

# A PNG of the demo's sign-off page by headless Chromium (Debian's package,
# installed by the script when missing), to see how the page reads.
page-screenshot: demo
	./scripts/page-screenshot.sh demo-page.png

# Figures of the README's Performance section: validate vs DuckDB, the plan
# vs the lower bound, the sending pace against the emulator.
bench: build
	N=$(N) RATE=$(RATE) PROFILE=$(PROFILE) ./scripts/bench.sh

# The cost of run --backup: runs with and without it side by side against
# fake-server at 100 ms latency (also the last section of make bench).
bench-backup:
	./scripts/bench-backup.sh

# A 1M-row Parquet export validated from a bucket (a loopback S3 server)
# against the same files on local disk: wall time, bytes fetched, peak RSS.
bench-s3:
	./scripts/bench-s3.sh

# What run --skip-unchanged saves: re-runs of an imported 1M-row file with
# and without it, then 10% of it changed behind the tool's back, against
# fake-server at 100 ms latency (also a section of make bench).
bench-skip:
	./scripts/bench-skip.sh

# --backup and --state in object storage against the same on disk
# (scripts/s3slow, fake-server at 100 ms latency; also the last section
# of make bench).
bench-s3out:
	./scripts/bench-s3out.sh

# Object storage against independent S3 servers started on loopback
# (s3rver from npm, SeaweedFS built from Go modules, moto when installed):
# Hive exports read from a bucket, outputs, three nights with --state, a
# multipart report, a rollback and a --resume after kill -9 (about 3
# minutes a server and checksum setting; not part of test).
s3compat:
	./scripts/s3compat.sh

# Figures of the incremental mode (--state): nightly runs of a 20M-row file
# and the store alone with 100M keys (about 15 minutes; not part of bench).
bench-state:
	STATE_N=$${STATE_N:-20000000} ./scripts/bench-state.sh

# Make cmd/markimport/default.pgo again, the CPU profile the compiler
# optimises the binary by (every build of it reads it): validate and a
# quiet second night, profiled (about 20 s; 2 minutes the first time, which
# generates the bench files; then commit the file).
pgo:
	./scripts/pgo.sh

# Regenerate the Parquet interop fixtures under testdata/parquet (its own
# module), the data-lake exports under testdata/lake and the legacy-table
# recipe's files under testdata/legacy (DuckDB through npm).
fixtures:
	cd testdata/parquetgen && $(GO) run .
	cd scripts && { [ -d node_modules/@duckdb/node-api ] || npm ci --no-audit --no-fund --loglevel=error; }
	node scripts/lake-fixtures.mjs testdata/lake
	node scripts/legacy-fixture.mjs testdata/legacy

fuzz:
	$(GO) test ./pipeline/plan -run '^$$' -fuzz FuzzValidate -fuzztime 30s
	$(GO) test ./pipeline/plan -run '^$$' -fuzz FuzzParseBits -fuzztime 30s
	$(GO) test ./readers -run '^$$' -fuzz FuzzCSV -fuzztime 30s
	$(GO) test ./readers -run '^$$' -fuzz FuzzScannerMatchesEncodingCSV -fuzztime 30s
	$(GO) test ./readers -run '^$$' -fuzz FuzzParallelCSVMatchesOneThread -fuzztime 30s
	$(GO) test ./readers -run '^$$' -fuzz FuzzParquet -fuzztime 30s
	$(GO) test ./sink/usersig -run '^$$' -fuzz FuzzParse -fuzztime 30s
	$(GO) test ./sink -run '^$$' -fuzz FuzzMarkAnswer -fuzztime 30s
	$(GO) test ./sink -run '^$$' -fuzz FuzzSearchAnswer -fuzztime 30s

clean:
	rm -rf bin demo-*.csv demo-*.csv.* demo-summary.json demo-im.json demo-page.html demo-page.png
