/*
 * http.h - the one HTTP client of mgdcfs, over libcurl and OpenSSL.
 *
 * TLS is always verified (system store plus an optional extra CA file);
 * plain http:// is accepted only to loopback. Connections are shared across
 * FUSE worker threads through a curl share handle (connection cache, DNS,
 * TLS sessions) while every thread keeps its own easy handle, so no easy
 * handle is ever used by two threads. Transient failures (408, 429, 500, 502,
 * 503, 504, a dropped connection on an idempotent request; a failed name
 * lookup or a connection never made on any request) are retried with
 * exponential backoff and full jitter, honouring Retry-After and
 * x-ms-retry-after-ms, within a bounded number of attempts. Every buffered
 * response body has a cap. A handle whose transfer failed is closed, never
 * pooled again.
 */
#ifndef MGDCFS_NET_HTTP_H
#define MGDCFS_NET_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct http;

struct http_opts {
	const char *ca_file;     /* extra PEM CA bundle added to the system store; NULL: none */
	long connect_timeout_ms; /* per attempt; 0: 5000 */
	long low_speed_time_s;   /* abort an attempt that moves < 1 byte/s for this long; 0: 15 */
	long attempt_timeout_ms; /* cap on one whole attempt; 0: none */
	long deadline_ms;        /* cap on all attempts and waits of one http_do; 0: 60000 */
	long dns_cache_s;        /* how long a looked-up address is reused; 0: 60 */
	int max_retries;         /* attempts after the first; -1: default 4 */
	long backoff_base_ms;    /* first backoff; 0: 200 */
	long backoff_max_ms;     /* cap on one backoff or one Retry-After wait; 0: 10000 */
	size_t max_body;         /* default cap on a buffered body; 0: 16 MiB */
	const char *user_agent;  /* NULL: "mgdcfs/<version>" */
};

/*
 * One request. Headers are "Name: value" strings; the array ends with NULL.
 * The caller owns every pointer and keeps them valid during http_do().
 */
struct http_req {
	const char *method;         /* NULL: GET */
	const char *url;            /* absolute https:// (or loopback http://) URL */
	const char *const *headers; /* NULL-terminated, may be NULL */
	const void *body;           /* request body or NULL (POST/PUT/PATCH then send
	                               Content-Length: 0). No Content-Type is added:
	                               pass one in headers when there is a body */
	size_t body_len;
	void *buf;       /* if set, the response body goes here ... */
	size_t buf_cap;  /* ... up to buf_cap bytes (more is an error: -EPROTO) */
	size_t max_body; /* cap for a malloc'd body; 0: the client's default */
	int idempotent;  /* 1: retry after a dropped connection or 5xx;
	                    0: retry only 408/429/503 and connection refusals,
	                    which prove the server did not act */
	int no_retry;    /* 1: exactly one attempt (used by probes) */
};

struct http_header {
	char *name;  /* as received, NUL-terminated */
	char *value; /* trimmed */
};

struct http_resp {
	long status; /* HTTP status of the final attempt; 0 if none */
	char *body;  /* malloc'd and NUL-terminated (never NULL after a
	                response), or req->buf when given (NUL-terminated
	                only if there was room) */
	size_t body_len;
	struct http_header *headers; /* headers of the final attempt */
	size_t n_headers;
	int attempts;    /* attempts made (1 = no retry) */
	long waited_ms;  /* total backoff / Retry-After time slept */
	char error[256]; /* transport error text when http_do fails; never
	                    contains a header value or a query string */
	int body_owned;  /* internal: body was malloc'd by http_do */
};

struct http_stats {
	uint64_t requests; /* attempts sent */
	uint64_t retries;  /* attempts after a first one */
	uint64_t failures; /* http_do calls that returned < 0 */
	uint64_t bytes_in; /* response body bytes received */
	int64_t in_flight; /* attempts currently running */
};

/*
 * http_new - create a client. Returns 0, -ENOMEM, or -EINVAL if ca_file is
 * unreadable (the reason is logged). The client is safe to use from any
 * number of threads at once. Free with http_free() after all users stopped.
 */
int http_new(struct http **out, const struct http_opts *opts);
void http_free(struct http *h);

/*
 * http_do - perform `req` with retries. Returns 0 when an HTTP response was
 * received (whatever its status: check resp->status), or -errno when none
 * was: -ETIMEDOUT (deadline, low-speed or connect timeout), -ECONNREFUSED
 * (refused: a reset in reply to the connect), -ENETUNREACH (no route),
 * -EHOSTUNREACH (the name does not resolve, or the host does not answer on
 * its link), -EPROTO (TLS/protocol/oversized body), -EFBIG (body over its
 * cap), -ECONNRESET, -EINVAL (URL refused: http:// to a non-loopback host,
 * bad scheme), -EIO (another libcurl failure, e.g. an option it refused:
 * resp->error names it), -ECANCELED (the cancel hook said stop: see
 * http_set_cancel), -ENOMEM. `resp` is always initialised; release it
 * with http_resp_release() in every case. Thread-safe.
 */
int http_do(struct http *h, const struct http_req *req, struct http_resp *resp);

/*
 * http_set_cancel - install `fn` (NULL: none), asked before every attempt,
 * about once a second during a transfer, and every 100 ms of a retry's wait:
 * when it returns non-zero, the request ends at once with -ECANCELED and is
 * not retried. fs/ installs "the mount is going away", so an unmount or a
 * SIGTERM never waits for a slow transfer to finish. `fn` must be cheap and
 * callable from any thread. Process-wide; any thread.
 */
void http_set_cancel(int (*fn)(void));

/*
 * http_pause_ms - sleep `ms` milliseconds in slices, 0, or -ECANCELED as soon
 * as the cancel hook says stop. For the waits of callers (an operation's poll
 * interval) that must end with the mount. Any thread.
 */
int http_pause_ms(long ms);

/* http_resp_release - free what http_do() allocated in `resp` (not req->buf). */
void http_resp_release(struct http_resp *resp);

/* http_resp_header - value of the first header called `name` (case-insensitive), or NULL. */
const char *http_resp_header(const struct http_resp *resp, const char *name);

/*
 * http_status_errno - the one mapping of an HTTP status to a positive errno:
 * 2xx 0; 400/422 EINVAL; 401/403 EACCES; 404/410 ENOENT; 409/412 ESTALE;
 * 408/504 ETIMEDOUT; 413 EFBIG; 416 ERANGE; 429/503 EAGAIN; other 5xx EIO.
 */
int http_status_errno(long status);

/* http_curl_errno - the one mapping of a CURLcode (as int) to a positive errno. */
int http_curl_errno(int curlcode);

/*
 * http_url_check - 0 if `url` may be used: https://, or http:// to 127.0.0.0/8,
 * ::1, localhost or the instance metadata address 169.254.169.254. Else -EINVAL.
 */
int http_url_check(const char *url);

/*
 * http_retry_delay_ms - the wait before retry number `attempt` (1-based),
 * given the Retry-After / x-ms-retry-after-ms values of the last reply (NULL
 * when absent): the server's value when present (capped at max_ms), else
 * exponential backoff base*2^(attempt-1) with full jitter, capped at max_ms.
 * Exposed for unit tests.
 */
long http_retry_delay_ms(int attempt, const char *retry_after, const char *retry_after_ms,
                         long base_ms, long max_ms);

/* http_status_retryable - 1 for 408, 429, 500, 502, 503, 504. */
int http_status_retryable(long status);

/* http_get_stats - a snapshot of the counters. */
void http_get_stats(struct http *h, struct http_stats *out);

/*
 * http_urlencode - percent-encode `s` (RFC 3986 unreserved kept; '/' kept
 * when keep_slash). Returns a malloc'd string or NULL on ENOMEM.
 */
char *http_urlencode(const char *s, int keep_slash);

/*
 * Error text: a thread-safe, secret-free description of why a request failed,
 * for .mgdcfs/errors and the log. Every net/ client fills one on failure.
 */
struct net_error {
	int err;       /* positive errno */
	long status;   /* HTTP status or 0 */
	char code[64]; /* service error code, e.g. "AuthorizationFailure", "AADSTS7000215" */
	char msg[512]; /* service message (escaped), or transport error text */
};

/*
 * A service's error-body parser, owned by that service's client: Entra's in
 * net/auth.h (auth_error_body), ARM's and Graph's in net/rest.h
 * (rest_error_body), Blob's in net/blob.h (blob_error_body). It fills e->code
 * and e->msg (with net_error_code/net_error_msg) from `body`, which is not
 * NUL-terminated and is cut to its first 64 KiB, and returns 1 if it found
 * either, else 0. http.c knows only HTTP.
 */
typedef int (*net_error_body_fn)(struct net_error *e, const char *body, size_t len);

/*
 * net_error_set - fill `e` (may be NULL) from a response or a transport
 * failure: rc < 0 is a transport error; else resp's status, the error body
 * as `parse` reads it (NULL: the body is not read) and, for Blob's bodiless
 * HEAD replies, the x-ms-error-code header. A message no parser found is
 * "HTTP status N". Returns -e->err (a negative errno) for convenient
 * `return net_error_set(...)`. Any thread.
 */
int net_error_set(struct net_error *e, int rc, const struct http_resp *resp,
                  net_error_body_fn parse);

/* net_error_code - set e->code to `len` bytes of `s`, escaped, trailing blanks dropped. */
void net_error_code(struct net_error *e, const char *s, size_t len);

/*
 * net_error_msg - set e->msg to the first line of `len` bytes of `s`,
 * escaped: services append request and trace ids on later lines, which
 * identify nothing for a user and differ on every call.
 */
void net_error_msg(struct net_error *e, const char *s, size_t len);

#endif
