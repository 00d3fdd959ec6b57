/*
 * billing.c - Microsoft.GraphServices/accounts client (billing.h).
 *
 * The decision a reader must know: an account's PUT is an ARM long-running
 * operation (the spec declares it, final state via Azure-AsyncOperation),
 * so billing_put() returns only after the operation has ended and reads the
 * account again; the first reply's provisioningState says nothing final.
 */
#include "net/billing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/rest.h"

#define BILLING_QUERY "api-version=" BILLING_API_VERSION

struct billing {
	/* first member: rest_ep_new() allocates the whole struct */
	struct rest_ep ep; /* base = {arm}/subscriptions/{sub} */
	char *rg;
};

int billing_new(struct billing **out, struct auth *a, const char *arm_url, const char *sub,
                const char *rg)
{
	int rc = -EINVAL;

	*out = !sub || !rg
	           ? NULL
	           : (struct billing *)rest_ep_new(sizeof(struct billing), &rc, a,
	                                           "https://management.azure.com/.default", arm_url,
	                                           "subscriptions", sub, (char *)NULL);
	if (*out && !((*out)->rg = strdup(rg))) {
		billing_free(*out);
		*out = NULL;
		rc = -ENOMEM;
	}
	return *out ? 0 : rc;
}

void billing_free(struct billing *b)
{
	if (!b)
		return;
	free(b->rg);
	rest_ep_free(&b->ep);
}

int billing_list(struct billing *b, cJSON **items, struct net_error *e)
{
	char *url = rest_url(b->ep.base, BILLING_QUERY, "providers", "Microsoft.GraphServices",
	                     "accounts", NULL);
	struct rest_call c = {.url = url};
	int res;

	*items = NULL;
	if (!url)
		return rest_error(e, ENOMEM, "NoMemory", "cannot build the request URL");
	res = rest_list(&b->ep, &c, items, e);
	free(url);
	return res;
}

/*
 * The resource group and name of account id `id`
 * ("/subscriptions/S/resourceGroups/G/providers/Microsoft.GraphServices/accounts/N")
 * when it is in this client's subscription: pointers into id, with lengths.
 */
static int billing_id_parts(const struct billing *b, const char *id, const char **rg,
                            size_t *rg_len, const char **name)
{
	static const char prov[] = "/providers/Microsoft.GraphServices/accounts/";
	const char *sub = strstr(b->ep.base, "/subscriptions/"), *p, *q;
	size_t sl;

	if (!sub || !id)
		return -1;
	sl = strlen(sub);
	if (strncasecmp(id, sub, sl) != 0 || strncasecmp(id + sl, "/resourceGroups/", 16) != 0)
		return -1;
	p = id + sl + 16;
	q = strchr(p, '/');
	if (!q || q == p || strncasecmp(q, prov, sizeof(prov) - 1) != 0)
		return -1;
	*rg = p;
	*rg_len = (size_t)(q - p);
	*name = q + sizeof(prov) - 1;
	return **name && !strchr(*name, '/') ? 0 : -1;
}

int billing_put(struct billing *b, const char *id, const char *name, const char *app_id,
                const cJSON *tags, long deadline_ms, cJSON **out, struct net_error *e)
{
	cJSON *body = cJSON_CreateObject(), *props;
	char *url = NULL, rg[128];
	const char *idrg = NULL;
	size_t idrg_len = 0;
	struct rest_call c = {.method = "PUT"};
	struct rest_result r = {0};
	int res = rest_error(e, ENOMEM, "NoMemory", "out of memory");

	if (out)
		*out = NULL;
	if (id &&
	    (billing_id_parts(b, id, &idrg, &idrg_len, &name) < 0 || idrg_len >= sizeof(rg))) {
		cJSON_Delete(body);
		return rest_error(e, EINVAL, "InvalidResourceId",
		                  "not a Microsoft.GraphServices account of this subscription");
	}
	snprintf(rg, sizeof(rg), "%.*s", (int)(id ? idrg_len : strlen(b->rg)), id ? idrg : b->rg);
	if (!name || !*name || !app_id) {
		cJSON_Delete(body);
		return rest_error(e, EINVAL, "InvalidName", "no account name or appId");
	}
	if (!body || !cJSON_AddStringToObject(body, "location", "global") ||
	    !(props = cJSON_AddObjectToObject(body, "properties")) ||
	    !cJSON_AddStringToObject(props, "appId", app_id) ||
	    (tags && !cJSON_AddItemToObject(body, "tags", cJSON_Duplicate(tags, 1))))
		goto out;
	url = rest_url(b->ep.base, BILLING_QUERY, "resourceGroups", rg, "providers",
	               "Microsoft.GraphServices", "accounts", name, NULL);
	if (!url)
		goto out;
	c.url = url;
	c.body = body;
	res = rest_do(&b->ep, &c, &r, e);
	if (res == 0)
		res = rest_lro_wait(&b->ep, url, &r, deadline_ms, e);
	if (res == 0 && out)
		res = rest_get(&b->ep, url, out, NULL, e);
out:
	rest_result_release(&r);
	cJSON_Delete(body);
	free(url);
	return res;
}
