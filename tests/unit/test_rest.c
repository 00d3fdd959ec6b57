/*
 * test_rest.c - net/rest: URL building, origin checks, JSON caps, and paging
 * and error mapping against the scripted server (tests/unit/rest_server.py)
 * through the real http + auth path.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/rest.h"
#include "rest_testsrv.h"
#include "tap.h"

static void test_url(void)
{
	char *u;

	u = rest_url("https://h.example/", NULL, "v1.0", "organization", NULL);
	TAP_EQ_STR(u, "https://h.example/v1.0/organization",
	           "rest_url joins segments, drops trailing /");
	free(u);
	u = rest_url("https://h.example/base", "api-version=2018-06-01", "pipelines", "a b/c?d#e%f",
	             NULL);
	TAP_EQ_STR(u,
	           "https://h.example/base/pipelines/a%20b%2Fc%3Fd%23e%25f?api-version=2018-06-01",
	           "rest_url percent-encodes space, slash, ?, #, %% in a segment");
	free(u);
	u = rest_url("https://h.example", "", "Microsoft.DataFactory", "x-y_z~1", NULL);
	TAP_EQ_STR(u, "https://h.example/Microsoft.DataFactory/x-y_z~1",
	           "rest_url keeps unreserved characters; empty query adds no '?'");
	free(u);
	u = rest_url("https://h.example", NULL, "caf\xc3\xa9", NULL);
	TAP_EQ_STR(u, "https://h.example/caf%C3%A9", "rest_url encodes UTF-8 bytes");
	free(u);
	u = rest_url("https://h.example", NULL, "a", "", "b", NULL);
	TAP_OK(u == NULL, "rest_url refuses an empty segment");
	free(u);
	{
		char *big = malloc(REST_MAX_URL + 1);

		memset(big, 'a', REST_MAX_URL);
		big[REST_MAX_URL] = '\0';
		u = rest_url("https://h.example", NULL, big, NULL);
		TAP_OK(u == NULL, "rest_url refuses a URL over REST_MAX_URL");
		free(u);
		free(big);
	}
}

static void test_origin(void)
{
	TAP_OK(rest_same_origin("https://a.example/x?y", "https://A.EXAMPLE:443/z"),
	       "same origin: host case and default port");
	TAP_OK(!rest_same_origin("https://a.example/", "http://a.example/"), "scheme differs");
	TAP_OK(!rest_same_origin("https://a.example/", "https://a.example:8443/"), "port differs");
	TAP_OK(!rest_same_origin("https://a.example/", "https://b.example/"), "host differs");
	TAP_OK(!rest_same_origin("https://a.example/", "https://a.example.evil.com/"),
	       "suffix host differs");
	TAP_OK(!rest_same_origin("https://a.example/", "https://a.example@evil.com/"),
	       "userinfo trick refused");
	TAP_OK(!rest_same_origin("https://a.example/", "https://x@a.example/"),
	       "userinfo refused even on the same host");
	TAP_OK(!rest_same_origin("https://a.example/", "/relative/link"), "relative link refused");
	TAP_OK(!rest_same_origin("https://a.example/", NULL), "NULL refused");
}

static void test_parse(void)
{
	struct net_error e;
	cJSON *j = NULL;
	size_t n = 100000;
	char *deep = malloc(2 * n + 1);
	int rc;

	rc = rest_parse("{\"a\":[1,2]}", 11, &j, &e);
	TAP_OK(rc == 0 && cJSON_GetArraySize(cJSON_GetObjectItem(j, "a")) == 2, "parse a document");
	cJSON_Delete(j);

	rc = rest_parse("{\"s\":\"[[[[[\"}", 13, &j, &e);
	TAP_OK(rc == 0, "brackets inside strings do not count as depth");
	cJSON_Delete(j);

	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = '\0';
	rc = rest_parse(deep, 2 * n, &j, &e);
	TAP_EQ_INT(rc, -EPROTO, "100,000 nested arrays -> -EPROTO, no crash");
	TAP_OK(j == NULL && strstr(e.msg, "deeper") != NULL, "message says why: %s", e.msg);

	/* Exactly at the cap parses; one more level does not. */
	memset(deep, '[', REST_MAX_DEPTH);
	memset(deep + REST_MAX_DEPTH, ']', REST_MAX_DEPTH);
	deep[2 * REST_MAX_DEPTH] = '\0';
	rc = rest_parse(deep, 2 * REST_MAX_DEPTH, &j, &e);
	TAP_EQ_INT(rc, 0, "nesting at REST_MAX_DEPTH parses");
	cJSON_Delete(j);
	memset(deep, '[', REST_MAX_DEPTH + 1);
	memset(deep + REST_MAX_DEPTH + 1, ']', REST_MAX_DEPTH + 1);
	deep[2 * REST_MAX_DEPTH + 2] = '\0';
	rc = rest_parse(deep, 2 * REST_MAX_DEPTH + 2, &j, &e);
	TAP_EQ_INT(rc, -EPROTO, "nesting at REST_MAX_DEPTH+1 refused");
	free(deep);

	rc = rest_parse("{\"a\":1} trailing", 16, &j, &e);
	TAP_EQ_INT(rc, -EPROTO, "trailing garbage refused");
	rc = rest_parse("{\"a\":\"x\0y\"}", 11, &j, &e);
	TAP_EQ_INT(rc, -EPROTO, "embedded NUL refused");
	rc = rest_parse("not json", 8, &j, &e);
	TAP_OK(rc == -EPROTO && strcmp(e.code, "InvalidJson") == 0 && e.err == EPROTO,
	       "garbage -> -EPROTO, code InvalidJson");
}

/* Run a listing at `path` of the test server. */
static int list_at(struct testsrv *s, struct rest_ep *ep, const char *method, const char *path,
                   const cJSON *body, cJSON **items, struct net_error *e)
{
	char url[256];
	struct rest_call c = {.method = method, .body = body};

	c.url = testsrv_url(s, url, sizeof(url), path);
	return rest_list(ep, &c, items, e);
}

static void test_paging(struct testsrv *s, struct rest_ep *ep)
{
	struct net_error e;
	cJSON *items = NULL, *q;
	int rc, before;

	rc = list_at(s, ep, NULL, "/chain/v1.0/applications?$filter=x", NULL, &items, &e);
	TAP_EQ_INT(rc, 0, "@odata.nextLink chain with an empty page in the middle: %s", e.msg);
	TAP_EQ_INT(cJSON_GetArraySize(items), 5, "all 5 items merged across 4 pages");
	TAP_EQ_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 4), "id")->valuestring, "e",
	           "items keep page order");
	TAP_EQ_INT(testsrv_count(s, "chain"), 4, "4 requests for 4 pages");
	cJSON_Delete(items);

	rc = list_at(s, ep, NULL, "/arm/x", NULL, &items, &e);
	TAP_OK(rc == 0 && cJSON_GetArraySize(items) == 3, "ARM nextLink paging merges 3 items");
	cJSON_Delete(items);

	{
		static const char *const kinds[] = {"foreign-host", "foreign-port",
		                                    "foreign-scheme", "foreign-user"};
		char path[64];

		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			snprintf(path, sizeof(path), "/%s/list", kinds[i]);
			rc = list_at(s, ep, NULL, path, NULL, &items, &e);
			TAP_OK(rc == -EPROTO && items == NULL &&
			           strcmp(e.code, "ForeignNextLink") == 0,
			       "%s nextLink refused (%s)", kinds[i], e.msg);
		}
		TAP_EQ_INT(testsrv_count(s, "steal"), 0,
		           "no request (and no token) reached /steal");
	}

	before = testsrv_count(s, "loop");
	rc = list_at(s, ep, NULL, "/loop/x", NULL, &items, &e);
	TAP_OK(rc == -ELOOP && items == NULL, "endless nextLink chain stops with -ELOOP");
	TAP_EQ_INT(testsrv_count(s, "loop") - before, ep->max_pages,
	           "exactly max_pages requests were made");

	rc = list_at(s, ep, NULL, "/self/x?page=7", NULL, &items, &e);
	TAP_OK(rc == -ELOOP && testsrv_count(s, "self") == 1,
	       "a page linking to itself stops after one request");

	q = cJSON_CreateObject();
	cJSON_AddStringToObject(q, "lastUpdatedAfter", "2026-01-01T00:00:00Z");
	rc = list_at(s, ep, "POST", "/cont/queryPipelineRuns", q, &items, &e);
	TAP_EQ_INT(rc, 0, "continuationToken paging: %s", e.msg);
	TAP_EQ_INT(cJSON_GetArraySize(items), 5, "5 items over 3 token pages");
	{
		cJSON *last = cJSON_GetArrayItem(items, 4);

		TAP_EQ_STR(cJSON_GetObjectItem(last, "tok")->valuestring, "t2",
		           "the last page was asked for with token t2");
		TAP_EQ_STR(cJSON_GetObjectItem(last, "after")->valuestring, "2026-01-01T00:00:00Z",
		           "the filter body is resent with every page");
	}
	TAP_OK(cJSON_GetObjectItem(q, "continuationToken") == NULL,
	       "the caller's body is not modified");
	cJSON_Delete(items);

	rc = list_at(s, ep, "POST", "/contloop/q", q, &items, &e);
	TAP_OK(rc == -ELOOP && testsrv_count(s, "contloop") == 2,
	       "a repeated continuationToken stops after the second page");

	rc = list_at(s, ep, "POST", "/many/q", q, &items, &e);
	TAP_OK(rc == 0 && cJSON_GetArraySize(items) == 500 && testsrv_count(s, "many") == 5,
	       "500 items cost 5 requests");
	cJSON_Delete(items);

	ep->max_items = 250;
	rc = list_at(s, ep, "POST", "/many/q", q, &items, &e);
	TAP_OK(rc == -EOVERFLOW && items == NULL, "item cap -> -EOVERFLOW (%s)", e.msg);
	ep->max_items = REST_MAX_ITEMS;
	cJSON_Delete(q);

	rc = list_at(s, ep, NULL, "/novalue/x", NULL, &items, &e);
	TAP_OK(rc == -EPROTO && items == NULL, "a page without \"value\" -> -EPROTO");
}

static void test_do(struct testsrv *s, struct rest_ep *ep)
{
	struct rest_result r;
	struct net_error e;
	struct rest_call c = {0};
	cJSON *body = cJSON_CreateObject(), *j;
	const char *hdrs[] = {"ConsistencyLevel: eventual", NULL};
	char url[256], *etag;
	int rc;

	cJSON_AddNumberToObject(body, "k", 7);
	c.method = "PUT";
	c.url = testsrv_url(s, url, sizeof(url), "/echo/thing");
	c.body = body;
	c.if_match = "W/\"abc\"";
	c.headers = hdrs;
	rc = rest_do(ep, &c, &r, &e);
	TAP_EQ_INT(rc, 0, "PUT with body, If-Match and an extra header");
	TAP_EQ_INT(r.status, 200, "status kept");
	TAP_EQ_STR(cJSON_GetObjectItem(r.json, "method")->valuestring, "PUT", "server saw PUT");
	TAP_EQ_STR(cJSON_GetObjectItem(r.json, "ifMatch")->valuestring, "W/\"abc\"",
	           "server saw If-Match");
	TAP_EQ_STR(cJSON_GetObjectItem(r.json, "contentType")->valuestring, "application/json",
	           "server saw Content-Type");
	TAP_EQ_STR(cJSON_GetObjectItem(r.json, "consistency")->valuestring, "eventual",
	           "server saw the extra header");
	j = cJSON_GetObjectItem(r.json, "body");
	TAP_OK(cJSON_Compare(j, body, 1), "server got the JSON body we sent");
	TAP_EQ_STR(r.etag, "\"etag-from-header\"", "ETag header preferred over the body");
	rest_result_release(&r);

	c.if_match = "\"a\"\r\nX-Evil: 1";
	rc = rest_do(ep, &c, &r, &e);
	TAP_OK(rc == -EINVAL && strcmp(e.code, "InvalidETag") == 0,
	       "If-Match with CR/LF refused before sending");
	rest_result_release(&r);
	cJSON_Delete(body);

	rc = rest_get(ep, testsrv_url(s, url, sizeof(url), "/err/403/SelfApprovalNotAllowed"), &j,
	              &etag, &e);
	TAP_OK(rc == -EACCES && j == NULL && etag == NULL, "403 -> -EACCES");
	TAP_EQ_INT(e.status, 403, "status in the error");
	TAP_EQ_STR(e.code, "SelfApprovalNotAllowed", "service code kept");
	TAP_EQ_STR(e.msg, "App approver and owner cannot be the same user.",
	           "service message kept verbatim");
	rc = rest_get(ep, testsrv_url(s, url, sizeof(url), "/err/404/RegistrationNotFound"), &j,
	              NULL, &e);
	TAP_OK(rc == -ENOENT && strcmp(e.code, "RegistrationNotFound") == 0, "404 -> -ENOENT");
	rc = rest_get(ep, testsrv_url(s, url, sizeof(url), "/err/412/PreconditionFailed"), &j, NULL,
	              &e);
	TAP_EQ_INT(rc, -ESTALE, "412 -> -ESTALE");
	rc = rest_get(ep, testsrv_url(s, url, sizeof(url), "/err/400/InvalidRegistration"), &j,
	              NULL, &e);
	TAP_EQ_INT(rc, -EINVAL, "400 -> -EINVAL");

	rc = rest_get(ep, testsrv_url(s, url, sizeof(url), "/deep/x"), &j, NULL, &e);
	TAP_OK(rc == -EPROTO && j == NULL, "100,000-deep array reply -> -EPROTO (%s)", e.msg);
	rc = rest_get(ep, testsrv_url(s, url, sizeof(url), "/deepobj/x"), &j, NULL, &e);
	TAP_OK(rc == -EPROTO && j == NULL, "100,000-deep object reply -> -EPROTO");
	rc = rest_get(ep, testsrv_url(s, url, sizeof(url), "/garbage/x"), &j, NULL, &e);
	TAP_OK(rc == -EPROTO && e.status == 200, "non-JSON 200 -> -EPROTO with the status");
	rc = rest_get(ep, testsrv_url(s, url, sizeof(url), "/nul/x"), &j, NULL, &e);
	TAP_EQ_INT(rc, -EPROTO, "JSON with a NUL byte -> -EPROTO");

	ep->max_body = 1u << 20;
	rc = rest_get(ep, testsrv_url(s, url, sizeof(url), "/big/x"), &j, NULL, &e);
	TAP_OK(rc == -EFBIG && j == NULL, "2 MiB reply over a 1 MiB cap -> -EFBIG (%s)", e.msg);
	ep->max_body = REST_MAX_BODY;
	rc = rest_get(ep, url, &j, NULL, &e);
	TAP_OK(rc == 0 && cJSON_GetArraySize(cJSON_GetObjectItem(j, "value")) == 2100,
	       "the same reply under the default cap parses");
	cJSON_Delete(j);

	rc = rest_get(ep, testsrv_url(s, url, sizeof(url), "/empty/x"), &j, NULL, &e);
	TAP_OK(rc == 0 && j == NULL, "204 without a body -> 0 and no document");
}

struct par {
	struct testsrv *s;
	struct rest_ep *ep;
	int ok;
};

/* ARM long-running operations: PUT, then poll Azure-AsyncOperation. */
static void test_lro(struct testsrv *s, struct rest_ep *ep)
{
	struct rest_call c = {.method = "PUT"};
	struct rest_result r;
	struct net_error e;
	char url[300];
	struct timespec t0, t1;
	int base = testsrv_count(s, "lro-op");

	snprintf(url, sizeof(url), "%s/lro/ok", s->base);
	c.url = url;
	TAP_EQ_INT(rest_do(ep, &c, &r, &e), 0, "lro: the PUT answers 201");
	TAP_OK(r.async_url && strstr(r.async_url, "/lro-op/ok"), "  Azure-AsyncOperation kept (%s)",
	       r.async_url ? r.async_url : "none");
	TAP_EQ_INT(r.retry_after, 1, "  Retry-After kept");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	TAP_EQ_INT(rest_lro_wait(ep, url, &r, 20000, &e), 0, "lro: polled until Succeeded");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TAP_EQ_INT(testsrv_count(s, "lro-op") - base, 3, "  three polls (InProgress twice)");
	TAP_OK(t1.tv_sec - t0.tv_sec >= 2, "  honouring Retry-After between polls");
	rest_result_release(&r);

	snprintf(url, sizeof(url), "%s/lro/fail", s->base);
	TAP_EQ_INT(rest_do(ep, &c, &r, &e), 0, "lro fail: PUT accepted");
	TAP_EQ_INT(rest_lro_wait(ep, url, &r, 20000, &e), -EIO, "lro fail: -EIO");
	TAP_EQ_STR(e.code, "ProvisioningFailed", "  the operation's error code");
	TAP_OK(strstr(e.msg, "ended Failed: scripted\\x0afailure") != NULL,
	       "  its message, escaped ('%s')", e.msg);
	rest_result_release(&r);

	snprintf(url, sizeof(url), "%s/lro/foreign", s->base);
	TAP_EQ_INT(rest_do(ep, &c, &r, &e), 0, "lro foreign: PUT accepted");
	TAP_EQ_INT(rest_lro_wait(ep, url, &r, 20000, &e), -EPROTO,
	           "lro: an operation URL on another origin is not polled (our token)");
	rest_result_release(&r);

	snprintf(url, sizeof(url), "%s/lro/slow", s->base);
	TAP_EQ_INT(rest_do(ep, &c, &r, &e), 0, "lro slow: PUT accepted");
	TAP_EQ_INT(rest_lro_wait(ep, url, &r, 1500, &e), -ETIMEDOUT,
	           "lro: bounded by the deadline");
	rest_result_release(&r);

	snprintf(url, sizeof(url), "%s/lro/syncfail", s->base);
	TAP_EQ_INT(rest_do(ep, &c, &r, &e), 0, "lro syncfail: 200 without an operation header");
	TAP_EQ_INT(rest_lro_wait(ep, url, &r, 1000, &e), -EIO,
	           "  provisioningState Failed in the answer is the outcome");
	TAP_EQ_STR(e.code, "Failed", "  its code");
	rest_result_release(&r);

	snprintf(url, sizeof(url), "%s/lro/locforeign", s->base);
	TAP_EQ_INT(rest_do(ep, &c, &r, &e), 0, "lro by Location: 202 accepted");
	TAP_OK(r.status == 202 && r.location && !r.async_url,
	       "  Location kept, no Azure-AsyncOperation");
	TAP_EQ_INT(rest_lro_wait(ep, url, &r, 20000, &e), -EPROTO,
	           "lro by Location: another origin is not polled");
	rest_result_release(&r);

	snprintf(url, sizeof(url), "%s/lro/locslow", s->base);
	TAP_EQ_INT(rest_do(ep, &c, &r, &e), 0, "lro by Location, slow: 202 accepted");
	TAP_EQ_INT(rest_lro_wait(ep, url, &r, 1500, &e), -ETIMEDOUT,
	           "lro by Location: a 202 for ever is bounded by the deadline");
	rest_result_release(&r);

	snprintf(url, sizeof(url), "%s/echo", s->base);
	TAP_EQ_INT(rest_do(ep, &c, &r, &e), 0, "no operation header");
	TAP_OK(r.async_url == NULL, "  async_url NULL");
	TAP_EQ_INT(rest_lro_wait(ep, url, &r, 1000, &e), 0, "  nothing to wait for");
	rest_result_release(&r);
}

static void *par_list(void *arg)
{
	struct par *p = arg;
	struct net_error e;
	cJSON *items;

	for (int i = 0; i < 5; i++) {
		if (list_at(p->s, p->ep, NULL, "/chain/x", NULL, &items, &e) == 0 &&
		    cJSON_GetArraySize(items) == 5)
			p->ok++;
		cJSON_Delete(items);
	}
	return NULL;
}

/* One endpoint shared by 8 threads, as FUSE workers share the mount's clients. */
static void test_threads(struct testsrv *s, struct rest_ep *ep)
{
	pthread_t t[8];
	struct par p[8];
	int ok = 0;

	for (int i = 0; i < 8; i++) {
		p[i] = (struct par){.s = s, .ep = ep, .ok = 0};
		pthread_create(&t[i], NULL, par_list, &p[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ok += p[i].ok;
	}
	TAP_EQ_INT(ok, 40, "8 threads x 5 paged listings on one endpoint all complete");
}

static void test_auth_path(struct testsrv *s)
{
	struct rest_ep bad;
	struct auth *a = NULL;
	struct auth_opts ao = {0};
	struct net_error e;
	char login[96], url[256];
	cJSON *j;
	int rc;

	TAP_OK(testsrv_count(s, "token") >= 1, "the token came from the token endpoint");
	snprintf(login, sizeof(login), "%s/login", s->base);
	ao.login_url = login;
	ao.tenant = "tenant-1";
	ao.client_id = "client-1";
	ao.secret = "wrong-secret";
	if (auth_new(&a, s->http, &ao) < 0) {
		TAP_OK(0, "auth_new with a wrong secret");
		return;
	}
	rest_ep_init(&bad, a, "https://graph.microsoft.com/.default", s->base);
	rc = rest_get(&bad, testsrv_url(s, url, sizeof(url), "/echo/x"), &j, NULL, &e);
	TAP_OK(rc == -EACCES && strstr(e.msg, "AADSTS7000215") && !strstr(e.msg, "wrong-secret"),
	       "a refused secret -> -EACCES with the AADSTS text, without the secret (%s)", e.msg);
	rest_ep_release(&bad);
	auth_free(a);
}

int main(void)
{
	struct testsrv s;
	struct rest_ep ep;

	test_url();
	test_origin();
	test_parse();
	TAP_EQ_INT(rest_ep_init(&ep, (struct auth *)&ep, "s", "http://example.org"), -EINVAL,
	           "rest_ep_init refuses plain http to a non-loopback host");
	if (testsrv_start(&s) < 0) {
		TAP_OK(0, "test server started");
		return tap_done();
	}
	TAP_EQ_INT(rest_ep_init(&ep, s.auth, "https://graph.microsoft.com/.default", s.base), 0,
	           "rest_ep_init");
	ep.max_pages = 20;
	test_paging(&s, &ep);
	test_do(&s, &ep);
	test_lro(&s, &ep);
	test_threads(&s, &ep);
	test_auth_path(&s);
	rest_ep_release(&ep);
	testsrv_stop(&s);
	return tap_done();
}
