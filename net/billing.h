/*
 * billing.h - Microsoft.GraphServices/accounts (api-version 2023-04-13), the
 * one public ARM resource of Microsoft Graph Data Connect: the billing
 * account of an app, one per appId, which the Azure portal creates with an
 * app registration ("mgdc-<appId>" by the documented convention) and which
 * anyone with the subscription's rights can create by REST.
 *
 * Calls go to {arm}/subscriptions/{sub}/... with a bearer token for the
 * ARM scope. Results are cJSON trees the caller owns; failures are -errno
 * with `e` holding ARM's error code and message.
 */
#ifndef MGDCFS_NET_BILLING_H
#define MGDCFS_NET_BILLING_H

#include <cjson/cJSON.h>

#include "net/auth.h"
#include "net/http.h"

#define BILLING_API_VERSION "2023-04-13"

struct billing;

/*
 * billing_new - a client for subscription `sub` (accounts are created in
 * resource group `rg`) at `arm_url`, with tokens from `a` (must outlive the
 * client). Returns 0, -EINVAL (missing argument, bad URL), -ENOMEM.
 * Thread-safe in use; free with billing_free() after the last call.
 */
int billing_new(struct billing **out, struct auth *a, const char *arm_url, const char *sub,
                const char *rg);
void billing_free(struct billing *b);

/*
 * billing_list - every account of the subscription (Accounts_ListBySubscription,
 * all nextLink pages) as a cJSON array in *items (caller frees).
 */
int billing_list(struct billing *b, cJSON **items, struct net_error *e);

/*
 * billing_put - create or update an account for `app_id` (location
 * "global") with string tags `tags` (an object; NULL: none): the account
 * whose ARM id is `id` when not NULL (an existing one, in whatever resource
 * group of the subscription it lives), else account `name` in the client's
 * resource group. The PUT replaces the whole resource, so pass every tag to
 * keep. It is long-running: this waits for its operation, at most
 * `deadline_ms`, then reads the account into *out (caller frees; may be
 * NULL to skip). Blocks; thread-safe. -EINVAL for an id of another
 * subscription or type; -EIO when the operation failed, -ETIMEDOUT when it
 * did not end in time.
 */
int billing_put(struct billing *b, const char *id, const char *name, const char *app_id,
                const cJSON *tags, long deadline_ms, cJSON **out, struct net_error *e);

#endif
