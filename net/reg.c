/*
 * reg.c - client of the registration contract v1 (reg.h).
 *
 * The client is deliberately thin: validation of a registration spec lives
 * in fs/ (against the catalog) and the service re-validates, so this module
 * only builds URLs, carries ETags and keeps the service's error text. The
 * design decision worth knowing: approve and decline are sent as
 * non-idempotent POSTs, so a dropped connection is reported rather than
 * replayed; an approval is a person's decision and the caller re-reads the
 * registration to learn whether it happened.
 */
#include "net/reg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/rest.h"

struct reg {
	/* first member: rest_ep_new() allocates the whole struct */
	struct rest_ep ep; /* base = {registration_url}/v1/tenants/{tenantId} */
};

int reg_new(struct reg **out, struct auth *a, const char *base_url, const char *tenant_id,
            const char *scope)
{
	int rc = -EINVAL;

	/* A NULL tenant would end the segment list early and name another URL. */
	*out = !tenant_id ? NULL
	                  : (struct reg *)rest_ep_new(sizeof(struct reg), &rc, a,
	                                              scope ? scope : REG_SCOPE_DEFAULT, base_url,
	                                              "v1", "tenants", tenant_id, (char *)NULL);
	return *out ? 0 : rc;
}

void reg_free(struct reg *r)
{
	rest_ep_free(r ? &r->ep : NULL);
}

struct rest_ep *reg_rest(struct reg *r)
{
	return &r->ep;
}

int reg_get_data_connect(struct reg *r, cJSON **out, struct net_error *e)
{
	char *url = rest_url(r->ep.base, NULL, "dataConnect", NULL);
	int res = rest_get(&r->ep, url, out, NULL, e);

	free(url);
	return res;
}

int reg_set_data_connect(struct reg *r, int enabled, cJSON **out, struct net_error *e)
{
	char *url = rest_url(r->ep.base, NULL, "dataConnect", NULL);
	cJSON *body = cJSON_CreateObject();
	int res;

	if (out)
		*out = NULL;
	if (!body || !cJSON_AddBoolToObject(body, "enabled", enabled ? 1 : 0)) {
		res = rest_error(e, ENOMEM, "NoMemory", "out of memory");
		goto out;
	}
	res = rest_send(&r->ep, "PUT", url, body, NULL, 0, out, NULL, e);
out:
	cJSON_Delete(body);
	free(url);
	return res;
}

int reg_list(struct reg *r, int top, cJSON **items, struct net_error *e)
{
	struct rest_call c = {0};
	char query[32] = "";
	char *url;
	int res;

	*items = NULL;
	if (top > 0)
		snprintf(query, sizeof(query), "$top=%d", top);
	url = rest_url(r->ep.base, query, "registrations", NULL);
	if (!url)
		return rest_error(e, ENOMEM, "NoMemory", "out of memory");
	c.url = url;
	res = rest_list(&r->ep, &c, items, e);
	free(url);
	return res;
}

/* The URL of registration `app_id`, with an optional action segment, in *url. */
static int reg_url(struct reg *r, const char *app_id, const char *action, char **url,
                   struct net_error *e)
{
	*url = NULL;
	if (!app_id || !*app_id)
		return rest_error(e, EINVAL, "InvalidRegistration", "no appId given");
	*url = rest_url(r->ep.base, NULL, "registrations", app_id, action, NULL);
	return *url ? 0 : rest_error(e, ENOMEM, "NoMemory", "out of memory");
}

int reg_get(struct reg *r, const char *app_id, cJSON **out, char **etag, struct net_error *e)
{
	char *url;
	int res = reg_url(r, app_id, NULL, &url, e);

	if (out)
		*out = NULL;
	if (etag)
		*etag = NULL;
	if (res == 0)
		res = rest_get(&r->ep, url, out, etag, e);
	free(url);
	return res;
}

int reg_put(struct reg *r, const char *app_id, const cJSON *spec, const char *if_match, cJSON **out,
            char **etag, int *created, struct net_error *e)
{
	struct rest_call c = {.method = "PUT", .body = spec, .if_match = if_match};
	struct rest_result res_;
	char *url = NULL;
	int res;

	if (out)
		*out = NULL;
	if (etag)
		*etag = NULL;
	memset(&res_, 0, sizeof(res_));
	res = spec ? reg_url(r, app_id, NULL, &url, e)
	           : rest_error(e, EINVAL, "InvalidRegistration", "no registration body");
	if (res < 0)
		goto out;
	c.url = url;
	res = rest_do(&r->ep, &c, &res_, e);
	if (res < 0)
		goto out;
	if (created)
		*created = res_.status == 201;
	if (out) {
		*out = res_.json;
		res_.json = NULL;
	}
	if (etag) {
		*etag = res_.etag;
		res_.etag = NULL;
	}
out:
	rest_result_release(&res_);
	free(url);
	return res;
}

int reg_delete(struct reg *r, const char *app_id, struct net_error *e)
{
	char *url;
	int res = reg_url(r, app_id, NULL, &url, e);

	if (res == 0)
		res = rest_send(&r->ep, "DELETE", url, NULL, NULL, 0, NULL, NULL, e);
	free(url);
	return res;
}

/* POST an action (approve, decline) that changes the authorization. */
static int reg_action(struct reg *r, const char *app_id, const char *action, cJSON **out,
                      struct net_error *e)
{
	char *url;
	int res = reg_url(r, app_id, action, &url, e);

	if (out)
		*out = NULL;
	if (res == 0)
		res = rest_send(&r->ep, "POST", url, NULL, NULL, 1, out, NULL, e);
	free(url);
	return res;
}

int reg_approve(struct reg *r, const char *app_id, cJSON **out, struct net_error *e)
{
	return reg_action(r, app_id, "approve", out, e);
}

int reg_decline(struct reg *r, const char *app_id, cJSON **out, struct net_error *e)
{
	return reg_action(r, app_id, "decline", out, e);
}
