#!/usr/bin/env bash
# datasets/: reads through the chunk cache, compared byte for byte (sha256)
# with direct downloads from Azurite; cache persistence, budget, staleness,
# offline behaviour and kill -9.
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox

C=dst$RANDOM
node "$T_ROOT/tests/lib/blob.js" mkcontainer "$C" || { not_ok "create container"; t_done; }
CHUNK=$(jq -r '.profiles.developer.cache.chunk_kb // 8192' "$MGDC_CONFIG")
CHUNK=$((CHUNK * 1024))
mkdir -p "$T_DIR/src"
declare -A SIZES=([empty]=0 [one]=1 [cm1]=$((CHUNK - 1)) [c]=$CHUNK [cp1]=$((CHUNK + 1)) [big]=$((110 << 20)))
for n in "${!SIZES[@]}"; do
	head -c "${SIZES[$n]}" /dev/urandom >"$T_DIR/src/$n"
	blob_put "$C" "data/$n.bin" "$T_DIR/src/$n" || not_ok "upload $n"
done

# The truth: direct downloads from Azurite (not the files we uploaded).
for n in "${!SIZES[@]}"; do blob_get "$C" "data/$n.bin" "$T_DIR/src/$n.direct"; done

mount_fs m developer || t_done
D=$MNT/datasets/$C/data

check "container listed under datasets/" test -d "$MNT/datasets/$C"
is "$(ls "$D" | sort | tr '\n' ' ')" "big.bin c.bin cm1.bin cp1.bin empty.bin one.bin " "folder lists the blobs"
for n in empty one cm1 c cp1 big; do
	is "$(stat -c %s "$D/$n.bin")" "${SIZES[$n]}" "size of $n.bin from the listing"
	is "$(sha256sum <"$D/$n.bin" | cut -d' ' -f1)" "$(sha256sum <"$T_DIR/src/$n.direct" | cut -d' ' -f1)" "sha256 of $n.bin = direct download"
done

# Odd offsets across chunk borders, and reads at and past EOF.
/usr/bin/python3 - "$D/big.bin" "$T_DIR/src/big.direct" "$CHUNK" <<'PY' && ok "preads at odd offsets across chunk borders equal the blob" || not_ok "preads at odd offsets"
import os, sys, random
a, b, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3])
fa, fb = os.open(a, os.O_RDONLY), os.open(b, os.O_RDONLY)
size = os.fstat(fb).st_size
r = random.Random(7)
offs = [chunk - 1, chunk, chunk + 1, 2 * chunk - 3, size - 1, size - 4097, 12345]
offs += [r.randrange(0, size) for _ in range(200)]
for o in offs:
    n = r.choice([1, 7, 4096, 65537, chunk + 3])
    if os.pread(fa, n, o) != os.pread(fb, n, o):
        print("# mismatch at", o, n); sys.exit(1)
for o in (size, size + 1, size + 10**9):
    if os.pread(fa, 4096, o) != b"":
        print("# read past EOF returned data at", o); sys.exit(1)
PY

# mmap works (no direct_io on dataset files).
/usr/bin/python3 - "$D/cp1.bin" "$T_DIR/src/cp1.direct" <<'PY' && ok "mmap of a dataset file equals the blob" || not_ok "mmap"
import mmap, sys, hashlib
with open(sys.argv[1], "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
    a = hashlib.sha256(m[:]).hexdigest()
b = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
sys.exit(a != b)
PY

# 8 concurrent readers, of different files and of the same file.
want_big=$(sha256sum <"$T_DIR/src/big.direct" | cut -d' ' -f1)
pids=()
for i in 1 2 3 4 5 6 7 8; do (sha256sum <"$D/big.bin" | cut -d' ' -f1 >"$T_DIR/same.$i") & pids+=($!); done
wait "${pids[@]}"
same_ok=1
for i in 1 2 3 4 5 6 7 8; do [ "$(cat "$T_DIR/same.$i")" = "$want_big" ] || same_ok=0; done
check "8 concurrent readers of the same file all get the blob" test $same_ok = 1
pids=()
for n in one cm1 c cp1 big empty one c; do (sha256sum <"$D/$n.bin" | cut -d' ' -f1 >"$T_DIR/diff.$n.$RANDOM") & pids+=($!); done
wait "${pids[@]}"
diff_ok=1
for f in "$T_DIR"/diff.*; do
	n=$(basename "$f" | cut -d. -f2)
	[ "$(cat "$f")" = "$(sha256sum <"$T_DIR/src/$n.direct" | cut -d' ' -f1)" ] || diff_ok=0
done
check "8 concurrent readers of different files all get their blobs" test $diff_ok = 1

# Extended attributes against the service's own answer.
etag=$(curl -sSI --cacert "$MGDC_SANDBOX_CA" "$(sbx_sas "$C" | sed "s|?|/data/c.bin?|")" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
is "$(getfattr --only-values -n user.mgdcfs.etag "$D/c.bin" 2>/dev/null)" "$etag" "user.mgdcfs.etag = the blob's ETag"
is "$(getfattr --only-values -n user.mgdcfs.url "$D/c.bin" 2>/dev/null)" "$MGDC_BLOB_URL/$C/data/c.bin" "user.mgdcfs.url"
is "$(getfattr --only-values -n user.mgdcfs.abfss "$D/c.bin" 2>/dev/null)" "abfss://$C@$MGDC_STORAGE_ACCOUNT.dfs.core.windows.net/data/c.bin" "user.mgdcfs.abfss"
is "$(getfattr --only-values -n user.mgdcfs.cached "$D/c.bin" 2>/dev/null)" "$CHUNK" "user.mgdcfs.cached = bytes in the cache"

# A blob replaced in storage: the new bytes, never the old chunks.
head -c $((CHUNK + 5)) /dev/urandom >"$T_DIR/src/c.v2"
blob_put "$C" "data/c.bin" "$T_DIR/src/c.v2"
blob_get "$C" "data/c.bin" "$T_DIR/src/c.v2.direct"
sleep 1.1 # past the open revalidation window of a fresh listing
is "$(sha256sum <"$D/c.bin" | cut -d' ' -f1)" "$(sha256sum <"$T_DIR/src/c.v2.direct" | cut -d' ' -f1)" "an overwritten blob reads as its new version at the next open"
is "$(stat -c %s "$D/c.bin")" "$((CHUNK + 5))" "and its size follows"

# Stats count what happened.
# Chunks a read-ahead worker fetched are handed to the reader without a trip
# through LMDB, so a first read counts read-ahead hits; LMDB hits come later.
check "stats.json counts cache hits" jq -e '(.cache.hits > 0 or .datasets.fresh_chunk_hits > 0) and .cache.bytes_used > 0' "$MNT/.mgdcfs/stats.json"
unmount_fs m
check "daemon log clean" log_clean m

# Remount, stop the whole sandbox, read again: served from the cache.
CACHE=$T_DIR/cache-m
mount_fs m developer || t_done
D=$MNT/datasets/$C/data
sbx_down
is "$(sha256sum <"$D/big.bin" | cut -d' ' -f1)" "$want_big" "offline: a cached blob is still served after a remount"
check "stats.json counts the LMDB hits that served it" jq -e '.cache.hits > 0 and .cache.bytes_from_cache > 0' "$MNT/.mgdcfs/stats.json" >/dev/null
t0=$SECONDS
out=$(cat "$D/one.bin" 2>&1 >/dev/null; echo "rc=$?")
t1=$SECONDS
# one.bin was read before the remount too, so it is cached: it must work.
check "offline: another cached blob reads" test "$(cat "$D/one.bin" | wc -c)" = 1
printf 'x' >"$T_DIR/x"
t0=$SECONDS
if cat "$MNT/datasets/$C/nosuch/thing" >/dev/null 2>&1; then not_ok "offline: an unknown path fails"; else ok "offline: an unknown path fails"; fi
check "offline: failures within the configured deadline (+5 s)" test $((SECONDS - t0)) -le $(($(jq -r '.profiles.developer.timeouts.deadline_ms // 30000' "$MGDC_CONFIG") / 1000 + 5))
check "offline: .mgdcfs/errors says what failed" grep -q "$C" "$MNT/.mgdcfs/errors"
sbx_up
unmount_fs m

# kill -9 during a read, unmount, remount: LMDB consistent, reads correct.
mount_fs k developer || t_done
(cat "$MNT/datasets/$C/data/big.bin" >/dev/null 2>&1) &
sleep 0.3
kill9_fs k
wait 2>/dev/null
check "after kill -9 the mount point is cleared by fusermount3 -u" bash -c "! mountpoint -q '$T_DIR/k'"
check "LMDB is consistent after kill -9 (mdb_stat)" mdb_stat -a "$T_DIR/cache-k" >/dev/null
mount_fs k developer || t_done
is "$(sha256sum <"$MNT/datasets/$C/data/big.bin" | cut -d' ' -f1)" "$want_big" "after kill -9 and remount, reads are correct"
unmount_fs k

# Budget: read three times the budget; the LMDB file stays within budget + one chunk.
jq --arg d "$T_DIR/cache-b" '.profiles.developer.cache.budget_mb = 32' "$MGDC_CONFIG" >"$T_DIR/small.json"
chmod 600 "$T_DIR/small.json"
MGDC_CONFIG_SAVED=$MGDC_CONFIG
MGDC_CONFIG=$T_DIR/small.json
mount_fs b developer || t_done
for i in 1 2 3; do cat "$MNT/datasets/$C/data/big.bin" >/dev/null; done
sz=$(stat -c %s "$T_DIR/cache-b/data.mdb" 2>/dev/null || echo 0)
check "cache file $sz B <= 32 MiB budget + one chunk after reading 330 MiB" test "$sz" -le $(((32 << 20) + CHUNK))
is "$(sha256sum <"$MNT/datasets/$C/data/big.bin" | cut -d' ' -f1)" "$want_big" "reads stay correct while evicting"
unmount_fs b
MGDC_CONFIG=$MGDC_CONFIG_SAVED
t_done
