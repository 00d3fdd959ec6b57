#!/usr/bin/env bash
# Faults on the Blob path: dataset reads through the sandbox's fault proxy
# (dropped connections mid-body, 429/503 with Retry-After, persistent 500s)
# and through tests/lib/proxy.py (a bit flipped in the TLS stream, a bit
# flipped in the plaintext body behind a TLS-terminating proxy). Every read
# is compared (sha256) with a direct download from Azurite; every delay is
# reported as "# figure: name=value".
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox
. "$T_ROOT/tests/lib/faults.sh"

C=flt$RANDOM
node "$T_ROOT/tests/lib/blob.js" mkcontainer "$C" || { not_ok "create container"; t_done; }
CHUNK=$((4 << 20))
mkdir -p "$T_DIR/src"
# One blob per case, three chunks and a bit, so every case starts cold.
for n in base drop retry429 retry503 e500 tlsrec plain plain2; do
	head -c $((3 * CHUNK + 12345)) /dev/urandom >"$T_DIR/src/$n"
	blob_put "$C" "d/$n.bin" "$T_DIR/src/$n" || not_ok "upload $n"
done
want() { blob_get "$C" "d/$1.bin" "$T_DIR/src/$1.direct" && sha "$T_DIR/src/$1.direct"; }

# Through the sandbox's blob proxy (the /_faults rules apply there).
fault_reset
PROXY_URL=$(faults_get | jq -r .blobProxy)
cfg_blob blobproxy "$PROXY_URL" 4096
mount_fs p developer || t_done
D=$MNT/datasets/$C/d
ls "$D" >/dev/null

# Baseline: a clean cold read through the same path.
t=$(ms)
is "$(sha "$D/base.bin")" "$(want base)" "clean read through the blob proxy = direct download"
figure cold_read_12MiB_ms $(($(ms) - t))

# 1. The connection dropped mid-body, three times: each chunk is refetched by range.
# (50,000 bytes: less than any range mgdcfs asks for, so every hit is a real cut.)
fault_add '{"route":"^GET /mgdcsandbox/'"$C"'/d/drop\\.bin$","dropAfterBytes":50000,"count":3}'
t=$(ms)
is "$(sha "$D/drop.bin")" "$(want drop)" "connection dropped mid-body 3 times: bytes = the blob"
figure dropped_read_12MiB_ms $(($(ms) - t))
is "$(rule_hits drop)" 3 "the proxy cut three responses"

# 2. 429 and 503 with Retry-After: honoured, then success.
for st in 429 503; do
	fault_add '{"route":"^GET /mgdcsandbox/'"$C"'/d/retry'$st'\\.bin$","status":'$st',"retryAfter":"2","count":1}'
	t=$(ms)
	is "$(sha "$D/retry$st.bin")" "$(want retry$st)" "Blob $st with Retry-After: 2, then the bytes of the blob"
	el=$(($(ms) - t))
	figure "blob_${st}_retry_after_2s_read_ms" "$el"
	is "$(rule_hits "retry$st")" 1 "the $st was served once"
	check "the daemon waited the 2000 ms the server asked for (log)" \
		grep -q "retry$st.bin: HTTP $st; retry 1/[0-9]* in 2000 ms" "${T_LOGS[p]}"
done

# 3. Persistent 500s: a clean EIO within the bounded retries, and the mount keeps working.
fault_add '{"route":"^GET /mgdcsandbox/'"$C"'/d/e500\\.bin$","status":500}'
t=$(ms)
is "$(read_errno "$D/e500.bin")" EIO "persistent 500 on Blob: read fails with EIO"
el=$(($(ms) - t))
figure blob_500_persistent_fail_ms "$el"
figure blob_500_attempts "$(rule_hits e500)"
check "within the configured deadline ($el ms)" test "$el" -le "$DEADLINE_MS"
check ".mgdcfs/errors names the file and the status" grep -q "e500.bin.*InternalError" "$MNT/.mgdcfs/errors"
fault_reset
is "$(sha "$D/e500.bin")" "$(want e500)" "once the 500s stop, the same file reads correctly"
is "$(cat "$MNT/tenant/tenant.json" | jq -r .id)" "$MGDC_TENANT_ID" "and the rest of the mount still works"
unmount_fs p
check "daemon log has no error or warning line about the retried reads" bash -c \
	"! grep -E ' (error|warning): ' '${T_LOGS[p]}' | grep -v e500"

# 4. A bit flipped inside a TLS record (a raw TCP proxy): the record's MAC
# fails, libcurl reports a receive error, the range is fetched again. Corrupt
# bytes can never reach the cache through TLS.
proxy_mount tcp tcp || t_done
ls "$MNT/datasets/$C/d" >/dev/null
proxy_arm tcp corrupt 2 $((64 << 10)) # past any TLS handshake
is "$(sha "$MNT/datasets/$C/d/tlsrec.bin")" "$(want tlsrec)" "bit flipped in a TLS record (twice): bytes = the blob"
is "$(proxy_stat tcp corrupted)" 2 "the proxy flipped two bits"
check "the daemon saw them as transport errors and retried" grep -qiE 'retry [0-9]+/' "${T_LOGS[tcp]}"
diag "$(grep -m1 -oE "d/tlsrec.bin: .*; retry" "${T_LOGS[tcp]}")"
unmount_fs tcp

# 5. A bit flipped in the plaintext body (a TLS-terminating proxy, as a
# broken middlebox or storage node would): only an end-to-end checksum can
# see it. Ranges of at most 4 MiB carry Content-MD5; the mismatch is counted
# and the range fetched again. (The service sends no Content-MD5 for ranges
# over 4 MiB, so with larger chunks only TLS guards the bytes: case 4.)
proxy_mount tls tls || t_done
ls "$MNT/datasets/$C/d" >/dev/null
proxy_arm tls corrupt 1 1000
is "$(sha "$MNT/datasets/$C/d/plain.bin")" "$(want plain)" "bit flipped in the plaintext body, 4 MiB chunks: bytes = the blob"
is "$(proxy_stat tls corrupted)" 1 "the proxy flipped one bit"
is "$(jq .datasets.md5_mismatches "$MNT/.mgdcfs/stats.json")" 1 "stats.json: one Content-MD5 mismatch detected"
# Corrupt every range reply: the read fails with EIO, nothing corrupt is
# served or cached, and the file reads correctly once the proxy behaves.
proxy_arm tls corrupt 1000 1000
is "$(read_errno "$MNT/datasets/$C/d/plain2.bin")" EIO "every reply corrupted: EIO, not wrong bytes"
check ".mgdcfs/errors says Content-MD5 mismatch" grep -q "plain2.bin.*Content-MD5 mismatch" "$MNT/.mgdcfs/errors"
proxy_arm tls reset
is "$(sha "$MNT/datasets/$C/d/plain2.bin")" "$(want plain2)" "then the same file reads correctly (nothing corrupt was cached)"
unmount_fs tls

proxy_stop_all
t_done
