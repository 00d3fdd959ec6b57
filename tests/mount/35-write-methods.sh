#!/usr/bin/env bash
# Every way of writing a spec (issue 5), through the real mount, each checked
# by a direct REST call that the service holds exactly what was written:
# /bin/echo and bash's echo, cp, tee, sed -i, vim (default settings; and with
# backups on, which adds the 4913 probe and a rename to a backup), Python
# open/write/close and r+ read-modify-write, and "write a temp file, rename
# it over". Each also in the failure direction: a bad spec fails the right
# call (close, or rename for sed -i and the temp-file save) and the service
# is unchanged. Then the small
# files (consent, data-connect, trigger, cancel) act on write(2) itself: the
# service has acted before the writer closes. A trigger written by Python's
# buffered file in one write at close starts a run; ":> trigger" does not.
# Editors' swap, probe and backup files never reach the service.
#
# Bash's builtin echo cannot report a refusal: bash ignores close(2) errors
# when it restores its stdout after a redirection. The refusal is still in
# .mgdcfs/errors and nothing reaches the service; the test shows both.
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox
. "$T_ROOT/tests/lib/commands.sh"
. "$T_ROOT/tests/lib/faults.sh"
svc_cols() { reg | jq -c '.datasets[0].columns'; }
etag() { reg | jq -r .etag; }
has_col() { is "$(svc_cols | jq --arg c "$1" 'index($c) != null')" true "REST: column $1 is there now"; }
# What the service lists: every registration and pipeline by name.
names() {
	sbx_rest admin "$REG_SCOPE" GET "$(REG_BASE)/registrations?\$top=200" | jq -c '[.value[].name] | sort'
	adf GET "$(ADF_BASE)/pipelines?$API" | jq -c '[.value[].name] | sort'
}
spec() { # COLUMNS-JSON -> a registration spec for app wm
	printf '{"datasets": [{"name": "BasicDataSet_v0.Message_v1", "columns": %s, "scope": {"kind": "AllUsers"}}],\n "destination": {"container": "exports"}}\n' "$1"
}
# failed_call TRACE: "ERRNO call" of the first failing write/close/rename in an strace log.
failed_call() {
	grep -v EBADF "$1" | sed -nE 's/^[0-9]+ +(write|close|rename|renameat|renameat2)\(.*= -1 (E[A-Z]+) .*/\2 \1/p' |
		sed 's/renameat2*/rename/' | head -1
}
HAVE_STRACE=$(command -v strace)
# traced OUT-VAR TRACE CMD...: run CMD (under strace when there is one); its exit status in OUT-VAR.
traced() {
	local -n _rc=$1
	local tr=$2
	shift 2
	: >"$tr"
	if [ -n "$HAVE_STRACE" ]; then
		strace -f -qq -e trace=write,close,rename,renameat,renameat2,openat,unlink -o "$tr" "$@"
	else
		"$@"
	fi
	_rc=$?
}
# call_is TRACE WANT DESC: the failing call, when strace could show it.
call_is() {
	if [ -n "$HAVE_STRACE" ]; then is "$(failed_call "$1")" "$2" "$3"; else skip "$3" "no strace"; fi
}

cmd_clean wm-p

mount_fs admin admin || t_done
A=$MNT
mount_fs dev developer || t_done
D=$MNT
cd "$D" || t_done
trap 'cd /; t_cleanup' EXIT # a shell inside the mount would keep it busy
BAD=$(spec '["id", "nosuchcolumn"]')
bad_refused() { # DESC ETAG-BEFORE: the refusal is logged and the service unchanged
	check "$1: errors line names apps/wm.json and the field" \
		bash -c "tail -1 '$D/.mgdcfs/errors' | grep -q 'apps/wm.json: datasets\[0\].columns\[1\]: unknown column .nosuchcolumn.'"
	is "$(etag)" "$2" "$1: REST: the registration is unchanged"
}

# via DESC SCRIPT COLUMNS: SCRIPT (bash, the spec text in $1) writes the spec
# with COLUMNS; REST must hold exactly those. Then SCRIPT writes a bad spec:
# it must fail, in close(2), with the refusal logged and the service unchanged.
via() {
	local desc=$1 script=$2 cols=$3 rc e
	bash -c "$script" - "$(spec "$cols")"
	is "$?" 0 "$desc: apps/wm.json written"
	is "$(svc_cols)" "$(jq -c . <<<"$cols")" "$desc: REST holds the columns written"
	e=$(etag)
	traced rc "$T_DIR/via.tr" bash -c "$script" - "$BAD" 2>"$T_DIR/err"
	check "$desc: a bad spec fails ($(tail -1 "$T_DIR/err" | head -c 100))" test "$rc" -ne 0
	call_is "$T_DIR/via.tr" "EINVAL close" "$desc: the refusal comes from close(2)"
	bad_refused "$desc" "$e"
}
export T_DIR
via "/bin/echo >" '/bin/echo "$1" > apps/wm.json' '["id","subject"]'
via cp 'printf "%s\n" "$1" >"$T_DIR/cp.json" && cp "$T_DIR/cp.json" apps/wm.json' '["id","subject","importance"]'
via tee 'printf "%s\n" "$1" | tee apps/wm.json >/dev/null' '["id","subject","sender"]'
via "Python open/write/close" '/usr/bin/python3 -c "import sys; f = open(\"apps/wm.json\", \"w\"); f.write(sys.argv[1]); f.close()" "$1"' \
	'["id","subject","ccRecipients"]'

# Python read-modify-write on one descriptor (r+: read, seek, write, truncate).
/usr/bin/python3 - <<'PY'
import json
with open("apps/wm.json", "r+") as f:
    s = json.load(f)
    s["datasets"][0]["columns"].append("toRecipients")
    f.seek(0)
    f.write(json.dumps(s))
    f.truncate()
PY
is "$?" 0 "Python r+: read apps/wm.json, add a column, write it back on the same descriptor"
is "$(svc_cols)" '["id","subject","ccRecipients","toRecipients"]' "REST: the column was added"

# bash's builtin echo: the write works; a refusal cannot reach its exit status.
echo "$(spec '["id","subject","puser"]')" >apps/wm.json
is "$(svc_cols)" '["id","subject","puser"]' "builtin echo > apps/wm.json: REST holds what was written"
e=$(etag)
echo "$BAD" >apps/wm.json
st=$?
diag "builtin echo of a bad spec: exit status $st (bash ignores close errors of a redirection)"
bad_refused "builtin echo" "$e"

# sed -i: a temp file renamed over the spec; the commit is the rename.
before=$(names)
cp apps/wm.json "$T_DIR/sed.json"
sed -i 's/"puser"/"puser", "isRead"/' "$T_DIR/sed.json"
sed -i 's/"puser"/"puser", "isRead"/' apps/wm.json
is "$?" 0 "sed -i apps/wm.json"
is "$(svc_cols)" "$(jq -c '.datasets[0].columns' "$T_DIR/sed.json")" "REST: the columns after the same edit made locally"
has_col isRead
e=$(etag)
traced rc "$T_DIR/sed.tr" sed -i 's/"isRead"/"nosuchcolumn"/' apps/wm.json 2>"$T_DIR/err"
check "sed -i making a bad spec fails ($(head -c 100 "$T_DIR/err"))" bash -c "[ $rc -ne 0 ] && grep -q 'cannot rename' '$T_DIR/err'"
call_is "$T_DIR/sed.tr" "EINVAL rename" "sed -i: the refusal comes from rename(2)"
check "sed -i: errors line names apps/wm.json and the field" \
	bash -c "tail -1 '$D/.mgdcfs/errors' | grep -q 'apps/wm.json: datasets\[0\].columns\[[0-9]\]: unknown column .nosuchcolumn.'"
is "$(etag)" "$e" "sed -i: REST: the registration is unchanged"
is "$(names)" "$before" "REST: sed's temp files never became registrations or pipelines"
is "$(ls -a apps | grep -c '^sed')" 0 "no sed temp file is left in apps/"

# vim with default settings. Under /tmp (backupskip) it writes the file in place.
cp apps/wm.json "$T_DIR/vim.json"
sed -i 's/"isRead"/"isRead", "isDraft"/' "$T_DIR/vim.json"
traced rc "$T_DIR/vim.tr" vim -N -u DEFAULTS -i NONE -es -c '%s/"isRead"/"isRead", "isDraft"/' -c wq apps/wm.json
is "$rc" 0 "vim -es :s + :wq apps/wm.json"
is "$(svc_cols)" "$(jq -c '.datasets[0].columns' "$T_DIR/vim.json")" "REST: the columns after the same edit made locally"
has_col isDraft
if [ -n "$HAVE_STRACE" ]; then
	check "vim made its swap file in apps/" grep -q 'apps/\.wm\.json\.swp' "$T_DIR/vim.tr"
else
	skip "vim made its swap file in apps/" "no strace"
fi
e=$(etag)
traced rc "$T_DIR/vim.tr" vim -N -u DEFAULTS -i NONE -es -c '%s/"isDraft"/"nosuchcolumn"/' -c wq apps/wm.json
check "vim writing a bad spec exits non-zero" test "$rc" -ne 0
call_is "$T_DIR/vim.tr" "EINVAL close" "vim: the refusal comes from close(2)"
check "vim: the refusal is in errors" grep -q 'apps/wm.json: datasets\[0\].columns\[[0-9]\]: unknown column .nosuchcolumn.' "$D/.mgdcfs/errors"
is "$(etag)" "$e" "vim: REST: the registration is unchanged"

# vim with backups on (as anywhere outside /tmp): the 4913 probe, then the
# spec renamed to wm.json~, a new wm.json written, the backup removed.
cp apps/wm.json "$T_DIR/vim.json"
sed -i 's/"isDraft"/"isDraft", "hasAttachments"/' "$T_DIR/vim.json"
traced rc "$T_DIR/vim.tr" vim -N -u DEFAULTS -i NONE -es -c 'set backupskip=' \
	-c '%s/"isDraft"/"isDraft", "hasAttachments"/' -c wq apps/wm.json
is "$rc" 0 "vim (backupskip=) :wq apps/wm.json"
is "$(svc_cols)" "$(jq -c '.datasets[0].columns' "$T_DIR/vim.json")" "REST: the columns after the same edit made locally"
has_col hasAttachments
if [ -n "$HAVE_STRACE" ]; then
	check "vim probed with apps/4913 and renamed the spec to a backup" \
		bash -c "grep -q 'apps/4913' '$T_DIR/vim.tr' && grep -q 'rename(\"apps/wm.json\", \"apps/wm.json~\")' '$T_DIR/vim.tr'"
else
	skip "vim probed with apps/4913 and renamed the spec to a backup" "no strace"
fi
e=$(etag)
traced rc "$T_DIR/vim.tr" vim -N -u DEFAULTS -i NONE -es -c 'set backupskip=' \
	-c '%s/"hasAttachments"/"nosuchcolumn"/' -c wq apps/wm.json
check "vim (backupskip=) writing a bad spec exits non-zero" test "$rc" -ne 0
call_is "$T_DIR/vim.tr" "EINVAL close" "vim (backupskip=): the refusal comes from close(2)"
is "$(etag)" "$e" "vim restoring its backup after the refusal: REST: the registration is unchanged (not even re-sent)"
is "$(names)" "$before" "REST: vim's swap, 4913 and backup files never became registrations or pipelines"
is "$(ls -a apps | grep -E '^(\.wm\.json\.sw.|4913|wm\.json~)$')" "" "no swap, probe or backup file is left in apps/"
is "$(jq -c '.datasets[0].columns' apps/wm.json)" "$(svc_cols)" "apps/wm.json reads back what the service holds"

# Editor-style save: write a temp file, rename it over the spec.
is "$($W --rename apps/.wm.json.tmp apps/wm.json "$(spec '["id","subject","bccRecipients"]')")" 0 "write apps/.wm.json.tmp, rename it over apps/wm.json"
is "$(svc_cols)" '["id","subject","bccRecipients"]' "REST: the columns of the renamed file"
e=$(etag)
is "$($W --rename apps/.wm.json.tmp apps/wm.json "$BAD")" "EINVAL rename" "a bad spec renamed over: rename() fails"
bad_refused "temp + rename" "$e"
check "the refused temp file is still there (nothing lost)" grep -q nosuchcolumn apps/.wm.json.tmp
rm -f apps/.wm.json.tmp
is "$(ls -a apps | grep -c 'wm.json.tmp')" 0 "rm removes the temp file"
is "$(names)" "$before" "REST: temp files never became registrations or pipelines"

# A pipeline spec by cp, and written again (same spec: the pipeline stays, a new run starts).
PIPE='{"app": "wm", "dataset": "BasicDataSet_v0.Message_v1", "columns": ["id","subject"],
  "dateFilter": {"column": "receivedDateTime", "start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z"},
  "output": {"container": "exports", "folder": "wm/p"}}'
is "$($W "$A/apps/wm/consent" $'approve\n')" 0 "admin approves wm (so runs take a while)"
printf '%s\n' "$PIPE" >"$T_DIR/p.json"
r0=$(runs_of wm-p)
cp "$T_DIR/p.json" pipelines/wm-p.json
is "$?" 0 "cp FILE pipelines/wm-p.json"
got=$(adf GET "$(ADF_BASE)/pipelines/wm-p?$API" | jq -c '.properties.description | fromjson | {app, dataset, columns, dateFilter, output}')
is "$got" "$(jq -c '{app, dataset, columns, dateFilter, output}' "$T_DIR/p.json")" "REST: the pipeline's description holds the spec as written"
is "$(runs_of wm-p)" $((r0 + 1)) "REST: one run started"
is "$($W pipelines/wm-p.json "$PIPE")" 0 "the same pipeline spec written again"
is "$(runs_of wm-p)" $((r0 + 2)) "REST: another run, same pipeline"

# Small files act on write(2): the service has acted before the writer closes.
write_then_ask() { # PATH TEXT CMD...: write TEXT, run CMD before close; prints CMD's output, then the close status
	/usr/bin/python3 - "$@" <<'PY'
import os, subprocess, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
os.write(fd, sys.argv[2].encode())
print(subprocess.run(sys.argv[3:], capture_output=True, text=True).stdout.strip())
os.close(fd)
print("closed")
PY
}
export -f sbx_rest sbx_token run_list runs_of adf REG_BASE ADF_BASE
export REG_SCOPE ARM_SCOPE API DEV
dc='sbx_rest dev "$REG_SCOPE" GET "$(REG_BASE)/dataConnect" | jq -r .enabled'
is "$(write_then_ask "$A/tenant/data-connect" $'disabled\n' bash -c "$dc")" $'false\nclosed' "data-connect: off at write(2), before close"
is "$(write_then_ask "$A/tenant/data-connect" $'enabled\n' bash -c "$dc")" $'true\nclosed' "data-connect: on again at write(2)"
is "$(write_then_ask "$A/apps/wm/consent" $'decline\n' bash -c 'sbx_rest dev "$REG_SCOPE" GET "$(REG_BASE)/registrations/$DEV" | jq -r .authorization.status')" \
	$'Denied\nclosed' "consent: declined at write(2), before close"
is "$($W "$A/apps/wm/consent" $'approve\n')" 0 "consent: approved again"
# Runs that last long enough to be cancelled while they run, whatever the default.
run_s=$(faults_get | jq '.settings.runSeconds')
fault_post /settings '{"runSeconds": 120}'
r0=$(runs_of wm-p)
is "$(write_then_ask pipelines/wm-p/trigger '{}' bash -c 'runs_of wm-p')" "$((r0 + 1))"$'\nclosed' "trigger: the run exists at write(2), before close"
run=$(readlink pipelines/wm-p/runs/latest)
export run
is "$(write_then_ask "pipelines/wm-p/runs/$run/cancel" $'1\n' bash -c 'sbx_rest dev "$ARM_SCOPE" GET "$(ADF_BASE)/pipelineruns/$run?$API" | jq -r .status')" \
	$'Cancelled\nclosed' "cancel: the run is cancelled at write(2), before close"
is "$(cat "pipelines/wm-p/runs/$run/status")" Cancelled "runs/<id>/status shows it at once"
fault_post /settings "{\"runSeconds\": $run_s}"

r0=$(runs_of wm-p)
/usr/bin/python3 -c 'import sys; f = open(sys.argv[1], "w"); f.write("{}"); f.close()' pipelines/wm-p/trigger
is "$?" 0 "Python: trigger written through a buffered file (one write at close)"
is "$(runs_of wm-p)" $((r0 + 1)) "REST: it started one run"
: >pipelines/wm-p/trigger
is "$?" 0 ":> trigger (open and close, no write)"
is "$(runs_of wm-p)" $((r0 + 1)) "REST: no run was started"

cd "$T_ROOT" || true
check "rmdir pipelines/wm-p" rmdir "$D/pipelines/wm-p"
check "rmdir apps/wm" rmdir "$D/apps/wm"
is "$(reg | jq -r '.error.code // "exists"')" RegistrationNotFound "REST: the registration is gone"
check "the developer's log has no error or warning" log_clean dev
check "the admin's log has no error or warning" log_clean admin
unmount_fs dev
unmount_fs admin
t_done
