/*
 * rest.h - JSON over HTTP with a bearer token: the plumbing shared by the
 * Graph, registration-contract and ADF clients.
 *
 * Every call goes through auth_do() (so a 401 refreshes the token once) and
 * every reply is parsed under two caps: a body cap enforced by http.c and a
 * nesting-depth cap checked before cJSON sees the text. Listings follow an
 * absolute nextLink / @odata.nextLink only when it points at the same scheme,
 * host and port as the first request, so a hostile or confused server cannot
 * redirect our token to another host; ADF-style POST queries page with a
 * continuationToken instead. Listings are bounded in pages and items and fail
 * (rather than return a silently truncated list) when a bound is hit.
 *
 * Nothing here keeps mutable state: every function is safe from any thread
 * as long as the struct rest_ep it is given is not being modified.
 */
#ifndef MGDCFS_NET_REST_H
#define MGDCFS_NET_REST_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "net/auth.h"
#include "net/http.h"

#define REST_MAX_BODY  (8u << 20) /* default cap on one JSON reply */
#define REST_MAX_DEPTH 128        /* nesting cap on a JSON reply (cJSON alone allows 1000) */
#define REST_MAX_PAGES 100        /* default cap on pages followed by one listing */
#define REST_MAX_ITEMS 50000      /* default cap on items merged by one listing */
#define REST_MAX_URL   8192       /* cap on a URL we build or follow */

/*
 * One service endpoint: who we are (auth + scope) and where the service
 * lives (base URL without a trailing '/'). Filled by rest_ep_init(); the caps
 * may be lowered afterwards (tests do). Read-only while in use.
 */
struct rest_ep {
	struct auth *auth; /* not owned; must outlive the endpoint */
	char *scope;       /* owned */
	char *base;        /* owned; no trailing '/' */
	size_t max_body;   /* per reply */
	int max_pages;     /* per listing */
	int max_items;     /* per listing */
};

/*
 * rest_ep_init - fill `ep` with copies of `scope` and `base` (one trailing
 * '/' of base is dropped) and the default caps. Returns 0, -EINVAL (NULL
 * argument, or base not an https:// or loopback http:// URL), -ENOMEM.
 * On failure nothing needs releasing.
 */
int rest_ep_init(struct rest_ep *ep, struct auth *a, const char *scope, const char *base);

/* rest_ep_release - free what rest_ep_init() copied. Safe on a zeroed ep. */
void rest_ep_release(struct rest_ep *ep);

/*
 * rest_ep_new - allocate `size` bytes (a client struct whose first member is
 * its struct rest_ep) and init that endpoint with `scope` and the base
 * rest_url(base, NULL, segments...) (segments end with NULL; each must be
 * non-empty). Returns the endpoint, or NULL with *err = -EINVAL (bad base or
 * segment, size too small) or -ENOMEM. Free with rest_ep_free().
 */
struct rest_ep *rest_ep_new(size_t size, int *err, struct auth *a, const char *scope,
                            const char *base, ...) __attribute__((sentinel));

/* rest_ep_free - release and free what rest_ep_new() returned; NULL is fine. */
void rest_ep_free(struct rest_ep *ep);

/*
 * rest_url - `base` + "/" + each path segment percent-encoded (RFC 3986
 * unreserved characters kept, '/' encoded) + ("?" query when query is not
 * NULL or empty). The segment list ends with NULL. The query is appended as
 * given: encode its values with http_urlencode(). Returns a malloc'd string,
 * or NULL on ENOMEM, on an empty segment (which would change the path's
 * meaning) or when the result exceeds REST_MAX_URL.
 */
char *rest_url(const char *base, const char *query, ...) __attribute__((sentinel));

/*
 * rest_same_origin - 1 if the absolute URLs `a` and `b` have the same scheme,
 * host (case-insensitive) and port (default ports made explicit), else 0
 * (also when either does not parse or carries user info).
 */
int rest_same_origin(const char *a, const char *b);

/*
 * rest_parse - parse `len` bytes of JSON text (NUL-terminated at buf[len]).
 * Rejects an embedded NUL, nesting deeper than REST_MAX_DEPTH and trailing
 * garbage. Returns 0 and *out (caller frees with cJSON_Delete), or -EPROTO
 * (-ENOMEM) with `e` (may be NULL) filled: code "InvalidJson".
 */
int rest_parse(const char *buf, size_t len, cJSON **out, struct net_error *e);

/*
 * rest_error_body - the error body of ARM, Graph, Synapse and the
 * registration contract, {"error":{"code":...,"message":...}} (or Synapse's
 * token refusal, {"code":...,"message":...}), or Fabric's top-level
 * ErrorResponse {"errorCode":...,"message":...}, into e->code and e->msg
 * (a net_error_body_fn: see net/http.h). 1 if found, else 0. Any thread.
 */
int rest_error_body(struct net_error *e, const char *body, size_t len);

/* One request. Every pointer belongs to the caller. */
struct rest_call {
	const char *method;         /* NULL: GET */
	const char *url;            /* absolute; usually from rest_url() */
	const cJSON *body;          /* sent as application/json; NULL: no body */
	const char *if_match;       /* "If-Match" value (an ETag) or NULL */
	const char *const *headers; /* extra "Name: value" headers, NULL-terminated, or NULL;
	                               resent on every page of a listing */
	int non_idempotent;         /* 1: the server may have acted if the connection
	                               dropped (createRun), so never retry then */
};

/* What a call returns. Release with rest_result_release(). */
struct rest_result {
	long status;      /* HTTP status of the reply */
	cJSON *json;      /* parsed body, or NULL for an empty body (204, cancel) */
	char *etag;       /* ETag header, else the body's "etag" string, else NULL */
	char *async_url;  /* Azure-AsyncOperation header (an ARM long-running operation's
	                     status URL), or NULL */
	char *location;   /* Location header (on a 202: where Synapse's operation or
	                     Fabric's operation or job instance is polled), or NULL */
	long retry_after; /* its Retry-After in seconds, or 0 */
};

/*
 * rest_do - perform `c` against `ep`. Returns 0 for a 2xx reply with `r`
 * filled (r->json and r->etag owned by r). Otherwise a negative errno with
 * `e` (may be NULL) filled by net_error_set(): the status mapped by
 * http_status_errno(), the service's error code and message kept; -EPROTO for
 * a 2xx body that is not JSON; -EINVAL for an If-Match value with control
 * characters. `r` is initialised in every case; release it in every case.
 * Thread-safe.
 */
int rest_do(const struct rest_ep *ep, const struct rest_call *c, struct rest_result *r,
            struct net_error *e);

/* rest_result_release - free r->json and r->etag; leaves r zeroed. */
void rest_result_release(struct rest_result *r);

/*
 * rest_get - GET `url` and return its JSON document in *out (caller frees;
 * NULL for an empty body) and, when etag is not NULL, its ETag in *etag
 * (malloc'd, NULL if none). Same errors as rest_do(). On failure *out and
 * *etag are NULL.
 */
int rest_get(const struct rest_ep *ep, const char *url, cJSON **out, char **etag,
             struct net_error *e);

/*
 * rest_send - rest_do() for callers that want only the document: `method`
 * (NULL: GET) on `url` with optional JSON `body` and If-Match value, the
 * parsed reply in *out (may be NULL: the reply is dropped; caller frees) and
 * the ETag in *etag (may be NULL; malloc'd). A NULL `url` (a failed
 * rest_url()) gives -ENOMEM, so callers can pass rest_url()'s result
 * straight in. On failure *out and *etag are NULL. Thread-safe.
 */
int rest_send(const struct rest_ep *ep, const char *method, const char *url, const cJSON *body,
              const char *if_match, int non_idempotent, cJSON **out, char **etag,
              struct net_error *e);

/*
 * rest_list - fetch every page of a listing and return the merged "value"
 * items as one cJSON array in *items (caller frees). `first` is the first
 * request: a GET (pages are then chained by @odata.nextLink or nextLink,
 * which must be absolute and same-origin as first->url) or a POST whose body
 * is an object (pages are then chained by re-POSTing it with the reply's
 * "continuationToken"; a nextLink is followed as above if the reply has no
 * token). Empty pages are skipped, not taken as the end. Returns 0, or:
 * -EPROTO for a nextLink to another origin or a page without a "value"
 * array; -ELOOP when a page links to itself or repeats its token, or more
 * than ep->max_pages pages are needed; -EOVERFLOW for more than
 * ep->max_items items; any rest_do() error. `e` says which. On failure
 * *items is NULL. Thread-safe.
 */
int rest_list(const struct rest_ep *ep, const struct rest_call *first, cJSON **items,
              struct net_error *e);

/*
 * rest_lro_wait - wait for the long-running operation whose request (sent to
 * `request_url`) answered `r`. Two protocols:
 *  - ARM's Azure-AsyncOperation (r->async_url): poll it until "status" is
 *    Succeeded (0), Failed or Canceled (-EIO);
 *  - a 202 with Location and no Azure-AsyncOperation (Synapse's artifact
 *    writes, mgdc-hosts(7)): GET Location while it answers 202 (following a
 *    new Location a 202 gives); the first other 2xx ends it, and its body and
 *    ETag replace r->json and r->etag (the stored artifact), unless the body
 *    says "status": "Failed" or "Canceled" (-EIO). An error status of the
 *    poll is the operation's failure (the service's code and message in `e`;
 *    Fabric's OperationState, whose error has "errorCode", reads the same).
 * Every poll URL must be on the origin of `request_url` (our token goes
 * there: -EPROTO otherwise). Sleeps each reply's Retry-After (1 s when
 * absent, at most 10 s) until `deadline_ms` has passed (-ETIMEDOUT). Nothing
 * to wait for (no such header, or a 202 without one): 0 at once unless the
 * body's properties.provisioningState is Failed or Canceled. `e` holds the
 * failure's code and message. Blocks the calling thread; thread-safe.
 */
int rest_lro_wait(const struct rest_ep *ep, const char *request_url, struct rest_result *r,
                  long deadline_ms, struct net_error *e);

/*
 * rest_error - fill `e` (may be NULL) with a local failure: err (positive),
 * code and a printf-style message. Returns -err.
 */
int rest_error(struct net_error *e, int err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * rest_take_item - detach and return item `name` of object `*json`, freeing
 * the rest of the document and setting *json to NULL. Returns NULL (and still
 * frees) when there is no such item. A helper for clients that return only
 * part of a reply.
 */
cJSON *rest_take_item(cJSON **json, const char *name);

#endif
