/*
 * test_auth.c - net/auth: client assertions checked with the openssl CLI (an
 * independent verifier), token reply parsing, the per-scope cache with
 * single-flight refresh and 401 retry against tests/unit/http_server.py, and,
 * when MGDC_CONFIG names a sandbox config, real tokens from the emulator.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "net/auth.h"
#include "net/http.h"
#include "tap.h"
#include "testsrv.h"

static struct testsrv srv;
static char base[128];
static char dir[] = "/tmp/mgdcfs-auth-XXXXXX";
static struct http *hc;

/* ------------------------------------------------------------ helpers */

/* The test's own base64url decoder, so the encoder under test is not its own judge. */
static int b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned v = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		const char *p = strchr(al, in[i]);

		if (!p || !in[i])
			return -1;
		v = (v << 6) | (unsigned)(p - al);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -1;
			out[o++] = (unsigned char)(v >> bits);
		}
	}
	return (int)o;
}

static cJSON *jwt_part_json(const char *jwt, int idx)
{
	const char *p = jwt, *e;
	unsigned char buf[4096];
	int n;

	for (int i = 0; i < idx; i++)
		p = strchr(p, '.') + 1;
	e = strchr(p, '.');
	n = b64url_decode(p, e ? (size_t)(e - p) : strlen(p), buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return cJSON_Parse((char *)buf);
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static int write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(data, 1, n, f) == n;

	if (f)
		fclose(f);
	return ok ? 0 : -1;
}

/* The certificate's fingerprint from `openssl x509 -fingerprint`, as raw bytes. */
static int openssl_fingerprint(const char *alg, unsigned char *out, size_t cap)
{
	char cmd[512], line[512], *p;
	FILE *f;
	size_t n = 0;

	snprintf(cmd, sizeof(cmd), "openssl x509 -noout -fingerprint -%s -in %s/cert.pem", alg,
	         dir);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	pclose(f);
	p = strchr(line, '=');
	while (p && n < cap) {
		unsigned b;

		if (sscanf(p + 1, "%2x", &b) != 1)
			break;
		out[n++] = (unsigned char)b;
		p = strchr(p + 1, ':');
	}
	return (int)n;
}

/* openssl dgst -verify of `jwt`'s signature; pss selects RSA-PSS with salt 32. Returns exit status.
 */
static int openssl_verify(const char *jwt, int pss, int tamper)
{
	const char *dot = strrchr(jwt, '.');
	unsigned char sig[1024];
	char path[256], cmd[1024];
	int n = b64url_decode(dot + 1, strlen(dot + 1), sig, sizeof(sig));
	char *input = strndup(jwt, (size_t)(dot - jwt));

	if (tamper)
		input[3] ^= 1;
	snprintf(path, sizeof(path), "%s/input.txt", dir);
	write_file(path, input, strlen(input));
	snprintf(path, sizeof(path), "%s/sig.bin", dir);
	write_file(path, sig, n > 0 ? (size_t)n : 0);
	free(input);
	snprintf(cmd, sizeof(cmd),
	         "cd %s && openssl dgst -sha256 -verify pub.pem %s -signature sig.bin input.txt",
	         dir,
	         pss ? "-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 "
	               "-sigopt rsa_mgf1_md:sha256"
	             : "");
	return testsrv_sh(cmd);
}

static int uuid4_ok(const char *s)
{
	if (!s || strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!strchr("0123456789abcdef", s[i])) {
			return 0;
		}
	}
	return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

/* ------------------------------------------------------------ assertion */

static struct auth *cert_auth(enum auth_alg alg, const char *cert, const char *key, int *rc)
{
	char cp[256], kp[256];
	struct auth_opts o = {.login_url = "https://login.example",
	                      .tenant = "contoso.onmicrosoft.com",
	                      .client_id = "11111111-2222-4333-8444-555555555555",
	                      .alg = alg};
	struct auth *a = NULL;

	snprintf(cp, sizeof(cp), "%s/%s", dir, cert);
	o.cert_file = cp;
	if (key) {
		snprintf(kp, sizeof(kp), "%s/%s", dir, key);
		o.key_file = kp;
	}
	*rc = auth_new(&a, hc, &o);
	return a;
}

static void test_assertion_alg(enum auth_alg alg)
{
	const char *name = alg == AUTH_ALG_PS256 ? "PS256" : "RS256";
	const char *aud = "https://login.example/contoso.onmicrosoft.com/oauth2/v2.0/token";
	unsigned char want[32], got[64];
	int rc, wl, gl;
	struct auth *a = cert_auth(alg, "cert.pem", "key.pem", &rc);
	char *jwt, *jwt2;
	cJSON *hdr, *cl;
	long now = (long)time(NULL);
	const char *x5t;

	TAP_EQ_INT(rc, 0, "%s: auth_new with certificate and key", name);
	if (!a)
		return;
	jwt = auth_build_assertion(a, aud, 600, &rc);
	jwt2 = auth_build_assertion(a, aud, 600, &rc);
	TAP_OK(jwt && jwt2 && rc == 0, "%s: assertion built", name);
	if (!jwt || !jwt2)
		goto out;
	TAP_OK(strcspn(jwt, "=+/") == strlen(jwt), "%s: base64url without padding", name);
	hdr = jwt_part_json(jwt, 0);
	cl = jwt_part_json(jwt, 1);
	TAP_EQ_STR(jstr(hdr, "alg"), name, "%s: header alg", name);
	TAP_EQ_STR(jstr(hdr, "typ"), "JWT", "%s: header typ", name);
	x5t = jstr(hdr, alg == AUTH_ALG_PS256 ? "x5t#S256" : "x5t");
	TAP_OK(jstr(hdr, alg == AUTH_ALG_PS256 ? "x5t" : "x5t#S256") == NULL,
	       "%s: only the matching thumbprint header", name);
	wl = openssl_fingerprint(alg == AUTH_ALG_PS256 ? "sha256" : "sha1", want, sizeof(want));
	gl = x5t ? b64url_decode(x5t, strlen(x5t), got, sizeof(got)) : -1;
	TAP_OK(wl == (alg == AUTH_ALG_PS256 ? 32 : 20) && gl == wl &&
	           memcmp(want, got, (size_t)wl) == 0,
	       "%s: thumbprint equals openssl x509 -fingerprint", name);
	TAP_EQ_STR(jstr(cl, "aud"), aud, "%s: aud is the token endpoint", name);
	TAP_EQ_STR(jstr(cl, "iss"), "11111111-2222-4333-8444-555555555555", "%s: iss", name);
	TAP_EQ_STR(jstr(cl, "sub"), "11111111-2222-4333-8444-555555555555", "%s: sub", name);
	TAP_OK(uuid4_ok(jstr(cl, "jti")), "%s: jti is a UUID v4 (%s)", name, jstr(cl, "jti"));
	TAP_OK(jnum(cl, "nbf") >= now - 2 && jnum(cl, "nbf") <= now + 2, "%s: nbf is now", name);
	TAP_OK(jnum(cl, "iat") == jnum(cl, "nbf"), "%s: iat = nbf", name);
	TAP_OK(jnum(cl, "exp") == jnum(cl, "nbf") + 600, "%s: exp = nbf + 10 min", name);
	{
		cJSON *cl2 = jwt_part_json(jwt2, 1);

		TAP_OK(jstr(cl2, "jti") && jstr(cl, "jti") &&
		           strcmp(jstr(cl2, "jti"), jstr(cl, "jti")),
		       "%s: every assertion has its own jti", name);
		cJSON_Delete(cl2);
	}
	TAP_EQ_INT(openssl_verify(jwt, alg == AUTH_ALG_PS256, 0), 0,
	           "%s: openssl dgst verifies the signature", name);
	TAP_OK(openssl_verify(jwt, alg != AUTH_ALG_PS256, 0) != 0,
	       "%s: the other padding does not verify", name);
	TAP_OK(openssl_verify(jwt, alg == AUTH_ALG_PS256, 1) != 0,
	       "%s: a tampered input does not verify", name);
	cJSON_Delete(hdr);
	cJSON_Delete(cl);
out:
	free(jwt);
	free(jwt2);
	auth_free(a);
}

static void test_assertion(void)
{
	char cmd[2048];
	struct auth *a;
	int rc, err = 0;

	snprintf(cmd, sizeof(cmd),
	         "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem "
	         "-days 2 -subj /CN=mgdcfs-test-app && openssl x509 -pubkey -noout -in cert.pem > "
	         "pub.pem && cat cert.pem key.pem > both.pem && "
	         "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.pem && "
	         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
	         "eckey.pem -out eccert.pem -days 2 -subj /CN=ec && "
	         "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -aes-128-cbc -pass "
	         "pass:x -out enc.pem",
	         dir);
	TAP_EQ_INT(testsrv_sh(cmd), 0, "openssl CLI made a throwaway key and certificate");
	test_assertion_alg(AUTH_ALG_RS256);
	test_assertion_alg(AUTH_ALG_PS256);

	a = cert_auth(AUTH_ALG_PS256, "both.pem", NULL, &rc);
	TAP_EQ_INT(rc, 0, "certificate and key in one file");
	auth_free(a);
	a = cert_auth(AUTH_ALG_PS256, "cert.pem", "other.pem", &rc);
	TAP_OK(rc == -EINVAL && !a, "a key of another certificate -> -EINVAL");
	a = cert_auth(AUTH_ALG_PS256, "eccert.pem", "eckey.pem", &rc);
	TAP_OK(rc == -EINVAL && !a, "an EC key -> -EINVAL (RS256/PS256 need RSA)");
	a = cert_auth(AUTH_ALG_PS256, "cert.pem", "enc.pem", &rc);
	TAP_OK(rc == -EINVAL && !a, "an encrypted key -> -EINVAL, no prompt");
	a = cert_auth(AUTH_ALG_PS256, "missing.pem", NULL, &rc);
	TAP_OK(rc == -EINVAL && !a, "a missing certificate -> -EINVAL");
	a = cert_auth(AUTH_ALG_PS256, "key.pem", NULL, &rc);
	TAP_OK(rc == -EINVAL && !a, "a file with no certificate -> -EINVAL");
	{
		struct auth_opts o = {.login_url = "https://login.example",
		                      .tenant = "t",
		                      .client_id = "c",
		                      .secret = "s"};

		TAP_EQ_INT(auth_new(&a, hc, &o), 0, "secret identity");
		TAP_OK(auth_build_assertion(a, "x", 600, &err) == NULL && err == -EINVAL,
		       "no assertion without a key");
		auth_free(a);
		o.login_url = "http://login.example";
		TAP_EQ_INT(auth_new(&a, hc, &o), -EINVAL, "plain http login URL refused");
		o.login_url = "https://login.example";
		o.tenant = "../evil";
		TAP_EQ_INT(auth_new(&a, hc, &o), -EINVAL, "tenant with '/' refused");
		o.tenant = "t";
		o.secret = NULL;
		TAP_EQ_INT(auth_new(&a, hc, &o), -EINVAL, "no credential -> -EINVAL");
	}
}

/* --------------------------------------------------------- reply parsing */

static void test_parse(void)
{
	static const struct {
		const char *body;
		int rc;
		const char *tok;
		long exp;
		const char *code, *msg, *what;
	} t[] = {
	    {"{\"token_type\":\"Bearer\",\"expires_in\":3599,\"ext_expires_in\":3599,"
	     "\"access_token\":\"eyJ0eXAi.eyJhdWQi.c2ln\"}",
	     0, "eyJ0eXAi.eyJhdWQi.c2ln", 3599, "", "", "success"},
	    {"{\"token_type\":\"bearer\",\"expires_in\":\"3600\",\"access_token\":\"abc\"}", 0,
	     "abc", 3600, "", "", "expires_in as a string (v1 style)"},
	    {"{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client "
	     "secret provided.\\r\\nTrace ID: 255d\\r\\nCorrelation ID: fb3d\\r\\nTimestamp: "
	     "2016-01-09 02:02:12Z\",\"error_codes\":[7000215]}",
	     -EACCES, NULL, 0, "AADSTS7000215", "AADSTS7000215: Invalid client secret provided.",
	     "invalid_client"},
	    {"{\"error\":\"unauthorized_client\",\"error_description\":\"AADSTS700016: Application "
	     "with identifier 'x' was not found in the directory 'y'.\\r\\nTrace ID: 1\"}",
	     -EACCES, NULL, 0, "AADSTS700016",
	     "AADSTS700016: Application with identifier 'x' was not found in the directory 'y'.",
	     "unauthorized_client"},
	    {"{\"error\":\"invalid_scope\",\"error_description\":\"AADSTS70011: The provided value "
	     "for the input parameter 'scope' is not valid.\\r\\nTrace ID: 2\"}",
	     -EINVAL, NULL, 0, "AADSTS70011",
	     "AADSTS70011: The provided value for the input parameter 'scope' is not valid.",
	     "invalid_scope"},
	    {"{\"error\":\"invalid_request\"}", -EINVAL, NULL, 0, "invalid_request",
	     "token request refused", "invalid_request without description"},
	    {"{\"error\":\"invalid_client\",\"error_description\":\"AADSTS700027: Client "
	     "assertion failed signature validation. Trace ID: 1 Correlation ID: 2\"}",
	     -EACCES, NULL, 0, "AADSTS700027",
	     "AADSTS700027: Client assertion failed signature validation.", "ids on the same line"},
	    {"{\"error\":\"server_error\",\"error_description\":\"boom\"}", -EIO, NULL, 0,
	     "server_error", "boom", "unknown error"},
	    {"<html>502 Bad Gateway</html>", -EIO, NULL, 0, "", "token reply is not a JSON object",
	     "garbage"},
	    {"{\"access_token\":\"abc\"}", -EIO, NULL, 0, "",
	     "token reply without a usable expires_in", "no expires_in"},
	    {"{\"access_token\":\"abc\",\"expires_in\":-5}", -EIO, NULL, 0, "",
	     "token reply without a usable expires_in", "negative expires_in"},
	    {"{\"access_token\":\"a\\r\\nX-Evil: 1\",\"expires_in\":60}", -EIO, NULL, 0, "",
	     "token reply without a usable access_token", "token with CR/LF refused"},
	    {"{\"access_token\":\"\",\"expires_in\":60}", -EIO, NULL, 0, "",
	     "token reply without a usable access_token", "empty token"},
	    {"{\"access_token\":\"abc\",\"expires_in\":60,\"token_type\":\"mac\"}", -EIO, NULL, 0,
	     "", "token reply with a token_type other than Bearer", "non-bearer token"},
	    {"[1,2]", -EIO, NULL, 0, "", "token reply is not a JSON object", "array"},
	};
	char *tok;
	long exp;
	struct net_error e;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = auth_parse_token_reply(t[i].body, strlen(t[i].body), &tok, &exp, &e);

		TAP_EQ_INT(rc, t[i].rc, "parse %s: return", t[i].what);
		if (t[i].tok) {
			TAP_EQ_STR(tok, t[i].tok, "parse %s: token", t[i].what);
			TAP_EQ_INT(exp, t[i].exp, "parse %s: expires_in", t[i].what);
		} else {
			TAP_OK(tok == NULL, "parse %s: no token", t[i].what);
			TAP_EQ_STR(e.code, t[i].code, "parse %s: code", t[i].what);
			TAP_EQ_STR(e.msg, t[i].msg, "parse %s: message", t[i].what);
			TAP_EQ_INT(e.err, -t[i].rc, "parse %s: e->err", t[i].what);
		}
		free(tok);
	}
	{
		size_t n = 200000;
		char *big = malloc(n + 1);

		memset(big, ' ', n);
		memcpy(big, "{\"access_token\":\"", 17);
		big[n - 3] = '"';
		big[n - 2] = '}';
		big[n] = '\0';
		TAP_EQ_INT(auth_parse_token_reply(big, n, &tok, &exp, &e), -EIO, "oversized reply");
		for (size_t i = 0; i < 60000; i++)
			big[i] = '[';
		big[60000] = '\0';
		TAP_EQ_INT(auth_parse_token_reply(big, 60000, &tok, &exp, &e), -EIO,
		           "60000-deep nesting rejected without a crash");
		TAP_EQ_INT(auth_parse_token_reply("", 0, &tok, &exp, &e), -EIO, "empty reply");
		free(big);
	}
}

/* ------------------------------------------------------------ live cache */

static struct auth *secret_auth(const char *opts, const char *tenant, const char *secret)
{
	char login[256];
	struct auth_opts o = {.login_url = login,
	                      .tenant = tenant,
	                      .client_id = "app id/1",
	                      .secret = secret,
	                      .refresh_margin_s = 300};
	struct auth *a = NULL;

	snprintf(login, sizeof(login), "%s/login/%s/", base, opts);
	if (auth_new(&a, hc, &o) < 0) {
		printf("Bail out! auth_new failed\n");
		exit(1);
	}
	return a;
}

static char *fetch_text(const char *path)
{
	char url[256];
	struct http_req q = {.url = url};
	struct http_resp r;
	char *s = NULL;

	snprintf(url, sizeof(url), "%s%s", base, path);
	if (http_do(hc, &q, &r) == 0 && r.status == 200)
		s = strdup(r.body);
	http_resp_release(&r);
	return s;
}

static int count_of(const char *key)
{
	char path[128], *s;
	int n;

	snprintf(path, sizeof(path), "/count/%s", key);
	s = fetch_text(path);
	n = s ? atoi(s) : -1;
	free(s);
	return n;
}

struct flight {
	struct auth *a;
	char tok[256];
	int rc;
};

static void *flight_worker(void *p)
{
	struct flight *f = p;

	f->rc =
	    auth_token(f->a, "https://graph.microsoft.com/.default", f->tok, sizeof(f->tok), NULL);
	return NULL;
}

static void test_live(void)
{
	const char *secret = "s3cr&t=+/ %~";
	const char *scope = "https://graph.microsoft.com/.default";
	struct auth *a = secret_auth("x", "tenant-a", secret);
	char tok[256], small[4], *form, url[256];
	struct net_error e;
	struct http_resp r;
	struct http_req q = {.url = url};
	int rc;

	rc = auth_token(a, scope, tok, sizeof(tok), &e);
	TAP_OK(rc == 0 && strcmp(tok, "tok-tenant-a-1") == 0, "secret: token fetched (%d)", rc);
	form = fetch_text("/count/tenant-a.form");
	TAP_OK(form && strstr(form, "client_secret=s3cr%26t%3D%2B%2F%20%25~"),
	       "secret URL-encoded in the form");
	TAP_OK(form && strstr(form, "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default") &&
	           strstr(form, "grant_type=client_credentials") &&
	           strstr(form, "client_id=app%20id%2F1"),
	       "scope, grant_type, client_id in the form");
	free(form);
	rc = auth_token(a, scope, tok, sizeof(tok), &e);
	TAP_OK(rc == 0 && strcmp(tok, "tok-tenant-a-1") == 0 && count_of("tenant-a") == 1,
	       "second call served from the cache");
	TAP_EQ_INT(auth_token(a, scope, small, sizeof(small), &e), -ERANGE,
	           "small buffer -> -ERANGE");
	rc = auth_token(a, "https://storage.azure.com/.default", tok, sizeof(tok), &e);
	TAP_OK(rc == 0 && strcmp(tok, "tok-tenant-a-2") == 0, "another scope: its own token");
	auth_invalidate(a, scope);
	rc = auth_token(a, scope, tok, sizeof(tok), &e);
	TAP_OK(rc == 0 && strcmp(tok, "tok-tenant-a-3") == 0, "after invalidate: a new token");

	/* 401 -> invalidate -> new token -> one more attempt. */
	snprintf(url, sizeof(url), "%s/api/tenant-a", base);
	rc = auth_do(a, scope, &q, &r, &e);
	TAP_OK(rc == 0 && r.status == 200 && strcmp(r.body, "api ok") == 0,
	       "auth_do: 401, refresh, retry -> 200 (status %ld)", r.status);
	TAP_EQ_INT(count_of("api-tenant-a"), 2, "auth_do sent the request twice");
	TAP_EQ_INT(count_of("tenant-a"), 4, "auth_do fetched one new token");
	http_resp_release(&r);
	rc = auth_do(a, scope, &q, &r, &e);
	TAP_OK(rc == 0 && r.status == 200 && count_of("tenant-a") == 4,
	       "auth_do with a good token: one request, no fetch");
	http_resp_release(&r);
	auth_free(a);

	/* Sixteen threads, one slow fetch. */
	{
		struct flight f[16];
		pthread_t th[16];
		int same = 1;

		a = secret_auth("d400", "tenant-b", "x");
		for (int i = 0; i < 16; i++) {
			f[i].a = a;
			pthread_create(&th[i], NULL, flight_worker, &f[i]);
		}
		for (int i = 0; i < 16; i++) {
			pthread_join(th[i], NULL);
			same = same && f[i].rc == 0 && strcmp(f[i].tok, "tok-tenant-b-1") == 0;
		}
		TAP_OK(same, "16 concurrent callers all get the same token");
		TAP_EQ_INT(count_of("tenant-b"), 1,
		           "single-flight: one token request for 16 callers");
		auth_free(a);
	}

	/* A 3 s token is refreshed once a third of its life remains. */
	a = secret_auth("l3", "tenant-c", "x");
	auth_token(a, scope, tok, sizeof(tok), &e);
	auth_token(a, scope, tok, sizeof(tok), &e);
	TAP_EQ_INT(count_of("tenant-c"), 1, "short-lived token cached while fresh");
	{
		struct timespec ts = {2, 200000000};

		nanosleep(&ts, NULL);
	}
	rc = auth_token(a, scope, tok, sizeof(tok), &e);
	TAP_OK(rc == 0 && strcmp(tok, "tok-tenant-c-2") == 0,
	       "short-lived token refreshed before expiry (%s)", tok);
	auth_free(a);

	/* A refresh that fails while the token lives: keep it, and pause before the next try. */
	a = secret_auth("l3-f1", "tenant-f", "x");
	rc = auth_token(a, scope, tok, sizeof(tok), &e);
	TAP_OK(rc == 0 && strcmp(tok, "tok-tenant-f-1") == 0, "flaky endpoint: first token");
	{
		struct timespec ts = {2, 200000000};

		nanosleep(&ts, NULL);
	}
	rc = auth_token(a, scope, tok, sizeof(tok), &e);
	TAP_OK(rc == 0 && strcmp(tok, "tok-tenant-f-1") == 0 && count_of("tenant-f") == 2,
	       "failed refresh of a live token: the live token is returned");
	rc = auth_token(a, scope, tok, sizeof(tok), &e);
	TAP_OK(rc == 0 && count_of("tenant-f") == 2, "no new refresh right after a failed one");
	{
		struct timespec ts = {1, 0};

		nanosleep(&ts, NULL);
	}
	rc = auth_token(a, scope, tok, sizeof(tok), &e);
	TAP_OK(rc == -EACCES && count_of("tenant-f") == 3,
	       "expired token and failing endpoint: the error (rc %d)", rc);
	auth_free(a);

	/* Entra error: errno, AADSTS code, no trace ids, no secret. */
	a = secret_auth("e", "tenant-d", "TopSecretValue");
	rc = auth_token(a, scope, tok, sizeof(tok), &e);
	TAP_EQ_INT(rc, -EACCES, "invalid_client -> -EACCES");
	TAP_EQ_STR(e.code, "AADSTS7000215", "AADSTS code in the error");
	TAP_OK(strncmp(e.msg, "AADSTS7000215: Invalid client secret", 36) == 0 &&
	           !strstr(e.msg, "Trace") && !strstr(e.msg, "TopSecretValue"),
	       "message without trace id or secret: '%s'", e.msg);
	TAP_EQ_INT(e.status, 401, "status in the error");
	snprintf(url, sizeof(url), "%s/status/200", base);
	rc = auth_do(a, scope, &q, &r, &e);
	TAP_OK(rc == -EACCES && r.status == 0 && e.err == EACCES,
	       "auth_do: token failure -> -EACCES, status 0, e filled");
	http_resp_release(&r);
	auth_free(a);

	/* Certificate credential: assertion in the form, no secret. */
	{
		char cp[256], kp[256], login[256];
		struct auth_opts o = {.login_url = login,
		                      .tenant = "tenant-e",
		                      .client_id = "cid",
		                      .cert_file = cp,
		                      .key_file = kp,
		                      .alg = AUTH_ALG_PS256};

		snprintf(cp, sizeof(cp), "%s/cert.pem", dir);
		snprintf(kp, sizeof(kp), "%s/key.pem", dir);
		snprintf(login, sizeof(login), "%s/login/x", base);
		TAP_EQ_INT(auth_new(&a, hc, &o), 0, "certificate identity");
		rc = auth_token(a, scope, tok, sizeof(tok), &e);
		TAP_OK(rc == 0 && strcmp(tok, "tok-tenant-e-1") == 0, "assertion: token fetched");
		form = fetch_text("/count/tenant-e.form");
		TAP_OK(form &&
		           strstr(form, "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3A"
		                        "client-assertion-type%3Ajwt-bearer") &&
		           strstr(form, "client_assertion=eyJ") && !strstr(form, "client_secret"),
		       "assertion form fields");
		free(form);
		auth_free(a);
	}
}

/* ------------------------------------------------- live sandbox (optional) */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = calloc(1, 1 << 20);
	n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	while (buf && n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return buf;
}

static void test_sandbox(void)
{
	const char *cfgp = getenv("MGDC_CONFIG");
	char *txt, *secret = NULL, tok[16384];
	cJSON *cfg = NULL, *prof, *ep;
	struct http *h = NULL;
	struct auth *a = NULL;
	struct http_opts ho = {0};
	struct auth_opts ao = {0};
	struct net_error e;
	/* The last run uses the certificate profile with RS256 + x5t instead of its PS256. */
	const char *names[] = {"developer", "admin", "developer-cert", "developer-cert"};

	if (!cfgp || !(txt = slurp(cfgp))) {
		for (int i = 0; i < 4; i++)
			printf("ok %d - sandbox: %s token # SKIP MGDC_CONFIG not set\n", ++tap_n,
			       names[i]);
		printf("ok %d - sandbox: wrong secret # SKIP MGDC_CONFIG not set\n", ++tap_n);
		return;
	}
	cfg = cJSON_Parse(txt);
	free(txt);
	for (int i = 0; i < 4; i++) {
		prof = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(cfg, "profiles"), names[i]);
		ep = cJSON_GetObjectItemCaseSensitive(prof, "endpoints");
		ho.ca_file = jstr(prof, "ca_file");
		ho.max_retries = -1;
		if (!h && http_new(&h, &ho) < 0)
			break;
		memset(&ao, 0, sizeof(ao));
		ao.login_url = jstr(ep, "login");
		ao.tenant = jstr(prof, "tenant_id");
		ao.client_id = jstr(prof, "client_id");
		ao.alg = AUTH_ALG_PS256;
		if (jstr(prof, "client_secret_file")) {
			secret = slurp(jstr(prof, "client_secret_file"));
			ao.secret = secret;
		} else {
			ao.cert_file = jstr(prof, "client_certificate_file");
			ao.key_file = jstr(prof, "client_key_file");
			if (jstr(prof, "assertion_alg") &&
			    strcmp(jstr(prof, "assertion_alg"), "RS256") == 0)
				ao.alg = AUTH_ALG_RS256;
			if (i == 3)
				ao.alg = AUTH_ALG_RS256;
		}
		if (auth_new(&a, h, &ao) == 0) {
			int rc = auth_token(a, "https://graph.microsoft.com/.default", tok,
			                    sizeof(tok), &e);
			cJSON *cl = rc == 0 ? jwt_part_json(tok, 1) : NULL;

			TAP_OK(rc == 0 && jstr(cl, "aud") &&
			           strstr(jstr(cl, "aud"), "graph.microsoft.com"),
			       "sandbox: %s token (%s) for Graph (rc %d %s)", names[i],
			       ao.secret                  ? "secret"
			       : ao.alg == AUTH_ALG_PS256 ? "PS256"
			                                  : "RS256",
			       rc, e.msg);
			cJSON_Delete(cl);
			auth_free(a);
			a = NULL;
		} else {
			TAP_OK(0, "sandbox: auth_new for %s", names[i]);
		}
		if (secret) {
			memset(secret, 0, strlen(secret));
			free(secret);
			secret = NULL;
		}
	}
	/* A wrong secret for the developer app: the emulator's Entra error comes through. */
	prof = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "profiles"),
	                                        "developer");
	memset(&ao, 0, sizeof(ao));
	ao.login_url = jstr(cJSON_GetObjectItemCaseSensitive(prof, "endpoints"), "login");
	ao.tenant = jstr(prof, "tenant_id");
	ao.client_id = jstr(prof, "client_id");
	ao.secret = "not-the-secret";
	if (h && auth_new(&a, h, &ao) == 0) {
		int rc =
		    auth_token(a, "https://graph.microsoft.com/.default", tok, sizeof(tok), &e);

		TAP_OK(rc == -EACCES && strncmp(e.code, "AADSTS", 6) == 0 &&
		           !strstr(e.msg, "Trace ID"),
		       "sandbox: wrong secret -> -EACCES, %s: %s", e.code, e.msg);
		auth_free(a);
	} else {
		TAP_OK(0, "sandbox: auth_new with a wrong secret");
	}
	http_free(h);
	cJSON_Delete(cfg);
}

int main(int argc, char **argv)
{
	struct http_opts o = {.max_retries = 1, .backoff_base_ms = 20};
	char cmd[256];

	(void)argc;
	if (!mkdtemp(dir) || http_new(&hc, &o) < 0) {
		printf("Bail out! setup\n");
		return 1;
	}
	test_parse();
	test_assertion();
	if (testsrv_locate(argv[0]) == 0 && testsrv_start(&srv, NULL, NULL) == 0) {
		snprintf(base, sizeof(base), "http://127.0.0.1:%d", srv.port);
		test_live();
		testsrv_stop(&srv);
	} else {
		TAP_OK(0, "test server started");
	}
	test_sandbox();
	http_free(hc);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	testsrv_sh(cmd);
	return tap_done();
}
