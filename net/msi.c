/*
 * msi.c - managed identity tokens from IMDS or App Service's endpoint.
 *
 * Key decision: "nothing answers" (-ENXIO) is kept apart from "the endpoint
 * answered no" (-EACCES), because DefaultAzureCredential moves on to the
 * next source only in the first case: an Azure VM without the identity asked
 * for is a configuration error to report, not a reason to try the Azure CLI.
 * The request shapes are the public ones: IMDS api-version 2018-02-01 with
 * "Metadata: true" and client_id / object_id / msi_res_id; App Service
 * api-version 2019-08-01 with X-IDENTITY-HEADER and client_id / principal_id
 * / mi_res_id (see mgdcfs(1), Credentials).
 */
#include "net/msi.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "base/log.h"
#include "net/auth.h"

#define MSI_IMDS_HOST  "http://169.254.169.254"
#define MSI_IMDS_PATH  "/metadata/identity/oauth2/token"
#define MSI_REPLY_MAX  (64u << 10)
#define MSI_TOKEN_MAX  16384
#define MSI_LIFE_MAX_S (366L * 86400)

/* A number given as a JSON number or a string of digits; -1 when neither. */
static double msi_num(const cJSON *v)
{
	if (cJSON_IsNumber(v))
		return v->valuedouble;
	if (cJSON_IsString(v) && isdigit((unsigned char)v->valuestring[0]))
		return strtod(v->valuestring, NULL);
	return -1;
}

static int msi_fail(struct net_error *e, int err, const char *msg)
{
	if (e) {
		e->err = err;
		snprintf(e->msg, sizeof(e->msg), "%s", msg);
	}
	return -err;
}

int msi_parse_reply(const char *body, size_t len, long now, char **token, long *life_s,
                    struct net_error *e)
{
	cJSON *root;
	const cJSON *tok;
	double in, on;
	int res = 0;

	*token = NULL;
	*life_s = 0;
	if (!body || len == 0 || len > MSI_REPLY_MAX)
		return msi_fail(e, EIO, "managed identity endpoint: empty or oversized reply");
	root = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
	tok = cJSON_GetObjectItemCaseSensitive(root, "access_token");
	in = msi_num(cJSON_GetObjectItemCaseSensitive(root, "expires_in"));
	on = msi_num(cJSON_GetObjectItemCaseSensitive(root, "expires_on"));
	if (!cJSON_IsString(tok) || !tok->valuestring[0] ||
	    strlen(tok->valuestring) >= MSI_TOKEN_MAX) {
		res = msi_fail(e, EIO, "managed identity endpoint: reply without an access_token");
	} else {
		/* A token goes into a header: visible ASCII only. */
		for (const char *p = tok->valuestring; *p && !res; p++)
			if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
				res = msi_fail(e, EIO,
				               "managed identity endpoint: a token with "
				               "characters a header cannot hold");
	}
	if (!res) {
		double life = in >= 0 ? in : on >= 0 ? on - (double)now : -1;

		if (!(life >= 1 && life <= MSI_LIFE_MAX_S))
			res =
			    msi_fail(e, EIO,
			             "managed identity endpoint: reply without a usable expires_in "
			             "or expires_on");
		else
			*life_s = (long)life;
	}
	if (!res && !(*token = strdup(tok->valuestring)))
		res = msi_fail(e, ENOMEM, "out of memory");
	if (cJSON_IsString(tok))
		OPENSSL_cleanse(tok->valuestring, strlen(tok->valuestring));
	cJSON_Delete(root);
	return res;
}

/* "https://x/.default" -> "https://x" (the endpoints want a resource, not a scope). */
static char *msi_resource(const char *scope)
{
	size_t n = strlen(scope);

	if (n > 9 && strcmp(scope + n - 9, "/.default") == 0)
		n -= 9;
	return strndup(scope, n);
}

int msi_token(struct http *h, const struct msi_opts *o, const char *scope, char **token,
              long *life_s, struct net_error *e)
{
	static const char *const idp_imds[] = {NULL, "client_id", "object_id", "msi_res_id"};
	static const char *const idp_app[] = {NULL, "client_id", "principal_id", "mi_res_id"};
	struct http_req req = {.method = "GET", .idempotent = 1};
	struct http_resp resp;
	const char *hdrs[3] = {"Accept: application/json", NULL, NULL};
	char *resource = NULL, *res_enc = NULL, *id_enc = NULL, *url = NULL, *hdr = NULL;
	const char *idp, *base;
	int res = -ENOMEM, w;

	*token = NULL;
	*life_s = 0;
	memset(&resp, 0, sizeof(resp));
	if (e)
		memset(e, 0, sizeof(*e));
	resource = msi_resource(scope);
	res_enc = resource ? http_urlencode(resource, 0) : NULL;
	id_enc = o->id ? http_urlencode(o->id, 0) : NULL;
	if (!res_enc || (o->id && !id_enc))
		goto out;
	if (o->appsvc_endpoint) {
		base = o->appsvc_endpoint;
		idp = idp_app[o->id_kind];
		w = asprintf(&url, "%s%capi-version=2019-08-01&resource=%s%s%s%s%s", base,
		             strchr(base, '?') ? '&' : '?', res_enc, idp ? "&" : "", idp ? idp : "",
		             idp ? "=" : "", idp ? id_enc : "");
		if (asprintf(&hdr, "X-IDENTITY-HEADER: %s",
		             o->appsvc_header ? o->appsvc_header : "") < 0)
			hdr = NULL;
	} else {
		base = o->imds_host ? o->imds_host : MSI_IMDS_HOST;
		idp = idp_imds[o->id_kind];
		w = asprintf(
		    &url, "%.*s" MSI_IMDS_PATH "?api-version=2018-02-01&resource=%s%s%s%s%s",
		    (int)(strlen(base) - (base[0] && base[strlen(base) - 1] == '/')), base, res_enc,
		    idp ? "&" : "", idp ? idp : "", idp ? "=" : "", idp ? id_enc : "");
		hdr = strdup("Metadata: true");
	}
	if (w < 0) {
		url = NULL;
		goto out;
	}
	if (!hdr)
		goto out;
	hdrs[1] = hdr;
	req.url = url;
	req.headers = hdrs;
	req.no_retry = o->probe;
	res = http_do(h, &req, &resp);
	if (res == -EINVAL) {
		res = msi_fail(e, EINVAL,
		               "the managed identity endpoint URL is not usable (https://, "
		               "or http:// to loopback or 169.254.169.254)");
		goto out;
	}
	if (res < 0) {
		char msg[400];

		/* Not on Azure (or not in App Service): nothing listens, or nothing routes. */
		snprintf(msg, sizeof(msg), "no managed identity endpoint answers at %s (%s)",
		         o->appsvc_endpoint ? "IDENTITY_ENDPOINT" : base,
		         resp.error[0] ? resp.error : strerror(-res));
		res = msi_fail(e, ENXIO, msg);
		goto out;
	}
	if (resp.status != 200) {
		char msg[sizeof(e->msg)];

		net_error_set(e, 0, &resp, auth_error_body);
		snprintf(msg, sizeof(msg), "the managed identity endpoint answered %ld: %.400s",
		         resp.status, e && e->msg[0] ? e->msg : "(no message)");
		/* 400 "Identity not found", 401/403: the platform refused; 404: no identity
		 * endpoint there after all (a stand-in web server), so the next source may go. */
		res = msi_fail(e,
		               resp.status == 404                         ? ENXIO
		               : resp.status >= 500 || resp.status == 429 ? EAGAIN
		                                                          : EACCES,
		               msg);
		if (e)
			e->status = resp.status;
		goto out;
	}
	res = msi_parse_reply(resp.body, resp.body_len, (long)time(NULL), token, life_s, e);
out:
	http_resp_release(&resp);
	if (hdr) {
		OPENSSL_cleanse(hdr, strlen(hdr));
		free(hdr);
	}
	free(url);
	free(resource);
	free(res_enc);
	free(id_enc);
	return res;
}
