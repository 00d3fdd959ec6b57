/*
 * auth.h - access tokens: Microsoft Entra v2 client credentials, workload
 * identity federation, managed identity and the Azure CLI.
 *
 * One struct auth per identity. Credentials: a client secret; a certificate
 * (PEM or PKCS#12) whose key signs a client assertion (RS256 with x5t, or
 * PS256 with x5t#S256, optionally with the x5c chain); a federated token
 * file used as the client assertion (workload identity); a managed identity
 * (net/msi.h); the Azure CLI (net/azcli.h); or a chain of these tried in
 * order, as DefaultAzureCredential does. Tokens are cached per scope and refreshed
 * before they expire; concurrent callers for one scope wait for a single
 * refresh instead of each fetching one. Secrets live only in memory that is
 * wiped on free, and never reach a log line or an error text.
 */
#ifndef MGDCFS_NET_AUTH_H
#define MGDCFS_NET_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "net/azcli.h"
#include "net/http.h"
#include "net/msi.h"

struct auth;

enum auth_alg { AUTH_ALG_PS256 = 0, AUTH_ALG_RS256 = 1 };

enum auth_kind {
	AUTH_APP = 0,  /* a client secret, or a certificate's client assertion */
	AUTH_WORKLOAD, /* the client assertion is the federated token in token_file */
	AUTH_MANAGED,  /* managed identity: the msi options */
	AUTH_AZCLI,    /* the Azure CLI: the azcli options */
	AUTH_CHAIN,    /* members in order; the first that gives a token is kept */
};

struct auth_opts {
	enum auth_kind kind;
	const char *label;       /* its name in messages; NULL: the kind's ("managed identity") */
	const char *unavailable; /* a chain member that cannot be tried here: why (not tried) */
	const char *login_url;   /* e.g. https://login.microsoftonline.com (no trailing /) */
	const char *tenant;      /* tenant id or domain */
	const char *client_id;
	const char *secret;        /* client secret, or NULL when a certificate is used; copied */
	const char *cert_file;     /* PEM certificate (may also hold the key) */
	const char *key_file;      /* PEM private key; NULL: taken from cert_file */
	enum auth_alg alg;         /* assertion signature algorithm */
	const char *cert_password; /* PKCS#12 or encrypted PEM key password; copied, wiped */
	int send_chain;            /* 1: put the certificate chain in the assertion (x5c) */
	const char *token_file;    /* AUTH_WORKLOAD: read at every token request (it rotates) */
	struct msi_opts msi;       /* AUTH_MANAGED (strings copied) */
	struct azcli_opts azcli;   /* AUTH_AZCLI (strings copied) */
	const struct auth_opts *members; /* AUTH_CHAIN: the sources in order ... */
	size_t nmembers;                 /* ... and how many */
	long refresh_margin_s;           /* refresh this long before expiry; 0: 300 */
};

/*
 * auth_new - set up an identity. Loads and checks the certificate and key
 * now (so a bad file fails the mount, not the first read). Returns 0,
 * -EINVAL (no credential, unreadable or mismatched cert/key, a wrong
 * PKCS#12 password; reason logged without secret material), -ENOMEM. `h`
 * must outlive the auth. For AUTH_CHAIN, the first token request tries the
 * members in order: a member that cannot be used here (-ENXIO: nothing
 * answers, not installed, not signed in) passes to the next; one that is
 * refused stops the chain; the error then lists every member tried and why.
 */
int auth_new(struct auth **out, struct http *h, const struct auth_opts *opts);

/* auth_free - wipe secrets and free. */
void auth_free(struct auth *a);

/*
 * auth_token - copy a valid access token for `scope` (e.g.
 * "https://graph.microsoft.com/.default") into `out` (NUL-terminated).
 * Fetches or refreshes as needed. Returns 0; -ERANGE if outlen is too small;
 * -EACCES for a refused credential (e->msg has the AADSTS text); or the
 * transport errno. Thread-safe; concurrent callers for one scope share one
 * fetch and its outcome. When a refresh fails while the cached token is still
 * valid, that token is returned (the failure is logged at info level).
 */
int auth_token(struct auth *a, const char *scope, char *out, size_t outlen, struct net_error *e);

/* auth_label - the credential's name for messages; for a chain, the member in use once one
 * gave a token. Static storage of the auth. */
const char *auth_label(struct auth *a);

/* auth_invalidate - forget the cached token for `scope` (auth_do does it itself after a
 * 401; the tests call it to force a new token). */
void auth_invalidate(struct auth *a, const char *scope);

/*
 * auth_do - perform `req` with "Authorization: Bearer <token for scope>"
 * added to its headers. On a 401 reply the token is invalidated, a fresh one
 * fetched and the request sent once more (a token another thread already
 * replaced is not thrown away). Same return contract as http_do(); on -errno
 * from the token step, resp->status is 0 and e is filled; on a transport
 * error e is filled too. An HTTP error status returns 0 and leaves e alone:
 * call net_error_set() with the response.
 */
int auth_do(struct auth *a, const char *scope, const struct http_req *req, struct http_resp *resp,
            struct net_error *e);

/*
 * auth_build_assertion - the signed client-assertion JWT for `aud` (token
 * endpoint URL), valid from now for `lifetime_s`. Returns a malloc'd string,
 * or NULL (-errno in *err). Exposed for unit tests and the fuzzers.
 */
char *auth_build_assertion(struct auth *a, const char *aud, long lifetime_s, int *err);

/*
 * auth_error_body - the error body of Entra's token endpoint (also IMDS's and
 * App Service's identity endpoints), {"error":"invalid_client",
 * "error_description":"AADSTS7000215: ...\r\nTrace ID: ..."}, into e->code
 * (the AADSTS code when the description has one, else "error") and e->msg
 * (the description without its trace ids). A net_error_body_fn (net/http.h);
 * 1 if found, else 0. Any thread.
 */
int auth_error_body(struct net_error *e, const char *body, size_t len);

/*
 * auth_parse_token_reply - parse an Entra token reply body. On success
 * returns 0 and sets *token (malloc'd) and *expires_in. On an error body,
 * returns -EACCES (invalid_client, unauthorized_client, invalid_grant,
 * interaction_required), -EINVAL (invalid_scope, invalid_request,
 * invalid_resource, unsupported_grant_type), -EAGAIN (temporarily_unavailable)
 * or -EIO (anything else, a malformed reply, a body over 64 KiB, a token with
 * characters that cannot go into a header), and fills e (may be NULL).
 */
int auth_parse_token_reply(const char *body, size_t len, char **token, long *expires_in,
                           struct net_error *e);

#endif
