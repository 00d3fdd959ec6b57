# tests/lib/mount.sh - the one helper every mount test sources.
#
# It mounts mgdcfs in the foreground, in the background; waits for the mount
# by polling with a deadline (never a fixed sleep); unmounts in an EXIT trap
# (fusermount3 -u, then lazy, then TERM/KILL); requires the daemon to exit
# 0; keeps the daemon's log only when something failed; and gives every test
# its own temp dir and cache dir. It also talks to the sandbox directly
# (tokens, REST, blobs) so tests compare the mount with an independent
# source of truth. Needs `eval "$(scripts/sandbox env)"` (scripts/test does it).
#
# Output is TAP: ok/not ok lines, then a plan from t_done.

set -uo pipefail
T_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MGDCFS=${MGDCFS:-$T_ROOT/${BUILD:-build}/mgdcfs}
T_NAME=$(basename "$0" .sh)
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mgdcfs-$T_NAME.XXXXXX")
T_LOGKEEP=${MGDC_TEST_LOGDIR:-$T_ROOT/${BUILD:-build}/test-logs}
T_N=0
T_FAILED=0
T_MOUNTS=()
declare -A T_PIDS=()
declare -A T_LOGS=()

# A profile without a credential tries DefaultAzureCredential's sources; in tests
# the managed identity's IMDS is a closed loopback port (never 169.254.169.254:
# no test sends anything off this machine), and nothing of the machine's own
# Azure setup (az login, App Service variables) leaks in.
export AZURE_POD_IDENTITY_AUTHORITY_HOST=${MGDC_TEST_IMDS:-http://127.0.0.1:1}
export AZURE_CONFIG_DIR=$T_DIR/azure-cli
unset IDENTITY_ENDPOINT IDENTITY_HEADER IDENTITY_SERVER_THUMBPRINT IMDS_ENDPOINT MSI_ENDPOINT \
	AZURE_FEDERATED_TOKEN_FILE AZURE_CLIENT_SECRET AZURE_CLIENT_CERTIFICATE_PATH \
	AZURE_CLIENT_CERTIFICATE_PASSWORD AZURE_AUTHORITY_HOST AZURE_TENANT_ID AZURE_CLIENT_ID \
	NOTIFY_SOCKET

ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $*"; }
skip() { T_N=$((T_N + 1)); echo "ok $T_N - $1 # SKIP ${2:-}"; }
diag() { printf '#   %s\n' "$@"; }

# check DESC CMD...: ok when CMD succeeds.
check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# is GOT WANT DESC
is() {
	if [ "$1" == "$2" ]; then
		ok "$3"
	else
		not_ok "$3"
		diag "got:  $(printf '%q' "$1" | head -c 600)" "want: $(printf '%q' "$2" | head -c 600)"
	fi
}

need_sandbox() {
	if [ -z "${MGDC_CONFIG:-}" ] || [ ! -f "$MGDC_CONFIG" ]; then
		skip "$T_NAME" "no sandbox (eval \"\$(scripts/sandbox env)\")"
		t_done
	fi
	# The sandbox command finds its state (and ports) through this.
	export MGDC_SANDBOX_DIR=${MGDC_SANDBOX_DIR:-$(dirname "$MGDC_CONFIG")}
}

# mount_fs NAME PROFILE [mgdcfs args...]: mount at $T_DIR/NAME; sets MNT. The
# array MGDCFS_WRAP, when set, prefixes the daemon's command (tests/lib/netns.sh
# runs it in a network namespace with nsenter, which execs it: same PID).
mount_fs() {
	local name=$1 profile=$2
	shift 2
	local mnt=$T_DIR/$name log=$T_DIR/$name.log deadline=$((SECONDS + 30))
	mkdir -p "$mnt" && mkdir -p -m 700 "$T_DIR/cache-$name"
	${MGDCFS_WRAP[@]+"${MGDCFS_WRAP[@]}"} "$MGDCFS" -f --config "$MGDC_CONFIG" --profile "$profile" \
		--cache-dir "$T_DIR/cache-$name" --log "$log" "$@" "$mnt" 2>>"$log" &
	T_PIDS[$name]=$!
	T_LOGS[$name]=$log
	T_MOUNTS+=("$name")
	while ! mountpoint -q "$mnt"; do
		if ! kill -0 "${T_PIDS[$name]}" 2>/dev/null; then
			not_ok "mount $name (profile $profile): daemon exited"
			sed 's/^/#   /' "$log" | tail -20
			return 1
		fi
		if [ $SECONDS -ge $deadline ]; then
			not_ok "mount $name: not mounted within 30 s"
			return 1
		fi
		sleep 0.05
	done
	MNT=$mnt
	return 0
}

# unmount_fs NAME: unmount and require the daemon to exit 0 within 20 s.
unmount_fs() {
	local name=$1 mnt=$T_DIR/$1 pid=${T_PIDS[$1]:-} rc deadline=$((SECONDS + 20))
	[ -n "$pid" ] || return 0
	fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
	if kill -0 "$pid" 2>/dev/null; then
		# Say where it is stuck before it is killed: each thread's state and
		# kernel wait channel, the user stacks when gdb is there, the log's end.
		diag "daemon $name (pid $pid) still runs 20 s after unmount; its threads:"
		for t in /proc/"$pid"/task/*; do
			diag "  $(cat "$t/comm" 2>/dev/null) $(awk '{print $3}' "$t/stat" 2>/dev/null) wchan=$(cat "$t/wchan" 2>/dev/null)"
		done
		command -v gdb >/dev/null &&
			timeout 30 gdb -p "$pid" -batch -ex 'thread apply all bt 12' 2>/dev/null | grep -E '^(Thread|#)' | head -150 | sed 's/^/#     /'
		tail -5 "${T_LOGS[$name]:-/dev/null}" 2>/dev/null | sed 's/^/#   log: /'
		kill -TERM "$pid" 2>/dev/null
		sleep 1
		kill -KILL "$pid" 2>/dev/null
		not_ok "daemon $name did not exit after unmount"
		rc=1
	else
		wait "$pid"
		rc=$?
		[ "$rc" -eq 0 ] || not_ok "daemon $name exited with status $rc"
	fi
	unset "T_PIDS[$name]"
	return "$rc"
}

# kill9_fs NAME: the daemon dies without a word; clear the mount as a user would.
kill9_fs() {
	local name=$1 pid=${T_PIDS[$1]:-}
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	fusermount3 -u "$T_DIR/$name" 2>/dev/null || fusermount3 -uz "$T_DIR/$name" 2>/dev/null
	unset "T_PIDS[$name]"
}

# log_clean NAME: the daemon's log has no "error" or "warning" line.
log_clean() {
	! grep -E ' (error|warning): ' "${T_LOGS[$1]}" >/dev/null
}

t_cleanup() {
	local name
	for name in "${!T_PIDS[@]}"; do unmount_fs "$name" >/dev/null; done
	if [ "$T_FAILED" -gt 0 ]; then
		mkdir -p "$T_LOGKEEP"
		for name in "${!T_LOGS[@]}"; do
			[ -f "${T_LOGS[$name]}" ] && cp "${T_LOGS[$name]}" "$T_LOGKEEP/$T_NAME-$name.log"
		done
		echo "# daemon logs kept in $T_LOGKEEP/$T_NAME-*.log"
	fi
	rm -rf "$T_DIR"
}
trap t_cleanup EXIT

t_done() {
	local name
	# Mounts still up are unmounted before the plan line, so a daemon that does
	# not exit is a numbered failure with its diagnostics, not a silent status.
	for name in "${!T_PIDS[@]}"; do unmount_fs "$name"; done
	echo "1..$T_N"
	t_cleanup
	trap - EXIT
	[ "$T_FAILED" -eq 0 ]
	exit $?
}

# ---- the sandbox, directly ----

# sbx_token dev|admin SCOPE: an access token, fetched with curl (the secret goes
# through stdin, never argv).
sbx_token() {
	local id file
	case $1 in
	dev) id=$MGDC_DEV_CLIENT_ID file=$MGDC_DEV_CLIENT_SECRET_FILE ;;
	admin) id=$MGDC_ADMIN_CLIENT_ID file=$MGDC_ADMIN_CLIENT_SECRET_FILE ;;
	esac
	tr -d '\n' <"$file" | curl -sS --cacert "$MGDC_SANDBOX_CA" \
		"$MGDC_LOGIN_URL/$MGDC_TENANT_ID/oauth2/v2.0/token" \
		-d grant_type=client_credentials --data-urlencode "client_id=$id" \
		--data-urlencode "scope=$2" --data-urlencode "client_secret@-" | jq -r .access_token
}

# sbx_rest dev|admin SCOPE METHOD URL [curl args...]: the body on stdout.
sbx_rest() {
	local who=$1 scope=$2 method=$3 url=$4 tok
	shift 4
	tok=$(sbx_token "$who" "$scope")
	curl -sS --cacert "$MGDC_SANDBOX_CA" -X "$method" -H @<(printf 'Authorization: Bearer %s\n' "$tok") \
		"$@" "$url"
}

ARM_SCOPE=https://management.azure.com/.default
GRAPH_SCOPE=https://graph.microsoft.com/.default
REG_SCOPE=api://mgdc-registration/.default
ADF_BASE() { echo "$MGDC_ARM_URL/subscriptions/$MGDC_SUBSCRIPTION_ID/resourceGroups/$MGDC_RESOURCE_GROUP/providers/Microsoft.DataFactory/factories/$MGDC_FACTORY"; }
REG_BASE() { echo "$MGDC_REGISTRATION_URL/v1/tenants/$MGDC_TENANT_ID"; }

# sbx_sas CONTAINER: a container SAS URL (read, list) from the sandbox.
sbx_sas() { "$T_ROOT/scripts/sandbox" sas "$1"; }

# blob_get CONTAINER NAME OUT: download a blob directly (not through mgdcfs).
blob_get() {
	local sas
	sas=$(sbx_sas "$1")
	curl -sS --fail --cacert "$MGDC_SANDBOX_CA" -o "$3" "${sas%%\?*}/$2?${sas#*\?}"
}

# blob_put CONTAINER NAME FILE: upload a blob directly (Put Blob via a write SAS).
blob_put() {
	node "$T_ROOT/tests/lib/blob.js" put "$1" "$2" "$3"
}

# ---- the sandbox's fault API (/_faults: loopback, no token) ----

# fault_add RULE-JSON: add one fault rule (a refusal is a failed check).
fault_add() {
	curl -sS --fail --cacert "$MGDC_SANDBOX_CA" -X POST "$MGDC_FAULTS_URL" \
		-H 'content-type: application/json' -d "$1" >/dev/null || not_ok "fault rule refused: $1"
}
# fault_post PATH [JSON]: POST to /_faults/PATH ("" adds a rule; /reset, /expire-tokens, ...).
fault_post() { curl -sS --cacert "$MGDC_SANDBOX_CA" -X POST "$MGDC_FAULTS_URL$1" -H 'content-type: application/json' -d "${2:-{\}}" >/dev/null; }
fault_reset() { fault_post /reset; }
faults_get() { curl -sS --cacert "$MGDC_SANDBOX_CA" "$MGDC_FAULTS_URL"; }

# ---- test configs and the mount's own words ----

# cfg NAME JQ-FILTER: a copy of the sandbox config with .profiles.developer
# changed by the filter, mode 0600, made the one mount_fs uses (MGDC_CONFIG).
cfg() {
	MGDC_CONFIG_ORIG=${MGDC_CONFIG_ORIG:-$MGDC_CONFIG}
	jq ".profiles.developer |= ($2)" "$MGDC_CONFIG_ORIG" >"$T_DIR/$1.json" && chmod 600 "$T_DIR/$1.json"
	MGDC_CONFIG=$T_DIR/$1.json
}

# profile_only NAME JQ-FILTER: a copy of the sandbox config with the developer
# profile changed by the filter, as the only profile (NAME) of the file; prints
# its path.
profile_only() {
	local out=$T_DIR/$1.json
	jq --arg name "$1" '{default_profile: $name, profiles: {($name): (.profiles.developer | '"$2"')}}' \
		"$MGDC_CONFIG" >"$out"
	chmod 600 "$out"
	echo "$out"
}

# quiet CMD...: CMD with its output thrown away (for check, which shows only the status).
quiet() { "$@" >/dev/null 2>&1; }

# last_error MNT: the newest line of MNT/.mgdcfs/errors.
last_error() { tail -1 "$1/.mgdcfs/errors"; }

# wait_status RUNDIR: the run's final status (Succeeded, Failed or Cancelled),
# read from RUNDIR/status through the mount; gives up after 60 s.
wait_status() {
	local d=$1 deadline=$((SECONDS + 60)) s
	while s=$(cat "$d/status" 2>/dev/null); [ "$s" != Succeeded ] && [ "$s" != Failed ] && [ "$s" != Cancelled ] && [ $SECONDS -lt $deadline ]; do sleep 0.3; done
	echo "$s"
}

# refused DESC WANT-RC NEEDLE ARGS... MOUNTPOINT: `mgdcfs -f ARGS... MOUNTPOINT`
# refuses to start: it exits WANT-RC within 60 s with NEEDLE (a fixed string)
# on stderr, prints no secret of the sandbox, and leaves nothing mounted.
refused() {
	local desc=$1 want=$2 needle=$3 rc mp secret key
	shift 3
	mp=${!#}
	secret=$(tr -d '\n' <"$MGDC_DEV_CLIENT_SECRET_FILE")
	key=$(tr -d '\n' <"$MGDC_STORAGE_KEY_FILE")
	timeout 60 "$MGDCFS" -f --cache-dir "$T_DIR/cache" "$@" >"$T_DIR/refused.out" 2>"$T_DIR/refused.err"
	rc=$?
	is "$rc" "$want" "$desc: exit status $want"
	if grep -qF -- "$needle" "$T_DIR/refused.err"; then
		ok "$desc: stderr says '$needle'"
	else
		not_ok "$desc: stderr says '$needle'"
		diag "stderr: $(head -c 600 "$T_DIR/refused.err")"
	fi
	if grep -qF -e "$secret" -e "$key" "$T_DIR/refused.err" "$T_DIR/refused.out"; then
		not_ok "$desc: no secret is printed"
	else
		ok "$desc: no secret is printed"
	fi
	if mountpoint -q "$mp"; then
		not_ok "$desc: nothing is mounted"
		fusermount3 -uz "$mp"
	else
		ok "$desc: nothing is mounted"
	fi
}

# sbx_down / sbx_up: stop and restart the whole sandbox on the same ports.
sbx_down() { "$T_ROOT/scripts/sandbox" down >/dev/null 2>&1; }
sbx_up() {
	local p b
	p=${MGDC_LOGIN_URL#https://127.0.0.1:}
	p=${p%%/*}
	b=${MGDC_BLOB_URL#https://127.0.0.1:}
	b=${b%%/*}
	MGDC_SANDBOX_PORT=$p MGDC_SANDBOX_BLOB_PORT=$b "$T_ROOT/scripts/sandbox" up >/dev/null 2>&1
}
