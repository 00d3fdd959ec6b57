#!/usr/bin/env bash
# The bad-input matrix (issue 5): every validation of a spec or a command
# value, written through the real mount. Each case asserts the errno and the
# call it came from (open, write or close), and the last line of
# .mgdcfs/errors (it names the file and the field and says what would be
# valid). After the matrix, direct REST calls show that nothing was created
# or changed: registrations with their ETags, the factory's pipelines,
# datasets and linked services, the Data Connect setting and the runs of the
# one pipeline the matrix triggers. Then a conflicting concurrent update
# (If-Match) gives ESTALE and keeps the other writer's change.
#
# Sizes: a spec over 64 KiB is refused by write(2) with EFBIG (the draft
# stops growing at the cap, so the error comes before close). Names that
# cannot be routed at all (control bytes, invalid UTF-8) are refused by
# open(2) with EINVAL. An empty write (open with O_TRUNC, close) is no
# command at all, so the "empty" case writes a lone newline.
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox
. "$T_ROOT/tests/lib/commands.sh"
# Everything a refused command could have touched, as the services report it.
snapshot() {
	sbx_rest admin "$REG_SCOPE" GET "$(REG_BASE)/registrations?\$top=200" |
		jq -S '[.value[] | {appId, name, etag, status: .authorization.status}]'
	sbx_rest dev "$REG_SCOPE" GET "$(REG_BASE)/dataConnect" | jq -S '{enabled, modifiedOn}'
	for k in pipelines datasets linkedservices; do
		adf GET "$(ADF_BASE)/$k?$API" | jq -S --arg k "$k" '{($k): [.value[] | {name, etag}]}'
	done
	echo "runs of bi-p0: $(runs_of bi-p0)"
}

cmd_clean bi-p0 bp

mount_fs admin admin || t_done
A=$MNT
mount_fs dev developer || t_done
D=$MNT

# The app the pipeline cases are checked against: Message_v1 with four
# columns, written to container exports, folder bi.
APP='{"datasets": [{"name": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser"],
  "scope": {"kind": "AllUsers"}}], "destination": {"container": "exports", "folder": "bi"}}'
is "$($W "$D/apps/bi.json" "$APP")" 0 "setup: register app bi"
is "$(reg | jq -r .name)" bi "setup: the service holds app bi"
P0='{"app": "bi", "dataset": "BasicDataSet_v0.Message_v1", "columns": ["id","subject"],
  "dateFilter": {"column": "receivedDateTime", "start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z"},
  "output": {"container": "exports", "folder": "bi/p0"}}'
is "$($W "$D/pipelines/bi-p0.json" "$P0")" 0 "setup: pipeline bi-p0 (its run fails: the app is pending)"
is "$(adf GET "$(ADF_BASE)/pipelines/bi-p0?$API" | jq -r .name)" bi-p0 "setup: the factory holds bi-p0"

snapshot >"$T_DIR/before"

G='"00000000-0000-0000-0000-000000000001","00000000-0000-0000-0000-000000000002","00000000-0000-0000-0000-000000000003","00000000-0000-0000-0000-000000000004","00000000-0000-0000-0000-000000000005","00000000-0000-0000-0000-000000000006","00000000-0000-0000-0000-000000000007","00000000-0000-0000-0000-000000000008","00000000-0000-0000-0000-000000000009","00000000-0000-0000-0000-00000000000a","00000000-0000-0000-0000-00000000000b"'
DS='"name": "BasicDataSet_v0.Message_v1"'
DF='"dateFilter": {"column": "receivedDateTime", "start": "2026-11-01T00:00:00Z", "end": "2026-11-08T00:00:00Z"}'
OUT='"output": {"container": "exports", "folder": "bi/x"}'
PL='"app": "bi", "dataset": "BasicDataSet_v0.Message_v1"'
A63=$(printf 'a%.0s' {1..64})

# who | file (printf %b) | errno and call | ERE the last errors line must match | content (printf %b)
# A case whose file holds a \x escape names itself in the ERE (the errors line escapes it too).
while IFS='|' read -r who file want re content; do
	[ -z "$who" ] || [[ $who == \#* ]] && continue
	m=$D
	[ "$who" = admin ] && m=$A
	printf -v f '%b' "$file"
	if [ "$content" = @big ]; then
		c="{\"description\": \"$(head -c 70000 /dev/zero | tr '\0' x)\"}"
	else
		printf -v c '%b' "$content"
	fi
	got=$($W "$m/$f" "$c")
	is "$got" "$want" "$who: $file: $want"
	line=$(tail -1 "$m/.mgdcfs/errors")
	if [[ $file != *\\x* ]] && [[ $line != *"$f"* ]]; then
		not_ok "  errors line names $f"
		diag "line: $line"
	elif ! grep -Eq -- "$re" <<<"$line"; then
		not_ok "  errors line matches /$re/"
		diag "line: $line"
	else
		ok "  errors line: ${line#* }"
	fi
done <<EOF
# registration specs: catalog, types, values
dev|apps/bx.json|EINVAL close|datasets\[0\]\.name: unknown dataset 'BasicDataSet_v0\.Mesage_v1'; did you mean 'BasicDataSet_v0\.Message_v1'|{"datasets": [{"name": "BasicDataSet_v0.Mesage_v1", "columns": "all"}], "destination": {"container": "exports"}}
dev|apps/bx.json|EINVAL close|datasets\[0\]\.columns\[1\]: unknown column 'recievedDateTime' of BasicDataSet_v0\.Message_v1; did you mean 'receivedDateTime'|{"datasets": [{$DS, "columns": ["id", "recievedDateTime"]}], "destination": {"container": "exports"}}
dev|apps/bx.json|EINVAL close|datasets: expected an array, got an object|{"datasets": {$DS}, "destination": {"container": "exports"}}
dev|apps/bx.json|EINVAL close|datasets\[0\]\.columns: expected "all" or a non-empty array of column names, got a number|{"datasets": [{$DS, "columns": 5}], "destination": {"container": "exports"}}
dev|apps/bx.json|EINVAL close|appId: expected a string, got a number|{"appId": 42, "datasets": [{$DS, "columns": "all"}], "destination": {"container": "exports"}}
dev|apps/bx.json|EINVAL close|appId: 'not-a-guid' is not a GUID; use the form|{"appId": "not-a-guid", "datasets": [{$DS, "columns": "all"}], "destination": {"container": "exports"}}
dev|apps/bx.json|EINVAL close|datasets\[0\]\.scope\.groupIds: 11 groups; at most 10 are allowed|{"datasets": [{$DS, "columns": "all", "scope": {"kind": "Groups", "groupIds": [$G]}}], "destination": {"container": "exports"}}
dev|apps/bx.json|EINVAL close|datasets\[0\]\.scope\.kind: 'Everyone' is not allowed; one of AllUsers|{"datasets": [{$DS, "columns": "all", "scope": {"kind": "Everyone"}}], "destination": {"container": "exports"}}
dev|apps/bx.json|EINVAL close|datasetz: unknown field; did you mean 'datasets'\? known fields: appId|{"datasetz": [{$DS, "columns": "all"}], "destination": {"container": "exports"}}
dev|apps/bx.json|EINVAL close|destination\.container: 'Bad_Container' is not a container name; use 3 to 63 lowercase|{"datasets": [{$DS, "columns": "all"}], "destination": {"container": "Bad_Container"}}
dev|apps/bx.json|EINVAL close|destination\.resourceGroup: 'bad rg!' is not a resource group name; use letters, digits|{"datasets": [{$DS, "columns": "all"}], "destination": {"container": "exports", "resourceGroup": "bad rg!"}}
dev|apps/bx.json|EINVAL close|destination\.storageAccount: 'Bad_Account' is not a storage account name; use 3 to 24 lowercase letters and digits|{"datasets": [{$DS, "columns": "all"}], "destination": {"container": "exports", "storageAccount": "Bad_Account"}}
dev|apps/bx.json|EINVAL close|datasets\[0\]\.columns\[0\]: empty; give a name of 1 to 128 characters|{"datasets": [{$DS, "columns": [""]}], "destination": {"container": "exports"}}
dev|apps/bx.json|EINVAL close|destination: missing; give \{"container": "<container>"\}|{"datasets": [{$DS, "columns": "all"}]}
# registration specs: the text itself
dev|apps/bx.json|EINVAL close|line 3, column 13: malformed JSON; fix the JSON syntax there|{\n  "datasets": [\n    {"name" "x"}\n  ]\n}
dev|apps/bx.json|EINVAL close|\\$: empty or truncated JSON; write one whole JSON object|\n
dev|apps/bx.json|EINVAL close|\\$: expected an object, got an array; a spec is one JSON object|[1, 2]
dev|apps/bx.json|EINVAL close|line 1, column 18: invalid UTF-8; a spec is UTF-8 text|{"description": "\xff"}
dev|apps/bx.json|EFBIG write|a spec may be at most 65536 bytes|@big
# app names
dev|apps/my.app.json|EINVAL close|\\$: app name 'my\.app' contains '\.'; app names are one component without '\.'|{"datasets": [{$DS, "columns": "all"}], "destination": {"container": "exports"}}
dev|apps/my@app.json|EINVAL close|\\$: app name 'my@app' is not allowed; use ASCII letters, digits, space, '_' and '-', starting with a letter or digit|{"datasets": [{$DS, "columns": "all"}], "destination": {"container": "exports"}}
dev|apps/caf\xc3\xa9.json|EINVAL close|apps/caf\\\\xc3\\\\xa9\.json: \\$: app name 'caf\\\\xc3\\\\xa9' is not allowed|{"datasets": [{$DS, "columns": "all"}], "destination": {"container": "exports"}}
dev|apps/-x.json|EINVAL close|\\$: app name '-x' is not allowed|{"datasets": [{$DS, "columns": "all"}], "destination": {"container": "exports"}}
dev|apps/$A63.json|EINVAL close|\\$: longer than 63 characters; use at most 63|{"datasets": [{$DS, "columns": "all"}], "destination": {"container": "exports"}}
dev|apps/\x01ctl.json|EINVAL open|apps/\\\\x01ctl\.json: \\$: not a valid file name; names are 1 to 255 bytes of UTF-8 without control characters|{}
dev|apps/bad\xff.json|EINVAL open|apps/bad\\\\xff\.json: \\$: not a valid file name; names are 1 to 255 bytes of UTF-8|{}
# registration commands the service state forbids
dev|apps/bx.json|EEXIST close|appId: $DEV is already registered as 'bi' \(one registration per app\); edit apps/bi\.json|{"datasets": [{$DS, "columns": "all"}], "destination": {"container": "exports"}}
dev|apps/bi.json|EINVAL close|appId: app 'bi' is registered for appId $DEV; an app keeps its appId|{"appId": "$MGDC_ADMIN_CLIENT_ID", "datasets": [{$DS, "columns": "all"}], "destination": {"container": "exports", "folder": "bi"}}
dev|apps/bi.json|EINVAL close|datasets\[0\]\.columns\[4\]: unknown column 'sendr' of BasicDataSet_v0\.Message_v1; did you mean 'sender'|{"datasets": [{$DS, "columns": ["id","subject","receivedDateTime","puser","sendr"]}], "destination": {"container": "exports", "folder": "bi"}}
# pipeline specs: catalog, dates, approval, output
dev|pipelines/bp.json|EINVAL close|dataset: unknown dataset 'BasicDataSet_v0\.Mesage_v1'; did you mean 'BasicDataSet_v0\.Message_v1'|{"app": "bi", "dataset": "BasicDataSet_v0.Mesage_v1", $DF, $OUT}
dev|pipelines/bp.json|EINVAL close|columns\[1\]: unknown column 'subjct' of BasicDataSet_v0\.Message_v1; did you mean 'subject'|{$PL, "columns": ["id", "subjct"], $DF, $OUT}
dev|pipelines/bp.json|EINVAL close|dateFilter: missing; BasicDataSet_v0\.Message_v1 needs \{"column": \.\.\., "start": \.\.\., "end": \.\.\.\} with column one of receivedDateTime, sentDateTime, createdDateTime, lastModifiedDateTime|{$PL, "columns": ["id"], $OUT}
dev|pipelines/bp.json|EINVAL close|dateFilter\.column: 'subject' is not a date-filter column of BasicDataSet_v0\.Message_v1; one of receivedDateTime, sentDateTime, createdDateTime, lastModifiedDateTime|{$PL, "columns": ["id"], "dateFilter": {"column": "subject", "start": "2026-11-01T00:00:00Z", "end": "2026-11-08T00:00:00Z"}, $OUT}
dev|pipelines/bp.json|EINVAL close|dateFilter\.column: 'recievedDateTime' is not a date-filter column of BasicDataSet_v0\.Message_v1; did you mean 'receivedDateTime'|{$PL, "columns": ["id"], "dateFilter": {"column": "recievedDateTime", "start": "2026-11-01T00:00:00Z", "end": "2026-11-08T00:00:00Z"}, $OUT}
dev|pipelines/bp.json|EINVAL close|dateFilter\.start: .*2026-11-01 00:00.*RFC 3339|{$PL, "columns": ["id"], "dateFilter": {"column": "receivedDateTime", "start": "2026-11-01 00:00", "end": "2026-11-08T00:00:00Z"}, $OUT}
dev|pipelines/bp.json|EINVAL close|dateFilter\.end: '2026-11-01T00:00:00Z' is not after start '2026-11-08T00:00:00Z'; give an end later than the start|{$PL, "columns": ["id"], "dateFilter": {"column": "receivedDateTime", "start": "2026-11-08T00:00:00Z", "end": "2026-11-01T00:00:00Z"}, $OUT}
dev|pipelines/bp.json|EINVAL close|columns\[1\]: column 'importance' is not in the app's approval; approved columns: id, subject, receivedDateTime, puser|{$PL, "columns": ["id", "importance"], $DF, $OUT}
dev|pipelines/bp.json|EINVAL close|dataset: 'BasicDataSet_v0\.Event_v1' is not in the app's approval; approved datasets: BasicDataSet_v0\.Message_v1|{"app": "bi", "dataset": "BasicDataSet_v0.Event_v1", $DF, $OUT}
dev|pipelines/bp.json|EINVAL close|output\.container: 'other' is outside the approved destination; the app may write to container 'exports'|{$PL, "columns": ["id"], $DF, "output": {"container": "other", "folder": "bi/x"}}
dev|pipelines/bp.json|EINVAL close|output\.folder: 'elsewhere/x' is outside the approved destination; use 'bi' or a folder below it|{$PL, "columns": ["id"], $DF, "output": {"container": "exports", "folder": "elsewhere/x"}}
dev|pipelines/bp.json|EINVAL close|output\.folder: segment '\.\.' is not allowed|{$PL, "columns": ["id"], $DF, "output": {"container": "exports", "folder": "bi/../x"}}
dev|pipelines/bp.json|EINVAL close|output\.folder: empty; give a folder such as|{$PL, "columns": ["id"], $DF, "output": {"container": "exports", "folder": ""}}
dev|pipelines/bp.json|EINVAL close|scope\.groups: 11 groups; at most 10 are allowed|{$PL, "columns": ["id"], $DF, $OUT, "scope": {"groups": [$G]}}
dev|pipelines/bp.json|EINVAL close|columns: expected an array, got a string; a list of column names|{$PL, "columns": "id", $DF, $OUT}
dev|pipelines/bp.json|EINVAL close|dateFilter: expected an object, got a string|{$PL, "columns": ["id"], "dateFilter": "last week", $OUT}
dev|pipelines/bp.json|EINVAL close|outptu: unknown field; did you mean 'output'\? known fields: app, dataset|{$PL, "columns": ["id"], $DF, "outptu": {"container": "exports"}}
dev|pipelines/bp.json|EINVAL close|app: no app named 'nosuch' under apps/; write apps/nosuch\.json first|{"app": "nosuch", "dataset": "BasicDataSet_v0.Message_v1", "columns": ["id"], $DF, $OUT}
# pipeline names
dev|pipelines/bad name.json|EINVAL close|\\$: pipeline name 'bad name' is not allowed; start with a letter, then use letters, digits|{$PL, "columns": ["id"], $DF, $OUT}
dev|pipelines/$A63.json|EINVAL close|\\$: file name longer than 63 characters; use a shorter name|{$PL, "columns": ["id"], $DF, $OUT}
dev|pipelines/p\x7f.json|EINVAL open|pipelines/p\\\\x7f\.json: \\$: not a valid file name|{}
# files that take no command
dev|apps/bi/registration.json|EACCES open|apps/bi/registration\.json is read-only; commands are written into apps/<name>\.json|{}
dev|pipelines/bi-p0/spec.json|EACCES open|pipelines/bi-p0/spec\.json is read-only|{}
# small files: the value is checked (and acted on) by write(2)
admin|tenant/data-connect|EINVAL write|tenant/data-connect: \\$: 'approved' is not a valid value; write 'enabled' or 'disabled'|approved\n
admin|tenant/data-connect|EINVAL close|tenant/data-connect: \\$: 'yes' is not a valid value; write 'enabled' or 'disabled'|yes
admin|tenant/data-connect|EINVAL write|'\[1,2\]' is not a valid value; write 'enabled' or 'disabled'|[1,2]\n
dev|tenant/data-connect|EACCES write|changing the Data Connect setting: Forbidden: Only a global administrator|disabled\n
admin|apps/bi/consent|EINVAL write|apps/bi/consent: \\$: 'approved' is not a valid value; write 'approve' or 'decline'|approved\n
admin|apps/bi/consent|EINVAL write|'yes' is not a valid value; write 'approve' or 'decline'|yes\n
dev|apps/bi/consent|EACCES write|approve: SelfApprovalNotAllowed: App approver and owner cannot be the same user\.|approve\n
dev|pipelines/bi-p0/trigger|EINVAL write|pipelines/bi-p0/trigger: nope: not a parameter of this pipeline|{"nope": 1}
dev|pipelines/bi-p0/trigger|EINVAL write|\\$: expected an object, got an array; a spec is one JSON object|[1,2]\n
dev|pipelines/bi-p0/trigger|EINVAL write|\\$: empty or truncated JSON; write one whole JSON object|{"a":\n
EOF

# Renaming a spec onto another name would copy it, not rename the app.
mv "$D/apps/bi.json" "$D/apps/bi-renamed.json" 2>/dev/null
is "$?" 1 "mv apps/bi.json apps/bi-renamed.json is refused"
check "  errors line says how to rename" \
	bash -c "tail -1 '$D/.mgdcfs/errors' | grep -q 'apps/bi-renamed.json: an app or pipeline cannot be renamed; copy its spec, rmdir apps/bi, then write the spec as apps/bi-renamed.json (Operation not permitted)'"

snapshot >"$T_DIR/after"
if diff -u "$T_DIR/before" "$T_DIR/after" >"$T_DIR/diff"; then
	ok "REST: registrations (etags), Data Connect, pipelines, datasets, linked services and runs unchanged"
else
	not_ok "REST: the matrix changed the services"
	sed 's/^/#   /' "$T_DIR/diff" | head -40
fi
check "REST: no registration named bx, my.app or a63…" bash -c "! grep -Eq '\"(bx|my\.app|a{64})\"' '$T_DIR/after'"
check "REST: no pipeline bp" bash -c "! grep -q '\"bp\"' '$T_DIR/after'"
leftovers() { ls -a "$D/apps" "$D/pipelines" | grep -E '^(bx|my\.app|bp|bad name|a{64})(\.json)?$'; }
deadline=$((SECONDS + 15)) # a refused new spec stays visible for a moment (see fs/ops.c)
while leftovers >/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
if left=$(leftovers); then
	not_ok "a refused spec's file is left in apps/ or pipelines/: $left"
else
	ok "no file of a refused spec is left in apps/ or pipelines/"
fi

# A conflicting concurrent update: the mount showed one ETag, the service now
# holds another; close(2) says ESTALE and the other writer's change stays.
# What the mount showed is what it read within the metadata TTL.
ttl=$(jq -r '.profiles.developer.ttl.metadata_s // 30' "$MGDC_CONFIG")
t0=$SECONDS
cat "$D/apps/bi.json" >/dev/null
reg | jq '{name, description: "changed by REST", datasets, destination}' >"$T_DIR/put.json"
etag=$(sbx_rest dev "$REG_SCOPE" PUT "$REG" -H 'content-type: application/json' --data @"$T_DIR/put.json" | jq -r .etag)
check "setup: the registration changed by REST" test -n "$etag"
SPEC2='{"description": "from the mount", "datasets": [{"name": "BasicDataSet_v0.Message_v1", "columns": ["id","subject"], "scope": {"kind": "AllUsers"}}], "destination": {"container": "exports", "folder": "bi"}}'
got=$($W "$D/apps/bi.json" "$SPEC2")
if [ $((SECONDS - t0)) -ge "$ttl" ]; then
	skip "a write based on the older ETag: ESTALE from close" "the mount's view expired (TTL ${ttl}s) before the write"
else
	is "$got" "ESTALE close" "a write based on the older ETag: ESTALE from close"
	check "  errors line names the file and the conflict" \
		bash -c "tail -1 '$D/.mgdcfs/errors' | grep -qE 'apps/bi\.json: update registration: PreconditionFailed'"
	is "$(reg | jq -r '.etag + " " + .description')" "$etag changed by REST" "REST: the other writer's change is kept"
fi
is "$($W "$D/apps/bi.json" "$SPEC2")" 0 "written again, after the conflict showed the new state: accepted"
is "$(reg | jq -r .description)" "from the mount" "REST: now the mount's text"

check "rmdir pipelines/bi-p0" rmdir "$D/pipelines/bi-p0"
check "rmdir apps/bi" rmdir "$D/apps/bi"
is "$(reg | jq -r '.error.code // "exists"')" RegistrationNotFound "REST: the registration is gone"
check "the developer's log has no error or warning" log_clean dev
check "the admin's log has no error or warning" log_clean admin
unmount_fs dev
unmount_fs admin
t_done
