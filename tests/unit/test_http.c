/*
 * test_http.c - net/http: retry policy, errno mappings, URL checks, error
 * text, and live requests against tests/unit/http_server.py (retries with
 * Retry-After, dropped connections, body caps, stalls, refusals, TLS with a
 * throwaway CA made by the openssl CLI).
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>

#include "base/log.h"
#include "net/auth.h"
#include "net/blob.h"
#include "net/http.h"
#include "net/rest.h"
#include "tap.h"
#include "testsrv.h"

static struct testsrv srv;
static char base[128];

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_tables(void)
{
	static const long retry[] = {408, 429, 500, 502, 503, 504};
	static const long no_retry[] = {200, 201, 204, 304, 400, 401, 403,
	                                404, 409, 412, 416, 501, 505};
	static const struct {
		long status;
		int err;
	} st[] = {{200, 0},      {201, 0},      {204, 0},         {206, 0},         {400, EINVAL},
	          {422, EINVAL}, {401, EACCES}, {403, EACCES},    {404, ENOENT},    {410, ENOENT},
	          {409, ESTALE}, {412, ESTALE}, {408, ETIMEDOUT}, {504, ETIMEDOUT}, {413, EFBIG},
	          {416, ERANGE}, {429, EAGAIN}, {503, EAGAIN},    {500, EIO},       {502, EIO},
	          {501, EIO},    {302, EIO}};
	static const struct {
		int cc, err;
	} cc[] = {{CURLE_OK, 0},
	          {CURLE_COULDNT_CONNECT, ECONNREFUSED},
	          {CURLE_COULDNT_RESOLVE_HOST, EHOSTUNREACH},
	          {CURLE_OPERATION_TIMEDOUT, ETIMEDOUT},
	          {CURLE_PEER_FAILED_VERIFICATION, EPROTO},
	          {CURLE_SSL_CONNECT_ERROR, EPROTO},
	          {CURLE_RECV_ERROR, ECONNRESET},
	          {CURLE_SEND_ERROR, ECONNRESET},
	          {CURLE_GOT_NOTHING, ECONNRESET},
	          {CURLE_PARTIAL_FILE, ECONNRESET},
	          {CURLE_FILESIZE_EXCEEDED, EFBIG},
	          {CURLE_OUT_OF_MEMORY, ENOMEM},
	          {CURLE_URL_MALFORMAT, EINVAL},
	          {CURLE_UNSUPPORTED_PROTOCOL, EINVAL},
	          {CURLE_WEIRD_SERVER_REPLY, EPROTO},
	          {CURLE_ABORTED_BY_CALLBACK, EIO}};

	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
		TAP_EQ_INT(http_status_retryable(retry[i]), 1, "status %ld is retried", retry[i]);
	for (size_t i = 0; i < sizeof(no_retry) / sizeof(no_retry[0]); i++)
		TAP_EQ_INT(http_status_retryable(no_retry[i]), 0, "status %ld is not retried",
		           no_retry[i]);
	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++)
		TAP_EQ_INT(http_status_errno(st[i].status), st[i].err, "status %ld -> errno %d",
		           st[i].status, st[i].err);
	for (size_t i = 0; i < sizeof(cc) / sizeof(cc[0]); i++)
		TAP_EQ_INT(http_curl_errno(cc[i].cc), cc[i].err, "CURLcode %d -> errno %d",
		           cc[i].cc, cc[i].err);
}

static void test_url_check(void)
{
	static const struct {
		const char *url;
		int ok;
	} t[] = {
	    {"https://login.microsoftonline.com/t/oauth2/v2.0/token", 1},
	    {"HTTPS://example.org", 1},
	    {"http://127.0.0.1:10000/devstoreaccount1", 1},
	    {"http://127.1.2.3/x", 1},
	    {"http://localhost:8080/", 1},
	    {"http://LOCALHOST/", 1},
	    {"http://[::1]:99/x?y", 1},
	    {"http://user@127.0.0.1/", 1},
	    {"http://example.org/", 0},
	    {"http://127.0.0.1.example.org/", 0},
	    {"http://localhost.example.org/", 0},
	    {"http://128.0.0.1/", 0},
	    {"http://evil.com@example.org/", 0},
	    {"http://[::2]/", 0},
	    {"ftp://127.0.0.1/", 0},
	    {"file:///etc/passwd", 0},
	    {"127.0.0.1/x", 0},
	    {"https://", 0},
	    {"", 0},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		TAP_EQ_INT(http_url_check(t[i].url), t[i].ok ? 0 : -EINVAL, "url check '%s'",
		           t[i].url);
	TAP_EQ_INT(http_url_check(NULL), -EINVAL, "url check NULL");
}

static void http_date_in(long secs, char *out, size_t n)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mons[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = time(NULL) + secs;
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
	         mons[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void test_retry_delay(void)
{
	char date[64];
	long d;

	TAP_EQ_INT(http_retry_delay_ms(1, "1", NULL, 200, 10000), 1000, "Retry-After: 1");
	TAP_EQ_INT(http_retry_delay_ms(3, "2.128", NULL, 200, 10000), 2128,
	           "fractional Retry-After: 2.128 (Graph)");
	TAP_EQ_INT(http_retry_delay_ms(1, "0", NULL, 200, 10000), 0, "Retry-After: 0");
	TAP_EQ_INT(http_retry_delay_ms(1, "120", NULL, 200, 10000), 10000,
	           "Retry-After capped at backoff_max_ms");
	TAP_EQ_INT(http_retry_delay_ms(1, "9", "1500", 200, 10000), 1500,
	           "x-ms-retry-after-ms preferred over Retry-After");
	TAP_EQ_INT(http_retry_delay_ms(1, NULL, "99999", 200, 5000), 5000,
	           "x-ms-retry-after-ms capped");
	TAP_EQ_INT(http_retry_delay_ms(1, "3", "abc", 200, 10000), 3000,
	           "bad x-ms-retry-after-ms falls back to Retry-After");
	http_date_in(4, date, sizeof(date));
	d = http_retry_delay_ms(1, date, NULL, 200, 10000);
	TAP_OK(d >= 3000 && d <= 4000, "Retry-After HTTP-date 4 s ahead -> %ld ms", d);
	http_date_in(-60, date, sizeof(date));
	TAP_EQ_INT(http_retry_delay_ms(1, date, NULL, 200, 10000), 0,
	           "Retry-After HTTP-date in the past -> 0");
	d = http_retry_delay_ms(1, "soon", NULL, 200, 10000);
	TAP_OK(d >= 0 && d <= 200, "unparsable Retry-After -> backoff (%ld)", d);
	d = http_retry_delay_ms(1, "-5", NULL, 200, 10000);
	TAP_OK(d >= 0 && d <= 200, "negative Retry-After -> backoff (%ld)", d);

	/* Full jitter: every delay within [0, min(base*2^(n-1), max)], spread over the range. */
	for (int attempt = 1; attempt <= 6; attempt++) {
		long bound = 100L << (attempt - 1), lo = bound, hi = 0;
		int inside = 1;

		if (bound > 1600)
			bound = 1600;
		for (int i = 0; i < 2000; i++) {
			d = http_retry_delay_ms(attempt, NULL, NULL, 100, 1600);
			if (d < 0 || d > bound)
				inside = 0;
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
		TAP_OK(inside, "attempt %d: all delays within [0, %ld]", attempt, bound);
		TAP_OK(hi > bound * 9 / 10 && lo < bound / 10,
		       "attempt %d: jitter spreads over the range (min %ld, max %ld)", attempt, lo,
		       hi);
	}
}

static void test_urlencode(void)
{
	char *s = http_urlencode("a b/c~é&=+", 0);

	TAP_EQ_STR(s, "a%20b%2Fc~%C3%A9%26%3D%2B", "urlencode");
	free(s);
	s = http_urlencode("dir/x y.json", 1);
	TAP_EQ_STR(s, "dir/x%20y.json", "urlencode keeping '/'");
	free(s);
}

static void test_net_error(void)
{
	static const struct {
		long status;
		const char *body;
		int rc;
		const char *code, *msg, *what;
		net_error_body_fn parse; /* the service's own parser */
	} t[] = {
	    {403,
	     "{\"error\":{\"code\":\"AuthorizationFailed\",\"message\":\"The client 'x' has no "
	     "access.\",\"details\":[]}}",
	     -EACCES, "AuthorizationFailed", "The client 'x' has no access.", "ARM",
	     rest_error_body},
	    {401,
	     "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client "
	     "secret provided.\\r\\nTrace ID: 255d1aef\\r\\nCorrelation ID: fb3d\\r\\nTimestamp: "
	     "2016-01-09 02:02:12Z\",\"error_codes\":[7000215],\"trace_id\":\"255d1aef\","
	     "\"correlation_id\":\"fb3d\"}",
	     -EACCES, "AADSTS7000215", "AADSTS7000215: Invalid client secret provided.",
	     "Entra (AADSTS code kept, trace ids dropped)", auth_error_body},
	    {409, "{\"error\":{\"code\":\"DataConnectDisabled\",\"message\":\"Off.\"}}", -ESTALE,
	     "DataConnectDisabled", "Off.", "registration contract", rest_error_body},
	    {404,
	     "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Error>\n  <Code>BlobNotFound</Code>\n  "
	     "<Message>The specified blob does not exist.\nRequestId:6a99d333\nTime:2026-11-27T05:"
	     "45:16.240Z</Message>\n</Error>",
	     -ENOENT, "BlobNotFound", "The specified blob does not exist.",
	     "Blob XML (RequestId dropped)", blob_error_body},
	    {400, "{\"error\":{\"code\":\"X\",\"message\":\"bad\\u0001thing\"}}", -EINVAL, "X",
	     "bad\\x01thing", "control characters escaped", rest_error_body},
	    {500, "<html>oops</html>", -EIO, "", "HTTP status 500", "garbage body",
	     blob_error_body},
	    {503, "{\"error\":{\"code\":", -EAGAIN, "", "HTTP status 503", "truncated JSON",
	     rest_error_body},
	    {200, "{}", 0, "", "", "success", rest_error_body},
	    {403, "{\"error\":{\"code\":\"AuthorizationFailed\",\"message\":\"No.\"}}", -EACCES, "",
	     "HTTP status 403", "an ARM body read as Blob's: nothing found", blob_error_body},
	    {400, "{\"error\":\"invalid_client\"}", -EINVAL, "", "HTTP status 400",
	     "an Entra body read as ARM's: nothing found", rest_error_body},
	    {400, "{\"error\":\"invalid_client\"}", -EINVAL, "invalid_client", "HTTP status 400",
	     "Entra without a description: the error is the code", auth_error_body},
	    {404,
	     "<?xml version=\"1.0\"?><!DOCTYPE Error [<!ENTITY a \"aaaa\">]><Error><Code>&a;</Code>"
	     "</Error>",
	     -ENOENT, "", "HTTP status 404", "Blob XML with a DOCTYPE: not read", blob_error_body},
	    {404, "<Error><Code>BlobNotFound</Code><Message>Gone &amp; away</Message>", -ENOENT,
	     "BlobNotFound", "Gone & away", "Blob XML cut short: what came first, entities decoded",
	     blob_error_body},
	    {500, "{\"error\":{\"code\":\"X\"}}", -EIO, "", "HTTP status 500",
	     "no parser: the body is not read", NULL},
	};
	struct net_error e;
	struct http_resp r;
	struct http_header hdr = {(char *)(uintptr_t) "x-ms-error-code",
	                          (char *)(uintptr_t) "ContainerNotFound"};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.status = t[i].status;
		r.body = (char *)(uintptr_t)t[i].body;
		r.body_len = strlen(t[i].body);
		TAP_EQ_INT(net_error_set(&e, 0, &r, t[i].parse), t[i].rc, "%s: errno", t[i].what);
		TAP_EQ_STR(e.code, t[i].code, "%s: code", t[i].what);
		TAP_EQ_STR(e.msg, t[i].msg, "%s: message", t[i].what);
		TAP_EQ_INT(e.status, t[i].status, "%s: status kept", t[i].what);
	}

	memset(&r, 0, sizeof(r));
	r.status = 404;
	r.headers = &hdr;
	r.n_headers = 1;
	net_error_set(&e, 0, &r, blob_error_body);
	TAP_EQ_STR(e.code, "ContainerNotFound", "HEAD: code from x-ms-error-code");
	TAP_EQ_STR(e.msg, "HTTP status 404", "HEAD: generic message");

	memset(&r, 0, sizeof(r));
	snprintf(r.error, sizeof(r.error), "Failed to connect");
	TAP_EQ_INT(net_error_set(&e, -ECONNREFUSED, &r, NULL), -ECONNREFUSED,
	           "transport error kept");
	TAP_EQ_STR(e.msg, "Failed to connect", "transport text");
	TAP_EQ_INT(net_error_set(NULL, -EIO, NULL, NULL), -EIO, "NULL e allowed");
}

/* ------------------------------------------------------------------ live */

static struct http *client(int max_retries, long base_ms, long low_speed_s, long deadline_ms)
{
	struct http_opts o = {.max_retries = max_retries,
	                      .backoff_base_ms = base_ms,
	                      .low_speed_time_s = low_speed_s,
	                      .deadline_ms = deadline_ms};
	struct http *h = NULL;

	if (http_new(&h, &o) < 0) {
		printf("Bail out! http_new failed\n");
		exit(1);
	}
	return h;
}

static int get(struct http *h, const char *method, const char *path, int idempotent,
               struct http_resp *r)
{
	char url[256];
	struct http_req q = {.method = method, .url = url, .idempotent = idempotent};

	snprintf(url, sizeof(url), "%s%s", base, path);
	return http_do(h, &q, r);
}

static void test_live_retries(void)
{
	struct http *h = client(4, 50, 0, 0);
	struct http_resp r;
	struct http_stats s0, s1;
	long t0;
	int rc;

	http_get_stats(h, &s0);
	t0 = now_ms();
	rc = get(h, NULL, "/flaky/ra1/1/503?ra=1", 1, &r);
	TAP_EQ_INT(rc, 0, "503 + Retry-After: 1, then 200: success");
	TAP_EQ_INT(r.status, 200, "final status 200");
	TAP_EQ_INT(r.attempts, 2, "two attempts");
	TAP_OK(r.waited_ms >= 1000 && now_ms() - t0 >= 1000, "waited >= 1000 ms (%ld, %ld)",
	       r.waited_ms, now_ms() - t0);
	TAP_EQ_STR(r.body, "ok ra1", "body of the successful attempt");
	http_resp_release(&r);
	http_get_stats(h, &s1);
	TAP_EQ_INT(s1.requests - s0.requests, 2, "stats: 2 attempts sent");
	TAP_EQ_INT(s1.retries - s0.retries, 1, "stats: 1 retry");

	rc = get(h, NULL, "/status/500", 1, &r);
	TAP_OK(rc == 0 && r.status == 500, "persistent 500 -> status 500 (rc %d)", rc);
	TAP_EQ_INT(r.attempts, 5, "persistent 500: 1 + max_retries attempts");
	http_resp_release(&r);

	rc = get(h, "POST", "/flaky/post500/1/500", 0, &r);
	TAP_OK(rc == 0 && r.status == 500 && r.attempts == 1,
	       "non-idempotent POST: 500 not retried (status %ld, attempts %d)", r.status,
	       r.attempts);
	http_resp_release(&r);
	rc = get(h, "POST", "/flaky/post503/1/503?ms=20", 0, &r);
	TAP_OK(rc == 0 && r.status == 200 && r.attempts == 2,
	       "non-idempotent POST: 503 retried (status %ld, attempts %d)", r.status, r.attempts);
	TAP_OK(r.waited_ms == 20, "x-ms-retry-after-ms honoured (%ld)", r.waited_ms);
	http_resp_release(&r);
	rc = get(h, NULL, "/status/404", 1, &r);
	TAP_OK(rc == 0 && r.status == 404 && r.attempts == 1, "404 not retried");
	http_resp_release(&r);

	rc = get(h, NULL, "/drop/d1", 1, &r);
	TAP_EQ_INT(rc, 0, "dropped connection mid-body on idempotent GET: retried");
	TAP_EQ_INT(r.attempts, 2, "dropped connection: two attempts");
	{
		int same = r.body_len == 4096;

		for (size_t i = 0; same && i < 4096; i++)
			same = (unsigned char)r.body[i] == i % 251;
		TAP_OK(same, "dropped connection: full, correct body (%zu bytes)", r.body_len);
	}
	http_resp_release(&r);
	rc = get(h, "POST", "/drop/d2", 0, &r);
	TAP_EQ_INT(rc, -ECONNRESET, "dropped connection on non-idempotent POST: -ECONNRESET");
	TAP_EQ_INT(r.attempts, 1, "dropped POST: not retried");
	http_resp_release(&r);
	http_free(h);

	/* The deadline also bounds Retry-After waits. */
	h = client(4, 50, 0, 1500);
	t0 = now_ms();
	rc = get(h, NULL, "/status/503?ra=5", 1, &r);
	TAP_OK(rc == 0 && r.status == 503 && now_ms() - t0 < 1000,
	       "Retry-After beyond the deadline: give up at once with the 503 (%ld ms)",
	       now_ms() - t0);
	http_resp_release(&r);
	http_free(h);
}

static long maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void test_live_caps(void)
{
	struct http *h = client(2, 50, 0, 0);
	struct http_resp r;
	char small[4], big[64], url[256];
	long t0, rss0;
	int rc;

	rss0 = maxrss_kb();
	t0 = now_ms();
	rc = get(h, NULL, "/huge", 1, &r);
	TAP_EQ_INT(rc, -EFBIG, "Content-Length 10 GB -> -EFBIG");
	TAP_EQ_INT(r.attempts, 1, "oversize is not retried");
	TAP_OK(now_ms() - t0 < 2000, "oversize refused quickly (%ld ms)", now_ms() - t0);
	TAP_OK(maxrss_kb() - rss0 < 32768, "oversize: no large allocation (+%ld KiB)",
	       maxrss_kb() - rss0);
	http_resp_release(&r);

	{
		struct http_req q = {.url = url, .max_body = 1 << 20, .idempotent = 1};

		snprintf(url, sizeof(url), "%s/chunked/2000000", base);
		rc = http_do(h, &q, &r);
		TAP_EQ_INT(rc, -EFBIG, "chunked body over max_body -> -EFBIG");
		http_resp_release(&r);
		snprintf(url, sizeof(url), "%s/chunked/300000", base);
		rc = http_do(h, &q, &r);
		TAP_OK(rc == 0 && r.body_len == 300000 && r.body[299999] == 'x' &&
		           r.body[300000] == '\0',
		       "chunked body under the cap: complete and NUL-terminated");
		http_resp_release(&r);
	}
	{
		struct http_req q = {.url = url, .buf = small, .buf_cap = sizeof(small)};

		snprintf(url, sizeof(url), "%s/status/200", base);
		rc = http_do(h, &q, &r);
		TAP_EQ_INT(rc, -EPROTO, "caller buffer too small -> -EPROTO");
		http_resp_release(&r);
		q.buf = big;
		q.buf_cap = sizeof(big);
		rc = http_do(h, &q, &r);
		TAP_OK(rc == 0 && r.body == big && r.body_len == 10 &&
		           strcmp(big, "status 200") == 0,
		       "caller buffer: body written in place");
		http_resp_release(&r);
		q.buf = small;
		q.buf_cap = sizeof(small);
		snprintf(url, sizeof(url), "%s/status/404", base);
		rc = http_do(h, &q, &r);
		TAP_OK(rc == 0 && r.status == 404 && r.body != small && r.body &&
		           strcmp(r.body, "status 404") == 0,
		       "caller buffer: an error body goes to its own buffer (rc %d)", rc);
		http_resp_release(&r);
	}
	rc = get(h, "HEAD", "/bighead", 1, &r);
	TAP_OK(rc == 0 && r.status == 200, "HEAD with Content-Length 10 GB is fine (rc %d)", rc);
	TAP_EQ_STR(http_resp_header(&r, "content-length"), "10000000000",
	           "HEAD: Content-Length header readable");
	http_resp_release(&r);

	rc = get(h, NULL, "/headers/1000", 1, &r);
	TAP_EQ_INT(rc, -EPROTO, "1000 response headers -> -EPROTO");
	http_resp_release(&r);
	rc = get(h, NULL, "/headers/20", 1, &r);
	TAP_OK(rc == 0 && r.status == 200, "20 headers fine");
	TAP_EQ_STR(http_resp_header(&r, "X-h7"), "v7", "header lookup is case-insensitive");
	TAP_OK(http_resp_header(&r, "X-none") == NULL, "absent header -> NULL");
	http_resp_release(&r);
	http_free(h);
}

static char log_lines[4096];
static int log_errors; /* lines logged at LOG_ERR */

static void log_capture(int level, const char *line)
{
	size_t n = strlen(log_lines);

	log_errors += level == LOG_ERR;
	snprintf(log_lines + n, sizeof(log_lines) - n, "%s\n", line);
}

static void test_live_echo(void)
{
	struct http *h = client(0, 50, 0, 0);
	struct http_resp r;
	char url[256];
	const char *hdrs[] = {"Content-Type: application/json", "X-Test: 1", NULL};
	struct http_req q = {
	    .method = "PUT", .url = url, .headers = hdrs, .body = "{\"a\":1}", .body_len = 7};
	int rc;

	snprintf(url, sizeof(url), "%s/echo", base);
	rc = http_do(h, &q, &r);
	TAP_OK(rc == 0 && r.status == 200, "PUT echo");
	TAP_OK(r.body && strstr(r.body, "\"method\": \"PUT\"") &&
	           strstr(r.body, "\"body\": \"{\\\"a\\\":1}\""),
	       "method and body arrive");
	TAP_OK(r.body && strstr(r.body, "\"content-type\": \"application/json\"") &&
	           strstr(r.body, "\"x-test\": \"1\""),
	       "caller headers arrive");
	TAP_OK(r.body && !strstr(r.body, "\"expect\"") &&
	           strstr(r.body, "\"user-agent\": \"mgdcfs/"),
	       "no Expect header; mgdcfs User-Agent");
	http_resp_release(&r);
	q.headers = NULL;
	q.body = NULL;
	q.body_len = 0;
	rc = http_do(h, &q, &r);
	TAP_OK(rc == 0 && r.body && strstr(r.body, "\"content-length\": \"0\"") &&
	           !strstr(r.body, "content-type"),
	       "PUT without body: Content-Length 0, no Content-Type added");
	http_resp_release(&r);
	q.method = NULL;
	snprintf(url, sizeof(url), "http://example.org/x?sig=secret");
	rc = http_do(h, &q, &r);
	TAP_EQ_INT(rc, -EINVAL, "http:// to a non-loopback host refused");
	TAP_OK(!strstr(r.error, "secret"), "refusal text has no query string");
	http_resp_release(&r);
	http_free(h);

	/* Retry and debug lines name the path but never the query (a SAS signature). */
	h = client(1, 10, 0, 0);
	log_lines[0] = '\0';
	log_set_sink(log_capture);
	log_set_level(LOG_DEBUG);
	snprintf(url, sizeof(url), "%s/flaky/logq/1/503?sig=secret", base);
	q.idempotent = 1;
	rc = http_do(h, &q, &r);
	log_set_level(LOG_WARN);
	log_set_sink(NULL);
	TAP_OK(rc == 0 && r.status == 200, "retried request for the log check");
	TAP_OK(strstr(log_lines, "retry 1/1") && strstr(log_lines, "/flaky/logq/1/503 -> 200"),
	       "retry and debug lines logged");
	TAP_OK(!strstr(log_lines, "secret") && !strstr(log_lines, "sig="),
	       "no query string in the log");
	http_resp_release(&r);
	http_free(h);
}

/* An option libcurl refuses is an error that names it, and costs no later request. */
static void test_setopt_refused(void)
{
	struct http *h = client(2, 10, 0, 0);
	struct http_resp r;
	char url[256];
	/* A body length libcurl reads as -2: CURLOPT_POSTFIELDSIZE_LARGE refuses it. */
	struct http_req q = {.method = "POST", .url = url, .body = "x", .body_len = (size_t)-2};
	int rc;

	snprintf(url, sizeof(url), "%s/echo", base);
	log_lines[0] = '\0';
	log_errors = 0;
	log_set_sink(log_capture);
	rc = http_do(h, &q, &r);
	log_set_sink(NULL);
	TAP_EQ_INT(rc, -EIO, "an option libcurl refuses -> -EIO");
	TAP_OK(strstr(r.error, "curl_easy_setopt(CURLOPT_POSTFIELDSIZE_LARGE)") != NULL,
	       "the error names the option: '%s'", r.error);
	TAP_EQ_INT(r.attempts, 1, "and is not retried");
	TAP_OK(log_errors == 1 && strstr(log_lines, "CURLOPT_POSTFIELDSIZE_LARGE"),
	       "and is logged as an error (%d)", log_errors);
	http_resp_release(&r);
	for (int i = 0; i < 3; i++) {
		rc = get(h, NULL, "/status/200", 1, &r);
		if (rc != 0 || r.status != 200)
			break;
		http_resp_release(&r);
	}
	TAP_OK(rc == 0 && r.status == 200, "later requests to that origin work (rc %d: %s)", rc,
	       r.error);
	http_resp_release(&r);
	http_free(h);
}

static void test_live_timeouts(void)
{
	struct http *h = client(0, 50, 2, 0);
	struct http_resp r;
	long t0, el;
	int rc, fd, port = 0;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	char url[128];
	struct http_req q = {.url = url, .idempotent = 1};

	t0 = now_ms();
	rc = get(h, NULL, "/slow", 1, &r);
	el = now_ms() - t0;
	TAP_EQ_INT(rc, -ETIMEDOUT, "stalled body -> -ETIMEDOUT");
	TAP_OK(el >= 1500 && el < 5000, "stalled body aborted after low_speed_time 2 s (%ld ms)",
	       el);
	http_resp_release(&r);
	http_free(h);

	h = client(10, 100, 30, 1500);
	t0 = now_ms();
	rc = get(h, NULL, "/slow", 1, &r);
	el = now_ms() - t0;
	TAP_EQ_INT(rc, -ETIMEDOUT, "deadline cuts a stalled body");
	TAP_OK(el >= 1300 && el < 2500, "within the 1500 ms deadline (%ld ms)", el);
	http_resp_release(&r);

	/* A port nobody listens on: bind, note, close. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", port);
	t0 = now_ms();
	rc = http_do(h, &q, &r);
	el = now_ms() - t0;
	TAP_EQ_INT(rc, -ECONNREFUSED, "connection refused -> -ECONNREFUSED");
	TAP_OK(r.attempts > 1, "refusal retried (%d attempts)", r.attempts);
	TAP_OK(el < 2000, "refusal gives up within the deadline (%ld ms)", el);
	http_resp_release(&r);
	http_free(h);
}

/* The cancel hook: a flag another thread raises after 300 ms. */
static int cancel_flag;

static int cancel_now(void)
{
	return __atomic_load_n(&cancel_flag, __ATOMIC_ACQUIRE);
}

static void *raise_cancel(void *arg)
{
	(void)arg;
	usleep(300 * 1000);
	__atomic_store_n(&cancel_flag, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* One request under a hook that says stop 300 ms in: -ECANCELED, long before
 * the server or the deadline would have ended it. */
static void cancel_case(struct http *h, const char *path, const char *what)
{
	struct http_resp r;
	pthread_t t;
	long t0, el;
	int rc;

	__atomic_store_n(&cancel_flag, 0, __ATOMIC_RELEASE);
	pthread_create(&t, NULL, raise_cancel, NULL);
	t0 = now_ms();
	rc = get(h, NULL, path, 1, &r);
	el = now_ms() - t0;
	pthread_join(t, NULL);
	TAP_EQ_INT(rc, -ECANCELED, "cancel hook during %s -> -ECANCELED", what);
	TAP_OK(el < 5000, "  within seconds, not the 30 s the server or deadline takes (%ld ms)",
	       el);
	TAP_OK(strstr(r.error, "going away") != NULL, "  the error says why ('%s')", r.error);
	http_resp_release(&r);
}

static void test_live_cancel(void)
{
	struct http *h = client(3, 50, 60, 60000);
	struct http_resp r;

	http_set_cancel(cancel_now);
	cancel_case(h, "/slow", "a stalled body");
	cancel_case(h, "/status/503?ra=30", "a Retry-After wait");
	__atomic_store_n(&cancel_flag, 0, __ATOMIC_RELEASE);
	TAP_EQ_INT(get(h, NULL, "/status/200", 1, &r), 0, "a hook that says go changes nothing");
	http_resp_release(&r);
	http_set_cancel(NULL);
	TAP_EQ_INT(http_pause_ms(50), 0, "http_pause_ms without a hook sleeps and returns 0");
	http_free(h);
}

struct par {
	struct http *h;
	int ok;
};

static void *par_worker(void *p)
{
	struct par *a = p;

	for (int i = 0; i < 25; i++) {
		struct http_resp r;

		if (get(a->h, NULL, "/status/200", 1, &r) == 0 && r.status == 200 &&
		    strcmp(r.body, "status 200") == 0)
			a->ok++;
		http_resp_release(&r);
	}
	return NULL;
}

static void test_live_threads(void)
{
	struct http *h = client(2, 50, 0, 0);
	struct par a[8];
	pthread_t t[8];
	struct http_stats s0, s1;
	int ok = 0;

	http_get_stats(h, &s0);
	for (int i = 0; i < 8; i++) {
		a[i].h = h;
		a[i].ok = 0;
		pthread_create(&t[i], NULL, par_worker, &a[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ok += a[i].ok;
	}
	http_get_stats(h, &s1);
	TAP_EQ_INT(ok, 200, "8 threads x 25 requests on one client all succeed");
	TAP_EQ_INT(s1.requests - s0.requests, 200, "stats count every attempt");
	TAP_EQ_INT(s1.in_flight, 0, "nothing in flight afterwards");
	http_free(h);
}

static void test_tls(void)
{
	char dir[] = "/tmp/mgdcfs-tls-XXXXXX", cmd[4096], path[256], bad[256], url[128];
	struct testsrv tls;
	struct http *h;
	struct http_resp r;
	struct http_req q = {.url = url};
	struct http_opts o = {.max_retries = 0};
	struct net_error e;
	int rc;

	if (!mkdtemp(dir)) {
		TAP_OK(0, "mkdtemp");
		return;
	}
	snprintf(cmd, sizeof(cmd),
	         "cd %s && "
	         "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
	         "-subj /CN=mgdcfs-test-ca && "
	         "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca2.key -out ca2.pem -days 2 "
	         "-subj /CN=other-ca && "
	         "openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr "
	         "-subj /CN=127.0.0.1 && "
	         "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext.cnf && "
	         "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
	         "-out srv.pem -days 2 -extfile ext.cnf && "
	         "echo not a certificate > junk.pem",
	         dir);
	TAP_EQ_INT(testsrv_sh(cmd), 0, "openssl CLI made a CA and a server certificate");
	snprintf(cmd, sizeof(cmd), "%s/srv.pem", dir);
	snprintf(path, sizeof(path), "%s/srv.key", dir);
	if (testsrv_start(&tls, cmd, path) < 0) {
		TAP_OK(0, "TLS test server started");
		return;
	}
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/status/200", tls.port);

	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	o.ca_file = path;
	TAP_EQ_INT(http_new(&h, &o), 0, "client with the test CA added");
	rc = http_do(h, &q, &r);
	TAP_OK(rc == 0 && r.status == 200, "HTTPS with ca_file: verified and served (rc %d: %s)",
	       rc, r.error);
	http_resp_release(&r);
	snprintf(url, sizeof(url), "https://localhost:%d/status/200", tls.port);
	rc = http_do(h, &q, &r);
	TAP_OK(rc == 0 && r.status == 200, "HTTPS to localhost (DNS SAN) verified (rc %d)", rc);
	http_resp_release(&r);
	http_free(h);

	o.ca_file = NULL;
	TAP_EQ_INT(http_new(&h, &o), 0, "client with the system store only");
	rc = http_do(h, &q, &r);
	TAP_EQ_INT(rc, -EPROTO, "unknown CA -> -EPROTO");
	TAP_OK(strstr(r.error, "certificate verify failed") != NULL, "error text: '%s'", r.error);
	net_error_set(&e, rc, &r, NULL);
	TAP_OK(strstr(e.msg, "certificate verify failed") != NULL && e.err == EPROTO,
	       "net_error carries the certificate failure");
	http_resp_release(&r);
	http_free(h);

	snprintf(bad, sizeof(bad), "%s/ca2.pem", dir);
	o.ca_file = bad;
	TAP_EQ_INT(http_new(&h, &o), 0, "client with another CA");
	rc = http_do(h, &q, &r);
	TAP_OK(rc == -EPROTO && strstr(r.error, "certificate"), "other CA -> certificate error");
	http_resp_release(&r);
	http_free(h);

	/* The system store stays in: with the test CA as "system" bundle, another extra CA still
	 * works. */
	snprintf(cmd, sizeof(cmd), "%s/ca.pem", dir);
	setenv("SSL_CERT_FILE", cmd, 1);
	TAP_EQ_INT(http_new(&h, &o), 0, "client with another CA, test CA as the system store");
	rc = http_do(h, &q, &r);
	TAP_OK(rc == 0 && r.status == 200, "system store plus ca_file: both trusted (rc %d)", rc);
	http_resp_release(&r);
	http_free(h);
	unsetenv("SSL_CERT_FILE");

	snprintf(bad, sizeof(bad), "%s/junk.pem", dir);
	TAP_EQ_INT(http_new(&h, &o), -EINVAL, "ca_file without a certificate -> -EINVAL");
	snprintf(bad, sizeof(bad), "%s/missing.pem", dir);
	TAP_EQ_INT(http_new(&h, &o), -EINVAL, "missing ca_file -> -EINVAL");

	testsrv_stop(&tls);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	testsrv_sh(cmd);
}

int main(int argc, char **argv)
{
	(void)argc;
	test_tables();
	test_url_check();
	test_retry_delay();
	test_urlencode();
	test_net_error();
	if (testsrv_locate(argv[0]) < 0 || testsrv_start(&srv, NULL, NULL) < 0) {
		TAP_OK(0, "test server started");
		return tap_done();
	}
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", srv.port);
	test_live_retries();
	test_live_caps();
	test_live_echo();
	test_setopt_refused();
	test_live_timeouts();
	test_live_cancel();
	test_live_threads();
	test_tls();
	testsrv_stop(&srv);
	curl_global_cleanup();
	return tap_done();
}
