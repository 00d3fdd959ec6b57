#!/usr/bin/env bash
# SharePoint datasets through the mount (issue 12): for SharePointSites and
# SharePointPermissions, a full pull at date A, a delta A->B and a full pull
# at B, all run as pipelines written into pipelines/; jq applies the delta to
# full(A), keyed by the natural key that catalog/<Dataset>.json names, and
# the result must equal full(B) (SnapshotDate and Operation aside). Row
# counts are checked against the JobMetadata downloaded directly from
# Azurite. Then the dataset rules: dates outside the 48-hour / 21-day window,
# a delta on a dataset without one, a scope on a dataset that takes none and
# a users filter on a group-scoped dataset are refused by close(2) with the
# reason (nothing is created); the emulator refuses an out-of-window date in
# a pipeline that bypasses the local check.
#
# Dates are days before today on this machine's clock (UTC), which is the
# clock both the mount and the sandbox use here (this test does not move the
# sandbox's clock). A is 5 days back and B 3: inside the window all day.
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox
. "$T_ROOT/tests/lib/commands.sh"
fault_post /reset

SITES=BasicDataSet_v0.SharePointSites_v1
PERMS=BasicDataSet_v0.SharePointPermissions_v1
day() { date -u -d "$1 days ago" +%Y-%m-%dT00:00:00Z; }
A=$(day 5)
B=$(day 3)
PIPES=(spa-sites-a spa-sites-d spa-sites-b spa-perms-a spa-perms-d spa-perms-b spa-raw spx)
cmd_clean "${PIPES[@]}"

mount_fs admin admin || t_done
AD=$MNT
mount_fs dev developer || t_done
D=$MNT

# The app: the two SharePoint datasets, file actions, OneDrive sync health
# and a group-scoped dataset, every column.
APP='{"datasets": [
  {"name": "'$SITES'", "columns": "all"}, {"name": "'$PERMS'", "columns": "all"},
  {"name": "BasicDataSet_v0.SharePointFileActions_v1", "columns": "all"},
  {"name": "BasicDataSet_v0.OneDriveSyncHealth_v1", "columns": "all"},
  {"name": "BasicDataSet_v0.GroupDetails_v0", "columns": "all"}],
  "destination": {"container": "exports", "folder": "spa"}}'
is "$($W "$D/apps/spa.json" "$APP")" 0 "register app spa (SharePoint, OneDrive, groups)"
is "$(reg | jq -r '[.datasets[].scope.kind] | join(" ")')" "AllSites AllSites AllSites AllSites AllGroups" \
	"service: SharePoint and OneDrive take AllSites, GroupDetails AllGroups"
is "$($W "$AD/apps/spa/consent" $'approve\n')" 0 "admin approves"
is "$(reg | jq -r .authorization.status)" Approved "service: Approved"

# pipelines/<name>.json for DATASET from START to END.
spec() {
	printf '{"app": "spa", "dataset": "%s", "dateFilter": {"column": "SnapshotDate", "start": "%s", "end": "%s"}, "output": {"container": "exports", "folder": "spa/%s"}}' \
		"$2" "$3" "$4" "$1"
}
for ds in sites perms; do
	name=$SITES
	[ $ds = perms ] && name=$PERMS
	is "$($W "$D/pipelines/spa-$ds-a.json" "$(spec "spa-$ds-a" "$name" "$A" "$A")")" 0 "$ds: full pull at A ($A) starts"
	is "$($W "$D/pipelines/spa-$ds-d.json" "$(spec "spa-$ds-d" "$name" "$A" "$B")")" 0 "$ds: delta A->B starts"
	is "$($W "$D/pipelines/spa-$ds-b.json" "$(spec "spa-$ds-b" "$name" "$B" "$B")")" 0 "$ds: full pull at B ($B) starts"
done

# rows P: every row of pipeline P's latest run, read through the mount, one JSON array.
rows() { cat "$D/pipelines/$1/runs/latest/output/"*.json | jq -s -c .; }
for p in spa-sites-a spa-sites-d spa-sites-b spa-perms-a spa-perms-d spa-perms-b; do
	run=$(readlink "$D/pipelines/$p/runs/latest")
	is "$(wait_status "$D/pipelines/$p/runs/$run")" Succeeded "$p: the run succeeds"
	blob_get exports "spa/$p/$run/metadata/JobMetadata/metadata.json" "$T_DIR/$p.meta"
	rows "$p" >"$T_DIR/$p.json"
	is "$(jq length "$T_DIR/$p.json")" "$(jq -r .NumberOfRowsExtracted "$T_DIR/$p.meta")" \
		"$p: rows through the mount = NumberOfRowsExtracted of the JobMetadata in Azurite"
done

# apply KEY FULL_A DELTA FULL_B: is FULL_A with DELTA applied, by KEY, equal to FULL_B?
APPLY='def key: [$k[] as $c | .[$c]] | tojson;
  def strip: del(.SnapshotDate, .Operation);
  def index: reduce .[] as $r ({}; .[$r | key] = ($r | strip));
  ($a[0] | index) as $s
  | (reduce $d[0][] as $r ($s; if $r.Operation == "Deleted" then del(.[$r | key]) else .[$r | key] = ($r | strip) end))
    == ($b[0] | index)'
for ds in sites perms; do
	name=$SITES
	[ $ds = perms ] && name=$PERMS
	key=$(jq -c '.delta.key' "$D/catalog/$name.json")
	check "$ds: catalog/$name.json names the natural key ($key)" test "$(jq -r '.delta.supported' "$D/catalog/$name.json")" = true
	fa=$T_DIR/spa-$ds-a.json dl=$T_DIR/spa-$ds-d.json fb=$T_DIR/spa-$ds-b.json
	check "$ds: full pulls are all Operation Full, dated A and B" \
		jq -e -n --slurpfile a "$fa" --slurpfile b "$fb" --arg A "$A" --arg B "$B" \
		'($a[0] | all(.Operation == "Full" and .SnapshotDate == $A)) and ($b[0] | all(.Operation == "Full" and .SnapshotDate == $B))'
	is "$(jq -c '[.[].Operation] | unique' "$dl")" '["Created","Deleted","Updated"]' "$ds: the delta has Created, Updated and Deleted rows"
	check "$ds: the key is unique in full(A)" jq -e --argjson k "$key" '(map([$k[] as $c | .[$c]]) | unique | length) == length' "$fa"
	check "$ds: full(A) with delta(A->B) applied by $key = full(B)" \
		jq -e -n --argjson k "$key" --slurpfile a "$fa" --slurpfile d "$dl" --slurpfile b "$fb" "$APPLY"
	check "$ds: and the delta is smaller than a full pull" test "$(jq length "$dl")" -lt "$(jq length "$fb")"
done

# The dataset rules, refused by close(2) with the reason; nothing is created.
# Cases: errno and call ~ ERE of the last errors line ~ the spec.
snapshot() { adf GET "$(ADF_BASE)/pipelines?$API" | jq -S '[.value[] | {name, etag}]'; }
snapshot >"$T_DIR/before"
T0=$(date -u +%Y-%m-%d) # today; the window is today-21 .. today-2
win() { date -u -d "$T0 $1 days" +%Y-%m-%d; }
WINDOW="dates from ($(win -21)|$(win -20)) to ($(win -2)|$(win -1)) work today"
OLD=$(day 22) NOW=$(day 0)
FA=BasicDataSet_v0.SharePointFileActions_v1
while IFS='~' read -r want re content; do
	[ -z "$want" ] || [[ $want == \#* ]] && continue
	is "$($W "$D/pipelines/spx.json" "$content")" "$want" "pipelines/spx.json: $want"
	line=$(tail -1 "$D/.mgdcfs/errors")
	if grep -Eq -- "pipelines/spx\.json: $re" <<<"$line"; then ok "  errors line: ${line#* }"; else
		not_ok "  errors line matches /$re/"
		diag "line: $line"
	fi
done <<EOF
EINVAL close~dateFilter\.start: snapshot date ${OLD%T*} of $SITES is no longer kept: MGDC makes each date available 48 hours late and keeps it 21 days; $WINDOW~{"app": "spa", "dataset": "$SITES", "dateFilter": {"column": "SnapshotDate", "start": "$OLD", "end": "$OLD"}}
EINVAL close~dateFilter\.end: snapshot date ${NOW%T*} of $SITES is not available yet: .*; $WINDOW~{"app": "spa", "dataset": "$SITES", "dateFilter": {"column": "SnapshotDate", "start": "$A", "end": "$NOW"}}
EINVAL close~dateFilter: missing; $SITES needs \{"column": "SnapshotDate", "start": \.\.\., "end": \.\.\.\}, the same date twice for a full snapshot, two dates for a delta; $WINDOW~{"app": "spa", "dataset": "$SITES"}
EINVAL close~dateFilter\.end: '$B' and start '$A' are different dates, which asks $FA for a delta, but it has none \(it captures daily actions, unique for each day\); give the same date as start~{"app": "spa", "dataset": "$FA", "dateFilter": {"column": "SnapshotDate", "start": "$A", "end": "$B"}}
EINVAL close~dateFilter: BasicDataSet_v0\.OneDriveSyncHealth_v1 has no date filter and no delta \(it captures daily actions, unique for each day\); remove "dateFilter"~{"app": "spa", "dataset": "BasicDataSet_v0.OneDriveSyncHealth_v1", "dateFilter": {"column": "SnapshotDate", "start": "$A", "end": "$A"}}
EINVAL close~scope\.groups: $SITES takes no user or group scope \(Microsoft's scope table marks it NA: it covers the whole tenant\); remove "scope"~{"app": "spa", "dataset": "$SITES", "dateFilter": {"column": "SnapshotDate", "start": "$A", "end": "$A"}, "scope": {"groups": ["00000000-0000-0000-0000-000000000001"]}}
EINVAL close~scope\.filterUri: BasicDataSet_v0\.GroupDetails_v0 is group-scoped: a users filter selects users, not the groups it reads; use scope\.groups~{"app": "spa", "dataset": "BasicDataSet_v0.GroupDetails_v0", "scope": {"filterUri": "https://graph.microsoft.com/v1.0/users?\$filter=Department eq 'Sales'"}}
EINVAL close~columns\[0\]: unknown column 'SnapshotDay' of $SITES; did you mean 'SnapshotDate'~{"app": "spa", "dataset": "$SITES", "columns": ["SnapshotDay"], "dateFilter": {"column": "SnapshotDate", "start": "$A", "end": "$A"}}
EOF
snapshot >"$T_DIR/after"
check "REST: the refused specs created no pipeline" diff -u "$T_DIR/before" "$T_DIR/after"

# A full ADF pipeline is passed through unchecked: the emulator refuses the date itself.
RAW=$(jq -c --arg t "$OLD" '{properties} | .properties.activities[0].typeProperties.source.startTime = $t | .properties.activities[0].typeProperties.source.endTime = $t' \
	"$D/pipelines/spa-sites-a/pipeline.json")
is "$($W "$D/pipelines/spa-raw.json" "$RAW")" 0 "a full ADF pipeline with an expired snapshot date is accepted as written"
run=$(readlink "$D/pipelines/spa-raw/runs/latest")
is "$(wait_status "$D/pipelines/spa-raw/runs/$run")" Failed "its run fails"
check "  with the emulator's MGDC-style error: no longer available, and the dates that work" \
	jq -e --arg d "${OLD%T*}" '.[0].error.errorCode == "2200" and (.[0].error.message | test("UserErrorOffice365DataLoaderError.*SnapshotDate \($d) of dataset .*SharePointSites_v1. is no longer available\\. Data is available 48 hours after its snapshot date and kept 21 days"))' \
	"$D/pipelines/spa-raw/runs/$run/activities.json"

for p in "${PIPES[@]}"; do rmdir "$D/pipelines/$p" 2>/dev/null; done
t_done
