/*
 * auth.h - Microsoft Entra v2 client-credentials tokens.
 *
 * One struct auth per identity (tenant + client). Credentials: a client
 * secret, or a certificate whose key signs a client assertion (RS256 with
 * x5t, or PS256 with x5t#S256). Tokens are cached per scope and refreshed
 * before they expire; concurrent callers for one scope wait for a single
 * refresh instead of each fetching one. Secrets live only in memory that is
 * wiped on free, and never reach a log line or an error text.
 */
#ifndef MGDCFS_NET_AUTH_H
#define MGDCFS_NET_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "net/http.h"

struct auth;

enum auth_alg { AUTH_ALG_PS256 = 0, AUTH_ALG_RS256 = 1 };

struct auth_opts {
	const char *login_url; /* e.g. https://login.microsoftonline.com (no trailing /) */
	const char *tenant;    /* tenant id or domain */
	const char *client_id;
	const char *secret;    /* client secret, or NULL when a certificate is used; copied */
	const char *cert_file; /* PEM certificate (may also hold the key) */
	const char *key_file;  /* PEM private key; NULL: taken from cert_file */
	enum auth_alg alg;     /* assertion signature algorithm */
	long refresh_margin_s; /* refresh this long before expiry; 0: 300 */
};

/*
 * auth_new - set up an identity. Loads and checks the certificate and key
 * now (so a bad file fails the mount, not the first read). Returns 0,
 * -EINVAL (no credential, unreadable or mismatched cert/key; reason logged
 * without secret material), -ENOMEM. `h` must outlive the auth.
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

/* auth_invalidate - forget the cached token for `scope` (after a 401). */
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
