/*
 * graph.c - Microsoft Graph v1.0: the organization, applications and service
 * principals of the tenant.
 *
 * Graph pages are followed through their full @odata.nextLink, never rebuilt
 * from a $skiptoken (Graph's paging rules), and only while the link stays on
 * the origin we were configured with (rest_list()). The one filter we build,
 * appId eq '...', is an OData string literal: quotes are doubled before the
 * whole value is percent-encoded, so an appId cannot widen the query.
 */
#include "net/graph.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/rest.h"

#define GRAPH_MAX_ID 256 /* appIds are GUIDs; anything longer is a caller bug */

struct graph {
	/* first member: rest_ep_new() allocates the whole struct */
	struct rest_ep ep;
};

int graph_new(struct graph **out, struct auth *a, const char *base_url)
{
	int rc;

	*out = (struct graph *)rest_ep_new(sizeof(struct graph), &rc, a, GRAPH_SCOPE, base_url,
	                                   (char *)NULL);
	return *out ? 0 : rc;
}

void graph_free(struct graph *g)
{
	rest_ep_free(g ? &g->ep : NULL);
}

struct rest_ep *graph_rest(struct graph *g)
{
	return &g->ep;
}

int graph_get_organization(struct graph *g, cJSON **org, struct net_error *e)
{
	cJSON *doc = NULL, *value;
	char *url = rest_url(g->ep.base, NULL, "v1.0", "organization", NULL);
	int res;

	*org = NULL;
	if (!url)
		return rest_error(e, ENOMEM, "NoMemory", "out of memory");
	res = rest_get(&g->ep, url, &doc, NULL, e);
	if (res < 0)
		goto out;
	value = rest_take_item(&doc, "value");
	if (!cJSON_IsArray(value) || !value->child) {
		res = rest_error(e, ENOENT, "OrganizationNotFound",
		                 "Graph returned no organization for this tenant");
		cJSON_Delete(value);
		goto out;
	}
	*org = cJSON_DetachItemViaPointer(value, value->child);
	cJSON_Delete(value);
out:
	cJSON_Delete(doc);
	free(url);
	return res;
}

char *graph_query(const char *app_id, const char *select, int top)
{
	char lit[2 * GRAPH_MAX_ID + 32], topbuf[32] = "", *fenc = NULL, *senc = NULL, *q = NULL;
	size_t n = 0, need;

	if (app_id) {
		if (strlen(app_id) > GRAPH_MAX_ID)
			return NULL;
		n = (size_t)snprintf(lit, sizeof(lit), "appId eq '");
		for (const char *p = app_id; *p; p++) {
			if (*p == '\'')
				lit[n++] = '\'';
			lit[n++] = *p;
		}
		lit[n++] = '\'';
		lit[n] = '\0';
		if (!(fenc = http_urlencode(lit, 0)))
			goto out;
	}
	if (select && !(senc = http_urlencode(select, 0)))
		goto out;
	if (top > 0)
		snprintf(topbuf, sizeof(topbuf), "$top=%d", top);
	need = (fenc ? strlen(fenc) : 0) + (senc ? strlen(senc) : 0) + sizeof(topbuf) + 32;
	if (!(q = malloc(need)))
		goto out;
	snprintf(q, need, "%s%s%s%s%s%s%s", fenc ? "$filter=" : "", fenc ? fenc : "",
	         fenc && senc ? "&" : "", senc ? "$select=" : "", senc ? senc : "",
	         (fenc || senc) && *topbuf ? "&" : "", topbuf);
out:
	free(fenc);
	free(senc);
	return q;
}

/* List collection `name` (applications, servicePrincipals) with the optional query. */
static int graph_list(struct graph *g, const char *name, const char *app_id, const char *select,
                      int top, cJSON **items, struct net_error *e)
{
	char *query = graph_query(app_id, select, top), *url = NULL;
	struct rest_call c = {0};
	int res;

	*items = NULL;
	if (!query || !(url = rest_url(g->ep.base, query, "v1.0", name, NULL))) {
		res = rest_error(e, app_id && strlen(app_id) > GRAPH_MAX_ID ? EINVAL : ENOMEM,
		                 "InvalidRequest", "cannot build the %s query", name);
		goto out;
	}
	c.url = url;
	res = rest_list(&g->ep, &c, items, e);
out:
	free(query);
	free(url);
	return res;
}

int graph_list_applications(struct graph *g, const char *app_id, const char *select, int top,
                            cJSON **apps, struct net_error *e)
{
	return graph_list(g, "applications", app_id, select, top, apps, e);
}

int graph_list_service_principals(struct graph *g, const char *app_id, const char *select, int top,
                                  cJSON **sps, struct net_error *e)
{
	return graph_list(g, "servicePrincipals", app_id, select, top, sps, e);
}
