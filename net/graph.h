/*
 * graph.h - the few Microsoft Graph v1.0 calls mgdcfs needs to show the
 * tenant and its applications: /organization, /applications and
 * /servicePrincipals, with OData paging (@odata.nextLink, same origin only).
 */
#ifndef MGDCFS_NET_GRAPH_H
#define MGDCFS_NET_GRAPH_H

#include <cjson/cJSON.h>

#include "net/auth.h"
#include "net/http.h"

#define GRAPH_SCOPE "https://graph.microsoft.com/.default"

struct graph;

/*
 * graph_new - a Graph client for `base_url` (e.g. https://graph.microsoft.com;
 * "/v1.0/..." is appended) using tokens for GRAPH_SCOPE from `a`, which must
 * outlive the client. Returns 0, -EINVAL (bad URL), -ENOMEM. Thread-safe in
 * use; free with graph_free() after the last call returned.
 */
int graph_new(struct graph **out, struct auth *a, const char *base_url);
void graph_free(struct graph *g);

/*
 * graph_get_organization - the tenant's organization object (first element
 * of GET /v1.0/organization) in *org; the caller frees it with cJSON_Delete.
 * Returns 0, -ENOENT when the list is empty, or a rest_do() error with `e`
 * filled. Thread-safe.
 */
int graph_get_organization(struct graph *g, cJSON **org, struct net_error *e);

/*
 * graph_list_applications - every application (all pages), or only those
 * whose appId is `app_id` when it is not NULL ($filter=appId eq '...').
 * `select` (NULL: all properties) is a $select list such as
 * "id,appId,displayName"; `top` > 0 asks for that page size ($top, Graph
 * allows 1..999), 0 leaves Graph's default (100). *apps is a cJSON array
 * the caller frees. Returns 0 or a rest_list() error with `e` filled.
 * Thread-safe.
 */
int graph_list_applications(struct graph *g, const char *app_id, const char *select, int top,
                            cJSON **apps, struct net_error *e);

/* graph_list_service_principals - as graph_list_applications, for /servicePrincipals. */
int graph_list_service_principals(struct graph *g, const char *app_id, const char *select, int top,
                                  cJSON **sps, struct net_error *e);

/*
 * graph_query - the query string of a listing: "$filter=appId%20eq%20'<id>'"
 * (the OData literal with quotes doubled, then percent-encoded) when app_id
 * is not NULL, "$select=<select>" when select is not NULL, "$top=<top>" when
 * top > 0, joined by '&'. Returns a malloc'd string ("" when none applies),
 * NULL on ENOMEM or an app_id over 256 bytes. Exposed for unit tests.
 */
char *graph_query(const char *app_id, const char *select, int top);

/* graph_rest - the endpoint of `g`, so tests can lower its caps. */
struct rest_ep *graph_rest(struct graph *g);

#endif
