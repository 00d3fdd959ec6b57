/*
 * memo.h - a small in-memory cache of control-plane documents with TTLs.
 *
 * Entries are parsed cJSON documents, shared by reference count: memo_get
 * hands out a reference that the caller drops with memo_put, so a document
 * replaced by a refresh stays valid for readers still holding it. Failures
 * are cached too (for a short time) so a dead service is not hammered by
 * every stat. One mutex guards the table; fetches run outside it.
 */
#ifndef MGDCFS_FS_MEMO_H
#define MGDCFS_FS_MEMO_H

#include <time.h>

#include <cjson/cJSON.h>

struct memo;

struct memo_ref {
	const cJSON *doc; /* read-only; valid until memo_put */
	time_t fetched;   /* when it was fetched (wall clock) */
	void *entry_;     /* private */
};

/* fetch callback: build a fresh document for `key`. Returns 0 and *out (owned by the memo
 * afterwards), or -errno with a message in err. */
typedef int (*memo_fetch_fn)(void *ud, const char *key, cJSON **out, char *err, size_t errlen);

int memo_new(struct memo **out);
void memo_free(struct memo *m);

/*
 * memo_get - the document for `key`, fetched through `fn` if absent or older
 * than ttl_s seconds. Returns 0 with a reference in *ref (drop it with
 * memo_put), or -errno (err filled; a failure is remembered for
 * min(ttl_s, 2) seconds). Concurrent misses of one key wait for a single
 * fetch. Thread-safe.
 */
int memo_get(struct memo *m, const char *key, int ttl_s, memo_fetch_fn fn, void *ud,
             struct memo_ref *ref, char *err, size_t errlen);

/* memo_put - drop a reference from memo_get. */
void memo_put(struct memo *m, struct memo_ref *ref);

/* memo_drop_prefix - forget every key starting with `prefix` ("" = all), after a command. */
void memo_drop_prefix(struct memo *m, const char *prefix);

#endif
