/*
 * http.c - the one HTTP client of mgdcfs: libcurl easy handles with their
 * own connections, verified TLS, bounded bodies and a retry loop.
 *
 * Key decision: easy handles live in a small mutex-protected LIFO pool and
 * each is used by one thread at a time (taken for one http_do, then
 * returned). A handle keeps its own live connections and TLS session across
 * curl_easy_reset, so the handle returned last, with a hot connection to the
 * storage account, is the one the next caller takes. Each origin (scheme,
 * host, port) has a pool of its own, so a handle holds one connection: idle
 * connections, each with its TLS state and parsed CA store, number no more
 * than the requests that ran at once to that origin. Only the DNS cache is
 * shared through a CURLSH: libcurl does not support sharing connections
 * between concurrent threads, and in 7.88 a shared TLS session is a data
 * race (one thread frees the SSL_SESSION's certificate stack while another
 * duplicates it to resume; TSan caught it in tests/tsan).
 *
 * Every attempt is bounded by the overall deadline of its http_do: the
 * per-attempt timeout is clipped to what is left, and a wait that would end
 * after the deadline is not started.
 *
 * The extra CA file is added to, not substituted for, the system store:
 * libcurl's CAINFO replaces the default bundle, so http_new() builds one
 * combined PEM blob (system bundle + ca_file) and hands it to every handle
 * with CURLOPT_CAINFO_BLOB.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "net/http.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/clock.h"
#include "base/log.h"

#ifndef MGDCFS_VERSION
#define MGDCFS_VERSION "0"
#endif

#define HTTP_SYSTEM_CA      "/etc/ssl/certs/ca-certificates.crt"
#define HTTP_CA_FILE_MAX    (4u << 20)   /* one PEM bundle file */
#define HTTP_ORIGINS        8            /* origins with a pool of their own */
#define HTTP_ORIGIN_MAX     256          /* "https://host:port" */
#define HTTP_POOL_MAX       16           /* idle easy handles kept per origin */
#define HTTP_HDR_MAX_COUNT  200          /* response headers kept per attempt */
#define HTTP_HDR_MAX_BYTES  (256u << 10) /* total header bytes per attempt */
#define HTTP_ERR_BODY_MAX   (64u << 10)  /* error body bytes net_error_set looks at */
#define HTTP_MAX_HEADERS_IN 64           /* request headers a caller may pass */

struct http {
	struct http_opts o;
	char *ca_file;    /* copy of o.ca_file */
	char *user_agent; /* copy or default */
	char *ca_blob;    /* system bundle + ca_file, or NULL: curl's default store */
	size_t ca_blob_len;
	CURLSH *share;
	pthread_mutex_t share_lock[CURL_LOCK_DATA_LAST];
	pthread_mutex_t pool_lock;
	struct http_pool {
		char origin[HTTP_ORIGIN_MAX];
		CURL *idle[HTTP_POOL_MAX];
		int n;
	} pools[HTTP_ORIGINS]; /* protected by pool_lock */
	int n_pools;           /* protected by pool_lock */
	atomic_uint_fast64_t requests, retries, failures, bytes_in;
	atomic_int_fast64_t in_flight;
};

/* State of one attempt, seen by the write and header callbacks. */
struct http_xfer {
	struct http_resp *resp;
	char *buf; /* malloc'd body, or the caller's buffer */
	size_t len, cap;
	size_t max;       /* cap on the body */
	int caller_buf;   /* buf is req->buf (a 2xx reply to a request with a buffer) */
	char *user_buf;   /* req->buf */
	size_t user_cap;  /* req->buf_cap */
	size_t owned_max; /* cap on a malloc'd body */
	int is_head;      /* HEAD: Content-Length describes no body */
	long hdr_status;  /* status of the header block being read */
	size_t hdr_bytes;
	int abort_err; /* positive errno a callback aborted with */
};

static pthread_once_t http_global_once = PTHREAD_ONCE_INIT;
static CURLcode http_global_rc;

static void http_global_init(void)
{
	http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int (*http_cancel_fn)(void); /* atomic: set while threads run */

void http_set_cancel(int (*fn)(void))
{
	__atomic_store_n(&http_cancel_fn, fn, __ATOMIC_RELEASE);
}

static int http_cancelled(void)
{
	int (*fn)(void) = __atomic_load_n(&http_cancel_fn, __ATOMIC_ACQUIRE);

	return fn && fn();
}

int http_pause_ms(long ms)
{
	while (ms > 0) {
		long step = ms < 100 ? ms : 100;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = step * 1000000L};

		if (http_cancelled())
			return -ECANCELED;
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		ms -= step;
	}
	return http_cancelled() ? -ECANCELED : 0;
}

/* libcurl's progress callback: non-zero aborts the transfer. */
static int http_xferinfo_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                            curl_off_t ulnow)
{
	(void)ud, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return http_cancelled();
}

/* A per-thread xorshift generator seeded from the kernel: jitter needs no crypto. */
static uint64_t http_rand(void)
{
	static _Thread_local uint64_t s;

	if (s == 0) {
		if (getrandom(&s, sizeof(s), 0) != sizeof(s))
			s = (uint64_t)clock_ms() ^ (uint64_t)(uintptr_t)&s;
		s |= 1;
	}
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s;
}

/* ---------------------------------------------------------------- policy */

int http_status_errno(long status)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 400:
	case 422:
		return EINVAL;
	case 401:
	case 403:
		return EACCES;
	case 404:
	case 410:
		return ENOENT;
	case 409:
	case 412:
		return ESTALE;
	case 408:
	case 504:
		return ETIMEDOUT;
	case 413:
		return EFBIG;
	case 416:
		return ERANGE;
	case 429:
	case 503:
		return EAGAIN;
	default:
		return EIO;
	}
}

int http_curl_errno(int curlcode)
{
	switch ((CURLcode)curlcode) {
	case CURLE_OK:
		return 0;
	case CURLE_OUT_OF_MEMORY:
		return ENOMEM;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return EINVAL;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		return ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return ETIMEDOUT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return ECONNRESET;
	case CURLE_FILESIZE_EXCEEDED:
		return EFBIG;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_BAD_CONTENT_ENCODING:
		return EPROTO;
	default:
		return EIO;
	}
}

int http_status_retryable(long status)
{
	return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
	       status == 504;
}

/* Statuses that prove the server did not act, so even a POST may be resent. */
static int http_status_safe_for_any(long status)
{
	return status == 408 || status == 429 || status == 503;
}

/*
 * Transport failures worth another attempt. A failed name lookup and a
 * connection that was never made (refused, no route) never reached a
 * server; the others may have reached one, so they are retried only for
 * idempotent requests.
 */
static int http_curl_retryable(CURLcode cc, int idempotent)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return 1;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
		return idempotent;
	default:
		return 0;
	}
}

/* Parse a non-negative decimal number of seconds ("2", "2.128") into ms; -1 if invalid. */
static long http_parse_seconds_ms(const char *s)
{
	char *end;
	double v;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	while (*end == ' ' || *end == '\t')
		end++;
	if (errno || *end != '\0' || !(v >= 0) || v > 1e9)
		return -1;
	return (long)ceil(v * 1000.0);
}

long http_retry_delay_ms(int attempt, const char *retry_after, const char *retry_after_ms,
                         long base_ms, long max_ms)
{
	long server = -1, exp_ms;
	int i;

	if (retry_after_ms) {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(retry_after_ms, &end, 10);
		if (!errno && end != retry_after_ms && *end == '\0' && v >= 0)
			server = v > LONG_MAX / 2 ? LONG_MAX / 2 : (long)v;
	}
	if (server < 0 && retry_after) {
		server = http_parse_seconds_ms(retry_after);
		if (server < 0) {
			time_t when = curl_getdate(retry_after, NULL);

			if (when != (time_t)-1) {
				time_t now = time(NULL);

				server = when > now ? (long)(when - now) * 1000 : 0;
			}
		}
	}
	if (server >= 0)
		return server < max_ms ? server : max_ms;
	exp_ms = base_ms > 0 ? base_ms : 1;
	for (i = 1; i < attempt && exp_ms < max_ms; i++)
		exp_ms *= 2;
	if (exp_ms > max_ms)
		exp_ms = max_ms;
	/* Full jitter: uniform in [0, exp_ms], so synchronized clients spread out. */
	return (long)(http_rand() % (uint64_t)(exp_ms + 1));
}

/* Host part of an http(s) URL into `host` ("[::1]" brackets removed). -EINVAL if malformed. */
static int http_url_host(const char *url, char *host, size_t n)
{
	const char *p = strstr(url, "://"), *end;
	size_t len;

	if (!p)
		return -EINVAL;
	p += 3;
	end = p + strcspn(p, "/?#");
	/* Skip userinfo. */
	for (const char *q = p; q < end; q++)
		if (*q == '@')
			p = q + 1;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (!rb)
			return -EINVAL;
		p++;
		len = (size_t)(rb - p);
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));

		len = (size_t)((colon ? colon : end) - p);
	}
	if (len == 0 || len >= n)
		return -EINVAL;
	memcpy(host, p, len);
	host[len] = '\0';
	return 0;
}

int http_url_check(const char *url)
{
	char host[256];
	unsigned a, b, c, d;
	char tail;

	if (!url)
		return -EINVAL;
	if (strncasecmp(url, "https://", 8) == 0)
		return http_url_host(url, host, sizeof(host));
	if (strncasecmp(url, "http://", 7) != 0)
		return -EINVAL;
	if (http_url_host(url, host, sizeof(host)) < 0)
		return -EINVAL;
	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
		return 0;
	if (sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 &&
	    c < 256 && d < 256)
		return 0;
	/* The instance metadata service (managed identity): link-local, never routed. */
	if (strcmp(host, "169.254.169.254") == 0)
		return 0;
	return -EINVAL;
}

char *http_urlencode(const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s), o = 0;
	char *out;

	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(3 * n + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~' ||
		    (keep_slash && ch == '/')) {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
	return out;
}

/* ------------------------------------------------------------ client setup */

static void http_share_lock(CURL *c, curl_lock_data data, curl_lock_access acc, void *p)
{
	struct http *h = p;

	(void)c;
	(void)acc;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&h->share_lock[data]);
}

static void http_share_unlock(CURL *c, curl_lock_data data, void *p)
{
	struct http *h = p;

	(void)c;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&h->share_lock[data]);
}

/* Append the file at `path` (at most HTTP_CA_FILE_MAX bytes) to *buf. Returns 0 or -errno. */
static int http_append_file(const char *path, char **buf, size_t *len)
{
	struct stat st;
	char *nb;
	int fd, res = -EINVAL;
	ssize_t got = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)HTTP_CA_FILE_MAX)
		goto out;
	nb = realloc(*buf, *len + (size_t)st.st_size + 2);
	if (!nb) {
		res = -ENOMEM;
		goto out;
	}
	*buf = nb;
	while ((size_t)got < (size_t)st.st_size) {
		ssize_t r = read(fd, nb + *len + got, (size_t)st.st_size - (size_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			res = r < 0 ? -errno : -EIO;
			goto out;
		}
		got += r;
	}
	*len += (size_t)got;
	nb[(*len)++] = '\n';
	nb[*len] = '\0';
	res = 0;
out:
	close(fd);
	return res;
}

static int http_build_ca_blob(struct http *h)
{
	const char *sys;
	size_t start;
	int rc;

	/* SSL_CERT_FILE is OpenSSL's own override of the system bundle's path. */
	sys = secure_getenv("SSL_CERT_FILE");
	rc = http_append_file(sys && *sys ? sys : HTTP_SYSTEM_CA, &h->ca_blob, &h->ca_blob_len);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		log_info("http: system CA bundle not readable (%s); using only the extra CA file",
		         strerror(-rc));
	start = h->ca_blob_len;
	rc = http_append_file(h->ca_file, &h->ca_blob, &h->ca_blob_len);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0 || !strstr(h->ca_blob + start, "-----BEGIN CERTIFICATE-----")) {
		char esc[256];

		log_err("http: CA file %s is not a readable PEM certificate bundle (%s)",
		        log_escape(esc, sizeof(esc), h->ca_file, (size_t)-1),
		        rc < 0 ? strerror(-rc) : "no certificate in it");
		return -EINVAL;
	}
	return 0;
}

int http_new(struct http **out, const struct http_opts *opts)
{
	struct http *h;
	int res = -ENOMEM;
	char ua[64];

	*out = NULL;
	pthread_once(&http_global_once, http_global_init);
	if (http_global_rc != CURLE_OK)
		return -ENOMEM;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&h->share_lock[i], NULL);
	pthread_mutex_init(&h->pool_lock, NULL);
	if (opts)
		h->o = *opts;
	if (h->o.connect_timeout_ms <= 0)
		h->o.connect_timeout_ms = 5000;
	if (h->o.low_speed_time_s <= 0)
		h->o.low_speed_time_s = 15;
	if (h->o.attempt_timeout_ms < 0)
		h->o.attempt_timeout_ms = 0;
	if (h->o.deadline_ms <= 0)
		h->o.deadline_ms = 60000;
	if (h->o.dns_cache_s <= 0)
		h->o.dns_cache_s = 60;
	if (h->o.max_retries < 0)
		h->o.max_retries = 4;
	if (h->o.backoff_base_ms <= 0)
		h->o.backoff_base_ms = 200;
	if (h->o.backoff_max_ms <= 0)
		h->o.backoff_max_ms = 10000;
	if (h->o.max_body == 0)
		h->o.max_body = 16u << 20;
	snprintf(ua, sizeof(ua), "mgdcfs/%s", MGDCFS_VERSION);
	h->user_agent = strdup(h->o.user_agent ? h->o.user_agent : ua);
	if (!h->user_agent)
		goto out;
	if (h->o.ca_file) {
		h->ca_file = strdup(h->o.ca_file);
		if (!h->ca_file)
			goto out;
		res = http_build_ca_blob(h);
		if (res < 0)
			goto out;
	}
	h->o.ca_file = h->ca_file;
	h->o.user_agent = h->user_agent;
	res = -ENOMEM;
	h->share = curl_share_init();
	if (!h->share)
		goto out;
	if (curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, http_share_lock) != CURLSHE_OK ||
	    curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, http_share_unlock) != CURLSHE_OK ||
	    curl_share_setopt(h->share, CURLSHOPT_USERDATA, h) != CURLSHE_OK ||
	    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK) {
		log_err("http: libcurl refused to share its DNS cache between handles");
		goto out;
	}
	*out = h;
	res = 0;
out:
	if (res < 0)
		http_free(h);
	return res;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	/* Handles first: they hold references into the share. */
	for (int i = 0; i < h->n_pools; i++)
		for (int j = 0; j < h->pools[i].n; j++)
			curl_easy_cleanup(h->pools[i].idle[j]);
	if (h->share)
		curl_share_cleanup(h->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&h->share_lock[i]);
	pthread_mutex_destroy(&h->pool_lock);
	free(h->ca_blob);
	free(h->ca_file);
	free(h->user_agent);
	free(h);
}

/* The length of url's origin ("https://host:port"), or 0 if it has none that fits. */
static size_t http_origin_len(const char *url)
{
	const char *p = strstr(url, "://");
	size_t n;

	if (!p)
		return 0;
	n = (size_t)(p + 3 - url) + strcspn(p + 3, "/?#");
	return n < HTTP_ORIGIN_MAX ? n : 0;
}

/* The pool of url's origin, made if there is room (NULL if not). Call with pool_lock. */
static struct http_pool *http_pool_of(struct http *h, const char *url, int make)
{
	size_t n = http_origin_len(url);
	struct http_pool *p;

	if (n == 0)
		return NULL;
	for (int i = 0; i < h->n_pools; i++) {
		p = &h->pools[i];
		if (strncmp(p->origin, url, n) == 0 && p->origin[n] == '\0')
			return p;
	}
	if (!make || h->n_pools == HTTP_ORIGINS)
		return NULL;
	p = &h->pools[h->n_pools++];
	memcpy(p->origin, url, n);
	p->origin[n] = '\0';
	p->n = 0;
	return p;
}

static CURL *http_handle_take(struct http *h, const char *url)
{
	struct http_pool *p;
	CURL *c = NULL;

	pthread_mutex_lock(&h->pool_lock);
	p = http_pool_of(h, url, 0);
	if (p && p->n > 0)
		c = p->idle[--p->n];
	pthread_mutex_unlock(&h->pool_lock);
	if (c)
		curl_easy_reset(c);
	else
		c = curl_easy_init();
	return c;
}

/* Keep c for the next request to url's origin; beyond the pool's bound (or an origin
 * past the first HTTP_ORIGINS) it is closed. */
static void http_handle_give(struct http *h, const char *url, CURL *c)
{
	struct http_pool *p;

	pthread_mutex_lock(&h->pool_lock);
	p = http_pool_of(h, url, 1);
	if (p && p->n < HTTP_POOL_MAX) {
		p->idle[p->n++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&h->pool_lock);
	if (c)
		curl_easy_cleanup(c);
}

/* ------------------------------------------------------------- callbacks */

static void http_headers_clear(struct http_resp *resp)
{
	for (size_t i = 0; i < resp->n_headers; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	free(resp->headers);
	resp->headers = NULL;
	resp->n_headers = 0;
}

/*
 * Where the body of the reply now starting goes: a 2xx body into the
 * caller's buffer when there is one; any other body (an error text) into a
 * malloc'd buffer of its own, so a short chunk buffer never turns a 404 or a
 * 503 into -EPROTO and the error stays readable by net_error_set().
 */
static void http_xfer_target(struct http_xfer *x)
{
	int to_user = x->user_buf && x->hdr_status >= 200 && x->hdr_status < 300;

	if (!x->caller_buf)
		free(x->buf);
	x->caller_buf = to_user;
	x->buf = to_user ? x->user_buf : NULL;
	x->cap = to_user ? x->user_cap : 0;
	x->max = to_user ? x->user_cap : x->owned_max;
	x->len = 0;
}

static size_t http_header_cb(char *data, size_t size, size_t nmemb, void *p)
{
	struct http_xfer *x = p;
	struct http_resp *resp = x->resp;
	size_t n = size * nmemb, nlen, vlen;
	const char *colon, *v, *end = data + n;
	struct http_header *nh;

	x->hdr_bytes += n;
	if (x->hdr_bytes > HTTP_HDR_MAX_BYTES) {
		x->abort_err = EPROTO;
		return 0;
	}
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* A new header block (after 1xx): only the final one is kept. */
		const char *sp = memchr(data, ' ', n);

		http_headers_clear(resp);
		x->hdr_status = sp ? strtol(sp + 1, NULL, 10) : 0;
		http_xfer_target(x);
		return n;
	}
	while (end > data && (end[-1] == '\r' || end[-1] == '\n'))
		end--;
	colon = memchr(data, ':', (size_t)(end - data));
	if (!colon || colon == data)
		return n;
	if (resp->n_headers >= HTTP_HDR_MAX_COUNT) {
		x->abort_err = EPROTO;
		return 0;
	}
	nlen = (size_t)(colon - data);
	v = colon + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	vlen = (size_t)(end - v);
	nh = realloc(resp->headers, (resp->n_headers + 1) * sizeof(*nh));
	if (!nh) {
		x->abort_err = ENOMEM;
		return 0;
	}
	resp->headers = nh;
	nh = &resp->headers[resp->n_headers];
	nh->name = strndup(data, nlen);
	nh->value = strndup(v, vlen);
	if (!nh->name || !nh->value) {
		free(nh->name);
		free(nh->value);
		x->abort_err = ENOMEM;
		return 0;
	}
	resp->n_headers++;
	/* Refuse an announced oversize body before a byte of it is stored. */
	if (!x->is_head && x->hdr_status >= 200 && x->hdr_status != 204 && x->hdr_status != 304 &&
	    strcasecmp(nh->name, "Content-Length") == 0) {
		char *e;
		unsigned long long cl;

		errno = 0;
		cl = strtoull(nh->value, &e, 10);
		if (errno || e == nh->value || cl > x->max) {
			x->abort_err = x->caller_buf ? EPROTO : EFBIG;
			return 0;
		}
	}
	return n;
}

static size_t http_write_cb(char *data, size_t size, size_t nmemb, void *p)
{
	struct http_xfer *x = p;
	size_t n = size * nmemb;

	if (n > x->max - x->len) {
		x->abort_err = x->caller_buf ? EPROTO : EFBIG;
		return 0;
	}
	if (!x->caller_buf && x->len + n + 1 > x->cap) {
		size_t ncap = x->cap ? x->cap : 16384;
		char *nb;

		while (ncap < x->len + n + 1)
			ncap = ncap > SIZE_MAX / 2 ? SIZE_MAX : ncap * 2;
		if (ncap > x->max + 1)
			ncap = x->max + 1;
		nb = realloc(x->buf, ncap);
		if (!nb) {
			x->abort_err = ENOMEM;
			return 0;
		}
		x->buf = nb;
		x->cap = ncap;
	}
	memcpy(x->buf + x->len, data, n);
	x->len += n;
	return n;
}

/* -------------------------------------------------------------- requests */

/* "host/path" of a URL for log lines: scheme and query (SAS signatures!) removed. */
static char *http_url_for_log(const char *url, char *out, size_t n)
{
	const char *p = strstr(url, "://");

	p = p ? p + 3 : url;
	return log_escape(out, n, p, strcspn(p, "?#"));
}

/* Copy curl's error text into resp->error, cut at any '?' so no query string leaks. */
static void http_set_error(struct http_resp *resp, CURLcode cc, const char *ebuf, int abort_err)
{
	char tmp[200];
	const char *txt = ebuf[0] ? ebuf : curl_easy_strerror(cc);

	if (abort_err == EFBIG) {
		snprintf(resp->error, sizeof(resp->error), "response body larger than its cap");
		return;
	}
	if (abort_err == EPROTO) {
		snprintf(resp->error, sizeof(resp->error),
		         "response too large for the buffer or too many headers");
		return;
	}
	log_escape(tmp, sizeof(tmp), txt, strcspn(txt, "?"));
	if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE)
		snprintf(resp->error, sizeof(resp->error), "TLS certificate verify failed: %s",
		         tmp);
	else
		snprintf(resp->error, sizeof(resp->error), "%s", tmp);
}

/*
 * Set the options of one attempt on a fresh or reset handle. Returns a
 * CURLcode; on a failure *failed names the option libcurl refused (a pooled
 * handle in a state libcurl does not expect shows up here, never silently).
 */
static CURLcode http_setup(struct http *h, CURL *c, const struct http_req *req,
                           struct curl_slist *hdrs, struct http_xfer *x, char *ebuf,
                           long timeout_ms, const char **failed)
{
	const char *method = req->method ? req->method : "GET";
	CURLcode cc = CURLE_OK;

#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (cc == CURLE_OK && (cc = curl_easy_setopt(c, opt, val)) != CURLE_OK)            \
			*failed = #opt;                                                            \
	} while (0)
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_SHARE, h->share);
	SET(CURLOPT_DNS_CACHE_TIMEOUT, h->o.dns_cache_s);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, ebuf);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_CONNECTTIMEOUT_MS,
	    h->o.connect_timeout_ms < timeout_ms ? h->o.connect_timeout_ms : timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, timeout_ms);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, h->o.low_speed_time_s);
	SET(CURLOPT_USERAGENT, h->user_agent);
	/* Dataset chunks are MiBs: bigger reads mean fewer callbacks per chunk. */
	SET(CURLOPT_BUFFERSIZE, 128L * 1024);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_HTTPHEADER, hdrs);
	SET(CURLOPT_HEADERFUNCTION, http_header_cb);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_WRITEFUNCTION, http_write_cb);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_XFERINFOFUNCTION, http_xferinfo_cb);
	SET(CURLOPT_NOPROGRESS, 0L);
	if (h->ca_blob) {
		struct curl_blob blob = {h->ca_blob, h->ca_blob_len, CURL_BLOB_NOCOPY};

		SET(CURLOPT_CAINFO_BLOB, &blob);
		SET(CURLOPT_CAINFO, NULL);
		SET(CURLOPT_CAPATH, NULL);
	}
	/* libcurl silently resends a request whose reused connection died before the reply;
	 * for a request the server may act on twice (createRun, approve) that would be a
	 * second action, so such requests always get a fresh connection. */
	SET(CURLOPT_FRESH_CONNECT, req->idempotent ? 0L : 1L);
	if (strcmp(method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else if (req->body || strcmp(method, "GET") != 0) {
		if (req->body || strcmp(method, "DELETE") != 0) {
			/* Always a Content-Length, even 0: Azure answers 411 without one. */
			SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
			SET(CURLOPT_POSTFIELDS, req->body ? req->body : "");
		}
		if (strcmp(method, "POST") != 0)
			SET(CURLOPT_CUSTOMREQUEST, method);
	}
#undef SET
	return cc;
}

/*
 * Request headers: the caller's, plus "Expect:" (no 100-continue stall) and
 * an empty Content-Type unless the caller gave one, so libcurl adds no form
 * type the caller did not ask for (a Shared Key signer must see every header).
 */
static int http_build_headers(const struct http_req *req, struct curl_slist **out)
{
	struct curl_slist *l = NULL, *t;
	int has_ct = 0, n = 0, res = -EINVAL;

	*out = NULL;
	for (const char *const *p = req->headers; p && *p; p++) {
		if (++n > HTTP_MAX_HEADERS_IN)
			goto out;
		if (strncasecmp(*p, "Content-Type:", 13) == 0)
			has_ct = 1;
	}
	res = -ENOMEM;
	for (const char *const *p = req->headers; p && *p; p++) {
		t = curl_slist_append(l, *p);
		if (!t)
			goto out;
		l = t;
	}
	t = curl_slist_append(l, "Expect:");
	if (!t)
		goto out;
	l = t;
	if (!has_ct) {
		t = curl_slist_append(l, "Content-Type:");
		if (!t)
			goto out;
		l = t;
	}
	*out = l;
	l = NULL;
	res = 0;
out:
	curl_slist_free_all(l);
	return res;
}

/*
 * The errno of a connection that was never made. libcurl reports every such
 * failure as CURLE_COULDNT_CONNECT, but a refusal (RST), a dropped route and
 * an unreachable host are different faults to the user; the socket's own
 * errno tells them apart.
 */
static int http_connect_errno(CURL *c)
{
	long oe = 0;

	curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &oe);
	switch (oe) {
	case ENETUNREACH:
	case ENETDOWN:
		return ENETUNREACH;
	case EHOSTUNREACH:
	case EHOSTDOWN:
		return EHOSTUNREACH;
	case ETIMEDOUT:
		return ETIMEDOUT;
	default:
		return ECONNREFUSED;
	}
}

/*
 * One attempt. Returns 0 (a response arrived: resp->status) or -errno; *ccp gets the CURLcode.
 *
 * Only a handle whose transfer completed goes back to the pool. One that
 * failed anywhere (a lookup, a connect, TLS, mid-body) is closed: libcurl
 * 7.88 leaves such a handle in a state in which curl_easy_reset() does not
 * undo everything (after a failed name lookup it refuses CURLOPT_BUFFERSIZE
 * for good), and its connection is suspect anyway.
 */
static int http_attempt(struct http *h, const struct http_req *req, struct curl_slist *hdrs,
                        struct http_resp *resp, long timeout_ms, CURLcode *ccp)
{
	struct http_xfer x = {.resp = resp};
	char ebuf[CURL_ERROR_SIZE] = "", where[256];
	const char *failed = NULL;
	CURL *c;
	CURLcode cc;
	int res;

	http_resp_release(resp);
	resp->status = 0;
	x.user_buf = req->buf;
	x.user_cap = req->buf_cap;
	x.owned_max = req->max_body ? req->max_body : h->o.max_body;
	if (req->buf && x.owned_max > HTTP_ERR_BODY_MAX)
		x.owned_max = HTTP_ERR_BODY_MAX;
	x.hdr_status = 200;
	http_xfer_target(&x);
	x.is_head = req->method && strcmp(req->method, "HEAD") == 0;
	c = http_handle_take(h, req->url);
	if (!c) {
		*ccp = CURLE_OUT_OF_MEMORY;
		return -ENOMEM;
	}
	cc = http_setup(h, c, req, hdrs, &x, ebuf, timeout_ms, &failed);
	if (cc != CURLE_OK) {
		*ccp = cc;
		res = -http_curl_errno(cc);
		snprintf(resp->error, sizeof(resp->error), "curl_easy_setopt(%s): %s", failed,
		         curl_easy_strerror(cc));
		log_err("http: %s %s: %s", req->method ? req->method : "GET",
		        http_url_for_log(req->url, where, sizeof(where)), resp->error);
		goto out;
	}
	atomic_fetch_add(&h->requests, 1);
	atomic_fetch_add(&h->in_flight, 1);
	cc = curl_easy_perform(c);
	atomic_fetch_sub(&h->in_flight, 1);
	atomic_fetch_add(&h->bytes_in, x.len);
	*ccp = cc;
	if (cc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
		if (!x.caller_buf && !x.buf)
			x.buf = malloc(1);
		if (!x.buf) {
			res = -ENOMEM;
			goto out;
		}
		if (!x.caller_buf || x.len < x.cap)
			x.buf[x.len] = '\0';
		resp->body = x.buf;
		resp->body_len = x.len;
		resp->body_owned = !x.caller_buf;
		x.buf = NULL;
		resp->error[0] = '\0';
		res = 0;
	} else if (x.abort_err) {
		res = -x.abort_err;
		http_set_error(resp, cc, ebuf, x.abort_err);
	} else if (cc == CURLE_ABORTED_BY_CALLBACK) {
		res = -ECANCELED;
		snprintf(resp->error, sizeof(resp->error), "cancelled: the mount is going away");
	} else {
		res = cc == CURLE_COULDNT_CONNECT ? -http_connect_errno(c) : -http_curl_errno(cc);
		http_set_error(resp, cc, ebuf, 0);
	}
out:
	if (!x.caller_buf)
		free(x.buf);
	if (cc == CURLE_OK)
		http_handle_give(h, req->url, c);
	else
		curl_easy_cleanup(c);
	return res;
}

int http_do(struct http *h, const struct http_req *req, struct http_resp *resp)
{
	struct curl_slist *hdrs = NULL;
	long start = clock_ms(), deadline = start + h->o.deadline_ms;
	int res, max_retries = req->no_retry ? 0 : h->o.max_retries;
	char where[256];

	memset(resp, 0, sizeof(*resp));
	res = http_url_check(req->url);
	if (res < 0) {
		snprintf(resp->error, sizeof(resp->error), "URL refused: not https:// or loopback");
		goto out;
	}
	res = http_build_headers(req, &hdrs);
	if (res < 0) {
		snprintf(resp->error, sizeof(resp->error), "bad request headers");
		goto out;
	}
	for (;;) {
		long left = deadline - clock_ms(), wait;
		long tmo = h->o.attempt_timeout_ms > 0 && h->o.attempt_timeout_ms < left
		               ? h->o.attempt_timeout_ms
		               : left;
		CURLcode cc;
		int again;
		const char *why, *ra, *ra_ms;
		char whybuf[32];

		if (left <= 0) {
			res = -ETIMEDOUT;
			snprintf(resp->error, sizeof(resp->error), "deadline of %ld ms exceeded",
			         h->o.deadline_ms);
			break;
		}
		if (http_cancelled()) {
			res = -ECANCELED;
			snprintf(resp->error, sizeof(resp->error),
			         "cancelled: the mount is going away");
			break;
		}
		resp->attempts++;
		if (resp->attempts > 1)
			atomic_fetch_add(&h->retries, 1);
		res = http_attempt(h, req, hdrs, resp, tmo, &cc);
		if (res == 0) {
			again = http_status_retryable(resp->status) &&
			        (req->idempotent || http_status_safe_for_any(resp->status));
			snprintf(whybuf, sizeof(whybuf), "HTTP %ld", resp->status);
			why = whybuf;
		} else {
			again = http_curl_retryable(cc, req->idempotent) && res != -EFBIG &&
			        res != -EPROTO;
			why = resp->error;
		}
		if (!again || resp->attempts > max_retries)
			break;
		ra = res == 0 ? http_resp_header(resp, "Retry-After") : NULL;
		ra_ms = res == 0 ? http_resp_header(resp, "x-ms-retry-after-ms") : NULL;
		if (res == 0 && !ra_ms)
			ra_ms = http_resp_header(resp, "retry-after-ms");
		wait = http_retry_delay_ms(resp->attempts, ra, ra_ms, h->o.backoff_base_ms,
		                           h->o.backoff_max_ms);
		if (clock_ms() + wait >= deadline)
			break;
		log_info("http: %s %s: %s; retry %d/%d in %ld ms",
		         req->method ? req->method : "GET",
		         http_url_for_log(req->url, where, sizeof(where)), why, resp->attempts,
		         max_retries, wait);
		if (http_pause_ms(wait) < 0) {
			res = -ECANCELED;
			snprintf(resp->error, sizeof(resp->error),
			         "cancelled: the mount is going away");
			break;
		}
		resp->waited_ms += wait;
	}
out:
	curl_slist_free_all(hdrs);
	if (res < 0)
		atomic_fetch_add(&h->failures, 1);
	if (log_level_cur >= LOG_DEBUG && req->url)
		log_debug("http: %s %s -> %ld (%d attempt(s), %zu bytes, %ld ms)%s%s",
		          req->method ? req->method : "GET",
		          http_url_for_log(req->url, where, sizeof(where)), resp->status,
		          resp->attempts, resp->body_len, (long)(clock_ms() - start),
		          res < 0 ? ": " : "", res < 0 ? resp->error : "");
	return res;
}

void http_resp_release(struct http_resp *resp)
{
	if (!resp)
		return;
	http_headers_clear(resp);
	if (resp->body_owned)
		free(resp->body);
	resp->body_owned = 0;
	resp->body = NULL;
	resp->body_len = 0;
}

const char *http_resp_header(const struct http_resp *resp, const char *name)
{
	for (size_t i = 0; resp && i < resp->n_headers; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	return NULL;
}

void http_get_stats(struct http *h, struct http_stats *out)
{
	out->requests = atomic_load(&h->requests);
	out->retries = atomic_load(&h->retries);
	out->failures = atomic_load(&h->failures);
	out->bytes_in = atomic_load(&h->bytes_in);
	out->in_flight = atomic_load(&h->in_flight);
}

/* ----------------------------------------------------------- error text */

/* Copy at most `len` bytes of `s` into `dst` escaped, dropping trailing blanks. */
static void net_error_copy(char *dst, size_t n, const char *s, size_t len)
{
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	log_escape(dst, n, s, len);
}

void net_error_code(struct net_error *e, const char *s, size_t len)
{
	net_error_copy(e->code, sizeof(e->code), s, len);
}

void net_error_msg(struct net_error *e, const char *s, size_t len)
{
	/* Bounded by len: a body's field is not NUL-terminated where it ends
	 * (found by tests/fuzz/fuzz_token). */
	const char *cr = memchr(s, '\r', len), *lf = memchr(s, '\n', len);

	if (cr)
		len = (size_t)(cr - s);
	if (lf && (size_t)(lf - s) < len)
		len = (size_t)(lf - s);
	net_error_copy(e->msg, sizeof(e->msg), s, len);
}

int net_error_set(struct net_error *e, int rc, const struct http_resp *resp,
                  net_error_body_fn parse)
{
	struct net_error tmp;
	const char *hc;

	if (!e)
		e = &tmp;
	memset(e, 0, sizeof(*e));
	if (rc < 0) {
		e->err = -rc;
		e->status = resp ? resp->status : 0;
		if (resp && resp->error[0])
			net_error_copy(e->msg, sizeof(e->msg), resp->error, strlen(resp->error));
		else
			snprintf(e->msg, sizeof(e->msg), "%s", strerror(-rc));
		return -e->err;
	}
	if (!resp)
		return 0;
	e->status = resp->status;
	e->err = http_status_errno(resp->status);
	if (parse && resp->body && resp->body_len)
		parse(e, resp->body,
		      resp->body_len > HTTP_ERR_BODY_MAX ? HTTP_ERR_BODY_MAX : resp->body_len);
	/* Blob HEAD replies have no body; their code travels in a header. */
	hc = http_resp_header(resp, "x-ms-error-code");
	if (!e->code[0] && hc)
		net_error_code(e, hc, strlen(hc));
	if (!e->msg[0] && e->err)
		snprintf(e->msg, sizeof(e->msg), "HTTP status %ld", resp->status);
	return -e->err;
}
