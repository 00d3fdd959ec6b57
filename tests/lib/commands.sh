# shellcheck shell=bash disable=SC2034
# tests/lib/commands.sh - direct REST helpers for the command tests (sourced
# after tests/lib/mount.sh): the developer app's registration, the factory,
# and run counts, so tests compare the mount with what the services hold.

W="$T_ROOT/tests/lib/write.py"
DEV=$MGDC_DEV_CLIENT_ID
API='api-version=2018-06-01'
REG="$(REG_BASE)/registrations/$DEV"

# reg: the developer app's registration as the service holds it.
reg() { sbx_rest dev "$REG_SCOPE" GET "$REG"; }

# adf METHOD URL [curl args...]: an ARM call as the developer.
adf() { sbx_rest dev "$ARM_SCOPE" "$@"; }

# run_list PIPELINE: the runs the factory has for it (queryPipelineRuns), a JSON array;
# they outlive the pipeline, as ADF's run history does.
run_list() {
	adf POST "$(ADF_BASE)/queryPipelineRuns?$API" -H 'content-type: application/json' \
		-d "{\"lastUpdatedAfter\": \"2000-01-01T00:00:00Z\", \"lastUpdatedBefore\": \"2100-01-01T00:00:00Z\",
		     \"filters\": [{\"operand\": \"PipelineName\", \"operator\": \"Equals\", \"values\": [\"$1\"]}]}" |
		jq -c '.value'
}

# runs_of PIPELINE: how many runs the factory has for it.
runs_of() { run_list "$1" | jq length; }

# cmd_clean PIPELINE...: no registration for the developer app, none of these
# pipelines, Data Connect on: the state every command test starts from.
cmd_clean() {
	local p
	sbx_rest admin "$REG_SCOPE" DELETE "$REG" >/dev/null
	for p in "$@"; do adf DELETE "$(ADF_BASE)/pipelines/$p?$API" >/dev/null; done
	sbx_rest admin "$REG_SCOPE" PUT "$(REG_BASE)/dataConnect" -H 'content-type: application/json' \
		-d '{"enabled": true}' >/dev/null
}

# plan_held PIPELINE: how many of the five resources a pipeline spec creates
# (linked services mgdcfs_P_o365 and _sink, datasets mgdcfs_P_src and _dst, the
# pipeline P; fs/plan.c names them) the factory holds; each one held is named
# on stderr. P must hold only letters, digits and '_' (no hashed name).
# plan_get KIND/NAME reads one of them; a Synapse test points it at the workspace.
plan_get() { adf GET "$(ADF_BASE)/$1?$API"; }
plan_held() {
	local n=0 r
	for r in linkedservices/mgdcfs_$1_o365 linkedservices/mgdcfs_$1_sink datasets/mgdcfs_$1_src \
		datasets/mgdcfs_$1_dst pipelines/$1; do
		[ "$(plan_get "$r" | jq -r '.name // empty')" = "${r#*/}" ] && n=$((n + 1)) && echo "#   held: $r" >&2
	done
	echo $n
}

# The Synapse workspace's development endpoint (profiles developer-synapse, admin-synapse).
SYN_SCOPE=https://dev.azuresynapse.net/.default
SQ='api-version=2020-12-01'
# syn METHOD URL [curl args...]: a call to the workspace as the developer.
syn() { sbx_rest dev "$SYN_SCOPE" "$@"; }
# syn_op METHOD PATH [curl args...]: a long-running call under the workspace (PATH with its
# query), followed by its Location until the operation has ended (at most 30 s); prints
# the last body.
syn_op() {
	local h=$T_DIR/syn_op.headers deadline=$((SECONDS + 30)) body loc
	body=$(syn "$1" "$MGDC_SYNAPSE_URL/$2" -D "$h" "${@:3}")
	while grep -q '^HTTP/[0-9.]* 202' "$h" && loc=$(tr -d '\r' <"$h" | sed -n 's/^[Ll]ocation: //p') &&
		[ -n "$loc" ] && [ $SECONDS -lt $deadline ]; do
		sleep 0.3
		body=$(syn GET "$loc" -D "$h")
	done
	echo "$body"
}
