/*
 * blob.h - the Azure Blob Storage REST client of mgdcfs (list, properties,
 * ranged GET; a minimal writer for tests).
 *
 * One struct blob_client per storage account. It is immutable after
 * blob_client_new(), so every function below is safe from any number of
 * threads at once (the counters are atomic). Requests go through net/http
 * (pooling, TLS, retries); this module adds the Blob wire rules: Shared Key
 * signing, SAS tokens, Entra bearer tokens, List Blobs paging with hard
 * caps, and range reads that never return short or unverified data
 * silently.
 *
 * Integrity: a range of at most 4 MiB is requested with
 * x-ms-range-get-content-md5 and its Content-MD5 is checked. Larger ranges
 * have no service-side checksum (the service refuses to hash them); the fs
 * layer can compare whole-blob reads with the blob's stored Content-MD5
 * (blob_props.md5) only.
 *
 * Unreachable storage: once a request ends without any reply (refused,
 * timed out, reset; its retries spent), the client answers every request
 * of the next 3 seconds at once with that errno, so an operation that needs
 * several requests waits for one deadline, not one per request. Any reply
 * ends the hold.
 *
 * Secrets (account key, SAS signature, bearer token) never reach a log line
 * or a net_error: URLs are logged without their query.
 */
#ifndef MGDCFS_NET_BLOB_H
#define MGDCFS_NET_BLOB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "net/auth.h"
#include "net/http.h"

struct blob_client;

/* x-ms-version sent on every request; accepted by Azure and Azurite 3.37. */
#define BLOB_API_VERSION "2021-08-06"
/* Scope of the Entra token for Blob storage. */
#define BLOB_SCOPE "https://storage.azure.com/.default"
/* Largest range for which the service returns a Content-MD5 (4 MiB). */
#define BLOB_MD5_RANGE_MAX ((size_t)4 << 20)
/*
 * Longest blob name accepted from a listing, in bytes. Azure allows 1,024
 * characters; in UTF-8 a character takes up to 4 bytes.
 */
#define BLOB_NAME_MAX 4096
/* Room for an ETag as the ETag header gives it, quotes included. */
#define BLOB_ETAG_MAX 128

enum blob_auth_kind {
	BLOB_AUTH_SHARED_KEY = 0, /* Authorization: SharedKey, from the account key */
	BLOB_AUTH_SAS = 1,        /* a SAS token appended to every URL */
	BLOB_AUTH_BEARER = 2,     /* Authorization: Bearer, from net/auth */
};

struct blob_opts {
	const char *account; /* storage account name */
	const char *url;     /* account URL without trailing '/': path-style
	                        https://127.0.0.1:P/<account> (Azurite) or
	                        https://<account>.blob.core.windows.net */
	enum blob_auth_kind auth;
	const char *key;       /* SHARED_KEY: the base64 account key; decoded and
	                          kept in memory that is wiped on free */
	const char *sas;       /* SAS: the token, with or without a leading '?';
	                          copied, wiped on free, never logged */
	struct auth *auth_id;  /* BEARER: the identity; must outlive the client */
	const char *scope;     /* BEARER: NULL means BLOB_SCOPE */
	const char *version;   /* x-ms-version; NULL means BLOB_API_VERSION */
	int max_results;       /* List page size, 1..5000; 0 means 5000 */
	size_t max_page_bytes; /* cap on one listing page; 0 means 32 MiB */
	size_t max_entries;    /* cap on the entries of one listing; 0 means 1,000,000 */
};

/*
 * blob_client_new - set up a client for one account. `h` must outlive it.
 * Returns 0; -EINVAL for a missing account/URL, a URL refused by
 * http_url_check(), an undecodable key or a missing credential (the reason
 * is logged without the secret); -ENOMEM.
 */
int blob_client_new(struct blob_client **out, struct http *h, const struct blob_opts *o);

/* blob_client_free - wipe the key and SAS, free. NULL is a no-op. */
void blob_client_free(struct blob_client *bc);

/*
 * One entry of a listing. In a callback every pointer is borrowed and valid
 * only during the call; in a struct blob_listing the entry owns `name`.
 */
struct blob_entry {
	char *name;               /* NUL-terminated, but may also contain NUL bytes: */
	size_t name_len;          /* ... its length in bytes */
	int name_unsafe;          /* 1 if the name holds NUL, control bytes or invalid
	                             UTF-8 (only possible with <Name Encoded="true">);
	                             the fs layer must sanitise it */
	int is_prefix;            /* 1 for a BlobPrefix ("directory") or a container */
	uint64_t size;            /* Content-Length; 0 for prefixes and containers */
	time_t mtime;             /* Last-Modified; 0 when absent or unparseable */
	time_t ctime;             /* Creation-Time; 0 when absent or unparseable */
	char etag[BLOB_ETAG_MAX]; /* quoted like the ETag header ("0x8D..."), or "" */
	int has_md5;
	unsigned char md5[16]; /* the blob's stored Content-MD5 when has_md5 */
};

/*
 * Listing callback: return 0 to go on; any other value stops the listing
 * and is returned by blob_list() / blob_list_paged().
 */
typedef int (*blob_list_cb)(void *ud, const struct blob_entry *ent);

/*
 * blob_list - list `container` under `prefix` (NULL or "" for all), with
 * `delimiter` (NULL for a flat listing, "/" for one directory level),
 * following NextMarker until the end. Calls `cb` once per blob or prefix, in
 * the service's (lexicographic) order. Returns 0; the callback's non-zero
 * value; -ENOENT (ContainerNotFound), -EACCES, -EFBIG when a page exceeds
 * max_page_bytes or the listing exceeds max_entries, -EIO for a malformed
 * page, a name over BLOB_NAME_MAX or a server that repeats its marker, or
 * a transport errno. `e` (may be NULL) says why. Entries already passed to
 * `cb` stay valid results even when the listing fails later.
 */
int blob_list(struct blob_client *bc, const char *container, const char *prefix,
              const char *delimiter, blob_list_cb cb, void *ud, struct net_error *e);

/* What blob_list_paged() asks for. */
struct blob_list_req {
	const char *prefix;    /* NULL or "" for all */
	const char *delimiter; /* NULL for a flat listing, "/" for one directory level */
	int max_results;       /* entries per page, 1 up to the client's page size; 0: that size */
	int first_page;        /* 1: stop after the first page that holds an entry (a
	                          probe: "is there anything under this prefix?") */
	/* Called after each page with the number of its entries (0 for an empty
	 * page), before the next page is asked for; may be NULL. A non-zero
	 * return stops the listing and is returned. */
	int (*page_done)(void *ud, size_t entries);
};

/*
 * blob_list_paged - blob_list() (container NULL: the account's containers,
 * is_prefix = 1 with mtime and etag set, where `prefix` filters their names) with the page size,
 * the first-page probe and the page callback of `rq`. Same caps, callbacks and return values as
 * blob_list(); -EINVAL for an empty container name.
 */
int blob_list_paged(struct blob_client *bc, const char *container, const struct blob_list_req *rq,
                    blob_list_cb cb, void *ud, struct net_error *e);

/* A whole listing held in memory; each entry owns its name. */
struct blob_listing {
	struct blob_entry *v;
	size_t n;
};

/*
 * blob_list_collect - blob_list() into `out` (container NULL: the
 * containers). On failure `out` is empty. Free with blob_listing_release().
 * fs/listing.c streams pages with blob_list_paged(); blob_list() and this
 * are for callers that want the whole folder at once (the tests).
 */
int blob_list_collect(struct blob_client *bc, const char *container, const char *prefix,
                      const char *delimiter, struct blob_listing *out, struct net_error *e);
void blob_listing_release(struct blob_listing *l);

/*
 * blob_unreachable - 1 if `rc` (a -errno from this client) means storage
 * cannot serve now, so a caller may serve what it cached instead: no reply
 * at all (-ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -ENETUNREACH,
 * -ECONNRESET), or a reply saying the service is unavailable (-EAGAIN: 429 or
 * 503; -ETIMEDOUT: 408 or 504; -EIO: another 5xx or a reply that cannot be
 * used). Everything else is an answer about the request, 0 here: -ENOENT,
 * -EACCES, -ESTALE, -EINVAL, -ERANGE, -EPROTO (TLS or protocol: a wrong
 * certificate is not an outage), -EFBIG, -ENOMEM, and -ECANCELED (the mount
 * is going away: nothing to serve). The one definition, for the listings and
 * the read path alike. Any thread.
 */
int blob_unreachable(int rc);

/* Properties of one blob, from Get Blob Properties or a ranged GET. */
struct blob_props {
	uint64_t size;
	time_t mtime;
	time_t ctime;
	char etag[BLOB_ETAG_MAX]; /* quoted, exactly as the service sent it */
	int has_md5;
	unsigned char md5[16]; /* the stored whole-blob Content-MD5 */
};

/*
 * blob_get_props - HEAD the blob. Returns 0 and fills `p`; -ENOENT
 * (BlobNotFound / ContainerNotFound, code in e), -EACCES, -EIO for a reply
 * without a usable Content-Length or ETag, or a transport errno.
 */
int blob_get_props(struct blob_client *bc, const char *container, const char *name,
                   struct blob_props *p, struct net_error *e);

/*
 * blob_get_range - read `len` bytes at `offset` into `buf`. The caller
 * clamps the range to the size it knows (offset + len <= size): a range at
 * or past EOF and suffix ranges are never sent, and len 0 returns 0 without
 * a request. With `etag_expected` (quoted, as in blob_props) the read is
 * conditional (If-Match); without it, any remainder request is bound to the
 * ETag of the first reply, so the bytes never mix two versions.
 * Returns `len` (never fewer: a short body is re-requested for the
 * remainder, then -EIO); -ESTALE if the blob changed (412 ConditionNotMet,
 * or it is now shorter than offset + len); -EIO after an MD5 mismatch that
 * persisted over one retry (counted in blob_stats), or for a reply whose
 * Content-Range is not the range asked for; -ENOENT; -EACCES; -ERANGE
 * (InvalidRange); -EINVAL for len over SSIZE_MAX or an ETag that cannot go
 * into a header; or a transport errno. `buf` may hold partial data after a
 * failure. `props_out` (may be NULL) receives the blob's size, ETag, mtime
 * and stored whole-blob MD5 (x-ms-blob-content-md5) from the reply.
 * Thread-safe; memory use is the caller's buffer plus a few KiB.
 */
ssize_t blob_get_range(struct blob_client *bc, const char *container, const char *name,
                       uint64_t offset, size_t len, void *buf, const char *etag_expected,
                       struct blob_props *props_out, struct net_error *e);

/*
 * Writes, used by the tests (the sandbox writes the real data). blob_put
 * uploads `len` bytes as one BlockBlob (idempotent); blob_delete deletes a
 * blob; blob_container_create creates a container (0 also when it exists);
 * blob_container_delete deletes one. Return 0 or -errno as above.
 */
int blob_put(struct blob_client *bc, const char *container, const char *name, const void *data,
             size_t len, struct net_error *e);
int blob_delete(struct blob_client *bc, const char *container, const char *name,
                struct net_error *e);
int blob_container_create(struct blob_client *bc, const char *container, struct net_error *e);
int blob_container_delete(struct blob_client *bc, const char *container, struct net_error *e);

/*
 * blob_url_https - the blob's https URL (name percent-encoded, '/' kept),
 * without any SAS token: safe to show in an xattr. malloc'd, NULL on ENOMEM.
 */
char *blob_url_https(const struct blob_client *bc, const char *container, const char *name);

/*
 * blob_url_abfss - abfss://<container>@<account>.dfs.core.windows.net/<name>,
 * the form Spark and Hadoop use. Meaningful only against real Azure: for
 * the sandbox it names the sandbox account, which no dfs endpoint serves.
 * malloc'd, NULL on ENOMEM.
 */
char *blob_url_abfss(const struct blob_client *bc, const char *container, const char *name);

struct blob_stats {
	uint64_t md5_verified; /* ranges whose Content-MD5 matched */
	uint64_t md5_mismatch; /* replies whose Content-MD5 did not match */
	uint64_t md5_missing;  /* ranges <= 4 MiB answered without a Content-MD5 */
	uint64_t short_bodies; /* replies shorter than asked, remainder re-requested */
	uint64_t stale;        /* reads that found the blob changed */
};

/* blob_get_stats - a snapshot of the counters. */
void blob_get_stats(struct blob_client *bc, struct blob_stats *out);

/*
 * Pure helpers, exposed for the unit tests and the fuzzers.
 */

/*
 * blob_string_to_sign - the Shared Key StringToSign for a request to `url`
 * with `headers` ("Name: value", NULL-terminated) exactly as they will be
 * sent: 12 standard header slots (Content-Length "0" signed as empty),
 * x-ms-* headers lowercased and sorted, then "/" + account + raw URL path
 * and the query parameters lowercased, sorted and percent-decoded.
 * malloc'd; NULL on ENOMEM or an URL without "://".
 */
char *blob_string_to_sign(const char *method, const char *account, const char *url,
                          const char *const *headers);

/*
 * blob_hmac_b64 - Base64(HMAC-SHA256(key, msg)) into out (45 bytes with the
 * NUL). Returns 0 or -EIO.
 */
int blob_hmac_b64(const unsigned char *key, size_t keylen, const char *msg, char out[45]);

/*
 * blob_b64_decode - decode base64 `s` into `out` (cap `cap`), padding
 * handled. Returns the byte count, or -EINVAL for bad input or no room.
 */
int blob_b64_decode(const char *s, unsigned char *out, size_t cap);

/* blob_range_header - "bytes=<off>-<off+len-1>" into out. Returns 0, -EINVAL for len 0 or overflow.
 */
int blob_range_header(char *out, size_t n, uint64_t offset, uint64_t len);

/* blob_parse_http_date - parse an RFC 1123 date ("Fri, 27 Nov 2026 05:45:16 GMT"). 0 or -EINVAL. */
int blob_parse_http_date(const char *s, time_t *out);

/* blob_format_http_date - RFC 1123 GMT, locale-independent, into out (>= 30 bytes). */
void blob_format_http_date(time_t t, char *out, size_t n);

/*
 * blob_error_body - a Blob error body, <Error><Code>..</Code><Message>..
 * </Message></Error> (read with expat; a DOCTYPE stops it), into e->code and
 * e->msg without the RequestId/Time lines. A net_error_body_fn (net/http.h);
 * 1 if found, else 0. Any thread.
 */
int blob_error_body(struct net_error *e, const char *body, size_t len);

/* blob_code_errno - the one mapping of a Blob error code (may be NULL) and status to a positive
 * errno. */
int blob_code_errno(const char *code, long status);

/* Result of one parsed listing page. */
struct blob_page {
	size_t entries;         /* entries passed to the callback */
	char next_marker[8192]; /* NextMarker, "" on the last page */
};

/*
 * blob_parse_list_page - parse one List Blobs (containers = 0) or List
 * Containers (containers = 1) XML page of `len` bytes, calling `cb` per
 * entry, at most `max_entries` of them. Returns 0; the callback's value;
 * -EFBIG when the page holds more than max_entries entries; -EIO for a
 * malformed document, a DTD, a missing or oversized name or field. `e` says
 * why. Never reads past xml[len - 1].
 */
int blob_parse_list_page(const char *xml, size_t len, int containers, size_t max_entries,
                         blob_list_cb cb, void *ud, struct blob_page *out, struct net_error *e);

#endif
