/*
 * reg.h - client of the MGDC registration contract v1 (mgdcfs's own,
 * documented in man/mgdc-registration.7): the tenant's Data Connect switch,
 * app registrations, and their approval by a global admin.
 *
 * All calls are under {base}/v1/tenants/{tenantId}, carry a bearer token for
 * the registration scope and return the service's JSON as cJSON trees the
 * caller owns. Errors come back as -errno with `e` holding the contract's
 * {"error":{"code","message"}} (e.g. 403 SelfApprovalNotAllowed -> -EACCES,
 * 409 DataConnectDisabled / NameConflict and 412 PreconditionFailed ->
 * -ESTALE, 404 RegistrationNotFound -> -ENOENT, 400 InvalidRegistration ->
 * -EINVAL).
 */
#ifndef MGDCFS_NET_REG_H
#define MGDCFS_NET_REG_H

#include <cjson/cJSON.h>

#include "net/auth.h"
#include "net/http.h"

#define REG_SCOPE_DEFAULT "api://mgdc-registration/.default"

struct reg;

/*
 * reg_new - a client for `base_url` (e.g. https://127.0.0.1:10443/mgdc) and
 * tenant `tenant_id`, with tokens for `scope` (NULL: REG_SCOPE_DEFAULT) from
 * `a`, which must outlive the client. Returns 0, -EINVAL, -ENOMEM.
 * Thread-safe in use; free with reg_free() after the last call returned.
 */
int reg_new(struct reg **out, struct auth *a, const char *base_url, const char *tenant_id,
            const char *scope);
void reg_free(struct reg *r);

/*
 * reg_get_data_connect - GET /dataConnect: {"enabled","modifiedBy",
 * "modifiedOn"} in *out (caller frees). Returns 0 or -errno with e filled.
 */
int reg_get_data_connect(struct reg *r, cJSON **out, struct net_error *e);

/*
 * reg_set_data_connect - PUT /dataConnect {"enabled": enabled}. Global admins
 * only (-EACCES otherwise). *out (may be NULL) receives the new state.
 */
int reg_set_data_connect(struct reg *r, int enabled, cJSON **out, struct net_error *e);

/*
 * reg_list - every registration (all pages; `top` > 0 asks for that page
 * size) as a cJSON array in *items (caller frees). Returns 0 or a
 * rest_list() error.
 */
int reg_list(struct reg *r, int top, cJSON **items, struct net_error *e);

/*
 * reg_get - one registration in *out (caller frees) and its ETag in *etag
 * (may be NULL; malloc'd, caller frees). -ENOENT when it does not exist.
 * The tree lists registrations (reg_list); the tests read one.
 */
int reg_get(struct reg *r, const char *app_id, cJSON **out, char **etag, struct net_error *e);

/*
 * reg_put - create or update registration `app_id` with body `spec`. When
 * `if_match` is not NULL the update happens only if the stored ETag still
 * matches (-ESTALE, code PreconditionFailed, otherwise). *out (may be NULL)
 * receives the stored registration, *etag (may be NULL) its new ETag, and
 * *created (may be NULL) is set to 1 for 201 Created, 0 for 200 Updated.
 */
int reg_put(struct reg *r, const char *app_id, const cJSON *spec, const char *if_match, cJSON **out,
            char **etag, int *created, struct net_error *e);

/* reg_delete - DELETE the registration. Returns 0 (204), -ENOENT, or another -errno. */
int reg_delete(struct reg *r, const char *app_id, struct net_error *e);

/*
 * reg_approve / reg_decline - POST .../approve or .../decline as the calling
 * identity (a global admin who is not the owner). *out (may be NULL) receives
 * the registration with its new authorization. Not retried after a dropped
 * connection: the caller reads the registration to learn the outcome.
 */
int reg_approve(struct reg *r, const char *app_id, cJSON **out, struct net_error *e);
int reg_decline(struct reg *r, const char *app_id, cJSON **out, struct net_error *e);

/* reg_rest - the endpoint of `r`, so tests can lower its caps. */
struct rest_ep *reg_rest(struct reg *r);

#endif
