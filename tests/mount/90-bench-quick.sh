#!/usr/bin/env bash
# 90-bench-quick - scripts/bench --quick runs end to end, so the benchmark
# cannot rot: it starts its own sandbox and in-memory Azurites, reads
# through mgdcfs (its first cold read is checked byte for byte against the
# uploaded file by sha256), and writes a table and valid JSON. Benchmarks are
# not tests: nothing here looks at a time.
. "$(dirname "$0")/../lib/mount.sh"

if ! command -v fio >/dev/null; then
	skip "scripts/bench --quick" "fio is not installed (scripts/deps --bench)"
	t_done
fi

out=$T_DIR/bench
log=$T_DIR/bench.log
if MGDC_BENCH_DIR=$out MGDCFS=$MGDCFS "$T_ROOT/scripts/bench" --quick >"$log" 2>&1; then
	ok "scripts/bench --quick exits 0"
else
	not_ok "scripts/bench --quick exits 0"
	tail -n 30 "$log" | sed 's/^/#   /'
fi
json=$out/results.json
scale='["apps_cold","duckdb_cold","duckdb_heads","duckdb_warm","export_lmdb","export_read","first_entry_all","hwm_big","par16","runs_cold"]'
if jq -e . "$json" >/dev/null 2>&1; then ok "results.json is valid JSON"; else not_ok "results.json is valid JSON"; fi
is "$(jq -r '[.results[].transport] | unique | join(" ")' "$json" 2>/dev/null)" "http https" \
	"both transports measured"
# (The perf stat rows appear where perf can attach; they are not required.)
is "$(jq -r '[.results[] | select(.transport == "https") | .case | select(IN($scale[]) | not) | select(endswith("_perf") | not)] | unique | join(" ")' \
	--argjson scale "$scale" "$json" 2>/dev/null)" \
	"cold_read cpu_cold cpu_warm first_entry hot_read lmdb ls_cold ls_cold_big ls_warm ls_warm_big lsf_warm_big mem_entry mem_listing par4 rand_cold rand_warm rss stat_listed stat_missing stat_new ttfb warm_read" \
	"every case of issues 7, 17 and 18 has a row (rclone only in full runs)"
check "the CPU row has curl -o file's CPU beside it" \
	jq -e '[.results[] | select(.case == "cpu_cold" and .peer == "curl -o file on the cache'"'"'s disk")] | length == 2' "$json"
is "$(jq -r '[.results[] | select(.transport == "https") | .case | select(IN($scale[]))] | unique | join(" ")' \
	--argjson scale "$scale" "$json" 2>/dev/null)" "$(jq -r 'sort | join(" ")' <<<"$scale")" \
	"every scale case of issue 17 has a row (runs and apps over https only)"
is "$(jq -r '[.results[] | select(.transport == "http" and (.case == "runs_cold" or .case == "apps_cold"))] | length' "$json" 2>/dev/null)" \
	0 "the control-plane rows run once"
# (RSS per listed entry may round to 0 in a quick run: 1,000 entries move RSS by a page or two;
# CPU is counted in 10 ms clock ticks, and 64 MiB may take fewer; the DuckDB query's opens need
# no ETag check when its listing is younger than a second.)
is "$(jq '[.results[] | select((.mgdcfs.median | type) != "number" or .mgdcfs.median < 0 or (.mgdcfs.median == 0 and .case != "mem_entry" and .case != "duckdb_heads" and (.case | startswith("cpu_") | not)))] | length' "$json" 2>/dev/null)" \
	0 "every row has a positive mgdcfs figure"
is "$(jq '[.results[] | select(.target == "<= limit" and .met != true)] | length' "$json" 2>/dev/null)" \
	0 "the LMDB file stayed within budget + one chunk"
check "the table was printed" grep -q '^| transport ' "$log"
t_done
