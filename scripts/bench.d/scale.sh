# scripts/bench.d/scale.sh - the scale rows of scripts/bench (issue 17); sourced
# by scripts/bench after its helpers, it defines bench_scale, which
# bench_transport calls for each transport. Cases (--only names; `scale` runs
# them all; the 100,000-blob folder is the bench's own `big` case):
#   runs    ls -l pipelines/<p>/runs/ of a pipeline with 1,000 runs, cold, against
#           curl of the queryPipelineRuns pages mgdcfs asks for (continuationToken)
#   apps    ls -l apps/ of a tenant with 1,000 registrations, cold, against curl of
#           the registration listing pages ($top=100, nextLink)
#   export  a 10 GiB export read cold with a 1 GiB cache budget, against the 1 GiB
#           export's cold rate on the same settings; the LMDB file sampled every
#           0.2 s during the read, against budget + one chunk
#   duckdb  DuckDB's count(*) over a glob of 200 JSON-lines files: warm against
#           the same query over local copies, cold against curl of every file
#   par16   sixteen parallel readers of sixteen files against sixteen curls
#           (four readers are the bench's own par case; --only par runs both)
#
# Design decision: the runs and registrations are made through the services'
# own APIs (createRun of a pipeline with one Wait activity; PUT of a
# registration), one keep-alive curl for all of them, so each is exactly what
# a real client would have made; the sandbox needs no seeding route. The
# control-plane rows run once (over https: the control plane has no http
# twin); the blob rows run over each transport.

if [ "$quick" = 1 ]; then
	scale_n=20 scale_files=10 scale_rows=100 scale_exp_blocks=4 scale_ref_blocks=1 scale_budget_mb=64 scale_par_mib=1
else
	scale_n=1000 scale_files=200 scale_rows=1000 scale_exp_blocks=160 scale_ref_blocks=16 scale_budget_mb=1024 scale_par_mib=64
fi
scale_seeded=
scale_pipe=scalepipe
want_scale() { want scale || want "$1"; }

# scale_token SCOPE: the developer's token (the secret goes through stdin).
scale_token() {
	tr -d '\n' <"$MGDC_DEV_CLIENT_SECRET_FILE" | curl -sS --fail --cacert "$CA" \
		"$MGDC_LOGIN_URL/$MGDC_TENANT_ID/oauth2/v2.0/token" -d grant_type=client_credentials \
		--data-urlencode "client_id=$MGDC_DEV_CLIENT_ID" --data-urlencode "scope=$1" \
		--data-urlencode "client_secret@-" | jq -er .access_token
}
# scale_auth SCOPE: a header file (mode 0600) with the developer's bearer token, for curl -H @FILE.
scale_auth() {
	local f=$B/secrets/auth-${1//[^a-z]/}
	(umask 077 && printf 'Authorization: Bearer %s\n' "$(scale_token "$1")" >"$f")
	echo "$f"
}
ARM_SCOPE=https://management.azure.com/.default
REG_SCOPE=api://mgdc-registration/.default

# scale_batch FILE: run the curl config FILE (one transfer per `next`), on one connection.
scale_batch() { curl -K "$1" || die "a seeding request failed (config $1)"; rm -f "$1"; }
# scale_req CFG AUTH METHOD URL [BODY]: append one transfer to curl config CFG.
scale_req() {
	[ ! -s "$1" ] || echo next >>"$1"
	printf 'url = "%s"\nrequest = "%s"\nheader = "@%s"\nheader = "content-type: application/json"\ncacert = "%s"\noutput = "/dev/null"\nsilent\nshow-error\nfail\n' \
		"$4" "$3" "$2" "$CA" >>"$1"
	[ -z "${5:-}" ] || printf 'data = "%s"\n' "${5//\"/\\\"}" >>"$1"
}

# scale_run_pages: every page of the pipeline's runs, as mgdcfs asks for them
# (net/adf.c: PipelineName filter, RunStart DESC, a 45-day window ending 400
# days ahead); prints the number of runs and of Succeeded runs.
scale_run_pages() {
	local tok="" body n=0 ok=0 a b
	a=$(date -u -d '-45 days' +%Y-%m-%dT%H:%M:%SZ)
	b=$(date -u -d '+400 days' +%Y-%m-%dT%H:%M:%SZ)
	while :; do
		body='{"lastUpdatedAfter":"'$a'","lastUpdatedBefore":"'$b'","filters":[{"operand":"PipelineName","operator":"Equals","values":["'$scale_pipe'"]}],"orderBy":[{"orderBy":"RunStart","order":"DESC"}]'${tok:+',"continuationToken":"'$tok'"'}'}'
		curl -sS --fail -o "$B/page.json" --cacert "$CA" -X POST -H "@$scale_arm" -H 'content-type: application/json' \
			-d "$body" "$scale_adf/queryPipelineRuns?api-version=2018-06-01" || die "queryPipelineRuns failed"
		n=$((n + $(grep -o '"runId":' "$B/page.json" | wc -l)))
		ok=$((ok + $(grep -o '"status":"Succeeded"' "$B/page.json" | wc -l)))
		tok=$(sed -n 's/.*"continuationToken":"\([^"]*\)".*/\1/p' "$B/page.json")
		[ -n "$tok" ] || break
	done
	echo "$n $ok"
}
# scale_reg_pages: every page of the registration listing as mgdcfs asks for it
# ($top=100, then nextLink); prints the number of registrations.
scale_reg_pages() {
	local url="$scale_reg/registrations?\$top=100" n=0
	while [ -n "$url" ]; do
		curl -sS --fail -o "$B/page.json" --cacert "$CA" -H "@$scale_regauth" "$url" || die "the registration listing failed"
		n=$((n + $(grep -o '"appId":' "$B/page.json" | wc -l)))
		url=$(sed -n 's/.*"nextLink":"\([^"]*\)".*/\1/p' "$B/page.json")
	done
	echo "$n"
}

# scale_seed: the pipeline with scale_n runs (all Succeeded) and scale_n registrations.
scale_seed() {
	local i cfg=$B/seed.curl end=$((SECONDS + 300)) app
	[ -z "$scale_seeded" ] || return 0
	eval "$(scripts/sandbox env)"
	scale_adf=$MGDC_ARM_URL/subscriptions/$MGDC_SUBSCRIPTION_ID/resourceGroups/$MGDC_RESOURCE_GROUP/providers/Microsoft.DataFactory/factories/$MGDC_FACTORY
	scale_reg=$MGDC_REGISTRATION_URL/v1/tenants/$MGDC_TENANT_ID
	scale_arm=$(scale_auth "$ARM_SCOPE")
	scale_regauth=$(scale_auth "$REG_SCOPE")
	say "seeding $scale_n pipeline runs and $scale_n registrations through the services' APIs"
	: >"$cfg"
	scale_req "$cfg" "$scale_arm" PUT "$scale_adf/pipelines/$scale_pipe?api-version=2018-06-01" \
		'{"properties":{"activities":[{"name":"Wait1","type":"Wait","typeProperties":{"waitTimeInSeconds":1}}]}}'
	for ((i = 0; i < scale_n; i++)); do
		scale_req "$cfg" "$scale_arm" POST "$scale_adf/pipelines/$scale_pipe/createRun?api-version=2018-06-01" '{}'
	done
	scale_batch "$cfg"
	: >"$cfg"
	for ((i = 0; i < scale_n; i++)); do
		app=$(cat /proc/sys/kernel/random/uuid)
		scale_req "$cfg" "$scale_regauth" PUT "$scale_reg/registrations/$app" '{"name":"scale'$i'","description":"bench","publishType":"SingleTenant","computeType":"AzureDataFactory","activityType":"CopyActivity","destination":{"type":"AzureStorageAccount","subscriptionId":"'$MGDC_SUBSCRIPTION_ID'","resourceGroup":"'$MGDC_RESOURCE_GROUP'","storageAccount":"'$MGDC_STORAGE_ACCOUNT'","container":"exports"},"datasets":[{"name":"BasicDataSet_v0.Message_v1","columns":["id","subject","receivedDateTime","puser","ptenant"],"scope":{"kind":"AllUsers"}}]}'
	done
	scale_batch "$cfg"
	until [ "$(scale_run_pages)" = "$scale_n $scale_n" ]; do
		[ $SECONDS -lt $end ] || die "the $scale_n seeded runs did not all succeed within 5 minutes"
		sleep 1
	done
	[ "$(scale_reg_pages)" = "$scale_n" ] || die "the registration listing does not show $scale_n registrations"
	scale_seeded=1
}

# scale_ls DIR WANT: ms to ls -l DIR; dies unless it shows WANT entries.
scale_ls() {
	local t n
	t=$EPOCHREALTIME
	ls -l "$1" >"$B/ls.out" || die "$TR: ls -l $1 failed"
	t=$(ms "$(since "$t")")
	n=$(grep -vc '^total ' "$B/ls.out")
	[ "$n" = "$2" ] || die "$TR: ls -l $1 shows $n entries, not $2"
	echo "$t"
}

bench_scale_control() {
	local r t
	scale_seed
	say "$TR: 10 ls -l runs/ of $scale_n runs and apps/ of $scale_n registrations, cold"
	for r in $(run_seq); do
		if want_scale runs; then
			mount_mgdcfs "$TR" "$(fresh)"
			stat "$MNT/pipelines/$scale_pipe" >/dev/null
			# runs/ holds a folder per run and the `latest` link.
			t=$(scale_ls "$MNT/pipelines/$scale_pipe/runs" $((scale_n + 1)))
			kept && rec runs_cold mgdcfs "$t"
			unmount
			t=$EPOCHREALTIME
			scale_run_pages >/dev/null
			kept && rec runs_cold baseline "$(ms "$(since "$t")")"
		fi
		if want_scale apps; then
			mount_mgdcfs "$TR" "$(fresh)"
			# apps/ holds <name>/ and <name>.json per registration.
			t=$(scale_ls "$MNT/apps" $((2 * scale_n)))
			kept && rec apps_cold mgdcfs "$t"
			unmount
			t=$EPOCHREALTIME
			scale_reg_pages >/dev/null
			kept && rec apps_cold baseline "$(ms "$(since "$t")")"
		fi
	done
}

# scale_data: the blobs of the blob rows, once per transport (idempotent files).
scale_data() {
	local i
	node scripts/bench.d/scale.js jsonl "$D/scale-json" "$scale_files" "$scale_rows"
	mkdir -p "$D/scale-par"
	for ((i = 0; i < 16; i++)); do mkfile "$D/scale-par/$i.bin" "$scale_par_mib"; done
	local url=URL_$TR
	export BENCH_BLOB_URL=${!url} BENCH_ACCOUNT=$ACCT BENCH_KEY_FILE=$KEYF BENCH_CA=$CA
	node scripts/bench.d/scale.js putdir $CONT scale/json/ "$D/scale-json"
	node scripts/bench.d/scale.js putdir $CONT scale/par/ "$D/scale-par"
	bj repeat $CONT scale/export-ref.bin "$D/block.bin" "$scale_ref_blocks"
	bj repeat $CONT scale/export.bin "$D/block.bin" "$scale_exp_blocks"
}

# scale_read_sampled FILE CACHE: cat FILE; prints "SECONDS MAX_CACHE_MIB", the
# cache directory's size sampled every 0.2 s during the read.
scale_read_sampled() {
	local t0=$EPOCHREALTIME p max=0 s
	cat "$1" >/dev/null &
	p=$!
	while kill -0 "$p" 2>/dev/null; do
		s=$(du -sb "$2" | cut -f1)
		[ "$s" -le "$max" ] || max=$s
		sleep 0.2
	done
	wait "$p" || die "reading $1 failed"
	s=$(since "$t0")
	t0=$(du -sb "$2" | cut -f1)
	[ "$t0" -le "$max" ] || max=$t0
	echo "$s $(awk -v b="$max" 'BEGIN { printf "%.1f", b / 1048576 }')"
}

# scale_cold CASE SIDE PROFILE BYTES NAME...: on a fresh mount of PROFILE after
# drop_caches, the MiB/s of reading the container's NAMEs in parallel.
scale_cold() {
	local case=$1 side=$2 prof=$3 bytes=$4 t
	shift 4
	mount_mgdcfs "$prof" "$(fresh)"
	drop_caches
	t=$(time_read "${@/#/$F/}")
	unmount
	! kept || rec "$case" "$side" "$(mibs "$bytes" "$t")"
}

bench_scale_blob() {
	local r t c out n ms want_rows files=() i ps scfg=$B/scale.json ocfg=$CFG
	scale_data
	block=$(stat -c %s "$D/block.bin")
	if want_scale export; then
		say "$TR: 11 cold read of a $((scale_exp_blocks * block / MiB)) MiB export, ${scale_budget_mb} MiB cache budget"
		jq --argjson b "$scale_budget_mb" '.profiles += (.profiles | with_entries(select(.key == "https" or .key == "http")
			| .key += "-scale" | .value.cache.budget_mb = $b))' "$ocfg" >"$scfg"
		chmod 600 "$scfg"
		CFG=$scfg
		for r in $(run_seq); do
			scale_cold export_read baseline "$TR-scale" $((scale_ref_blocks * block)) scale/export-ref.bin
			c=$(fresh)
			mount_mgdcfs "$TR-scale" "$c"
			drop_caches
			out=$(scale_read_sampled "$F/scale/export.bin" "$c")
			unmount
			kept && rec export_read mgdcfs "$(mibs $((scale_exp_blocks * block)) "${out% *}")"
			kept && rec export_lmdb mgdcfs "${out#* }"
			kept && rec export_lmdb baseline "$((scale_budget_mb + chunk_kb / 1024))"
		done
		CFG=$ocfg
	fi
	if want_scale duckdb; then
		say "$TR: 12 DuckDB count(*) over $scale_files JSON-lines files: cold, warm, local copies, curl"
		want_rows=$((scale_files * scale_rows))
		for r in $(run_seq); do
			c=$(fresh)
			mount_mgdcfs "$TR" "$c"
			drop_caches
			out=$(node scripts/bench.d/scale.js count "$F/scale/json/*.json")
			[ "${out% *}" = "$want_rows" ] || die "$TR: DuckDB counted ${out% *} rows through mgdcfs, not $want_rows"
			kept && rec duckdb_cold mgdcfs "${out#* }"
			unmount
			mount_mgdcfs "$TR" "$c"
			drop_caches
			out=$(node scripts/bench.d/scale.js count "$F/scale/json/*.json")
			kept && rec duckdb_warm mgdcfs "${out#* }"
			# The ETag checks (Get Blob Properties) the warm query's opens cost.
			kept && rec duckdb_heads mgdcfs "$(jq '.datasets.revalidations' "$MNT/.mgdcfs/stats.json")"
			unmount
			drop_caches
			out=$(node scripts/bench.d/scale.js count "$D/scale-json/*.json")
			[ "${out% *}" = "$want_rows" ] || die "DuckDB counted ${out% *} rows in the local copies, not $want_rows"
			kept && rec duckdb_warm baseline "${out#* }"
			# curl of every file, one connection, as a client that downloads them first would.
			: >"$B/dl.curl"
			for ((i = 0; i < scale_files; i++)); do
				[ "$i" = 0 ] || echo next >>"$B/dl.curl"
				printf 'url = "%s"\noutput = "/dev/null"\ncacert = "%s"\nsilent\nshow-error\nfail\n' \
					"$(blob_url "scale/json/part-$(printf %05d "$i").json")" "$CA" >>"$B/dl.curl"
			done
			t=$EPOCHREALTIME
			curl -K "$B/dl.curl" || die "curl of the JSON-lines files failed"
			kept && rec duckdb_cold baseline "$(ms "$(since "$t")")"
		done
	fi
	if want_scale par16 || want par; then
		say "$TR: 13 sixteen parallel readers vs sixteen curls"
		for ((i = 0; i < 16; i++)); do files+=("scale/par/$i.bin"); done
		for r in $(run_seq); do
			scale_cold par16 mgdcfs "$TR" $((16 * scale_par_mib * MiB)) "${files[@]}"
			t=$(time_curl "${files[@]}")
			kept && rec par16 baseline "$(mibs $((16 * scale_par_mib * MiB)) "$t")"
			# Sixteen downloads that keep their bytes on the cache's disk, as the cache does.
			t=$EPOCHREALTIME ps=()
			for i in "${!files[@]}"; do
				curl -sS --fail -o "$B/dl$i.bin" --cacert "$CA" "$(blob_url "${files[$i]}")" &
				ps+=($!)
			done
			for i in "${ps[@]}"; do wait "$i" || die "curl -o failed"; done
			t=$(since "$t")
			rm -f "$B"/dl*.bin
			kept && rec par16 curl_file "$(mibs $((16 * scale_par_mib * MiB)) "$t")"
		done
	fi
}

bench_scale() {
	if [ "$TR" = https ] && { want_scale runs || want_scale apps; }; then bench_scale_control; fi
	if want_scale export || want_scale duckdb || want_scale par16 || want par; then bench_scale_blob; fi
}
