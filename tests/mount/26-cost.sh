#!/usr/bin/env bash
# Sampling and cost through the mount (issue 12): a pipeline spec with
# "sample": N runs with the Office 365 source's AdditionalDataSetProperties
# {"top": N} (checked in the factory over REST) and returns N rows (counted
# through the mount) with the JobMetadata's TotalRowCount; runs/<id>/cost.json
# must match the JobMetadata downloaded directly from Azurite and the
# catalog's price (read from scripts/sandbox.d/catalog.json, with units and
# dollars worked out here with jq). Writing pipelines/<name>/estimate starts
# a sampled run (top 1) of a hidden twin pipeline; estimate.json must then
# match the billed units of the full run made afterwards. SharePoint Files
# are billed per 50,000 objects, free datasets not at all. Bad samples and
# estimates of datasets MGDC cannot sample are refused with the reason and
# create nothing; a full ADF pipeline that bypasses the local check is
# failed by the emulator; rmdir takes the twin with the pipeline.
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox
. "$T_ROOT/tests/lib/commands.sh"
fault_post /reset

SITES=BasicDataSet_v0.SharePointSites_v1
FILES=BasicDataSet_v0.SharePointFiles_v1
PERMS=BasicDataSet_v0.SharePointPermissions_v1
MAIL=BasicDataSet_v0.Message_v1
SYNC=BasicDataSet_v0.OneDriveSyncHealth_v1
USERS=BasicDataSet_v0.User_v1
CAT=$T_ROOT/scripts/sandbox.d/catalog.json
PIPES=(costsample costsites costfiles costdelta costusers costmail costraw costx mgdcfs_costsample_estimate)
TWINS=(mgdcfs_costsites_estimate mgdcfs_costdelta_estimate)
cmd_clean "${PIPES[@]}" "${TWINS[@]}"
day() { date -u -d "$1 days ago" +%Y-%m-%dT00:00:00Z; }
A=$(day 4)
B=$(day 3)

mount_fs admin admin || t_done
AD=$MNT
mount_fs dev developer || t_done
D=$MNT

APP='{"datasets": [
  {"name": "'$SITES'", "columns": "all"}, {"name": "'$FILES'", "columns": "all"},
  {"name": "'$PERMS'", "columns": "all"},
  {"name": "'$MAIL'", "columns": ["id", "subject", "receivedDateTime", "puser", "ptenant"]},
  {"name": "'$SYNC'", "columns": "all"}, {"name": "'$USERS'", "columns": ["id", "displayName", "puser", "ptenant"]}],
  "destination": {"container": "exports", "folder": "cost"}}'
is "$($W "$D/apps/cost.json" "$APP")" 0 "register app cost (SharePoint Sites, Files and Permissions, mail, OneDrive sync, users)"
is "$($W "$AD/apps/cost/consent" $'approve\n')" 0 "admin approves"

# The catalog's prices, read from the catalog file itself.
usd_of() { jq --argjson u "$1" '.prices.classes[] | select(.class == "billed" and .unitObjects == $u) | .usdPerUnit' "$CAT"; }
P1K=$(usd_of 1000)
P50K=$(usd_of 50000)
is "$P1K" 0.75 "catalog: \$0.75 per 1,000 objects"
is "$P50K" 0.75 "catalog: \$0.75 per 50,000 objects (SharePoint Files)"
check "catalog/$SITES.json: sampled, billed per 1,000 at the catalog's price and source" \
	jq -e --slurpfile c "$CAT" '.sample.supported and .price.unitObjects == 1000 and .price.usdPerUnit == 0.75
	  and .price.usdSource == $c[0].prices.source and (.price.usdOfficial | startswith("https://azure.microsoft.com/"))' \
	"$D/catalog/$SITES.json"
check "catalog/$MAIL.json: no sampling" jq -e '.sample == null' "$D/catalog/$MAIL.json"

# spec NAME DATASET [EXTRA-JSON]: a pipeline spec (SharePoint: a full pull at A, and
# for Permissions the delta from A to B), 1,200 users.
spec() {
	local df='"dateFilter": {"column": "SnapshotDate", "start": "'$A'", "end": "'$A'"},'
	case $2 in
	"$PERMS") df='"dateFilter": {"column": "SnapshotDate", "start": "'$A'", "end": "'$B'"},' ;;
	"$MAIL") df='"dateFilter": {"column": "receivedDateTime", "start": "'$(day 3)'", "end": "'$(day 2)'"},' ;;
	"$SYNC" | "$USERS") df= ;;
	esac
	echo '{"app": "cost", "dataset": "'$2'", '$df' "output": {"container": "exports", "folder": "cost/'$1'"},
	  "parameters": {"sandboxUsers": 1200}'${3:+, $3}'}'
}
units() { jq -n --argjson n "$1" --argjson u "$2" '($n + $u - 1) / $u | floor'; }
# meta P RUN: the JobMetadata of run RUN of pipeline P, downloaded directly from Azurite.
meta() { blob_get exports "cost/$1/$2/metadata/JobMetadata/metadata.json" "$T_DIR/$1-$2.meta" && cat "$T_DIR/$1-$2.meta"; }
rows() { cat "$D/pipelines/$1/runs/$2/output/"*.json | wc -l; }
latest() { readlink "$D/pipelines/$1/runs/latest"; }
# start P DATASET EXTRA-JSON DESC: write P's spec and wait for the run it starts;
# R is that run, M its JobMetadata (from Azurite).
start() {
	is "$($W "$D/pipelines/$1.json" "$(spec "$1" "$2" "$3")")" 0 "$4"
	R=$(latest "$1")
	is "$(wait_status "$D/pipelines/$1/runs/$R")" Succeeded "  its run succeeds"
	M=$(meta "$1" "$R")
}

# ---- a sample of N: N rows, the JobMetadata's total, and what it costs ----
is "$($W "$D/pipelines/costsample.json" "$(spec costsample "$SITES" '"sample": 3')")" 0 "a spec with \"sample\": 3 starts a run"
check "spec.json keeps the sample" jq -e '.sample == 3' "$D/pipelines/costsample/spec.json"
is "$(adf GET "$(ADF_BASE)/pipelines/costsample?$API" | jq -c '.properties.activities[0].typeProperties.source.AdditionalDataSetProperties')" \
	'{"top":3}' "REST: the copy source asks MGDC for AdditionalDataSetProperties {\"top\": 3}"
R=$(latest costsample)
is "$(wait_status "$D/pipelines/costsample/runs/$R")" Succeeded "the sampled run succeeds"
M=$(meta costsample "$R")
T=$(jq .TotalRowCount <<<"$M")
is "$(rows costsample "$R")" 3 "3 rows through the mount"
is "$(jq -c '[.NumberOfRowsExtracted, .ExtractionMode]' <<<"$M")" '[3,"Full"]' "Azurite: JobMetadata NumberOfRowsExtracted 3, ExtractionMode Full"
check "  and TotalRowCount ($T) counts the whole dataset, over 1,000 sites" test "$T" -gt 1000
C=$D/pipelines/costsample/runs/$R/cost.json
check "runs/$R/ lists cost.json" test "$(ls "$D/pipelines/costsample/runs/$R" | grep -c '^cost.json$')" = 1
is "$(jq -c '[.rowsExtracted, .totalRows, .sample, .extractionMode, .dataset]' "$C")" \
	"$(jq -c --arg d "$SITES" '[.NumberOfRowsExtracted, .TotalRowCount, 3, .ExtractionMode, $d]' <<<"$M")" \
	"cost.json: rows extracted, total, sample and mode are the JobMetadata's"
is "$(jq -c .billed "$C")" "$(jq -nc --argjson p "$P1K" '{objects: 3, units: 1, usd: $p}')" \
	"cost.json: the sample is billed as a run: 3 objects, 1 unit, \$$P1K"
U=$(units "$T" 1000)
is "$(jq -c .estimate "$C")" "$(jq -nc --argjson n "$T" --argjson u "$U" --argjson p "$P1K" '{objects: $n, units: $u, usd: ($u * $p)}')" \
	"cost.json: the full run estimated at $T objects, $U units"
check "cost.json names the price and its source, and says prices may change" \
	jq -e --slurpfile c "$CAT" '.price.class == "billed" and .price.unitObjects == 1000 and .price.usdPerUnit == 0.75
	  and .price.source == $c[0].prices.source and .price.asOf == $c[0].prices.asOf
	  and .price.official == $c[0].prices.official and (.price.note | test("may change"))' "$C"
is "$(jq -r .jobMetadata "$C")" "exports/cost/costsample/$R/metadata/JobMetadata/" "cost.json: where the JobMetadata is"
check "activities.json records the sample the run asked for" \
	jq -e '.[0].input.source.AdditionalDataSetProperties.top == 3' "$D/pipelines/costsample/runs/$R/activities.json"

# ---- estimate: a sampled twin (top 1), then the full run it estimates ----
is "$($W "$D/pipelines/costsites.json" "$(spec costsites "$SITES")")" 0 "the full pipeline costsites starts"
R1=$(latest costsites)
is "$(wait_status "$D/pipelines/costsites/runs/$R1")" Succeeded "  its first run succeeds"
check "no estimate.json before an estimate" test ! -e "$D/pipelines/costsites/estimate.json"
is "$(ls "$D/pipelines/costsites" | tr '\n' ' ')" "estimate pipeline.json runs schedule spec.json trigger " "pipelines/costsites/ lists estimate"
is "$($W "$D/pipelines/costsites/estimate" $'\n')" 0 "echo > estimate starts the sampled run"
is "$(ls "$D/pipelines/costsites" | tr '\n' ' ')" "estimate estimate.json pipeline.json runs schedule spec.json trigger " "  estimate.json appears"
TW=$(adf GET "$(ADF_BASE)/pipelines/mgdcfs_costsites_estimate?$API")
check "REST: the twin mgdcfs_costsites_estimate samples top 1, marked estimateOf=costsites, as no app" \
	jq -e '(.properties.activities[0].typeProperties.source.AdditionalDataSetProperties == {"top": 1})
	  and any(.properties.annotations[]; . == "estimateOf=costsites") and ([.properties.annotations[] | select(startswith("appId="))] == [])' <<<"$TW"
check "REST: it reads and writes the pipeline's datasets" \
	jq -e --argjson p "$(adf GET "$(ADF_BASE)/pipelines/costsites?$API")" \
	'.properties.activities[0].inputs == $p.properties.activities[0].inputs and .properties.activities[0].outputs == $p.properties.activities[0].outputs' <<<"$TW"
check "the twin is no pipeline of pipelines/" test "$(ls "$D/pipelines" | grep -c estimate)" = 0
check "  nor can it be looked up there" test ! -e "$D/pipelines/mgdcfs_costsites_estimate"
E=$D/pipelines/costsites/estimate.json
deadline=$((SECONDS + 60))
while st=$(jq -r .status "$E" 2>/dev/null); [ "$st" != Succeeded ] && [ "$st" != Failed ] && [ $SECONDS -lt $deadline ]; do sleep 0.3; done
is "$st" Succeeded "estimate.json: the sampled run succeeded"
[ "$st" = Succeeded ] || diag "$(jq -c '{message, note}' "$E")"
SR=$(jq -r .runId "$E")
SM=$(meta costsites "$SR")
is "$(jq -c '[.NumberOfRowsExtracted, .TotalRowCount]' <<<"$SM")" "$(jq -c '[.rowsExtracted, .totalRows]' "$E")" \
	"estimate.json: rows and total are the sample's JobMetadata in Azurite"
is "$(jq -c '[.pipeline, .samplePipeline, .sample, .billed.units, .billed.usd]' "$E")" "[\"costsites\",\"mgdcfs_costsites_estimate\",1,1,$P1K]" \
	"estimate.json: a sample of 1, billed as MGDC bills a run (1 unit, \$$P1K)"
# The full run, made now.
is "$($W "$D/pipelines/costsites/trigger" '{}')" 0 "the full run is made (trigger)"
R2=$(latest costsites)
check "  a new run" test "$R2" != "$R1"
is "$(wait_status "$D/pipelines/costsites/runs/$R2")" Succeeded "  and succeeds"
M2=$(meta costsites "$R2")
N2=$(jq .NumberOfRowsExtracted <<<"$M2")
is "$(rows costsites "$R2")" "$N2" "full run: rows through the mount = NumberOfRowsExtracted in Azurite ($N2)"
C2=$D/pipelines/costsites/runs/$R2/cost.json
is "$(jq -c .billed "$C2")" "$(jq -nc --argjson n "$N2" --argjson u "$(units "$N2" 1000)" --argjson p "$P1K" '{objects: $n, units: $u, usd: ($u * $p)}')" \
	"full run cost.json: billed units and dollars from the JobMetadata and the catalog's price"
check "  a full run has no sample and no estimate" jq -e '.sample == null and .estimate == null and .totalRows == .rowsExtracted' "$C2"
is "$(jq -c .estimate "$E")" "$(jq -c .billed "$C2")" "estimate.json's estimate = the full run's billed objects, units and dollars"
# The man page's sum of what a pipeline's runs cost (runs/latest is counted once), against
# every succeeded run the factory lists (an earlier pass's runs of a pipeline of this name
# are in its history too) and each one's JobMetadata in Azurite.
SUM=0
for id in $(run_list costsites | jq -r '.[] | select(.status == "Succeeded") | .runId'); do
	SUM=$(meta costsites "$id" | jq --argjson s "$SUM" '$s + ((.NumberOfRowsExtracted + 999) / 1000 | floor)')
done
is "$(jq -s 'unique_by(.runId) | map(.billed.usd // 0) | add' "$D/pipelines/costsites/runs/"*/cost.json)" \
	"$(jq -n --argjson u "$SUM" --argjson p "$P1K" '$u * $p')" \
	"the runs' cost.json sum to the units of the factory's runs' JobMetadata in Azurite ($SUM) at the catalog's price"

# The twin's name is no one else's: a spec may not overwrite it, an estimate may not
# overwrite a pipeline of that name that is not its twin.
twin_etag() { adf GET "$(ADF_BASE)/pipelines/$1?$API" | jq -r .etag; }
ET=$(twin_etag mgdcfs_costsites_estimate)
is "$($W "$D/pipelines/mgdcfs_costsites_estimate.json" "$(spec mgdcfs_costsites_estimate "$USERS")")" "EEXIST close" \
	"a spec named as costsites' twin: EEXIST"
check "  naming the pipeline it samples" grep -q "'mgdcfs_costsites_estimate' is the pipeline that samples pipelines/costsites for its estimate; choose another name" <(last_error "$D")
is "$(twin_etag mgdcfs_costsites_estimate)" "$ET" "REST: the twin is unchanged"
is "$($W "$D/pipelines/mgdcfs_costsample_estimate.json" "$(spec mgdcfs_costsample_estimate "$USERS")")" 0 \
	"a pipeline of its own named as costsample's twin would be"
ET=$(twin_etag mgdcfs_costsample_estimate)
is "$($W "$D/pipelines/costsample/estimate" $'\n')" "EEXIST write" "echo > pipelines/costsample/estimate: EEXIST"
check "  the name is taken" grep -q "the pipeline that would sample it, mgdcfs_costsample_estimate, exists in the factory and is not this pipeline's estimate; rename or delete it" <(last_error "$D")
is "$(twin_etag mgdcfs_costsample_estimate)" "$ET" "REST: that pipeline is unchanged"
check "  and costsample has no estimate.json" test ! -e "$D/pipelines/costsample/estimate.json"

# ---- a delta is sampled and estimated as a delta ----
start costdelta "$PERMS" "" "a delta of SharePoint Permissions ($A to $B)"
is "$(jq -c '[.ExtractionMode, .NumberOfRowsExtracted == .TotalRowCount]' <<<"$M")" '["Delta",true]' \
	"Azurite: the delta's JobMetadata says Delta, every changed object extracted"
is "$($W "$D/pipelines/costdelta/estimate" $'\n')" 0 "echo > estimate of the delta"
E=$D/pipelines/costdelta/estimate.json
deadline=$((SECONDS + 60))
while st=$(jq -r .status "$E" 2>/dev/null); [ "$st" != Succeeded ] && [ "$st" != Failed ] && [ $SECONDS -lt $deadline ]; do sleep 0.3; done
is "$st" Succeeded "  its sampled run succeeded"
[ "$st" = Succeeded ] || diag "$(jq -c '{message, note}' "$E")"
SM=$(meta costdelta "$(jq -r .runId "$E")")
is "$(jq -c '[.NumberOfRowsExtracted, .TotalRowCount, .ExtractionMode]' <<<"$SM")" "$(jq -c '[1, .TotalRowCount, "Delta"]' <<<"$M")" \
	"Azurite: the sample extracted 1 object of the delta and counted the delta's objects"
is "$(jq -c '[.extractionMode, .estimate]' "$E")" "$(jq -c '["Delta", .billed]' "$D/pipelines/costdelta/runs/$R/cost.json")" \
	"estimate.json: a Delta, estimated at the delta run's billed objects, units and dollars"

# ---- SharePoint Files: 50,000 objects a unit ----
start costfiles "$FILES" '"sample": 1' "a sample of SharePoint Files"
TF=$(jq .TotalRowCount <<<"$M")
is "$(jq -c '[.price.unitObjects, .estimate]' "$D/pipelines/costfiles/runs/$R/cost.json")" \
	"$(jq -nc --argjson n "$TF" --argjson u "$(units "$TF" 50000)" --argjson p "$P50K" '[50000, {objects: $n, units: $u, usd: ($u * $p)}]')" \
	"Files: $TF objects estimated in units of 50,000"

# ---- a free dataset ----
start costusers "$USERS" "" "a run of the free User_v1"
is "$(jq -c '[.price.class, .billed]' "$D/pipelines/costusers/runs/$R/cost.json")" \
	"$(jq -c '["free", {objects: .NumberOfRowsExtracted, units: 0, usd: 0}]' <<<"$M")" "free: its objects cost 0 units, \$0"
# The spec changes its dataset: each run keeps the price of the table it extracted.
RU=$R MU=$M
start costusers "$SITES" "" "costusers' spec now reads SharePoint Sites (same folder)"
is "$(jq -c '[.dataset, .price.class, .billed.units]' "$D/pipelines/costusers/runs/$RU/cost.json")" \
	"$(jq -c '[.TableName, "free", 0]' <<<"$MU")" "the earlier run's cost.json: still its JobMetadata's TableName, free"
is "$(jq -c '[.dataset, .price.class, .billed.units]' "$D/pipelines/costusers/runs/$R/cost.json")" \
	"$(jq -c '[.TableName, "billed", ((.NumberOfRowsExtracted + 999) / 1000 | floor)]' <<<"$M")" "the new run's: Sites, billed per 1,000"

# ---- refusals: bad samples, datasets MGDC does not sample; nothing is created ----
snapshot() { adf GET "$(ADF_BASE)/pipelines?$API" | jq -S '[.value[] | {name, etag}]'; }
is "$($W "$D/pipelines/costmail.json" "$(spec costmail "$MAIL")")" 0 "a mail pipeline (no sampling for mail)"
snapshot >"$T_DIR/before"
SAMPLED="$SITES, BasicDataSet_v0.SharePointPermissions_v1, BasicDataSet_v0.SharePointGroups_v1, $FILES, BasicDataSet_v0.SharePointFileActions_v1"
while IFS='~' read -r want file re ds extra; do
	[ -z "$want" ] && continue
	is "$($W "$D/$file" "$(spec costx "$ds" "$extra")")" "$want" "$file with $extra: $want"
	line=$(last_error "$D")
	if grep -Eq -- "$file: $re" <<<"$line"; then ok "  errors line: ${line#* }"; else
		not_ok "  errors line matches /$re/"
		diag "line: $line"
	fi
done <<EOF
EINVAL close~pipelines/costx.json~sample: 0 is not a number of objects; give a whole number from 1 to 2147483647 \(a sample returns at most that many objects and the count of all\)~$SITES~"sample": 0
EINVAL close~pipelines/costx.json~sample: -2 is not a number of objects~$SITES~"sample": -2
EINVAL close~pipelines/costx.json~sample: 2\.5 is not a number of objects~$SITES~"sample": 2.5
EINVAL close~pipelines/costx.json~sample: 2147483648 is not a number of objects; give a whole number from 1 to 2147483647~$SITES~"sample": 2147483648
EINVAL close~pipelines/costx.json~sample: expected a number, got a string; the number of objects to sample, 1 to 2147483647, e\.g\. 100~$SITES~"sample": "10"
EINVAL close~pipelines/costx.json~sample: $MAIL cannot be sampled: MGDC samples only $SAMPLED; remove "sample"~$MAIL~"sample": 1
EINVAL close~pipelines/costx.json~sample: $SYNC cannot be sampled~$SYNC~"sample": 1
EOF
is "$($W "$D/pipelines/costmail/estimate" $'\n')" "EINVAL write" "echo > estimate of a mail pipeline: EINVAL"
check "  with the reason and the datasets that can be sampled" \
	grep -q "pipelines/costmail/estimate: pipelines/costmail/estimate: the pipeline reads $MAIL, which MGDC cannot sample: it samples only $SAMPLED" <(last_error "$D")
snapshot >"$T_DIR/after"
check "REST: the refused specs and estimate created no pipeline" diff -u "$T_DIR/before" "$T_DIR/after"

# A full ADF pipeline is passed through: the emulator refuses what MGDC does.
# raw_fails DESC P TOP WHY RE: pipeline P's resource with its copy source asking for
# {"top": TOP}, written as a full ADF pipeline, is accepted as written; its run fails
# with MGDC's envelope, the message matching RE. Sets R to the run.
raw_fails() {
	local raw
	raw=$(jq -c --argjson t "$3" '{properties} | del(.properties.description, .properties.annotations)
	  | .properties.activities[0].typeProperties.source.AdditionalDataSetProperties = {"top": $t}' "$D/pipelines/$2/pipeline.json")
	is "$($W "$D/pipelines/costraw.json" "$raw")" 0 "a full ADF pipeline $1 is accepted as written"
	R=$(latest costraw)
	is "$(wait_status "$D/pipelines/costraw/runs/$R")" Failed "  its run fails"
	check "  $4" jq -e --arg re "$5" '.[0].error.errorCode == "2200" and (.[0].error.message | test($re))' \
		"$D/pipelines/costraw/runs/$R/activities.json"
}
raw_fails "asking for top 0" costsites 0 "with MGDC's envelope and the valid counts" \
	"UserErrorOffice365DataLoaderError.*Invalid AdditionalDataSetProperties\\.top .0.: expected a whole number of objects from 1 to 2147483647"
check "  and no estimate (nor cost.json) for a pipeline not made from a spec" \
	test ! -e "$D/pipelines/costraw/estimate" -a ! -e "$D/pipelines/costraw/runs/$R/cost.json"
raw_fails "sampling mail" costmail 1 "sampling is not available for the dataset" \
	"Sampling \\(AdditionalDataSetProperties\\.top\\) is not available for dataset .BasicDataSet_v0\\.Message_v1."

# ---- rmdir takes the twin ----
check "rmdir pipelines/costsites" rmdir "$D/pipelines/costsites"
is "$(adf GET "$(ADF_BASE)/pipelines/mgdcfs_costsites_estimate?$API" | jq -r '.error.code // .name')" ResourceNotFound "REST: its twin is gone"
is "$(plan_held costsites)" 0 "REST: and so are its linked services and datasets"

for p in "${PIPES[@]}"; do rmdir "$D/pipelines/$p" 2>/dev/null; done
cmd_clean "${TWINS[@]}"
t_done
