/*
 * auth.c - Microsoft Entra v2 client-credentials tokens, cached per scope.
 *
 * Key decision: refresh is single-flight per scope. The first caller that
 * finds a token missing or near expiry marks the scope "refreshing", drops
 * the lock and fetches; everyone else either keeps using the old token while
 * it is still valid or waits on the condition variable, and then shares the
 * outcome (the new token, or the same error) instead of sending a request of
 * its own. So 16 FUSE workers that wake up together cost one token request.
 *
 * The sources beyond the client credentials (workload identity, managed
 * identity, the Azure CLI) differ only in how one token is fetched; the
 * cache and the single flight are the same for all. A chain (the
 * DefaultAzureCredential order) keeps the first member that gave a token, so
 * later refreshes ask that member only.
 *
 * Expiry is tracked on the monotonic clock from expires_in, so a wall-clock
 * jump neither keeps a dead token nor throws away a live one. Secrets (the
 * client secret, form bodies, tokens) are wiped with OPENSSL_cleanse before
 * their memory is freed and never reach a log line: logs name only the scope
 * and the lifetime.
 */
#include "net/auth.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "base/clock.h"
#include "base/log.h"

#define AUTH_REPLY_MAX      (64u << 10) /* token reply body */
#define AUTH_TOKEN_MAX      16384       /* one access token */
#define AUTH_LIFE_MAX_S     (366L * 86400)
#define AUTH_RETRY_MS       5000 /* pause between refreshes that fail while the token lives */
#define AUTH_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define AUTH_CERT_MAX       (256u << 10) /* certificate or PKCS#12 file */
#define AUTH_FEDERATED_MAX  (16u << 10)  /* federated token file */

struct auth_tok {
	struct auth_tok *next;
	char *scope;
	char *token;             /* NULL: none cached */
	long got_ms;             /* monotonic time the token arrived */
	long life_ms;            /* its expires_in */
	int refreshing;          /* a fetch for this scope is under way */
	unsigned gen;            /* completed fetches, success or not */
	long next_try_ms;        /* after a failed refresh: no new one before this */
	int last_err;            /* outcome of the last fetch (0 or -errno) ... */
	struct net_error last_e; /* ... and its error text, for waiters */
};

struct auth {
	struct http *h;
	enum auth_kind kind;
	char *label;
	char *unavailable; /* a chain member that is not tried: why */
	char *token_url;
	char *client_id;
	char *secret; /* wiped on free; NULL with a certificate */
	EVP_PKEY *key;
	enum auth_alg alg;
	char x5t[32];      /* base64url SHA-1 of the DER certificate */
	char x5t_s256[48]; /* base64url SHA-256 of the DER certificate */
	char **x5c;        /* with send_chain: base64 DER of the certificate, then its chain */
	size_t nx5c;
	char *token_file;      /* AUTH_WORKLOAD */
	struct msi_opts msi;   /* AUTH_MANAGED; its strings point into own[] */
	struct azcli_opts az;  /* AUTH_AZCLI; its strings point into own[] */
	char *own[4];          /* copies of the strings of msi or az (own[2]: the header, wiped) */
	struct auth **members; /* AUTH_CHAIN */
	size_t nmembers;
	int chosen; /* AUTH_CHAIN: index of the member in use, -1 before; atomic */
	long margin_ms;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct auth_tok *toks; /* protected by lock */
};

static void auth_wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* base64url without padding (RFC 7515 §2). Returns a malloc'd string or NULL. */
static char *auth_b64url(const unsigned char *in, size_t len)
{
	char *out;
	int n;

	if (len > (size_t)(1 << 28))
		return NULL;
	out = malloc(4 * ((len + 2) / 3) + 1);
	if (!out)
		return NULL;
	n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (int i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	return out;
}

/* ------------------------------------------------------------ credentials */

/* Never prompt on a terminal for a key passphrase: encrypted keys are refused. */
static int auth_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int auth_thumb(X509 *cert, const EVP_MD *md, char *out, size_t n)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	char *b;

	if (!X509_digest(cert, md, d, &dl))
		return -EINVAL;
	b = auth_b64url(d, dl);
	if (!b)
		return -ENOMEM;
	snprintf(out, n, "%s", b);
	free(b);
	return 0;
}

/* The whole of a small file in memory, as a BIO (NULL when unreadable or too big). */
static BIO *auth_file_bio(const char *path)
{
	BIO *f = BIO_new_file(path, "rb"), *m = NULL;
	char buf[4096];
	size_t total = 0;
	int n;

	if (!f)
		return NULL;
	m = BIO_new(BIO_s_mem());
	while (m && (n = BIO_read(f, buf, sizeof(buf))) > 0) {
		total += (size_t)n;
		if (total > AUTH_CERT_MAX || BIO_write(m, buf, n) != n) {
			BIO_free(m);
			m = NULL;
		}
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	BIO_free(f);
	return m;
}

/* base64 (not base64url: RFC 7515 §4.1.6) of a certificate's DER, for x5c. */
static char *auth_cert_b64(X509 *c)
{
	unsigned char *der = NULL;
	char *out = NULL;
	int n = i2d_X509(c, &der);

	if (n > 0 && (out = malloc(4 * (((size_t)n + 2) / 3) + 1)))
		EVP_EncodeBlock((unsigned char *)out, der, n);
	OPENSSL_free(der);
	return out;
}

static int auth_keep_chain(struct auth *a, X509 *cert, STACK_OF(X509) * ca)
{
	int n = ca ? sk_X509_num(ca) : 0;

	a->x5c = calloc((size_t)n + 1, sizeof(char *));
	if (!a->x5c)
		return -ENOMEM;
	a->x5c[a->nx5c++] = auth_cert_b64(cert);
	for (int i = 0; i < n; i++)
		a->x5c[a->nx5c++] = auth_cert_b64(sk_X509_value(ca, i));
	for (size_t i = 0; i < a->nx5c; i++)
		if (!a->x5c[i])
			return -ENOMEM;
	return 0;
}

/*
 * Load the certificate, its key and its chain: PEM (certificate first, the key in the same
 * file or in key_file, more certificates after the first form the chain; an encrypted key
 * needs the password) or PKCS#12 (its password, "" when none is given).
 */
static int auth_load_cert(struct auth *a, const struct auth_opts *o)
{
	const char *kf = o->key_file ? o->key_file : o->cert_file, *pw = o->cert_password;
	char esc[256];
	const char *why = NULL;
	STACK_OF(X509) *ca = NULL;
	X509 *cert = NULL, *more;
	BUF_MEM *mem = NULL;
	BIO *b, *kb = NULL;
	int res = -EINVAL;

	log_escape(esc, sizeof(esc), o->cert_file, (size_t)-1);
	b = auth_file_bio(o->cert_file);
	if (b)
		BIO_get_mem_ptr(b, &mem);
	if (!b || !mem) {
		why = "cannot read the certificate file (or it is over 256 KiB)";
		goto out;
	}
	if (memmem(mem->data, mem->length, "-----BEGIN", 10)) {
		cert = PEM_read_bio_X509(b, NULL, auth_no_passphrase, NULL);
		ca = sk_X509_new_null();
		while (ca && (more = PEM_read_bio_X509(b, NULL, auth_no_passphrase, NULL)))
			if (!sk_X509_push(ca, more))
				X509_free(more);
		if (!cert) {
			why = "no PEM certificate in the certificate file";
			goto out;
		}
		kb = auth_file_bio(kf);
		log_escape(esc, sizeof(esc), kf, (size_t)-1);
		if (kb)
			a->key = PEM_read_bio_PrivateKey(kb, NULL, pw ? NULL : auth_no_passphrase,
			                                 (void *)(uintptr_t)pw);
		if (!a->key) {
			why =
			    pw ? "no PEM private key in the key file that this password opens"
			       : "no unencrypted PEM private key in the key file (an encrypted one "
			         "needs AZURE_CLIENT_CERTIFICATE_PASSWORD or "
			         "client_certificate_password_file)";
			goto out;
		}
	} else {
		PKCS12 *p12 = d2i_PKCS12_bio(b, NULL);

		if (!p12 || !PKCS12_parse(p12, pw ? pw : "", &a->key, &cert, &ca)) {
			why = p12 ? "the PKCS#12 password is wrong "
			            "(AZURE_CLIENT_CERTIFICATE_PASSWORD "
			            "or client_certificate_password_file)"
			          : "neither a PEM certificate nor a PKCS#12 (.pfx) file";
			PKCS12_free(p12);
			goto out;
		}
		PKCS12_free(p12);
		if (!cert || !a->key) {
			why = "the PKCS#12 file lacks the certificate or its private key";
			goto out;
		}
	}
	if (EVP_PKEY_base_id(a->key) != EVP_PKEY_RSA) {
		why = "the key is not an RSA key (RS256/PS256 need RSA)";
		goto out;
	}
	if (X509_check_private_key(cert, a->key) != 1) {
		why = "the key does not belong to the certificate";
		goto out;
	}
	res = auth_thumb(cert, EVP_sha1(), a->x5t, sizeof(a->x5t));
	if (res == 0)
		res = auth_thumb(cert, EVP_sha256(), a->x5t_s256, sizeof(a->x5t_s256));
	if (res == 0 && o->send_chain)
		res = auth_keep_chain(a, cert, ca);
out:
	if (why)
		log_err("auth: client certificate %s: %s", esc, why);
	ERR_clear_error();
	BIO_free(b);
	BIO_free(kb);
	sk_X509_pop_free(ca, X509_free);
	X509_free(cert);
	return res;
}

/* Tenant ids are GUIDs or domain names: anything else could change the token URL's path. */
static int auth_tenant_ok(const char *t)
{
	if (!t || !*t || strlen(t) > 255)
		return 0;
	for (; *t; t++)
		if (!isalnum((unsigned char)*t) && *t != '-' && *t != '.' && *t != '_')
			return 0;
	return 1;
}

static const char *auth_kind_label(enum auth_kind k)
{
	static const char *const names[] = {"client credentials", "workload identity",
	                                    "managed identity", "Azure CLI", "credential chain"};

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

/* strdup of an optional string: 0, or -ENOMEM when `in` was set and could not be copied. */
static int auth_dup(char **out, const char *in)
{
	*out = in ? strdup(in) : NULL;
	return in && !*out ? -ENOMEM : 0;
}

/* The Entra part of an identity: token URL and client id (client credentials and workload). */
static int auth_entra(struct auth *a, const struct auth_opts *o)
{
	size_t ul, n;

	if (http_url_check(o->login_url) < 0 || !o->client_id || !*o->client_id ||
	    !auth_tenant_ok(o->tenant) || (o->kind == AUTH_APP && !o->secret && !o->cert_file) ||
	    (o->kind == AUTH_WORKLOAD && !o->token_file)) {
		log_err("auth: incomplete identity (an https login URL, a tenant id or domain, a "
		        "client id and a secret, a certificate or a federated token file are "
		        "needed)");
		return -EINVAL;
	}
	ul = strlen(o->login_url);
	while (ul > 0 && o->login_url[ul - 1] == '/')
		ul--;
	n = ul + strlen(o->tenant) + 32;
	a->token_url = malloc(n);
	a->client_id = strdup(o->client_id);
	if (!a->token_url || !a->client_id)
		return -ENOMEM;
	snprintf(a->token_url, n, "%.*s/%s/oauth2/v2.0/token", (int)ul, o->login_url, o->tenant);
	if (o->kind == AUTH_WORKLOAD)
		return auth_dup(&a->token_file, o->token_file);
	if (o->secret)
		return auth_dup(&a->secret, o->secret);
	return auth_load_cert(a, o);
}

int auth_new(struct auth **out, struct http *h, const struct auth_opts *o)
{
	struct auth *a;
	int res = -EINVAL;

	*out = NULL;
	if (!o || (unsigned)o->kind > AUTH_CHAIN) {
		log_err("auth: no credential");
		return -EINVAL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->h = h;
	a->kind = o->kind;
	a->alg = o->alg;
	a->chosen = -1;
	a->margin_ms = (o->refresh_margin_s > 0 ? o->refresh_margin_s : 300) * 1000;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	if ((res = auth_dup(&a->label, o->label ? o->label : auth_kind_label(o->kind))))
		goto out;
	if (o->unavailable) {
		/* A chain member that is only named, with why it is not tried. */
		res = auth_dup(&a->unavailable, o->unavailable);
		goto out;
	}
	switch (o->kind) {
	case AUTH_APP:
	case AUTH_WORKLOAD:
		res = auth_entra(a, o);
		break;
	case AUTH_MANAGED:
		a->msi = o->msi;
		if ((res = auth_dup(&a->own[0], o->msi.imds_host)) ||
		    (res = auth_dup(&a->own[1], o->msi.appsvc_endpoint)) ||
		    (res = auth_dup(&a->own[2], o->msi.appsvc_header)) ||
		    (res = auth_dup(&a->own[3], o->msi.id)))
			break;
		a->msi.imds_host = a->own[0];
		a->msi.appsvc_endpoint = a->own[1];
		a->msi.appsvc_header = a->own[2];
		a->msi.id = a->own[3];
		break;
	case AUTH_AZCLI:
		a->az = o->azcli;
		if ((res = auth_dup(&a->own[0], o->azcli.az)) ||
		    (res = auth_dup(&a->own[1], o->azcli.tenant)))
			break;
		a->az.az = a->own[0];
		a->az.tenant = a->own[1];
		break;
	case AUTH_CHAIN:
		res = -EINVAL;
		if (!o->members || o->nmembers == 0)
			break;
		res = -ENOMEM;
		a->members = calloc(o->nmembers, sizeof(*a->members));
		if (!a->members)
			break;
		res = 0;
		for (size_t i = 0; i < o->nmembers && res == 0; i++) {
			res = auth_new(&a->members[i], h, &o->members[i]);
			if (res == 0)
				a->nmembers++;
		}
		break;
	}
out:
	if (res < 0)
		auth_free(a);
	else
		*out = a;
	return res;
}

void auth_free(struct auth *a)
{
	struct auth_tok *t, *n;

	if (!a)
		return;
	for (t = a->toks; t; t = n) {
		n = t->next;
		auth_wipe_free(t->token);
		free(t->scope);
		free(t);
	}
	for (size_t i = 0; i < a->nmembers; i++)
		auth_free(a->members[i]);
	free(a->members);
	for (size_t i = 0; i < a->nx5c; i++)
		free(a->x5c[i]);
	free(a->x5c);
	auth_wipe_free(a->secret);
	for (size_t i = 0; i < 4; i++)
		auth_wipe_free(a->own[i]);
	EVP_PKEY_free(a->key);
	free(a->token_url);
	free(a->client_id);
	free(a->token_file);
	free(a->label);
	free(a->unavailable);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	free(a);
}

const char *auth_label(struct auth *a)
{
	int c = __atomic_load_n(&a->chosen, __ATOMIC_ACQUIRE);

	return a->kind == AUTH_CHAIN && c >= 0 ? a->members[c]->label : a->label;
}

/* -------------------------------------------------------------- assertion */

/* Sign `in` with the identity's key: RSASSA-PKCS1-v1_5 or RSASSA-PSS (SHA-256, MGF1-SHA-256, salt
 * 32). */
static unsigned char *auth_sign(struct auth *a, const char *in, size_t *siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *sig = NULL;
	int ok;

	if (!ctx)
		return NULL;
	ok = EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, a->key) == 1;
	if (ok && a->alg == AUTH_ALG_PS256)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) > 0 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0;
	if (ok)
		ok = EVP_DigestSign(ctx, NULL, siglen, (const unsigned char *)in, strlen(in)) == 1;
	if (ok)
		sig = malloc(*siglen);
	if (sig && EVP_DigestSign(ctx, sig, siglen, (const unsigned char *)in, strlen(in)) != 1) {
		free(sig);
		sig = NULL;
	}
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return sig;
}

/* A random (version 4) UUID for the assertion's jti. */
static int auth_uuid4(char out[37])
{
	unsigned char u[16];

	if (RAND_bytes(u, sizeof(u)) != 1)
		return -EIO;
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
	         u[13], u[14], u[15]);
	return 0;
}

/* base64url of the compact JSON of `obj` (consumed). NULL on ENOMEM. */
static char *auth_b64_json(cJSON *obj)
{
	char *js = obj ? cJSON_PrintUnformatted(obj) : NULL, *b;

	cJSON_Delete(obj);
	if (!js)
		return NULL;
	b = auth_b64url((const unsigned char *)js, strlen(js));
	free(js);
	return b;
}

/* "a.b", malloc'd; NULL on ENOMEM. */
static char *auth_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s.%s", a, b);
	return s;
}

char *auth_build_assertion(struct auth *a, const char *aud, long lifetime_s, int *err)
{
	cJSON *hdr = NULL, *cl = NULL;
	char jti[37], *h64 = NULL, *c64 = NULL, *input = NULL, *s64 = NULL, *jwt = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	double now = (double)time(NULL);
	int res = -EINVAL;

	if (!a || !a->key || !aud || lifetime_s <= 0)
		goto out;
	res = auth_uuid4(jti);
	if (res < 0)
		goto out;
	res = -ENOMEM;
	hdr = cJSON_CreateObject();
	cl = cJSON_CreateObject();
	if (!hdr || !cl)
		goto out;
	cJSON_AddStringToObject(hdr, "alg", a->alg == AUTH_ALG_PS256 ? "PS256" : "RS256");
	cJSON_AddStringToObject(hdr, "typ", "JWT");
	if (a->alg == AUTH_ALG_PS256)
		cJSON_AddStringToObject(hdr, "x5t#S256", a->x5t_s256);
	else
		cJSON_AddStringToObject(hdr, "x5t", a->x5t);
	if (a->nx5c) {
		cJSON *x5c = cJSON_AddArrayToObject(hdr, "x5c");

		for (size_t i = 0; x5c && i < a->nx5c; i++)
			cJSON_AddItemToArray(x5c, cJSON_CreateString(a->x5c[i]));
	}
	cJSON_AddStringToObject(cl, "aud", aud);
	cJSON_AddStringToObject(cl, "iss", a->client_id);
	cJSON_AddStringToObject(cl, "sub", a->client_id);
	cJSON_AddStringToObject(cl, "jti", jti);
	cJSON_AddNumberToObject(cl, "nbf", now);
	cJSON_AddNumberToObject(cl, "iat", now);
	cJSON_AddNumberToObject(cl, "exp", now + (double)lifetime_s);
	h64 = auth_b64_json(hdr);
	c64 = auth_b64_json(cl);
	hdr = cl = NULL;
	if (!h64 || !c64)
		goto out;
	input = auth_join(h64, c64);
	if (!input)
		goto out;
	sig = auth_sign(a, input, &siglen);
	if (!sig) {
		res = -EIO;
		log_err("auth: signing the client assertion failed");
		goto out;
	}
	s64 = auth_b64url(sig, siglen);
	if (!s64)
		goto out;
	jwt = auth_join(input, s64);
	if (jwt)
		res = 0;
out:
	cJSON_Delete(hdr);
	cJSON_Delete(cl);
	free(h64);
	free(c64);
	free(input);
	free(sig);
	free(s64);
	if (err)
		*err = res;
	return jwt;
}

/* ------------------------------------------------------------ token reply */

/* Entra's `error` values as errno: a refused credential, a bad request, or a server condition. */
static int auth_error_errno(const char *err)
{
	static const char *const denied[] = {"invalid_client", "unauthorized_client",
	                                     "invalid_grant", "interaction_required"};
	static const char *const invalid[] = {"invalid_scope", "invalid_request",
	                                      "invalid_resource", "unsupported_grant_type"};

	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		if (strcmp(err, denied[i]) == 0)
			return EACCES;
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		if (strcmp(err, invalid[i]) == 0)
			return EINVAL;
	if (strcmp(err, "temporarily_unavailable") == 0)
		return EAGAIN;
	return EIO;
}

static int auth_reply_fail(struct net_error *e, int err, const char *msg)
{
	if (e) {
		e->err = err;
		snprintf(e->msg, sizeof(e->msg), "%s", msg);
	}
	return -err;
}

/* A token goes into a header line: only visible ASCII, so it cannot inject a header. */
static int auth_token_chars_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

int auth_error_body(struct net_error *e, const char *body, size_t len)
{
	cJSON *root = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "error_description");
	const char *desc = cJSON_IsString(d) ? d->valuestring : NULL;
	const char *a = desc ? strstr(desc, "AADSTS") : NULL, *t;
	int found = cJSON_IsString(err);

	if (a) {
		size_t n = 6;

		while (isdigit((unsigned char)a[n]))
			n++;
		net_error_code(e, a, n);
	} else if (found) {
		net_error_code(e, err->valuestring, strlen(err->valuestring));
	}
	if (found && desc) {
		/* The sandbox, like some Entra replies, puts the ids on the first line. */
		t = strstr(desc, " Trace ID:");
		net_error_msg(e, desc, t ? (size_t)(t - desc) : strlen(desc));
	}
	cJSON_Delete(root);
	return found;
}

int auth_parse_token_reply(const char *body, size_t len, char **token, long *expires_in,
                           struct net_error *e)
{
	cJSON *root = NULL;
	const cJSON *err, *tok, *exp, *typ;
	struct net_error tmp;
	double life = -1;
	int res;

	*token = NULL;
	*expires_in = 0;
	if (!e)
		e = &tmp;
	memset(e, 0, sizeof(*e));
	if (!body || len == 0)
		return auth_reply_fail(e, EIO, "empty token reply");
	if (len > AUTH_REPLY_MAX)
		return auth_reply_fail(e, EIO, "token reply larger than 64 KiB");
	root = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
	if (!cJSON_IsObject(root)) {
		res = auth_reply_fail(e, EIO, "token reply is not a JSON object");
		goto out;
	}
	err = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (cJSON_IsString(err)) {
		auth_error_body(e, body, len);
		e->err = auth_error_errno(err->valuestring);
		if (!e->msg[0])
			snprintf(e->msg, sizeof(e->msg), "token request refused");
		res = -e->err;
		goto out;
	}
	tok = cJSON_GetObjectItemCaseSensitive(root, "access_token");
	exp = cJSON_GetObjectItemCaseSensitive(root, "expires_in");
	typ = cJSON_GetObjectItemCaseSensitive(root, "token_type");
	if (cJSON_IsNumber(exp))
		life = exp->valuedouble;
	else if (cJSON_IsString(exp) && isdigit((unsigned char)exp->valuestring[0]))
		life = strtod(exp->valuestring, NULL);
	if (!cJSON_IsString(tok) || !tok->valuestring[0] ||
	    strlen(tok->valuestring) >= AUTH_TOKEN_MAX || !auth_token_chars_ok(tok->valuestring)) {
		res = auth_reply_fail(e, EIO, "token reply without a usable access_token");
		goto out;
	}
	if (!(life >= 1 && life <= AUTH_LIFE_MAX_S)) {
		res = auth_reply_fail(e, EIO, "token reply without a usable expires_in");
		goto out;
	}
	if (typ && (!cJSON_IsString(typ) || strcasecmp(typ->valuestring, "Bearer") != 0)) {
		res = auth_reply_fail(e, EIO, "token reply with a token_type other than Bearer");
		goto out;
	}
	*token = strdup(tok->valuestring);
	if (!*token) {
		res = auth_reply_fail(e, ENOMEM, "out of memory");
		goto out;
	}
	*expires_in = (long)life;
	res = 0;
out:
	/* The reply held a token: wipe the parsed copy before freeing it. */
	if (cJSON_IsObject(root)) {
		tok = cJSON_GetObjectItemCaseSensitive(root, "access_token");
		if (cJSON_IsString(tok))
			OPENSSL_cleanse(tok->valuestring, strlen(tok->valuestring));
	}
	cJSON_Delete(root);
	return res;
}

/* ------------------------------------------------------------ token fetch */

/* Append "&name=urlencode(value)" (no '&' first) to a growing form. Returns 0 or -ENOMEM. */
static int auth_form_add(char **form, size_t *len, const char *name, const char *value)
{
	char *enc = http_urlencode(value, 0), *nf;
	size_t need;

	if (!enc)
		return -ENOMEM;
	need = *len + strlen(name) + strlen(enc) + 3;
	nf = malloc(need);
	if (!nf) {
		auth_wipe_free(enc);
		return -ENOMEM;
	}
	*len = (size_t)snprintf(nf, need, "%s%s%s=%s", *form ? *form : "", *form ? "&" : "", name,
	                        enc);
	auth_wipe_free(*form);
	auth_wipe_free(enc);
	*form = nf;
	return 0;
}

/*
 * The federated token (a JWT from the workload's identity provider, e.g. a Kubernetes
 * service account token) is read at every request: the platform rotates the file.
 * A missing file is -ENXIO (not in such a workload: the next source may go).
 */
static int auth_read_federated(struct auth *a, char **out, struct net_error *e)
{
	char esc[200], *buf = NULL;
	FILE *f = fopen(a->token_file, "re");
	size_t n = 0;
	int res = -EIO;

	*out = NULL;
	log_escape(esc, sizeof(esc), a->token_file, (size_t)-1);
	if (!f) {
		res = errno == ENOENT ? -ENXIO : -errno;
		e->err = -res;
		snprintf(e->msg, sizeof(e->msg), "federated token file %s: %s", esc,
		         strerror(errno));
		return res;
	}
	buf = malloc(AUTH_FEDERATED_MAX + 1);
	if (buf)
		n = fread(buf, 1, AUTH_FEDERATED_MAX + 1, f);
	fclose(f);
	while (buf && n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	if (!buf) {
		res = -ENOMEM;
	} else if (n == 0 || n > AUTH_FEDERATED_MAX) {
		e->err = EIO;
		snprintf(e->msg, sizeof(e->msg), "federated token file %s is empty or over 16 KiB",
		         esc);
	} else {
		buf[n] = '\0';
		*out = buf;
		return 0;
	}
	if (buf) {
		OPENSSL_cleanse(buf, AUTH_FEDERATED_MAX + 1);
		free(buf);
	}
	return res;
}

/* One POST to the token endpoint. Returns 0 (token, life set) or -errno with e filled. */
static int auth_fetch_once(struct auth *a, const char *scope, char **token, long *life,
                           struct net_error *e)
{
	static const char *const hdrs[] = {"Content-Type: application/x-www-form-urlencoded",
	                                   "Accept: application/json", NULL};
	struct http_req req = {.method = "POST", .url = a->token_url, .headers = hdrs};
	struct http_resp resp;
	char *form = NULL, *assertion = NULL;
	size_t len = 0;
	int res;

	memset(&resp, 0, sizeof(resp));
	res = auth_form_add(&form, &len, "client_id", a->client_id);
	if (res == 0)
		res = auth_form_add(&form, &len, "scope", scope);
	if (res == 0)
		res = auth_form_add(&form, &len, "grant_type", "client_credentials");
	if (res == 0 && a->secret) {
		res = auth_form_add(&form, &len, "client_secret", a->secret);
	} else if (res == 0) {
		if (a->token_file)
			res = auth_read_federated(a, &assertion, e);
		else
			assertion = auth_build_assertion(a, a->token_url, 600, &res);
		if (res == 0)
			res = auth_form_add(&form, &len, "client_assertion_type",
			                    AUTH_ASSERTION_TYPE);
		if (res == 0)
			res = auth_form_add(&form, &len, "client_assertion", assertion);
	}
	if (res < 0) {
		if (!e->msg[0])
			net_error_set(e, res, NULL, NULL);
		goto out;
	}
	req.body = form;
	req.body_len = len;
	/*
	 * A client-credentials grant changes nothing on the server, so a dropped
	 * connection may be retried with the same form (secret) ... but an
	 * assertion's jti is single-use, so that case is left to auth_fetch.
	 */
	req.idempotent = a->secret != NULL || a->token_file != NULL;
	res = http_do(a->h, &req, &resp);
	if (res < 0) {
		net_error_set(e, res, &resp, auth_error_body);
		goto out;
	}
	res = auth_parse_token_reply(resp.body, resp.body_len, token, life, e);
	if (res < 0) {
		/* Not an Entra error body (a proxy's 503 page ...): the status tells more. */
		if (resp.status != 200 && !e->code[0])
			res = net_error_set(e, 0, &resp, auth_error_body);
		e->status = resp.status;
	}
out:
	http_resp_release(&resp);
	auth_wipe_free(form);
	auth_wipe_free(assertion);
	return res;
}

/* A member that cannot be used on this machine: DefaultAzureCredential tries the next. */
static int auth_unavailable(int rc)
{
	return rc == -ENXIO;
}

static int auth_fetch(struct auth *a, const char *scope, char **token, long *life,
                      struct net_error *e);

/*
 * The chain: the member that gave a token before, else each member in order. The error
 * names every member tried and why it failed, as DefaultAzureCredential's does.
 */
static int auth_chain_fetch(struct auth *a, const char *scope, char **token, long *life,
                            struct net_error *e)
{
	int c = __atomic_load_n(&a->chosen, __ATOMIC_ACQUIRE), res = -EACCES;
	char list[sizeof(e->msg)];
	size_t o = 0;

	if (c >= 0)
		return auth_fetch(a->members[c], scope, token, life, e);
	list[0] = '\0';
	for (size_t i = 0; i < a->nmembers; i++) {
		struct auth *m = a->members[i];
		struct net_error me = {0};
		int w;

		if (m->unavailable) {
			w = snprintf(list + o, sizeof(list) - o, "%s%s: %.150s", o ? "; " : "",
			             m->label, m->unavailable);
			o = w > 0 && (size_t)w < sizeof(list) - o ? o + (size_t)w
			                                          : sizeof(list) - 1;
			continue;
		}
		res = auth_fetch(m, scope, token, life, &me);
		if (res == 0) {
			__atomic_store_n(&a->chosen, (int)i, __ATOMIC_RELEASE);
			log_info("auth: %s gave a token; it is used from now on", m->label);
			return 0;
		}
		w = snprintf(list + o, sizeof(list) - o, "%s%s: %.180s", o ? "; " : "", m->label,
		             me.msg[0] ? me.msg : strerror(-res));
		o = w > 0 && (size_t)w < sizeof(list) - o ? o + (size_t)w : sizeof(list) - 1;
		if (!auth_unavailable(res)) {
			/* It answered, and said no: a broken configuration, not a missing one. */
			*e = me;
			snprintf(e->msg, sizeof(e->msg),
			         "stopped at the first source that refused: %.440s", list);
			return res;
		}
	}
	memset(e, 0, sizeof(*e));
	e->err = EACCES;
	snprintf(e->code, sizeof(e->code), "CredentialUnavailable");
	snprintf(e->msg, sizeof(e->msg),
	         "no credential worked, tried in DefaultAzureCredential's "
	         "order: %.440s",
	         list);
	return -EACCES;
}

static int auth_fetch(struct auth *a, const char *scope, char **token, long *life,
                      struct net_error *e)
{
	int res;

	if (a->unavailable) {
		e->err = ENXIO;
		snprintf(e->msg, sizeof(e->msg), "%s", a->unavailable);
		return -ENXIO;
	}
	switch (a->kind) {
	case AUTH_MANAGED:
		return msi_token(a->h, &a->msi, scope, token, life, e);
	case AUTH_AZCLI:
		return azcli_token(&a->az, scope, token, life, e);
	case AUTH_CHAIN:
		return auth_chain_fetch(a, scope, token, life, e);
	default:
		break;
	}
	res = auth_fetch_once(a, scope, token, life, e);
	/* A fresh assertion (new jti) may go out once more after a dropped connection. */
	if (!a->secret && !a->token_file && (res == -ECONNRESET || res == -ETIMEDOUT))
		res = auth_fetch_once(a, scope, token, life, e);
	return res;
}

/* ------------------------------------------------------------ token cache */

/* Entry for `scope`, created if missing. Called with a->lock held. NULL on ENOMEM. */
static struct auth_tok *auth_tok_get(struct auth *a, const char *scope)
{
	struct auth_tok *t;

	for (t = a->toks; t; t = t->next)
		if (strcmp(t->scope, scope) == 0)
			return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->scope = strdup(scope);
	if (!t->scope) {
		free(t);
		return NULL;
	}
	t->next = a->toks;
	a->toks = t;
	return t;
}

/* Refresh once less than the margin (or a third of a short lifetime) remains. */
static long auth_tok_refresh_at(const struct auth *a, const struct auth_tok *t)
{
	long margin = a->margin_ms < t->life_ms / 3 ? a->margin_ms : t->life_ms / 3;

	return t->got_ms + t->life_ms - margin;
}

static int auth_tok_copy(const struct auth_tok *t, char *out, size_t outlen)
{
	size_t n = strlen(t->token);

	if (n + 1 > outlen)
		return -ERANGE;
	memcpy(out, t->token, n + 1);
	return 0;
}

/* Store a fetch outcome and wake the waiters. Called with a->lock held. */
static void auth_tok_settle(struct auth *a, struct auth_tok *t, int rc, char *token, long life_s,
                            const struct net_error *e)
{
	char esc[128];

	t->refreshing = 0;
	t->gen++;
	t->last_err = rc;
	t->last_e = *e;
	if (rc < 0)
		t->next_try_ms = clock_ms() + AUTH_RETRY_MS;
	if (rc == 0) {
		auth_wipe_free(t->token);
		t->token = token;
		t->got_ms = clock_ms();
		t->life_ms = life_s * 1000;
		t->next_try_ms = 0;
		log_info("auth: token for %s, valid %ld s",
		         log_escape(esc, sizeof(esc), t->scope, (size_t)-1), life_s);
	}
	pthread_cond_broadcast(&a->cond);
}

int auth_token(struct auth *a, const char *scope, char *out, size_t outlen, struct net_error *e)
{
	struct auth_tok *t;
	struct net_error ne;
	int res;

	if (e)
		memset(e, 0, sizeof(*e));
	pthread_mutex_lock(&a->lock);
	t = auth_tok_get(a, scope);
	if (!t) {
		res = net_error_set(e, -ENOMEM, NULL, NULL);
		goto out;
	}
	for (;;) {
		long now = clock_ms();
		int live = t->token && now < t->got_ms + t->life_ms;
		char *tok = NULL;
		long life = 0;
		unsigned gen;

		/* Fresh, or live while a failed refresh cools down: no request. */
		if (t->token &&
		    (now < auth_tok_refresh_at(a, t) || (live && now < t->next_try_ms))) {
			res = auth_tok_copy(t, out, outlen);
			break;
		}
		if (t->refreshing) {
			/* Someone is on it: the old token still works meanwhile. */
			if (live) {
				res = auth_tok_copy(t, out, outlen);
				break;
			}
			gen = t->gen;
			while (t->refreshing && t->gen == gen)
				pthread_cond_wait(&a->cond, &a->lock);
			if (t->last_err < 0 && !(t->token && clock_ms() < t->got_ms + t->life_ms)) {
				res = t->last_err;
				if (e)
					*e = t->last_e;
				break;
			}
			continue;
		}
		t->refreshing = 1;
		pthread_mutex_unlock(&a->lock);
		memset(&ne, 0, sizeof(ne));
		res = auth_fetch(a, scope, &tok, &life, &ne);
		pthread_mutex_lock(&a->lock);
		auth_tok_settle(a, t, res, tok, life, &ne);
		if (res < 0) {
			char esc[128];

			if (t->token && clock_ms() < t->got_ms + t->life_ms) {
				log_info(
				    "auth: refresh for %s failed (%s); the current token is still "
				    "valid",
				    log_escape(esc, sizeof(esc), scope, (size_t)-1), ne.msg);
				res = auth_tok_copy(t, out, outlen);
			} else if (e) {
				*e = ne;
			}
			break;
		}
	}
out:
	pthread_mutex_unlock(&a->lock);
	return res;
}

/* Forget the token for `scope` if it is `token` (NULL: whatever it is). */
static void auth_invalidate_if(struct auth *a, const char *scope, const char *token)
{
	pthread_mutex_lock(&a->lock);
	for (struct auth_tok *t = a->toks; t; t = t->next) {
		if (strcmp(t->scope, scope) != 0 || !t->token)
			continue;
		/* Another thread may already have replaced the token that got the 401. */
		if (!token || strcmp(t->token, token) == 0) {
			auth_wipe_free(t->token);
			t->token = NULL;
		}
	}
	pthread_mutex_unlock(&a->lock);
}

void auth_invalidate(struct auth *a, const char *scope)
{
	auth_invalidate_if(a, scope, NULL);
}

int auth_do(struct auth *a, const char *scope, const struct http_req *req, struct http_resp *resp,
            struct net_error *e)
{
	static const char prefix[] = "Authorization: Bearer ";
	const char **hdrs = NULL;
	char *line = NULL;
	struct http_req q = *req;
	size_t n = 0;
	int res = -ENOMEM;

	memset(resp, 0, sizeof(*resp));
	while (req->headers && req->headers[n])
		n++;
	hdrs = calloc(n + 2, sizeof(*hdrs));
	line = malloc(sizeof(prefix) + AUTH_TOKEN_MAX);
	if (!hdrs || !line) {
		net_error_set(e, res, NULL, NULL);
		goto out;
	}
	memcpy(line, prefix, sizeof(prefix));
	for (size_t i = 0; i < n; i++)
		hdrs[i] = req->headers[i];
	hdrs[n] = line;
	q.headers = hdrs;
	for (int attempt = 0; attempt < 2; attempt++) {
		char *tok = line + sizeof(prefix) - 1;

		res = auth_token(a, scope, tok, AUTH_TOKEN_MAX, e);
		if (res < 0) {
			memset(resp, 0, sizeof(*resp));
			goto out;
		}
		res = http_do(a->h, &q, resp);
		if (res < 0) {
			net_error_set(e, res, resp, auth_error_body);
			break;
		}
		if (resp->status != 401 || attempt == 1)
			break;
		/* The token may have been revoked or the clock skewed: one fresh try. */
		auth_invalidate_if(a, scope, tok);
		http_resp_release(resp);
	}
out:
	if (line) {
		OPENSSL_cleanse(line, sizeof(prefix) + AUTH_TOKEN_MAX);
		free(line);
	}
	free(hdrs);
	return res;
}
