/*
 * rbac.h - Azure role assignments (Microsoft.Authorization/roleAssignments,
 * api-version 2022-04-01). mgdcfs asks them one question before a pipeline
 * of an app runs: may the app's service principal write blobs to the
 * destination account? (MGDC: "your application has Storage Blob Data
 * Contributor access to the Azure Storage Blob location".)
 */
#ifndef MGDCFS_NET_RBAC_H
#define MGDCFS_NET_RBAC_H

#include <cjson/cJSON.h>

#include "net/auth.h"
#include "net/http.h"

#define RBAC_API_VERSION "2022-04-01"
/* Built-in role definition ids that allow writing blobs. */
#define RBAC_BLOB_DATA_CONTRIBUTOR "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
#define RBAC_BLOB_DATA_OWNER       "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"

struct rbac;

/* rbac_new - a client at `arm_url` with tokens from `a`. Returns 0, -EINVAL, -ENOMEM. */
int rbac_new(struct rbac **out, struct auth *a, const char *arm_url);
void rbac_free(struct rbac *r);

/*
 * rbac_list - the role assignments at, above or below `scope` (an ARM id
 * such as "/subscriptions/S/resourceGroups/G/providers/Microsoft.Storage/
 * storageAccounts/A") of principal `principal_id` (an object id: a GUID), as
 * a cJSON array in *items (caller frees). -EINVAL for a malformed scope or
 * principal. Thread-safe.
 */
int rbac_list(struct rbac *r, const char *scope, const char *principal_id, cJSON **items,
              struct net_error *e);

/*
 * rbac_grants_blob_write - 1 when one assignment of `items` gives Storage
 * Blob Data Contributor or Owner at `scope` or a scope above it, else 0.
 * Pure.
 */
int rbac_grants_blob_write(const cJSON *items, const char *scope);

/* rbac_storage_scope - the ARM id of storage account `account` of group `rg` in `sub`
 * into out (n bytes). Returns 0, or -ENAMETOOLONG. */
int rbac_storage_scope(char *out, size_t n, const char *sub, const char *rg, const char *account);

#endif
