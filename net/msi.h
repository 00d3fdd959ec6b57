/*
 * msi.h - managed identity tokens: the Azure Instance Metadata Service
 * (IMDS, on virtual machines and scale sets) and App Service's identity
 * endpoint (IDENTITY_ENDPOINT + IDENTITY_HEADER).
 *
 * Both are plain GETs answered by the platform, without a secret of ours:
 * IMDS needs "Metadata: true", App Service its X-IDENTITY-HEADER value. A
 * user-assigned identity is named by its client id, object id or resource
 * id. No cache here: auth.c caches and refreshes.
 */
#ifndef MGDCFS_NET_MSI_H
#define MGDCFS_NET_MSI_H

#include <stddef.h>

#include "net/http.h"

enum msi_id_kind { MSI_SYSTEM = 0, MSI_CLIENT_ID, MSI_OBJECT_ID, MSI_RESOURCE_ID };

struct msi_opts {
	const char *imds_host; /* IMDS base, e.g. http://169.254.169.254 (no path); NULL: that */
	const char *appsvc_endpoint; /* App Service: IDENTITY_ENDPOINT (full URL); NULL: IMDS */
	const char *appsvc_header;   /* its IDENTITY_HEADER value (a secret of the platform) */
	enum msi_id_kind id_kind;
	const char *id; /* the user-assigned identity's id; NULL for MSI_SYSTEM */
	int probe;      /* 1: one short attempt (DefaultAzureCredential's probe of IMDS) */
};

/*
 * msi_token - a token for `scope` ("https://x/.default"; the endpoints take
 * a resource, so "/.default" is cut off). Returns 0 with *token (malloc'd,
 * wipe and free it) and *life_s; -ENXIO when no endpoint answers (nothing
 * listens, or the IMDS address does not route: not on Azure), -EACCES when
 * it answers that there is no such identity or refuses the request (e->msg
 * has its words), or another -errno. Thread-safe; h must outlive the call.
 */
int msi_token(struct http *h, const struct msi_opts *o, const char *scope, char **token,
              long *life_s, struct net_error *e);

/*
 * msi_parse_reply - parse an IMDS or App Service token reply: access_token,
 * and expires_in (IMDS, a string of seconds) or expires_on (App Service,
 * seconds since the epoch, as a string or number) read against `now`.
 * Returns 0, or -EIO with e->msg saying what was missing. For unit tests.
 */
int msi_parse_reply(const char *body, size_t len, long now, char **token, long *life_s,
                    struct net_error *e);

#endif
