/*
 * rest.c - JSON over HTTP with a bearer token, shared by graph.c, reg.c and
 * adf.c.
 *
 * The one decision a reader must know: a listing trusts the server only as
 * far as the origin of the first request. Each page's nextLink is an
 * absolute URL chosen by the server; auth_do() would attach our bearer token
 * to whatever it names, so a link to any other scheme, host or port ends the
 * listing with an error instead of being followed. Pages and items are
 * capped so a server that links a page to itself (or to a cycle) costs a
 * bounded number of requests.
 *
 * Out of memory is reported as -ENOMEM like any other failure; nothing is
 * cached, so every function is reentrant.
 */
#include "net/rest.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "base/clock.h"
#include "base/log.h"

#define REST_MAX_HEADERS 16  /* extra headers a caller may pass */
#define REST_MAX_ETAG    256 /* an ETag we accept to echo in If-Match */

int rest_error(struct net_error *e, int err, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		memset(e, 0, sizeof(*e));
		e->err = err;
		snprintf(e->code, sizeof(e->code), "%s", code);
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -err;
}

int rest_ep_init(struct rest_ep *ep, struct auth *a, const char *scope, const char *base)
{
	size_t n;

	memset(ep, 0, sizeof(*ep));
	if (!a || !scope || !base || http_url_check(base) < 0)
		return -EINVAL;
	ep->auth = a;
	ep->scope = strdup(scope);
	ep->base = strdup(base);
	if (!ep->scope || !ep->base) {
		rest_ep_release(ep);
		return -ENOMEM;
	}
	n = strlen(ep->base);
	if (n > 0 && ep->base[n - 1] == '/')
		ep->base[n - 1] = '\0';
	ep->max_body = REST_MAX_BODY;
	ep->max_pages = REST_MAX_PAGES;
	ep->max_items = REST_MAX_ITEMS;
	return 0;
}

void rest_ep_release(struct rest_ep *ep)
{
	free(ep->scope);
	free(ep->base);
	memset(ep, 0, sizeof(*ep));
}

/* Append `s` to the malloc'd string *buf of length *len; caps at REST_MAX_URL. */
static int rest_append(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s);
	char *p;

	if (*len + n >= REST_MAX_URL)
		return -E2BIG;
	p = realloc(*buf, *len + n + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p + *len, s, n + 1);
	*buf = p;
	*len += n;
	return 0;
}

/* rest_url() with the segments in a va_list. */
static char *rest_vurl(const char *base, const char *query, va_list ap, int *err)
{
	const char *seg;
	char *url = NULL, *enc;
	size_t len = 0;
	int rc = -EINVAL;

	*err = rc;
	if (!base)
		return NULL;
	rc = rest_append(&url, &len, base);
	while (rc == 0 && len > 0 && url[len - 1] == '/')
		url[--len] = '\0';
	while (rc == 0 && (seg = va_arg(ap, const char *)) != NULL) {
		if (!*seg) {
			rc = -EINVAL;
			break;
		}
		enc = http_urlencode(seg, 0);
		if (!enc) {
			rc = -ENOMEM;
			break;
		}
		rc = rest_append(&url, &len, "/");
		if (rc == 0)
			rc = rest_append(&url, &len, enc);
		free(enc);
	}
	if (rc == 0 && query && *query) {
		rc = rest_append(&url, &len, "?");
		if (rc == 0)
			rc = rest_append(&url, &len, query);
	}
	*err = rc;
	if (rc < 0) {
		free(url);
		return NULL;
	}
	return url;
}

char *rest_url(const char *base, const char *query, ...)
{
	va_list ap;
	char *url;
	int err;

	va_start(ap, query);
	url = rest_vurl(base, query, ap, &err);
	va_end(ap);
	return url;
}

struct rest_ep *rest_ep_new(size_t size, int *err, struct auth *a, const char *scope,
                            const char *base, ...)
{
	struct rest_ep *ep = NULL;
	char *prefix;
	va_list ap;

	va_start(ap, base);
	prefix = rest_vurl(base, NULL, ap, err);
	va_end(ap);
	if (prefix && size < sizeof(*ep))
		*err = -EINVAL;
	else if (prefix && !(ep = calloc(1, size)))
		*err = -ENOMEM;
	else if (ep && (*err = rest_ep_init(ep, a, scope, prefix)) < 0) {
		free(ep);
		ep = NULL;
	}
	free(prefix);
	return ep;
}

void rest_ep_free(struct rest_ep *ep)
{
	if (!ep)
		return;
	rest_ep_release(ep);
	free(ep);
}

/* The scheme, host and port of `s`, lower-cased; 0 or -1 if it does not parse. */
static int rest_origin(const char *s, char *out, size_t outlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL;
	int res = -1;

	if (!u || strlen(s) >= REST_MAX_URL)
		goto out;
	if (curl_url_set(u, CURLUPART_URL, s, 0) != CURLUE_OK)
		goto out;
	/* Userinfo has no business in a page link; "https://good@evil/" is a classic trick. */
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	if ((size_t)snprintf(out, outlen, "%s://%s:%s", scheme, host, port) >= outlen)
		goto out;
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	res = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_url_cleanup(u);
	return res;
}

int rest_same_origin(const char *a, const char *b)
{
	char oa[512], ob[512];

	if (!a || !b || rest_origin(a, oa, sizeof(oa)) < 0 || rest_origin(b, ob, sizeof(ob)) < 0)
		return 0;
	return strcmp(oa, ob) == 0;
}

/*
 * The deepest nesting of `buf`, stopping early past `cap`. Brackets inside
 * strings do not count. cJSON recurses once per level, so this keeps its
 * stack use small whatever the server sends.
 */
static int rest_depth_exceeds(const char *buf, size_t len, int cap)
{
	int depth = 0, in_str = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = buf[i];

		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = 0;
		} else if (ch == '"') {
			in_str = 1;
		} else if (ch == '[' || ch == '{') {
			if (++depth > cap)
				return 1;
		} else if ((ch == ']' || ch == '}') && depth > 0) {
			depth--;
		}
	}
	return 0;
}

int rest_error_body(struct net_error *e, const char *body, size_t len)
{
	cJSON *root = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *c, *m;
	int found;

	/* Synapse's token check answers {"code", "message"} without the "error" wrapper;
	 * Fabric's ErrorResponse is the body itself, with "errorCode". */
	if (!cJSON_IsObject(err))
		err = root;
	c = cJSON_GetObjectItemCaseSensitive(err, "code");
	if (!cJSON_IsString(c) && err == root)
		c = cJSON_GetObjectItemCaseSensitive(root, "errorCode");
	m = cJSON_GetObjectItemCaseSensitive(err, "message");
	found = cJSON_IsString(c) || cJSON_IsString(m);

	if (cJSON_IsString(c))
		net_error_code(e, c->valuestring, strlen(c->valuestring));
	if (cJSON_IsString(m))
		net_error_msg(e, m->valuestring, strlen(m->valuestring));
	cJSON_Delete(root);
	return found;
}

int rest_parse(const char *buf, size_t len, cJSON **out, struct net_error *e)
{
	const char *end = NULL;

	*out = NULL;
	if (!buf || memchr(buf, '\0', len))
		return rest_error(e, EPROTO, "InvalidJson", "reply contains a NUL byte");
	if (rest_depth_exceeds(buf, len, REST_MAX_DEPTH))
		return rest_error(e, EPROTO, "InvalidJson", "reply nests deeper than %d levels",
		                  REST_MAX_DEPTH);
	*out = cJSON_ParseWithOpts(buf, &end, 1);
	if (!*out)
		return rest_error(e, EPROTO, "InvalidJson",
		                  "reply is not valid JSON (at byte %zu of %zu)",
		                  end && end >= buf ? (size_t)(end - buf) : (size_t)0, len);
	return 0;
}

void rest_result_release(struct rest_result *r)
{
	cJSON_Delete(r->json);
	free(r->etag);
	free(r->async_url);
	free(r->location);
	memset(r, 0, sizeof(*r));
}

static int rest_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Fill hdrs (room for REST_MAX_HEADERS + 4) for call `c`; ifm is the If-Match line buffer. */
static int rest_headers(const struct rest_call *c, const char **hdrs, char *ifm, size_t ifmlen,
                        struct net_error *e)
{
	size_t n = 0;

	hdrs[n++] = "Accept: application/json";
	if (c->body)
		hdrs[n++] = "Content-Type: application/json";
	if (c->if_match) {
		size_t l = strlen(c->if_match);

		for (size_t i = 0; i < l; i++)
			if ((unsigned char)c->if_match[i] < 0x20 || c->if_match[i] == 0x7f)
				return rest_error(e, EINVAL, "InvalidETag",
				                  "If-Match value contains a control character");
		if (l == 0 || l > REST_MAX_ETAG)
			return rest_error(e, EINVAL, "InvalidETag", "If-Match value is %s",
			                  l ? "too long" : "empty");
		snprintf(ifm, ifmlen, "If-Match: %s", c->if_match);
		hdrs[n++] = ifm;
	}
	for (size_t i = 0; c->headers && c->headers[i]; i++) {
		if (i >= REST_MAX_HEADERS)
			return rest_error(e, EINVAL, "TooManyHeaders", "more than %d extra headers",
			                  REST_MAX_HEADERS);
		hdrs[n++] = c->headers[i];
	}
	hdrs[n] = NULL;
	return 0;
}

/* The long-running-operation headers of a reply, into r. */
static int rest_async(const struct http_resp *resp, struct rest_result *r, struct net_error *e)
{
	const char *op = http_resp_header(resp, "Azure-AsyncOperation");
	const char *loc = http_resp_header(resp, "Location");
	const char *ra = http_resp_header(resp, "Retry-After");

	if (op && strlen(op) < REST_MAX_URL && !(r->async_url = strdup(op)))
		return rest_error(e, ENOMEM, "NoMemory", "out of memory");
	if (loc && strlen(loc) < REST_MAX_URL && !(r->location = strdup(loc)))
		return rest_error(e, ENOMEM, "NoMemory", "out of memory");
	if (ra) {
		char *end;
		long v = strtol(ra, &end, 10);

		r->retry_after = end != ra && *end == '\0' && v > 0 && v < 3600 ? v : 0;
	}
	return 0;
}

int rest_do(const struct rest_ep *ep, const struct rest_call *c, struct rest_result *r,
            struct net_error *e)
{
	struct net_error local;
	struct net_error *ee = e ? e : &local;
	struct http_resp resp;
	struct http_req req;
	const char *hdrs[REST_MAX_HEADERS + 4];
	char ifm[REST_MAX_ETAG + 16];
	const char *etag;
	char *body = NULL;
	int res;

	memset(r, 0, sizeof(*r));
	memset(&resp, 0, sizeof(resp));
	memset(ee, 0, sizeof(*ee));
	res = rest_headers(c, hdrs, ifm, sizeof(ifm), ee);
	if (res < 0)
		goto out;
	if (c->body) {
		body = cJSON_PrintUnformatted(c->body);
		if (!body) {
			res = rest_error(ee, ENOMEM, "NoMemory", "cannot serialise the request");
			goto out;
		}
	}
	memset(&req, 0, sizeof(req));
	req.method = c->method;
	req.url = c->url;
	req.headers = hdrs;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.max_body = ep->max_body;
	req.idempotent = !c->non_idempotent;

	res = auth_do(ep->auth, ep->scope, &req, &resp, ee);
	r->status = resp.status;
	if (res < 0) {
		/* The token step fills ee itself; a transport failure does not. */
		if (ee->err == 0)
			res = net_error_set(ee, res, &resp, rest_error_body);
		goto out;
	}
	if (resp.status < 200 || resp.status > 299) {
		res = net_error_set(ee, 0, &resp, rest_error_body);
		if (res == 0) /* a 1xx/3xx we did not ask for is no success either */
			res = rest_error(ee, EIO, "UnexpectedStatus", "unexpected HTTP status %ld",
			                 resp.status);
		goto out;
	}
	if (resp.body && !rest_blank(resp.body, resp.body_len)) {
		res = rest_parse(resp.body, resp.body_len, &r->json, ee);
		if (res < 0) {
			ee->status = resp.status;
			goto out;
		}
	}
	etag = http_resp_header(&resp, "ETag");
	if (!etag) {
		const cJSON *j = cJSON_GetObjectItemCaseSensitive(r->json, "etag");

		etag = cJSON_IsString(j) ? j->valuestring : NULL;
	}
	if (etag && !(r->etag = strdup(etag))) {
		res = rest_error(ee, ENOMEM, "NoMemory", "out of memory");
		goto out;
	}
	if ((res = rest_async(&resp, r, ee)) < 0)
		goto out;
	res = 0;
out:
	if (res < 0) {
		long status = r->status;

		rest_result_release(r);
		r->status = status;
	}
	free(body);
	http_resp_release(&resp);
	return res;
}

int rest_send(const struct rest_ep *ep, const char *method, const char *url, const cJSON *body,
              const char *if_match, int non_idempotent, cJSON **out, char **etag,
              struct net_error *e)
{
	struct rest_call c = {.method = method,
	                      .url = url,
	                      .body = body,
	                      .if_match = if_match,
	                      .non_idempotent = non_idempotent};
	struct rest_result r;
	int res;

	if (out)
		*out = NULL;
	if (etag)
		*etag = NULL;
	if (!url)
		return rest_error(e, ENOMEM, "NoMemory", "cannot build the request URL");
	res = rest_do(ep, &c, &r, e);
	if (res == 0) {
		if (out) {
			*out = r.json;
			r.json = NULL;
		}
		if (etag) {
			*etag = r.etag;
			r.etag = NULL;
		}
	}
	rest_result_release(&r);
	return res;
}

int rest_get(const struct rest_ep *ep, const char *url, cJSON **out, char **etag,
             struct net_error *e)
{
	return rest_send(ep, NULL, url, NULL, NULL, 0, out, etag, e);
}

cJSON *rest_take_item(cJSON **json, const char *name)
{
	cJSON *item = cJSON_DetachItemFromObjectCaseSensitive(*json, name);

	cJSON_Delete(*json);
	*json = NULL;
	return item;
}

/* A non-empty string member `name` of `obj`, or NULL. */
static const char *rest_str(const cJSON *obj, const char *name)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(j) && j->valuestring[0] ? j->valuestring : NULL;
}

/* Move every element of page's "value" array to the end of `all`. */
static int rest_merge(const struct rest_ep *ep, cJSON *page, cJSON *all, int *n,
                      struct net_error *e)
{
	cJSON *value = cJSON_GetObjectItemCaseSensitive(page, "value");

	if (!cJSON_IsArray(value))
		return rest_error(e, EPROTO, "InvalidListing",
		                  "listing page has no \"value\" array");
	while (value->child) {
		cJSON *item = cJSON_DetachItemViaPointer(value, value->child);

		if (++*n > ep->max_items) {
			cJSON_Delete(item);
			return rest_error(e, EOVERFLOW, "ListingTooLarge",
			                  "listing has more than %d items", ep->max_items);
		}
		cJSON_AddItemToArray(all, item);
	}
	return 0;
}

int rest_list(const struct rest_ep *ep, const struct rest_call *first, cJSON **items,
              struct net_error *e)
{
	struct rest_call c = *first;
	struct rest_result r;
	cJSON *all = cJSON_CreateArray(), *query = NULL;
	char *url = strdup(first->url), *token = NULL;
	const char *next, *tok;
	int pages = 0, n = 0, res;

	*items = NULL;
	memset(&r, 0, sizeof(r));
	if (!all || !url) {
		res = rest_error(e, ENOMEM, "NoMemory", "out of memory");
		goto out;
	}
	/* A POST query pages by token: keep our own copy of its body to add the token to. */
	if (first->body && cJSON_IsObject(first->body)) {
		query = cJSON_Duplicate(first->body, 1);
		if (!query) {
			res = rest_error(e, ENOMEM, "NoMemory", "out of memory");
			goto out;
		}
	}
	for (;;) {
		if (++pages > ep->max_pages) {
			res = rest_error(e, ELOOP, "TooManyPages",
			                 "listing needs more than %d pages", ep->max_pages);
			goto out;
		}
		c.url = url;
		c.body = query;
		res = rest_do(ep, &c, &r, e);
		if (res < 0)
			goto out;
		res = rest_merge(ep, r.json, all, &n, e);
		if (res < 0)
			goto out;
		tok = rest_str(r.json, "continuationToken");
		next = rest_str(r.json, "@odata.nextLink");
		if (!next)
			next = rest_str(r.json, "nextLink");
		if (!next)
			next = rest_str(r.json, "continuationUri");
		if (tok && query) {
			if (token && strcmp(token, tok) == 0) {
				res = rest_error(e, ELOOP, "ListingLoop",
				                 "listing repeats its continuation token");
				goto out;
			}
			free(token);
			token = strdup(tok);
			cJSON_DeleteItemFromObjectCaseSensitive(query, "continuationToken");
			if (!token || !cJSON_AddStringToObject(query, "continuationToken", token)) {
				res = rest_error(e, ENOMEM, "NoMemory", "out of memory");
				goto out;
			}
		} else if (next) {
			if (!rest_same_origin(first->url, next)) {
				char origin[512], esc[160];

				/* Name only the origin: the link's query is none of the log's
				 * business. */
				if (rest_origin(next, origin, sizeof(origin)) < 0)
					snprintf(origin, sizeof(origin),
					         "a URL with user info, or unparsable");
				res = rest_error(e, EPROTO, "ForeignNextLink",
				                 "refused a nextLink to another origin (%s)",
				                 log_escape(esc, sizeof(esc), origin, (size_t)-1));
				goto out;
			}
			if (strcmp(next, url) == 0) {
				res = rest_error(e, ELOOP, "ListingLoop",
				                 "listing page links to itself");
				goto out;
			}
			free(url);
			url = strdup(next);
			if (!url) {
				res = rest_error(e, ENOMEM, "NoMemory", "out of memory");
				goto out;
			}
			/* A nextLink is a plain GET of the whole next page. */
			c.method = "GET";
			cJSON_Delete(query);
			query = NULL;
		} else {
			break;
		}
		rest_result_release(&r);
	}
	*items = all;
	all = NULL;
	res = 0;
out:
	rest_result_release(&r);
	cJSON_Delete(all);
	cJSON_Delete(query);
	free(url);
	free(token);
	return res;
}

/* What one poll of an operation says: 1 done, 0 still running, <0 failed (e filled). */
static int rest_lro_outcome(const struct rest_result *s, int by_location, struct net_error *e)
{
	const char *status = rest_str(s->json, "status");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(s->json, "error");
	const char *msg = rest_str(err, "message");
	/* Fabric's OperationState error names its code "errorCode". */
	const char *code =
	    rest_str(err, "code") ? rest_str(err, "code") : rest_str(err, "errorCode");
	char esc[400];

	if (status && (strcasecmp(status, "Failed") == 0 || strcasecmp(status, "Canceled") == 0))
		return rest_error(e, EIO, code ? code : status, "the operation ended %s%s%s",
		                  status, msg ? ": " : "",
		                  msg ? log_escape(esc, sizeof(esc), msg, (size_t)-1) : "");
	if (status && strcasecmp(status, "Succeeded") == 0)
		return 1;
	/* A Location poll ends with the first answer that is not 202 (Synapse's
	 * operationResults: 200 with the artifact, or an empty 200/204 after a delete). */
	return by_location && s->status != 202;
}

int rest_lro_wait(const struct rest_ep *ep, const char *request_url, struct rest_result *r,
                  long deadline_ms, struct net_error *e)
{
	int by_location = !r->async_url && r->status == 202 && r->location;
	struct rest_call c = {.url = by_location ? r->location : r->async_url};
	struct rest_result s;
	long end = clock_ms() + deadline_ms, wait_s = r->retry_after;
	char *next = NULL;
	int res;

	if (!c.url) {
		/* A synchronous answer (or a 202 naming nothing to poll): the resource's own
		 * state is the outcome. */
		const char *ps = rest_str(cJSON_GetObjectItemCaseSensitive(r->json, "properties"),
		                          "provisioningState");

		if (ps && (strcasecmp(ps, "Failed") == 0 || strcasecmp(ps, "Canceled") == 0))
			return rest_error(e, EIO, ps, "the operation ended %s", ps);
		return 0;
	}
	for (;;) {
		long left = end - clock_ms(), ms = (wait_s > 0 ? wait_s : 1) * 1000;

		if (!rest_same_origin(request_url, c.url)) {
			res = rest_error(e, EPROTO, "ForeignOperationUrl",
			                 "refused to poll an operation on another origin");
			break;
		}
		if (ms > 10000)
			ms = 10000;
		if (left <= 0) {
			res = rest_error(e, ETIMEDOUT, "OperationTimedOut",
			                 "the operation did not finish within %ld ms", deadline_ms);
			break;
		}
		if (ms > left)
			ms = left;
		if (http_pause_ms(ms) < 0) {
			res = rest_error(e, ECANCELED, "Cancelled",
			                 "the mount is going away; the operation goes on at the "
			                 "service");
			break;
		}
		if ((res = rest_do(ep, &c, &s, e)) < 0)
			break;
		wait_s = s.retry_after;
		res = rest_lro_outcome(&s, by_location, e);
		if (res == 1 && by_location) {
			/* The final answer replaces the 202's: the caller reads the result there.
			 */
			cJSON_Delete(r->json);
			free(r->etag);
			r->json = s.json;
			r->etag = s.etag;
			r->status = s.status;
			s.json = NULL;
			s.etag = NULL;
		}
		if (res == 0 && by_location && s.location) {
			free(next);
			next = s.location; /* a 202 may move the operation */
			s.location = NULL;
			c.url = next;
		}
		rest_result_release(&s);
		if (res != 0)
			break;
	}
	free(next);
	return res < 0 ? res : 0;
}
