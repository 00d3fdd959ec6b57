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
#include <stdlib.h>
#include <string.h>

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

struct rest_ep *billing_rest(struct billing *b)
{
	return &b->ep;
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

int billing_put(struct billing *b, const char *name, const char *app_id, const cJSON *tags,
                long deadline_ms, cJSON **out, struct net_error *e)
{
	cJSON *body = cJSON_CreateObject(), *props;
	char *url = NULL;
	struct rest_call c = {.method = "PUT"};
	struct rest_result r = {0};
	int res = rest_error(e, ENOMEM, "NoMemory", "out of memory");

	if (out)
		*out = NULL;
	if (!name || !*name || !app_id)
		return rest_error(e, EINVAL, "InvalidName", "no account name or appId");
	if (!body || !cJSON_AddStringToObject(body, "location", "global") ||
	    !(props = cJSON_AddObjectToObject(body, "properties")) ||
	    !cJSON_AddStringToObject(props, "appId", app_id) ||
	    (tags && !cJSON_AddItemToObject(body, "tags", cJSON_Duplicate(tags, 1))))
		goto out;
	url = rest_url(b->ep.base, BILLING_QUERY, "resourceGroups", b->rg, "providers",
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
