/*
 * apps.h - apps/ on a tenant where no service speaks mgdcfs's registration
 * contract: a real tenant, on which Microsoft Graph Data Connect app
 * registration and consent are done in the Azure portal and the Microsoft
 * 365 admin center, with no public API.
 *
 * What the public APIs show is joined into the listing: the MGDC billing
 * accounts of the subscription (Microsoft.GraphServices/accounts, each names
 * an appId), the applications' display names from Graph, the profile's own
 * app, and the registration specs written through apps/<name>.json on this
 * machine (kept in the user's state dir, since no service holds them: they
 * are the values to enter in the portal). Consent is what runs say.
 *
 * Every function may block on the network; call from FUSE workers, never
 * with a lock held. Failures are 0/-errno with a line in errlog.
 */
#ifndef MGDCFS_FS_APPS_H
#define MGDCFS_FS_APPS_H

#include <cjson/cJSON.h>

#include "fs/fs_i.h"
#include "net/http.h"

/* Where the admin center approves MGDC apps (Microsoft 365 admin center). */
#define APPS_ADMIN_CENTER "https://admin.microsoft.com/Adminportal/Home#/Settings/MGDCAdminCenter"
/* Where the Azure portal registers them. */
#define APPS_PORTAL "https://aka.ms/mgdcinazure"
/* Where a global administrator turns Data Connect on (no public API). */
#define DATA_CONNECT_WHERE                                                                         \
	"Microsoft 365 admin center > Settings > Org settings > Services > Microsoft Graph Data "  \
	"Connect"

/*
 * apps_list - the apps/ listing of a portal-only tenant as a cJSON array in
 * *out (caller frees): {"name", "appId", "displayName", "own",
 * "billingAccount" (or null), "registration" (the spec written here, or
 * null)}, sorted by name, names unique and usable as directory entries.
 * A source that refuses (Graph, ARM) leaves its part out and says so once
 * in errlog; only -ENOMEM fails the listing.
 */
int apps_list(struct mgdcfs *fs, cJSON **out, struct net_error *e);

/*
 * apps_role - whether app `app_id`'s service principal may write blobs to
 * the destination of its registration (else the profile's storage
 * account): {"account", "scope", "principalId", "granted": true|false|null,
 * "reason", "grant": the az command that grants it} in *out (caller frees).
 * Checking is best effort: a refused lookup gives granted null and the
 * reason.
 */
int apps_role(struct mgdcfs *fs, const char *app_id, cJSON **out, struct net_error *e);

/*
 * apps_render - the files of app `app` (an item of the listing) for node
 * r->kind: registration.json, consent, consent.json, portal.txt, and
 * apps/<name>.json (the spec written here, or a skeleton). 0 or -errno.
 */
int apps_render(struct mgdcfs *fs, const char *path, const struct route *r, const cJSON *app,
                struct content *c);

/*
 * apps_commit - the public steps of registration spec `body` (as
 * spec_parse_registration built it, with "name") for app listing item `old`
 * (NULL: new): create or update the app's billing account (a long-running
 * PUT, waited for), keep the spec in the state dir for portal.txt, check the
 * service principal's Storage Blob Data Contributor role, and leave in
 * errlog what is left to do in the portal. 0 when the public steps
 * succeeded, else -errno with the reason in errlog. A refused billing PUT
 * changes nothing; when only keeping the spec fails, the billing account
 * stays as written (writing the spec again retries both steps).
 */
int apps_commit(struct mgdcfs *fs, const char *path, const cJSON *body, const cJSON *old);

/* apps_fetch_role_key - 1 if memo key `key` ("role/<appId>") is apps_role's. */
int apps_fetch_role_key(const char *key);

#endif
