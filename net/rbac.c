/*
 * rbac.c - role assignments client (rbac.h).
 *
 * The decision a reader must know: "List For Scope" with $filter=principalId
 * eq '{id}' returns the principal's assignments at, above and below the
 * scope, so one request answers the question; which of them grant the right
 * is decided here by the role definition id and the scope's ancestry, not by
 * names, which are localised.
 */
#include "net/rbac.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/text.h"
#include "net/rest.h"

struct rbac {
	/* first member: rest_ep_new() allocates the whole struct */
	struct rest_ep ep;
};

int rbac_new(struct rbac **out, struct auth *a, const char *arm_url)
{
	int rc;

	*out = (struct rbac *)rest_ep_new(sizeof(struct rbac), &rc, a,
	                                  "https://management.azure.com/.default", arm_url,
	                                  (char *)NULL);
	return *out ? 0 : rc;
}

void rbac_free(struct rbac *r)
{
	rest_ep_free(r ? &r->ep : NULL);
}

int rbac_storage_scope(char *out, size_t n, const char *sub, const char *rg, const char *account)
{
	int w = snprintf(out, n,
	                 "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Storage/"
	                 "storageAccounts/%s",
	                 sub, rg, account);

	return w > 0 && (size_t)w < n ? 0 : -ENAMETOOLONG;
}

/* An ARM id: "/segment/segment...", no empty, "." or ".." segment, no ? # % or control. */
static int rbac_scope_ok(const char *scope)
{
	const char *p = scope;

	if (!scope || scope[0] != '/' || strlen(scope) > 1024)
		return 0;
	while (*p == '/') {
		size_t n = strcspn(p + 1, "/");

		if (n == 0 || (n == 1 && p[1] == '.') || (n == 2 && p[1] == '.' && p[2] == '.'))
			return 0;
		for (size_t i = 1; i <= n; i++)
			if ((unsigned char)p[i] < 0x20 || strchr("?#%\\", p[i]))
				return 0;
		p += n + 1;
	}
	return *p == '\0';
}

int rbac_list(struct rbac *r, const char *scope, const char *principal_id, cJSON **items,
              struct net_error *e)
{
	char *url = NULL, *enc = NULL, *path = NULL, *query = NULL;
	struct rest_call c = {0};
	size_t n;
	int res = rest_error(e, ENOMEM, "NoMemory", "out of memory");

	*items = NULL;
	if (!rbac_scope_ok(scope) || !text_is_guid(principal_id))
		return rest_error(e, EINVAL, "InvalidScope", "not an ARM scope and principal id");
	/* The scope is a path of ARM names: each segment is kept, '/' joins them. */
	if (!(enc = http_urlencode(scope, 1)))
		goto out;
	n = strlen(enc) + 64;
	if (!(path = malloc(n)))
		goto out;
	snprintf(path, n, "%s/providers/Microsoft.Authorization/roleAssignments", enc);
	if (asprintf(&query, "api-version=%s&$filter=principalId%%20eq%%20'%s'", RBAC_API_VERSION,
	             principal_id) < 0) {
		query = NULL;
		goto out;
	}
	if (asprintf(&url, "%s%s?%s", r->ep.base, path, query) < 0) {
		url = NULL;
		goto out;
	}
	c.url = url;
	res = rest_list(&r->ep, &c, items, e);
out:
	free(url);
	free(enc);
	free(path);
	free(query);
	return res;
}

/* Is `inner` the scope `outer` or below it (ARM ids compare case-insensitively)? */
static int rbac_within(const char *inner, const char *outer)
{
	size_t n = strlen(outer);

	while (n > 0 && outer[n - 1] == '/')
		n--;
	return strncasecmp(inner, outer, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

int rbac_grants_blob_write(const cJSON *items, const char *scope)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, items)
	{
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(it, "properties");
		const cJSON *def = cJSON_GetObjectItemCaseSensitive(p, "roleDefinitionId");
		const cJSON *at = cJSON_GetObjectItemCaseSensitive(p, "scope");
		const char *slash;

		if (!cJSON_IsString(def) || !cJSON_IsString(at))
			continue;
		slash = strrchr(def->valuestring, '/');
		slash = slash ? slash + 1 : def->valuestring;
		if ((strcasecmp(slash, RBAC_BLOB_DATA_CONTRIBUTOR) == 0 ||
		     strcasecmp(slash, RBAC_BLOB_DATA_OWNER) == 0) &&
		    rbac_within(scope, at->valuestring))
			return 1;
	}
	return 0;
}
