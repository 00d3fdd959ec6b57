/*
 * blob.c - Azure Blob REST: Shared Key / SAS / bearer requests, List Blobs
 * paging parsed with expat, Get Blob Properties, verified range reads.
 *
 * Design decision: the Shared Key signature is computed from the very
 * header array and URL handed to http_do() (blob_string_to_sign() parses
 * them back), so what is signed can never drift from what is sent. Every
 * count or length a server controls is capped: bytes per listing page,
 * entries per listing, name and field lengths, and a marker that repeats
 * ends the listing instead of looping. A range read returns exactly the
 * bytes asked for or an error, never fewer.
 */
#include "net/blob.h"

#include <ctype.h>
#include <errno.h>
#include <expat.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/clock.h"
#include "base/log.h"

#define BLOB_KEY_MAX         256
#define BLOB_PAGE_DEFAULT    ((size_t)32 << 20)
#define BLOB_ENTRIES_DEFAULT ((size_t)1000000)
/* Pages in a row without an entry before a listing is declared endless. */
#define BLOB_EMPTY_PAGES_MAX 100
/* Short replies re-requested within one blob_get_range(). */
#define BLOB_SHORT_RETRIES 2
#define BLOB_MAX_HEADERS   16
/* Longest text of one scalar listing field (dates, sizes, ETag, MD5). */
#define BLOB_FIELD_MAX 256
/* How long storage counts as unreachable after a request found it so (see blob_call_do). */
#define BLOB_DOWN_HOLD_MS 3000

struct blob_client {
	struct http *h;
	char *account;
	char *url;
	enum blob_auth_kind kind;
	unsigned char key[BLOB_KEY_MAX];
	size_t keylen;
	char *sas;
	struct auth *a;
	char *scope;
	char *version;
	int max_results;
	size_t max_page;
	size_t max_entries;
	struct blob_stats st; /* updated with __atomic builtins */
	long down_until_ms;   /* monotonic; storage unreachable until then (__atomic) */
	int down_err;         /* the -errno that made it so (__atomic) */
};

#define STAT_INC(bc, f) __atomic_fetch_add(&(bc)->st.f, 1, __ATOMIC_RELAXED)

/* ---- small string builder; oom is sticky so callers check once ---- */

struct sb {
	char *p;
	size_t len, cap;
	int oom;
};

static void sb_addn(struct sb *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_add(struct sb *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

/* sb_take - the built string, or NULL (and nothing to free) after an OOM. */
static char *sb_take(struct sb *b)
{
	if (b->oom || !b->p) {
		free(b->p);
		return NULL;
	}
	return b->p;
}

/* ---- dates ---- */

static const char *const wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void blob_format_http_date(time_t t, char *out, size_t n)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d GMT", wdays[tm.tm_wday], tm.tm_mday,
	         months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int blob_parse_http_date(const char *s, time_t *out)
{
	char wd[4], mon[4], tz[4];
	int day, year, hh, mm, ss, used = 0, m;
	struct tm tm;

	if (!s ||
	    sscanf(s, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3[A-Z]%n", wd, &day, mon, &year,
	           &hh, &mm, &ss, tz, &used) != 8 ||
	    s[used] != '\0' || strcmp(tz, "GMT") != 0)
		return -EINVAL;
	for (m = 0; m < 12; m++)
		if (strcasecmp(mon, months[m]) == 0)
			break;
	if (m == 12 || day < 1 || day > 31 || year < 1970 || hh > 23 || mm > 59 || ss > 60 ||
	    hh < 0 || mm < 0 || ss < 0)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_mday = day;
	tm.tm_mon = m;
	tm.tm_year = year - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	*out = timegm(&tm);
	return 0;
}

/* ---- crypto and encodings ---- */

int blob_b64_decode(const char *s, unsigned char *out, size_t cap)
{
	size_t len = strlen(s), pad = 0;
	unsigned char *tmp;
	int n;

	if (len == 0 || len % 4 != 0 || len > INT_MAX || len / 4 * 3 > cap + 2)
		return -EINVAL;
	tmp = malloc(len / 4 * 3 + 1);
	if (!tmp)
		return -ENOMEM;
	n = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)len);
	/* EVP_DecodeBlock counts padding as zero bytes; the real length is shorter. */
	if (s[len - 1] == '=')
		pad++;
	if (s[len - 2] == '=')
		pad++;
	if (n < 0 || (size_t)n < pad || (size_t)n - pad > cap) {
		OPENSSL_cleanse(tmp, len / 4 * 3 + 1);
		free(tmp);
		return -EINVAL;
	}
	n -= (int)pad;
	memcpy(out, tmp, (size_t)n);
	OPENSSL_cleanse(tmp, len / 4 * 3 + 1);
	free(tmp);
	return n;
}

int blob_hmac_b64(const unsigned char *key, size_t keylen, const char *msg, char out[45])
{
	unsigned char mac[32];
	unsigned int ml = sizeof(mac);

	if (keylen > INT_MAX ||
	    !HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), mac,
	          &ml) ||
	    ml != sizeof(mac))
		return -EIO;
	EVP_EncodeBlock((unsigned char *)out, mac, (int)ml);
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * pct_decode - decode %XX of src[0..n) into dst (room for n + 1); returns
 * the length. plus_space: '+' means ' ', as in a query (Azure and Azurite
 * decode query values so; this client always sends '+' as %2B).
 */
static size_t pct_decode(char *dst, const char *src, size_t n, int plus_space)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int hi, lo;

		if (src[i] == '%' && i + 2 < n && (hi = hexval((unsigned char)src[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)src[i + 2])) >= 0) {
			dst[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			dst[o++] = plus_space && src[i] == '+' ? ' ' : src[i];
		}
	}
	dst[o] = '\0';
	return o;
}

/* name_is_unsafe - 1 if the bytes hold NUL, a control byte or invalid UTF-8. */
static int name_is_unsafe(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k, more;
		uint32_t cp;

		if (c < 0x20 || c == 0x7f)
			return 1;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			cp = c & 0x07;
		} else {
			return 1;
		}
		if (i + more >= n)
			return 1;
		for (k = 1; k <= more; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 1;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* overlong, surrogate or beyond U+10FFFF */
		if ((more == 2 && cp < 0x800) || (more == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 1;
		i += more + 1;
	}
	return 0;
}

/* ---- Shared Key StringToSign ---- */

static const char *const std_headers[] = {
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-MD5",
    "Content-Type",
    "Date",
    "If-Modified-Since",
    "If-Match",
    "If-None-Match",
    "If-Unmodified-Since",
    "Range",
};

/* hdr_split - split "Name: value" into name length and trimmed value span. */
static void hdr_split(const char *h, size_t *nlen, const char **v, size_t *vlen)
{
	const char *c = strchr(h, ':');
	const char *end;

	if (!c) {
		*nlen = strlen(h);
		*v = h + *nlen;
		*vlen = 0;
		return;
	}
	*nlen = (size_t)(c - h);
	while (*nlen && (h[*nlen - 1] == ' ' || h[*nlen - 1] == '\t'))
		(*nlen)--;
	c++;
	while (*c == ' ' || *c == '\t')
		c++;
	end = c + strlen(c);
	while (end > c && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	*v = c;
	*vlen = (size_t)(end - c);
}

struct kv {
	char *k;
	char *v;
};

/* A growable list of name/value pairs for canonicalisation. */
struct kvs {
	struct kv *v;
	size_t n, cap;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c ? c : strcmp(x->v, y->v);
}

/* kv_add - a new pair with room for klen and vlen bytes plus NULs, or NULL on ENOMEM. */
static struct kv *kv_add(struct kvs *s, size_t klen, size_t vlen)
{
	struct kv *kv;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct kv *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		s->v = nv;
		s->cap = cap;
	}
	kv = &s->v[s->n];
	kv->k = malloc(klen + 1);
	kv->v = malloc(vlen + 1);
	if (!kv->k || !kv->v) {
		free(kv->k);
		free(kv->v);
		return NULL;
	}
	s->n++;
	return kv;
}

static void kv_lower(char *k)
{
	for (; *k; k++)
		*k = (char)tolower((unsigned char)*k);
}

static void kvs_release(struct kvs *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->v[i].k);
		free(s->v[i].v);
	}
	free(s->v);
}

/* Appends the x-ms-* lines; 0 or -ENOMEM. */
static int sts_ms_headers(struct sb *b, const char *const *headers)
{
	struct kvs s = {0};
	struct kv *kv;
	size_t i;
	int res = -ENOMEM;

	for (i = 0; headers && headers[i]; i++) {
		const char *val;
		size_t nlen, vlen, j, o = 0;

		hdr_split(headers[i], &nlen, &val, &vlen);
		if (nlen < 5 || strncasecmp(headers[i], "x-ms-", 5) != 0)
			continue;
		kv = kv_add(&s, nlen, vlen);
		if (!kv)
			goto out;
		memcpy(kv->k, headers[i], nlen);
		kv->k[nlen] = '\0';
		kv_lower(kv->k);
		/* fold linear whitespace in the value to one space */
		for (j = 0; j < vlen; j++) {
			int ws =
			    val[j] == ' ' || val[j] == '\t' || val[j] == '\r' || val[j] == '\n';

			if (ws && o > 0 && kv->v[o - 1] == ' ')
				continue;
			kv->v[o++] = ws ? ' ' : val[j];
		}
		kv->v[o] = '\0';
	}
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), kv_cmp);
	for (i = 0; i < s.n; i++) {
		sb_add(b, s.v[i].k);
		sb_add(b, ":");
		sb_add(b, s.v[i].v);
		sb_add(b, "\n");
	}
	res = 0;
out:
	kvs_release(&s);
	return res;
}

/* Appends "\nname:value" per query parameter, sorted, duplicates comma-joined. */
static int sts_query(struct sb *b, const char *q)
{
	struct kvs s = {0};
	struct kv *kv;
	size_t i;
	int res = -ENOMEM;

	while (q && *q) {
		size_t len = strcspn(q, "&"), klen = strcspn(q, "=");

		if (klen > len)
			klen = len;
		if (len == 0) {
			q++;
			continue;
		}
		kv = kv_add(&s, klen, len);
		if (!kv)
			goto out;
		pct_decode(kv->k, q, klen, 1);
		kv_lower(kv->k);
		if (klen < len)
			pct_decode(kv->v, q + klen + 1, len - klen - 1, 1);
		else
			kv->v[0] = '\0';
		q += len;
		if (*q == '&')
			q++;
	}
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), kv_cmp);
	for (i = 0; i < s.n; i++) {
		if (i > 0 && strcmp(s.v[i].k, s.v[i - 1].k) == 0) {
			sb_add(b, ",");
		} else {
			sb_add(b, "\n");
			sb_add(b, s.v[i].k);
			sb_add(b, ":");
		}
		sb_add(b, s.v[i].v);
	}
	res = 0;
out:
	kvs_release(&s);
	return res;
}

char *blob_string_to_sign(const char *method, const char *account, const char *url,
                          const char *const *headers)
{
	struct sb b = {0};
	const char *path, *q, *sch = strstr(url, "://");
	size_t i, j;
	char *query = NULL;

	if (!sch)
		return NULL;
	sb_add(&b, method);
	sb_add(&b, "\n");
	for (i = 0; i < sizeof(std_headers) / sizeof(std_headers[0]); i++) {
		size_t want = strlen(std_headers[i]);

		for (j = 0; headers && headers[j]; j++) {
			const char *v;
			size_t nlen, vlen;

			hdr_split(headers[j], &nlen, &v, &vlen);
			if (nlen != want || strncasecmp(headers[j], std_headers[i], nlen) != 0)
				continue;
			/* 2015-02-21+: a zero Content-Length is signed as empty */
			if (!(i == 2 && vlen == 1 && v[0] == '0'))
				sb_addn(&b, v, vlen);
			break;
		}
		sb_add(&b, "\n");
	}
	if (sts_ms_headers(&b, headers) < 0)
		b.oom = 1;
	path = sch + 3;
	path += strcspn(path, "/?#");
	q = strchr(path, '?');
	sb_add(&b, "/");
	sb_add(&b, account);
	if (*path == '/')
		sb_addn(&b, path, q ? (size_t)(q - path) : strcspn(path, "#"));
	else
		sb_add(&b, "/");
	if (q) {
		query = strndup(q + 1, strcspn(q + 1, "#"));
		if (!query || sts_query(&b, query) < 0)
			b.oom = 1;
		free(query);
	}
	return sb_take(&b);
}

int blob_range_header(char *out, size_t n, uint64_t offset, uint64_t len)
{
	if (len == 0 || offset > UINT64_MAX - len)
		return -EINVAL;
	snprintf(out, n, "bytes=%llu-%llu", (unsigned long long)offset,
	         (unsigned long long)(offset + len - 1));
	return 0;
}

/* ---- errors ---- */

int blob_code_errno(const char *code, long status)
{
	static const struct {
		const char *code;
		int err;
	} map[] = {
	    {"BlobNotFound", ENOENT},
	    {"ContainerNotFound", ENOENT},
	    {"ResourceNotFound", ENOENT},
	    {"ConditionNotMet", ESTALE},
	    {"TargetConditionNotMet", ESTALE},
	    {"AuthorizationFailure", EACCES},
	    {"AuthenticationFailed", EACCES},
	    {"AuthorizationPermissionMismatch", EACCES},
	    {"InsufficientAccountPermissions", EACCES},
	    {"InvalidRange", ERANGE},
	    {"ContainerAlreadyExists", EEXIST},
	    {"BlobAlreadyExists", EEXIST},
	    {"ServerBusy", EAGAIN},
	};
	size_t i;

	for (i = 0; code && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(code, map[i].code) == 0)
			return map[i].err;
	if (status == 304)
		return ESTALE;
	return status ? http_status_errno(status) : EIO;
}

/* What blob_error_body collects: the text of /Error/Code and /Error/Message. */
struct blob_err_xml {
	XML_Parser p;
	int depth;
	int in; /* 1 Code, 2 Message, 0 neither */
	char text[2][512];
	size_t n[2];
};

static void XMLCALL be_start(void *ud, const XML_Char *n, const XML_Char **attr)
{
	struct blob_err_xml *x = ud;

	(void)attr;
	x->depth++;
	x->in = x->depth == 2 ? (strcmp(n, "Code") == 0      ? 1
	                         : strcmp(n, "Message") == 0 ? 2
	                                                     : 0)
	                      : 0;
}

static void XMLCALL be_chars(void *ud, const XML_Char *s, int len)
{
	struct blob_err_xml *x = ud;
	size_t i, room;

	if (!x->in || len <= 0)
		return;
	i = (size_t)(x->in - 1);
	room = sizeof(x->text[i]) - 1 - x->n[i];
	if ((size_t)len < room)
		room = (size_t)len;
	memcpy(x->text[i] + x->n[i], s, room);
	x->n[i] += room;
}

static void XMLCALL be_end(void *ud, const XML_Char *n)
{
	struct blob_err_xml *x = ud;

	(void)n;
	x->in = 0;
	x->depth--;
}

/* No DTDs in an error body: entity expansion is how a hostile reply would grow. */
static void XMLCALL be_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
	struct blob_err_xml *x = ud;

	(void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
	XML_StopParser(x->p, XML_FALSE);
}

int blob_error_body(struct net_error *e, const char *body, size_t len)
{
	struct blob_err_xml x = {0};

	if (len > INT_MAX || !(x.p = XML_ParserCreate("UTF-8")))
		return 0;
	XML_SetUserData(x.p, &x);
	XML_SetElementHandler(x.p, be_start, be_end);
	XML_SetCharacterDataHandler(x.p, be_chars);
	XML_SetStartDoctypeDeclHandler(x.p, be_doctype);
	/* A truncated or malformed body still gives what came before the fault. */
	(void)XML_Parse(x.p, body, (int)len, XML_TRUE);
	XML_ParserFree(x.p);
	if (x.n[0])
		net_error_code(e, x.text[0], x.n[0]);
	if (x.n[1])
		net_error_msg(e, x.text[1], x.n[1]);
	return x.n[0] || x.n[1];
}

/*
 * blob_fail - fill e from a failed exchange and return -errno. The
 * x-ms-error-code header wins over the body: HEAD errors have no body.
 */
static int blob_fail(struct net_error *e, int rc, const struct http_resp *resp)
{
	struct net_error tmp;
	const char *code;

	if (!e)
		e = &tmp;
	net_error_set(e, rc, resp, blob_error_body);
	code = http_resp_header(resp, "x-ms-error-code");
	/*
	 * In buffer mode an error body larger than the caller's buffer ends
	 * the transfer with -EPROTO after the headers arrived; the service's
	 * code is still in them, and it is the better answer.
	 */
	if (rc == -EPROTO && code && *code) {
		log_escape(e->code, sizeof(e->code), code, (size_t)-1);
		e->err = blob_code_errno(e->code, 0);
		snprintf(e->msg, sizeof(e->msg), "service error %s", e->code);
		return -e->err;
	}
	if (rc < 0)
		return -e->err;
	if (code && *code)
		log_escape(e->code, sizeof(e->code), code, (size_t)-1);
	e->status = resp->status;
	e->err = blob_code_errno(e->code[0] ? e->code : NULL, resp->status);
	if (!e->err)
		e->err = EIO;
	if (!e->msg[0])
		snprintf(e->msg, sizeof(e->msg), "HTTP %ld%s%s", resp->status,
		         e->code[0] ? " " : "", e->code);
	return -e->err;
}

/* blob_err - fill e with a local error (no response) and return -err. */
static int blob_err(struct net_error *e, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int blob_err(struct net_error *e, int err, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		memset(e, 0, sizeof(*e));
		e->err = err;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -err;
}

/* ---- client ---- */

int blob_client_new(struct blob_client **out, struct http *h, const struct blob_opts *o)
{
	struct blob_client *bc;
	int res = -EINVAL, n;

	*out = NULL;
	if (!h || !o || !o->account || !*o->account || !o->url || http_url_check(o->url) < 0) {
		log_err("blob: the storage account name and an https account URL are required");
		return -EINVAL;
	}
	bc = calloc(1, sizeof(*bc));
	if (!bc)
		return -ENOMEM;
	bc->h = h;
	bc->kind = o->auth;
	bc->account = strdup(o->account);
	bc->url = strdup(o->url);
	bc->version = strdup(o->version ? o->version : BLOB_API_VERSION);
	if (!bc->account || !bc->url || !bc->version)
		goto oom;
	n = (int)strlen(bc->url);
	while (n > 0 && bc->url[n - 1] == '/')
		bc->url[--n] = '\0';
	switch (o->auth) {
	case BLOB_AUTH_SHARED_KEY:
		n = o->key ? blob_b64_decode(o->key, bc->key, sizeof(bc->key)) : -EINVAL;
		if (n <= 0) {
			log_err("blob: the account key of '%s' is not valid base64", bc->account);
			goto out;
		}
		bc->keylen = (size_t)n;
		break;
	case BLOB_AUTH_SAS:
		if (!o->sas || !*o->sas) {
			log_err("blob: SAS authentication needs a SAS token");
			goto out;
		}
		bc->sas = strdup(o->sas[0] == '?' ? o->sas + 1 : o->sas);
		if (!bc->sas)
			goto oom;
		break;
	case BLOB_AUTH_BEARER:
		if (!o->auth_id) {
			log_err("blob: bearer authentication needs an Entra identity");
			goto out;
		}
		bc->a = o->auth_id;
		bc->scope = strdup(o->scope ? o->scope : BLOB_SCOPE);
		if (!bc->scope)
			goto oom;
		break;
	default:
		log_err("blob: unknown authentication kind %d", (int)o->auth);
		goto out;
	}
	bc->max_results = o->max_results > 0 && o->max_results <= 5000 ? o->max_results : 5000;
	bc->max_page = o->max_page_bytes ? o->max_page_bytes : BLOB_PAGE_DEFAULT;
	bc->max_entries = o->max_entries ? o->max_entries : BLOB_ENTRIES_DEFAULT;
	*out = bc;
	return 0;
oom:
	res = -ENOMEM;
out:
	blob_client_free(bc);
	return res;
}

void blob_client_free(struct blob_client *bc)
{
	if (!bc)
		return;
	OPENSSL_cleanse(bc->key, sizeof(bc->key));
	if (bc->sas) {
		OPENSSL_cleanse(bc->sas, strlen(bc->sas));
		free(bc->sas);
	}
	free(bc->account);
	free(bc->url);
	free(bc->scope);
	free(bc->version);
	free(bc);
}

void blob_get_stats(struct blob_client *bc, struct blob_stats *out)
{
	out->md5_verified = __atomic_load_n(&bc->st.md5_verified, __ATOMIC_RELAXED);
	out->md5_mismatch = __atomic_load_n(&bc->st.md5_mismatch, __ATOMIC_RELAXED);
	out->md5_missing = __atomic_load_n(&bc->st.md5_missing, __ATOMIC_RELAXED);
	out->short_bodies = __atomic_load_n(&bc->st.short_bodies, __ATOMIC_RELAXED);
	out->stale = __atomic_load_n(&bc->st.stale, __ATOMIC_RELAXED);
}

/* blob_path - "/<container>[/<name>]" percent-encoded ('/' kept in the name); "/" for NULL. */
static char *blob_path(const char *container, const char *name)
{
	struct sb b = {0};
	char *c = NULL, *n = NULL;

	sb_add(&b, "/");
	if (container) {
		c = http_urlencode(container, 0);
		if (!c)
			b.oom = 1;
		else
			sb_add(&b, c);
	}
	if (container && name) {
		n = http_urlencode(name, 1);
		if (!n)
			b.oom = 1;
		sb_add(&b, "/");
		if (n)
			sb_add(&b, n);
	}
	free(c);
	free(n);
	return sb_take(&b);
}

char *blob_url_https(const struct blob_client *bc, const char *container, const char *name)
{
	struct sb b = {0};
	char *p = blob_path(container, name);

	if (!p)
		return NULL;
	sb_add(&b, bc->url);
	sb_add(&b, p);
	free(p);
	return sb_take(&b);
}

char *blob_url_abfss(const struct blob_client *bc, const char *container, const char *name)
{
	struct sb b = {0};
	char *n = http_urlencode(name ? name : "", 1);

	if (!n)
		return NULL;
	sb_add(&b, "abfss://");
	sb_add(&b, container);
	sb_add(&b, "@");
	sb_add(&b, bc->account);
	sb_add(&b, ".dfs.core.windows.net/");
	sb_add(&b, n);
	free(n);
	return sb_take(&b);
}

/* One Blob REST call; the fields mirror struct http_req. */
struct blob_call {
	const char *method;       /* NULL: GET */
	const char *container;    /* NULL: account level */
	const char *name;         /* NULL: container level */
	const char *const *q;     /* query as k0, v0, k1, v1, ..., NULL; values raw */
	const char *const *extra; /* extra headers "Name: value", NULL-terminated */
	const void *body;
	size_t body_len;
	void *buf;
	size_t buf_cap;
	size_t max_body;
	int idempotent;
};

int blob_unreachable(int rc)
{
	return rc == -ETIMEDOUT || rc == -ECONNREFUSED || rc == -EHOSTUNREACH ||
	       rc == -ENETUNREACH || rc == -ECONNRESET || rc == -EAGAIN || rc == -EIO;
}

/*
 * blob_call_do - build the URL and headers of `c`, authorise and send it.
 * Same contract as http_do(); release resp in every case. `tok_e` gets
 * auth_do()'s account of a failure (bearer only). Thread-safe.
 *
 * After a request ends without any reply because storage is unreachable
 * (its retries and deadline spent), every request for the next
 * BLOB_DOWN_HOLD_MS fails at once with the same errno instead of waiting out
 * its own deadline: one `ls` looks up several listings, and each would
 * otherwise block for the whole deadline while the first already proved
 * storage gone. Any reply, even an error status, ends the hold.
 */
static int blob_call_do(struct blob_client *bc, const struct blob_call *c, struct http_resp *resp,
                        struct net_error *tok_e)
{
	const char *hdrs[BLOB_MAX_HEADERS + 1];
	char date[64], ver[64], auth[512] = "", clen[64], sig[45], esc[256];
	struct sb url = {0};
	struct http_req req;
	char *path = blob_path(c->container, c->name), *sts = NULL;
	size_t nh = 0, i;
	long left = __atomic_load_n(&bc->down_until_ms, __ATOMIC_RELAXED) - clock_ms();
	int res = -ENOMEM;

	memset(resp, 0, sizeof(*resp));
	if (!path)
		goto out;
	if (left > 0) {
		res = __atomic_load_n(&bc->down_err, __ATOMIC_RELAXED);
		snprintf(resp->error, sizeof(resp->error),
		         "storage unreachable (%s); not tried again for %ld ms", strerror(-res),
		         left);
		goto out;
	}
	sb_add(&url, bc->url);
	sb_add(&url, path);
	for (i = 0; c->q && c->q[i] && c->q[i + 1]; i += 2) {
		char *v = http_urlencode(c->q[i + 1], 0);

		if (!v) {
			url.oom = 1;
			break;
		}
		sb_add(&url, i ? "&" : "?");
		sb_add(&url, c->q[i]);
		sb_add(&url, "=");
		sb_add(&url, v);
		free(v);
	}
	if (url.oom)
		goto out;
	memcpy(date, "x-ms-date: ", 11);
	blob_format_http_date(time(NULL), date + 11, sizeof(date) - 11);
	snprintf(ver, sizeof(ver), "x-ms-version: %s", bc->version);
	hdrs[nh++] = date;
	hdrs[nh++] = ver;
	for (i = 0; c->extra && c->extra[i] && nh < BLOB_MAX_HEADERS - 2; i++)
		hdrs[nh++] = c->extra[i];
	if (c->method && strcmp(c->method, "PUT") == 0) {
		snprintf(clen, sizeof(clen), "Content-Length: %zu", c->body_len);
		hdrs[nh++] = clen;
	}
	hdrs[nh] = NULL;
	if (bc->kind == BLOB_AUTH_SHARED_KEY) {
		sts = blob_string_to_sign(c->method ? c->method : "GET", bc->account, url.p, hdrs);
		if (!sts)
			goto out;
		res = blob_hmac_b64(bc->key, bc->keylen, sts, sig);
		if (res < 0)
			goto out;
		snprintf(auth, sizeof(auth), "Authorization: SharedKey %s:%s", bc->account, sig);
		OPENSSL_cleanse(sig, sizeof(sig));
		hdrs[nh++] = auth;
		hdrs[nh] = NULL;
	} else if (bc->kind == BLOB_AUTH_SAS) {
		sb_add(&url, strchr(url.p, '?') ? "&" : "?");
		sb_add(&url, bc->sas);
		if (url.oom)
			goto out;
	}
	/* The query may carry a SAS signature: log the path only. */
	log_debug("blob: %s %s", c->method ? c->method : "GET",
	          log_escape(esc, sizeof(esc), path, (size_t)-1));
	memset(&req, 0, sizeof(req));
	req.method = c->method;
	req.url = url.p;
	req.headers = hdrs;
	req.body = c->body;
	req.body_len = c->body_len;
	req.buf = c->buf;
	req.buf_cap = c->buf_cap;
	req.max_body = c->max_body;
	req.idempotent = c->idempotent;
	if (bc->kind == BLOB_AUTH_BEARER)
		res = auth_do(bc->a, bc->scope, &req, resp, tok_e);
	else
		res = http_do(bc->h, &req, resp);
	/* The hold is for storage gone: unreachable and no reply at all. -EIO without a
	 * reply is libcurl failing locally, not the endpoint. */
	if (blob_unreachable(res) && res != -EIO && resp->n_headers == 0) {
		__atomic_store_n(&bc->down_err, res, __ATOMIC_RELAXED);
		__atomic_store_n(&bc->down_until_ms, clock_ms() + BLOB_DOWN_HOLD_MS,
		                 __ATOMIC_RELAXED);
	} else if (res == 0) {
		__atomic_store_n(&bc->down_until_ms, 0, __ATOMIC_RELAXED);
	}
out:
	OPENSSL_cleanse(auth, sizeof(auth));
	if (url.p) {
		OPENSSL_cleanse(url.p, url.len);
		free(url.p);
	}
	free(path);
	free(sts);
	return res;
}

/*
 * blob_call_expect - blob_call_do() that also turns any status but `ok`
 * into -errno with e filled. Release resp in every case.
 */
static int blob_call_expect(struct blob_client *bc, const struct blob_call *c,
                            struct http_resp *resp, long ok, struct net_error *e)
{
	struct net_error te = {0};
	int rc = blob_call_do(bc, c, resp, &te);

	/* No reply header at all: the token step failed and te has the AADSTS text. */
	if (rc < 0 && te.err && resp->n_headers == 0) {
		if (e)
			*e = te;
		return -te.err;
	}
	return rc < 0 || resp->status != ok ? blob_fail(e, rc, resp) : 0;
}

/* ---- List Blobs / List Containers XML ---- */

enum lp_el { EL_OTHER = 0, EL_ROOT, EL_ITEMS, EL_ITEM, EL_PROPS };
enum lp_field { F_NONE = 0, F_NAME, F_NEXT, F_SIZE, F_MTIME, F_CTIME, F_ETAG, F_MD5 };

#define LP_DEPTH_MAX 16
#define LP_TEXT_MAX  (3 * BLOB_NAME_MAX)

struct lp {
	XML_Parser p;
	int containers;
	int depth;
	enum lp_el el[LP_DEPTH_MAX + 1];
	enum lp_field field;
	int field_depth;
	int name_encoded;
	char text[LP_TEXT_MAX + 1];
	size_t text_len;
	int text_over;
	struct blob_entry ent;
	char name[LP_TEXT_MAX + 1];
	size_t count, max;
	blob_list_cb cb;
	void *ud;
	struct blob_page *out;
	struct net_error *e;
	int rc;
};

static void lp_stop(struct lp *lp, int rc)
{
	if (!lp->rc)
		lp->rc = rc;
	XML_StopParser(lp->p, XML_FALSE);
}

static void lp_fail(struct lp *lp, int err, const char *what)
{
	if (!lp->rc) {
		blob_err(lp->e, err, "listing XML line %lu: %s",
		         (unsigned long)XML_GetCurrentLineNumber(lp->p), what);
		lp_stop(lp, -err);
	}
}

static enum lp_field lp_prop_field(const char *n)
{
	static const struct {
		const char *name;
		enum lp_field f;
	} props[] = {
	    {"Content-Length", F_SIZE}, {"Last-Modified", F_MTIME}, {"Creation-Time", F_CTIME},
	    {"Etag", F_ETAG},           {"Content-MD5", F_MD5},
	};
	size_t i;

	for (i = 0; i < sizeof(props) / sizeof(props[0]); i++)
		if (strcmp(n, props[i].name) == 0)
			return props[i].f;
	return F_NONE;
}

static void XMLCALL lp_start(void *ud, const XML_Char *n, const XML_Char **attr)
{
	struct lp *lp = ud;
	enum lp_el parent = lp->depth <= LP_DEPTH_MAX ? lp->el[lp->depth] : EL_OTHER;
	enum lp_el me = EL_OTHER;
	enum lp_field f = F_NONE;
	int d = ++lp->depth;
	size_t i;

	if (d == 1) {
		if (strcmp(n, "EnumerationResults") != 0)
			lp_fail(lp, EIO, "the document is not an EnumerationResults listing");
		me = EL_ROOT;
	} else if (parent == EL_ROOT) {
		if (strcmp(n, lp->containers ? "Containers" : "Blobs") == 0)
			me = EL_ITEMS;
		else if (strcmp(n, "NextMarker") == 0)
			f = F_NEXT;
	} else if (parent == EL_ITEMS) {
		int blob = !lp->containers && strcmp(n, "Blob") == 0;
		int pfx = !lp->containers && strcmp(n, "BlobPrefix") == 0;

		if (blob || pfx || (lp->containers && strcmp(n, "Container") == 0)) {
			me = EL_ITEM;
			memset(&lp->ent, 0, sizeof(lp->ent));
			lp->name[0] = '\0';
			lp->ent.name = lp->name;
			lp->ent.is_prefix = !blob;
		}
	} else if (parent == EL_ITEM) {
		if (strcmp(n, "Name") == 0) {
			f = F_NAME;
			lp->name_encoded = 0;
			for (i = 0; attr && attr[i] && attr[i + 1]; i += 2)
				if (strcmp(attr[i], "Encoded") == 0 &&
				    strcmp(attr[i + 1], "true") == 0)
					lp->name_encoded = 1;
		} else if (strcmp(n, "Properties") == 0) {
			me = EL_PROPS;
		}
	} else if (parent == EL_PROPS) {
		f = lp_prop_field(n);
	}
	if (d <= LP_DEPTH_MAX)
		lp->el[d] = me;
	if (f != F_NONE) {
		lp->field = f;
		lp->field_depth = d;
		lp->text_len = 0;
		lp->text_over = 0;
		lp->text[0] = '\0';
	}
}

static void XMLCALL lp_chars(void *ud, const XML_Char *s, int len)
{
	struct lp *lp = ud;
	size_t cap = lp->field == F_NAME || lp->field == F_NEXT ? LP_TEXT_MAX : BLOB_FIELD_MAX;

	if (lp->field == F_NONE || lp->depth != lp->field_depth || len <= 0)
		return;
	if (lp->text_len + (size_t)len > cap) {
		lp->text_over = 1;
		return;
	}
	memcpy(lp->text + lp->text_len, s, (size_t)len);
	lp->text_len += (size_t)len;
	lp->text[lp->text_len] = '\0';
}

/* lp_etag - store an ETag in the quoted header form; unusable values are dropped. */
static void lp_etag(char *dst, const char *src)
{
	size_t n = strlen(src), i;
	int quoted = n >= 2 && src[0] == '"' && src[n - 1] == '"';

	dst[0] = '\0';
	if (n == 0 || n + 3 > BLOB_ETAG_MAX)
		return;
	/* it goes back into an If-Match header: printable ASCII only, no inner quote */
	for (i = quoted; i < n - (size_t)quoted; i++)
		if (src[i] <= 0x20 || src[i] >= 0x7f || src[i] == '"')
			return;
	snprintf(dst, BLOB_ETAG_MAX, quoted ? "%s" : "\"%s\"", src);
}

static int lp_md5(unsigned char md5[16], const char *b64)
{
	unsigned char tmp[24];

	return blob_b64_decode(b64, tmp, sizeof(tmp)) == 16 ? (memcpy(md5, tmp, 16), 1) : 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static void lp_field_end(struct lp *lp)
{
	const char *t = lp->text;

	if (lp->text_over) {
		lp_fail(lp, EIO,
		        lp->field == F_NAME ? "an entry name is longer than the cap"
		                            : "a field is longer than the cap");
		return;
	}
	switch (lp->field) {
	case F_NAME:
		if (lp->name_encoded) {
			lp->ent.name_len = pct_decode(lp->name, t, lp->text_len, 0);
		} else {
			memcpy(lp->name, t, lp->text_len + 1);
			lp->ent.name_len = lp->text_len;
		}
		if (lp->ent.name_len > BLOB_NAME_MAX)
			lp_fail(lp, EIO, "an entry name is longer than the cap");
		lp->ent.name_unsafe =
		    name_is_unsafe((const unsigned char *)lp->name, lp->ent.name_len);
		break;
	case F_NEXT:
		if (lp->text_len >= sizeof(lp->out->next_marker))
			lp_fail(lp, EIO, "NextMarker is longer than the cap");
		else
			memcpy(lp->out->next_marker, t, lp->text_len + 1);
		break;
	case F_SIZE:
		if (parse_u64(t, &lp->ent.size) < 0)
			lp_fail(lp, EIO, "an entry has an invalid Content-Length");
		break;
	case F_MTIME:
		if (blob_parse_http_date(t, &lp->ent.mtime) < 0)
			lp->ent.mtime = 0;
		break;
	case F_CTIME:
		if (blob_parse_http_date(t, &lp->ent.ctime) < 0)
			lp->ent.ctime = 0;
		break;
	case F_ETAG:
		lp_etag(lp->ent.etag, t);
		break;
	case F_MD5:
		lp->ent.has_md5 = lp_md5(lp->ent.md5, t);
		break;
	case F_NONE:
		break;
	}
	lp->field = F_NONE;
}

static void XMLCALL lp_end(void *ud, const XML_Char *n)
{
	struct lp *lp = ud;
	int d = lp->depth--;
	int r;

	if (lp->field != F_NONE && d == lp->field_depth)
		lp_field_end(lp);
	if (lp->rc || d > LP_DEPTH_MAX || lp->el[d] != EL_ITEM)
		return;
	if (lp->ent.name_len == 0) {
		lp_fail(lp, EIO, "an entry has no name");
		return;
	}
	if (lp->count >= lp->max) {
		blob_err(lp->e, EFBIG, "listing holds more than %zu entries (the cap)", lp->max);
		lp_stop(lp, -EFBIG);
		return;
	}
	lp->count++;
	r = lp->cb ? lp->cb(lp->ud, &lp->ent) : 0;
	if (r)
		lp_stop(lp, r);
}

static void XMLCALL lp_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
	lp_fail(ud, EIO, "a DTD is not allowed in a listing");
}

int blob_parse_list_page(const char *xml, size_t len, int containers, size_t max_entries,
                         blob_list_cb cb, void *ud, struct blob_page *out, struct net_error *e)
{
	struct lp *lp = calloc(1, sizeof(*lp));
	size_t off = 0;
	int res = -ENOMEM;

	out->entries = 0;
	out->next_marker[0] = '\0';
	if (!lp)
		return blob_err(e, ENOMEM, "out of memory parsing a listing");
	lp->p = XML_ParserCreate("UTF-8");
	if (!lp->p) {
		blob_err(e, ENOMEM, "out of memory parsing a listing");
		goto out;
	}
	lp->containers = containers;
	lp->max = max_entries;
	lp->cb = cb;
	lp->ud = ud;
	lp->out = out;
	lp->e = e;
	XML_SetUserData(lp->p, lp);
	XML_SetElementHandler(lp->p, lp_start, lp_end);
	XML_SetCharacterDataHandler(lp->p, lp_chars);
	XML_SetStartDoctypeDeclHandler(lp->p, lp_doctype);
	/* Feed in slices: XML_Parse takes an int length, and slices bound each call. */
	do {
		size_t n = len - off > ((size_t)1 << 20) ? (size_t)1 << 20 : len - off;
		int final = off + n == len;

		if (XML_Parse(lp->p, xml + off, (int)n, final) != XML_STATUS_OK) {
			if (!lp->rc)
				lp_fail(lp, EIO, XML_ErrorString(XML_GetErrorCode(lp->p)));
			break;
		}
		off += n;
	} while (off < len);
	res = lp->rc;
	if (!res && lp->depth != 0)
		res = blob_err(e, EIO, "listing XML ends inside an element");
	out->entries = lp->count;
out:
	if (lp->p)
		XML_ParserFree(lp->p);
	free(lp);
	return res;
}

/* ---- listings ---- */

static int blob_list_run(struct blob_client *bc, const char *container,
                         const struct blob_list_req *rq, blob_list_cb cb, void *ud,
                         struct net_error *e)
{
	struct blob_page *pg = calloc(1, sizeof(*pg));
	const char *prefix = rq->prefix, *delimiter = rq->delimiter;
	char *marker = NULL, maxres[16], esc[128];
	size_t total = 0;
	int empty = 0, res = -ENOMEM;

	if (!pg)
		return blob_err(e, ENOMEM, "out of memory");
	snprintf(maxres, sizeof(maxres), "%d",
	         rq->max_results > 0 && rq->max_results < bc->max_results ? rq->max_results
	                                                                  : bc->max_results);
	log_escape(esc, sizeof(esc), container ? container : "(containers)", (size_t)-1);
	for (;;) {
		const char *q[16];
		struct blob_call c = {
		    .container = container, .q = q, .max_body = bc->max_page, .idempotent = 1};
		struct http_resp resp;
		int n = 0;

		if (container) {
			q[n++] = "restype";
			q[n++] = "container";
		}
		q[n++] = "comp";
		q[n++] = "list";
		if (prefix && *prefix) {
			q[n++] = "prefix";
			q[n++] = prefix;
		}
		if (delimiter && *delimiter) {
			q[n++] = "delimiter";
			q[n++] = delimiter;
		}
		q[n++] = "maxresults";
		q[n++] = maxres;
		if (marker) {
			q[n++] = "marker";
			q[n++] = marker;
		}
		q[n] = NULL;
		res = blob_call_expect(bc, &c, &resp, 200, e);
		if (res < 0) {
			if (res == -EFBIG)
				blob_err(e, EFBIG,
				         "listing page of %s is larger than the cap of %zu bytes",
				         esc, bc->max_page);
			http_resp_release(&resp);
			goto out;
		}
		res = blob_parse_list_page(resp.body, resp.body_len, !container,
		                           bc->max_entries - total, cb, ud, pg, e);
		http_resp_release(&resp);
		total += pg->entries;
		if (res == -EFBIG)
			blob_err(e, EFBIG, "listing of %s holds more than the cap of %zu entries",
			         esc, bc->max_entries);
		if (res)
			goto out;
		if (rq->page_done && (res = rq->page_done(ud, pg->entries)) != 0)
			goto out;
		if (!pg->next_marker[0] || (rq->first_page && total > 0))
			break;
		if (marker && strcmp(marker, pg->next_marker) == 0) {
			res =
			    blob_err(e, EIO, "listing of %s: the server repeated its marker", esc);
			goto out;
		}
		if (pg->entries == 0 && ++empty > BLOB_EMPTY_PAGES_MAX) {
			res = blob_err(e, EIO,
			               "listing of %s: more than %d pages in a row without entries",
			               esc, BLOB_EMPTY_PAGES_MAX);
			goto out;
		}
		if (pg->entries)
			empty = 0;
		free(marker);
		marker = strdup(pg->next_marker);
		if (!marker) {
			res = blob_err(e, ENOMEM, "out of memory");
			goto out;
		}
	}
	res = 0;
out:
	/* -ECANCELED: the caller's callback stopped it (nobody wants the rest). */
	if (res < 0 && res != -ENOENT && res != -EACCES && res != -ECANCELED)
		log_warn("blob: listing of %s stopped after %zu entries: %s", esc, total,
		         e ? e->msg : "failed");
	free(marker);
	free(pg);
	return res;
}

int blob_list(struct blob_client *bc, const char *container, const char *prefix,
              const char *delimiter, blob_list_cb cb, void *ud, struct net_error *e)
{
	struct blob_list_req rq = {.prefix = prefix, .delimiter = delimiter};

	if (!container || !*container)
		return blob_err(e, EINVAL, "no container named");
	return blob_list_run(bc, container, &rq, cb, ud, e);
}

int blob_list_paged(struct blob_client *bc, const char *container, const struct blob_list_req *rq,
                    blob_list_cb cb, void *ud, struct net_error *e)
{
	if (container && !*container)
		return blob_err(e, EINVAL, "no container named");
	return blob_list_run(bc, container, rq, cb, ud, e);
}

static int collect_cb(void *ud, const struct blob_entry *ent)
{
	struct blob_listing *l = ud;
	struct blob_entry *ne;

	/* grow by doubling: n is a power of two whenever the array is full */
	if ((l->n & (l->n - 1)) == 0) {
		ne = realloc(l->v, (l->n ? l->n * 2 : 1) * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		l->v = ne;
	}
	ne = &l->v[l->n];
	*ne = *ent;
	ne->name = malloc(ent->name_len + 1);
	if (!ne->name)
		return -ENOMEM;
	memcpy(ne->name, ent->name, ent->name_len + 1);
	l->n++;
	return 0;
}

int blob_list_collect(struct blob_client *bc, const char *container, const char *prefix,
                      const char *delimiter, struct blob_listing *out, struct net_error *e)
{
	struct blob_list_req every = {0};
	int res;

	memset(out, 0, sizeof(*out));
	res = container ? blob_list(bc, container, prefix, delimiter, collect_cb, out, e)
	                : blob_list_paged(bc, NULL, &every, collect_cb, out, e);
	if (res == -ENOMEM)
		blob_err(e, ENOMEM, "out of memory collecting a listing");
	if (res)
		blob_listing_release(out);
	return res;
}

void blob_listing_release(struct blob_listing *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- properties and reads ---- */

/* props_from_resp - fill p from reply headers; md5_hdr names the whole-blob MD5 header. */
static void props_from_resp(const struct http_resp *r, struct blob_props *p, const char *md5_hdr)
{
	const char *v;

	memset(p, 0, sizeof(*p));
	if ((v = http_resp_header(r, "ETag")))
		lp_etag(p->etag, v);
	if ((v = http_resp_header(r, "Last-Modified")))
		blob_parse_http_date(v, &p->mtime);
	if ((v = http_resp_header(r, "x-ms-creation-time")))
		blob_parse_http_date(v, &p->ctime);
	if ((v = http_resp_header(r, md5_hdr)))
		p->has_md5 = lp_md5(p->md5, v);
}

int blob_get_props(struct blob_client *bc, const char *container, const char *name,
                   struct blob_props *p, struct net_error *e)
{
	struct blob_call c = {
	    .method = "HEAD", .container = container, .name = name, .idempotent = 1};
	struct http_resp resp;
	const char *v;
	int res;

	memset(p, 0, sizeof(*p));
	res = blob_call_expect(bc, &c, &resp, 200, e);
	if (res < 0)
		goto out;
	props_from_resp(&resp, p, "Content-MD5");
	v = http_resp_header(&resp, "Content-Length");
	if (!v || parse_u64(v, &p->size) < 0 || !p->etag[0]) {
		res = blob_err(e, EIO, "properties reply without a usable Content-Length or ETag");
		goto out;
	}
	res = 0;
out:
	http_resp_release(&resp);
	return res;
}

/*
 * parse_content_range - "bytes a-b/total" -> 0. -ERANGE when only the total
 * is usable: the unsatisfiable form with '*' for the range, or Azurite's
 * "bytes S-(S-1)/S" for a start at EOF. -EINVAL for anything else.
 */
static int parse_content_range(const char *s, uint64_t *a, uint64_t *b, uint64_t *total)
{
	unsigned long long x, y, t;
	int used = 0;

	if (s && sscanf(s, "bytes */%llu%n", &t, &used) == 1 && !s[used]) {
		*total = t;
		return -ERANGE;
	}
	if (!s || sscanf(s, "bytes %llu-%llu/%llu%n", &x, &y, &t, &used) != 3 || s[used])
		return -EINVAL;
	*a = x;
	*b = y;
	*total = t;
	return x > y || y >= t ? -ERANGE : 0;
}

/*
 * range_once - one ranged GET of [off, off+len) into dst. Returns 0 with
 * *got <= len bytes received, -EBADMSG for an MD5 mismatch, or -errno.
 */
static int range_once(struct blob_client *bc, const char *container, const char *name, uint64_t off,
                      size_t len, char *dst, const char *etag, struct blob_props *p, size_t *got,
                      struct net_error *e)
{
	char range[80], ifm[BLOB_ETAG_MAX + 16];
	const char *extra[4];
	struct blob_call c = {.container = container,
	                      .name = name,
	                      .extra = extra,
	                      .buf = dst,
	                      .buf_cap = len,
	                      .idempotent = 1};
	struct http_resp resp;
	uint64_t a, b, total;
	const char *md5h;
	int n = 0, res, want_md5 = len <= BLOB_MD5_RANGE_MAX;

	*got = 0;
	memcpy(range, "x-ms-range: ", 12);
	blob_range_header(range + 12, sizeof(range) - 12, off, len);
	extra[n++] = range;
	if (want_md5)
		extra[n++] = "x-ms-range-get-content-md5: true";
	if (etag) {
		snprintf(ifm, sizeof(ifm), "If-Match: %s", etag);
		extra[n++] = ifm;
	}
	extra[n] = NULL;
	res = blob_call_expect(bc, &c, &resp, 206, e);
	if (res < 0) {
		if (res == -ESTALE)
			STAT_INC(bc, stale);
		goto out;
	}
	props_from_resp(&resp, p, "x-ms-blob-content-md5");
	res = parse_content_range(http_resp_header(&resp, "Content-Range"), &a, &b, &total);
	if (res == -EINVAL || (res == 0 && a != off)) {
		res = blob_err(e, EIO, "range reply with a missing or wrong Content-Range");
		goto out;
	}
	p->size = total;
	if (total < off + len) {
		STAT_INC(bc, stale);
		res = blob_err(e, ESTALE, "the blob is now %llu bytes, shorter than the read",
		               (unsigned long long)total);
		goto out;
	}
	if (res < 0) {
		res = blob_err(e, EIO, "range reply with an unusable Content-Range");
		goto out;
	}
	if (b - a + 1 > len) {
		res = blob_err(e, EIO, "range reply longer than the range asked for");
		goto out;
	}
	*got = resp.body_len < b - a + 1 ? resp.body_len : (size_t)(b - a + 1);
	md5h = http_resp_header(&resp, "Content-MD5");
	/* the service's MD5 covers the range it announced; check whenever all of it arrived */
	if (want_md5 && *got == b - a + 1) {
		unsigned char want[16], have[EVP_MAX_MD_SIZE];
		unsigned int hl = 0;

		if (!md5h || !lp_md5(want, md5h)) {
			STAT_INC(bc, md5_missing);
		} else if (!EVP_Digest(dst, *got, have, &hl, EVP_md5(), NULL) || hl != 16 ||
		           memcmp(want, have, 16) != 0) {
			STAT_INC(bc, md5_mismatch);
			res = -EBADMSG;
			goto out;
		} else {
			STAT_INC(bc, md5_verified);
		}
	}
	res = 0;
out:
	http_resp_release(&resp);
	return res;
}

ssize_t blob_get_range(struct blob_client *bc, const char *container, const char *name,
                       uint64_t offset, size_t len, void *buf, const char *etag_expected,
                       struct blob_props *props_out, struct net_error *e)
{
	struct blob_props p = {0};
	char etag[BLOB_ETAG_MAX] = "", esc[256], esc2[256];
	size_t got = 0, n;
	int shorts = 0, md5_retried = 0, res;

	if (len == 0)
		return 0;
	if (len > SSIZE_MAX || offset > UINT64_MAX - len)
		return blob_err(e, EINVAL, "range out of bounds");
	if (etag_expected) {
		lp_etag(etag, etag_expected);
		if (!etag[0])
			return blob_err(e, EINVAL, "unusable ETag");
	}
	while (got < len) {
		res = range_once(bc, container, name, offset + got, len - got, (char *)buf + got,
		                 etag[0] ? etag : NULL, &p, &n, e);
		if (res == -EBADMSG && !md5_retried++)
			continue;
		if (res == -EBADMSG) {
			log_err("blob: %s/%s: Content-MD5 mismatch at %llu+%zu, twice",
			        log_escape(esc, sizeof(esc), container, (size_t)-1),
			        log_escape(esc2, sizeof(esc2), name, (size_t)-1),
			        (unsigned long long)(offset + got), len - got);
			return blob_err(e, EIO, "Content-MD5 mismatch on a range read (twice)");
		}
		if (res < 0)
			return res;
		/* bind any remainder request to the version this reply came from */
		if (!etag[0])
			memcpy(etag, p.etag, sizeof(etag));
		got += n;
		if (got < len) {
			STAT_INC(bc, short_bodies);
			if (++shorts > BLOB_SHORT_RETRIES || !etag[0])
				return blob_err(e, EIO, "short body: %zu of %zu bytes", got, len);
		}
	}
	if (props_out)
		*props_out = p;
	return (ssize_t)len;
}

/* ---- writes (tests) ---- */

/* simple_call - one idempotent call that succeeds on status `ok`. */
static int simple_call(struct blob_client *bc, const char *method, const char *container,
                       const char *name, const char *const *q, const char *const *extra,
                       const void *body, size_t len, long ok, struct net_error *e)
{
	struct blob_call c = {.method = method,
	                      .container = container,
	                      .name = name,
	                      .q = q,
	                      .extra = extra,
	                      .body = body,
	                      .body_len = len,
	                      .idempotent = 1};
	struct http_resp resp;
	int res = blob_call_expect(bc, &c, &resp, ok, e);

	http_resp_release(&resp);
	return res;
}

int blob_put(struct blob_client *bc, const char *container, const char *name, const void *data,
             size_t len, struct net_error *e)
{
	static const char *const extra[] = {"x-ms-blob-type: BlockBlob",
	                                    "Content-Type: application/octet-stream", NULL};

	return simple_call(bc, "PUT", container, name, NULL, extra, data, len, 201, e);
}

int blob_delete(struct blob_client *bc, const char *container, const char *name,
                struct net_error *e)
{
	return simple_call(bc, "DELETE", container, name, NULL, NULL, NULL, 0, 202, e);
}

static const char *const container_q[] = {"restype", "container", NULL};

int blob_container_create(struct blob_client *bc, const char *container, struct net_error *e)
{
	int res = simple_call(bc, "PUT", container, NULL, container_q, NULL, NULL, 0, 201, e);

	return res == -EEXIST ? 0 : res;
}

int blob_container_delete(struct blob_client *bc, const char *container, struct net_error *e)
{
	return simple_call(bc, "DELETE", container, NULL, container_q, NULL, NULL, 0, 202, e);
}
