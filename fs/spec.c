/*
 * spec.c - validation of registration specs and command values, and the
 * helpers every spec parser shares (fs/spec_pipeline.c holds pipelines).
 *
 * Design decision: validation is strict and happens entirely before any
 * request is built. Unknown fields are refused (a typo must not silently
 * drop a setting), and every refusal is one line that names the file, the
 * exact field path, what is wrong and what would be valid, because that
 * line is all a user sees of a failed close(2) (it goes to .mgdcfs/errors).
 * Names that end up in resource names or blob paths are checked here, once.
 */
#include "fs/spec.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "fs/spec_i.h"

int spec_fail(struct spec_ctx *c, const char *path, const char *fmt, ...)
{
	char msg[1024];
	size_t o = 0;
	va_list ap;
	int w;

	if (!c->err || !c->errlen)
		return -EINVAL;
	w = snprintf(msg, sizeof(msg), "%s: %s: ", c->file ? c->file : "(spec)", path);
	if (w > 0 && (size_t)w < sizeof(msg)) {
		va_start(ap, fmt);
		vsnprintf(msg + w, sizeof(msg) - (size_t)w, fmt, ap);
		va_end(ap);
	}
	/* Spec text is echoed in messages: keep the result one printable line. */
	for (const unsigned char *s = (const unsigned char *)msg; *s && o + 5 < c->errlen; s++) {
		if (*s < 0x20 || *s == 0x7f)
			o += (size_t)snprintf(c->err + o, c->errlen - o, "\\x%02x", *s);
		else
			c->err[o++] = (char)*s;
	}
	c->err[o] = '\0';
	return -EINVAL;
}

/* Paths are capped at SPEC_PATH_MAX; a longer one (a huge unknown key) is cut with "...". */
static void path_fit(char *dst, size_t n, int w)
{
	if ((w < 0 || (size_t)w >= n) && n > 4)
		memcpy(dst + n - 4, "...", 4);
}

void spec_path(char *dst, size_t n, const char *base, const char *key)
{
	if (!base || strcmp(base, "$") == 0)
		path_fit(dst, n, snprintf(dst, n, "%s", key));
	else
		path_fit(dst, n, snprintf(dst, n, "%s.%s", base, key));
}

void spec_path_index(char *dst, size_t n, const char *base, size_t i)
{
	path_fit(dst, n, snprintf(dst, n, "%s[%zu]", base, i));
}

const char *spec_json_type(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "nothing";
}

/* Offset of the first byte that is not well-formed UTF-8, or len. */
static size_t utf8_bad(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char b = s[i];
		size_t need;
		uint32_t cp, min;

		if (b < 0x80) {
			i++;
			continue;
		}
		if ((b & 0xe0) == 0xc0)
			need = 1, cp = b & 0x1f, min = 0x80;
		else if ((b & 0xf0) == 0xe0)
			need = 2, cp = b & 0x0f, min = 0x800;
		else if ((b & 0xf8) == 0xf0)
			need = 3, cp = b & 0x07, min = 0x10000;
		else
			return i;
		for (size_t k = 1; k <= need; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += need + 1;
	}
	return len;
}

/* 1-based line and column (in characters) of byte offset `off`. */
static void line_col(const char *buf, size_t off, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (buf[i] == '\n')
			(*line)++, *col = 1;
		else if (((unsigned char)buf[i] & 0xc0) != 0x80)
			(*col)++;
	}
}

static int fail_at(struct spec_ctx *c, const char *buf, size_t off, const char *what,
                   const char *valid)
{
	char path[64];
	unsigned line, col;

	line_col(buf, off, &line, &col);
	snprintf(path, sizeof(path), "line %u, column %u", line, col);
	return spec_fail(c, path, "%s; %s", what, valid);
}

int spec_load(struct spec_ctx *c, const char *buf, size_t len, cJSON **out)
{
	const char *end = NULL;
	size_t bad;
	cJSON *v;

	*out = NULL;
	if (len > SPEC_MAX_BYTES) {
		spec_fail(c, "$", "file is %zu bytes; a spec may have at most %u bytes", len,
		          SPEC_MAX_BYTES);
		return -EFBIG;
	}
	bad = utf8_bad((const unsigned char *)buf, len);
	if (bad < len)
		return fail_at(c, buf, bad, "invalid UTF-8", "a spec is UTF-8 text");
	if (memchr(buf, '\0', len))
		return fail_at(c, buf, (size_t)((const char *)memchr(buf, '\0', len) - buf),
		               "NUL byte", "a spec is text");
	v = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (!v) {
		size_t off = end && end >= buf && end <= buf + len ? (size_t)(end - buf) : 0;

		while (off < len && isspace((unsigned char)buf[off]))
			off++;
		if (off >= len)
			return spec_fail(c, "$",
			                 "empty or truncated JSON; write one whole JSON object "
			                 "(see the examples in man mgdcfs)");
		return fail_at(c, buf, off, "malformed JSON", "fix the JSON syntax there");
	}
	for (size_t off = (size_t)(end - buf); off < len; off++)
		if (!isspace((unsigned char)buf[off])) {
			cJSON_Delete(v);
			return fail_at(c, buf, off, "text after the JSON object",
			               "a spec is exactly one JSON object");
		}
	if (!cJSON_IsObject(v)) {
		const char *t = spec_json_type(v);

		cJSON_Delete(v);
		return spec_fail(c, "$", "expected an object, got %s; a spec is one JSON object",
		                 t);
	}
	*out = v;
	return 0;
}

const char *spec_nth(const void *ctx, size_t i)
{
	return ((const char *const *)ctx)[i];
}

int spec_check_keys(struct spec_ctx *c, const cJSON *obj, const char *path,
                    const char *const *known)
{
	char sub[SPEC_PATH_MAX], near[256], list[512];
	const cJSON *it, *prev;
	size_t nk = 0;

	while (known[nk])
		nk++;
	cJSON_ArrayForEach(it, obj)
	{
		spec_path(sub, sizeof(sub), path, it->string);
		for (prev = obj->child; prev != it; prev = prev->next)
			if (strcmp(prev->string, it->string) == 0)
				return spec_fail(c, sub, "field given twice; give each field once");
		for (size_t i = 0; i < nk; i++)
			if (strcmp(known[i], it->string) == 0)
				goto next;
		spec_join(list, sizeof(list), NULL, known, nk);
		if (catalog_nearest(it->string, nk, spec_nth, known, near, sizeof(near)))
			return spec_fail(c, sub, "unknown field; did you mean %s? known fields: %s",
			                 near, list);
		return spec_fail(c, sub, "unknown field; known fields: %s", list);
	next:;
	}
	return 0;
}

static const char *type_word(int type)
{
	switch (type) {
	case cJSON_String:
		return "a string";
	case cJSON_Array:
		return "an array";
	case cJSON_Object:
		return "an object";
	case cJSON_Number:
		return "a number";
	default:
		return "a boolean";
	}
}

int spec_get(struct spec_ctx *c, const cJSON *obj, const char *path, const char *key, int type,
             int required, const char *hint, const cJSON **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char sub[SPEC_PATH_MAX];
	int ok;

	*out = NULL;
	spec_path(sub, sizeof(sub), path, key);
	if (!v) {
		if (required)
			return spec_fail(c, sub, "missing; %s", hint);
		return 0;
	}
	ok = type == cJSON_True ? cJSON_IsBool(v) : (v->type & 0xff) == type;
	if (!ok)
		return spec_fail(c, sub, "expected %s, got %s; %s", type_word(type),
		                 spec_json_type(v), hint);
	*out = v;
	return 0;
}

void spec_join(char *dst, size_t n, const cJSON *arr, const char *const *v, size_t nv)
{
	size_t o = 0, i = 0;
	const cJSON *it = arr ? arr->child : NULL;

	if (n)
		dst[0] = '\0';
	for (;;) {
		const char *s;
		int w;

		if (arr) {
			if (!it)
				break;
			s = cJSON_IsString(it) ? it->valuestring : "?";
			it = it->next;
		} else {
			if (i >= nv)
				break;
			s = v[i];
		}
		w = snprintf(dst + o, n - o, "%s%s", i ? ", " : "", s);
		i++;
		if (w < 0 || (size_t)w >= n - o) {
			if (n > 4)
				memcpy(dst + n - 4, "...", 4);
			break;
		}
		o += (size_t)w;
	}
}

int spec_check_enum(struct spec_ctx *c, const char *path, const char *s, const char *const *allowed)
{
	char list[256];
	size_t n = 0;

	while (allowed[n]) {
		if (strcmp(allowed[n], s) == 0)
			return 0;
		n++;
	}
	spec_join(list, sizeof(list), NULL, allowed, n);
	return spec_fail(c, path, "'%s' is not allowed; one of %s", s, list);
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

int spec_check_name(struct spec_ctx *c, const char *path, const char *s, size_t max)
{
	size_t len = strlen(s);

	if (!*s)
		return spec_fail(c, path, "empty; give a name of 1 to %zu characters", max);
	if (utf8_bad((const unsigned char *)s, len) < len)
		return spec_fail(c, path, "invalid UTF-8; names are UTF-8 text");
	if (utf8_chars(s) > max)
		return spec_fail(c, path, "longer than %zu characters; use at most %zu", max, max);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return spec_fail(c, path,
			                 "contains a control character; use printable characters");
		if (*p == '/' || *p == '\\')
			return spec_fail(
			    c, path, "contains '%c'; a name is one path component without / or \\",
			    *p);
	}
	return 0;
}

int spec_check_container(struct spec_ctx *c, const char *path, const char *s)
{
	size_t len = strlen(s);
	int res = spec_check_name(c, path, s, 63);

	if (res < 0)
		return res;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (!(islower((unsigned char)ch) || isdigit((unsigned char)ch) || ch == '-') ||
		    (ch == '-' && (i == 0 || i + 1 == len || s[i + 1] == '-')) || len < 3)
			return spec_fail(
			    c, path,
			    "'%s' is not a container name; use 3 to 63 lowercase letters, digits "
			    "and "
			    "single hyphens, starting and ending with a letter or digit",
			    s);
	}
	return 0;
}

int spec_check_folder(struct spec_ctx *c, const char *path, const char *s)
{
	const char *seg = s;
	char name[256];

	if (!*s)
		return spec_fail(c, path, "empty; give a folder such as \"mail/week45\"");
	if (strlen(s) > SPEC_FOLDER_MAX)
		return spec_fail(c, path, "longer than %d bytes; use a shorter folder",
		                 SPEC_FOLDER_MAX);
	for (;;) {
		const char *slash = strchr(seg, '/');
		size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
		int res;

		if (n == 0 || n >= sizeof(name))
			return spec_fail(
			    c, path,
			    "'%s' has an empty or overlong segment; use segments of 1 to 255 bytes "
			    "separated by single '/'",
			    s);
		memcpy(name, seg, n);
		name[n] = '\0';
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			return spec_fail(c, path, "segment '%s' is not allowed; use plain names",
			                 name);
		/* The folder becomes a string literal of an ADF expression. */
		if (strchr(name, '\''))
			return spec_fail(
			    c, path, "contains a single quote; use letters, digits, '-', '_', '.'");
		res = spec_check_name(c, path, name, 255);
		if (res < 0)
			return res;
		if (!slash)
			return 0;
		seg = slash + 1;
	}
}

int spec_output_ok(const char *container, const char *folder)
{
	char err[8];
	struct spec_ctx c = {"", err, sizeof(err)};

	return container && folder && spec_check_container(&c, "", container) == 0 &&
	       spec_check_folder(&c, "", folder) == 0;
}

int spec_check_guid(struct spec_ctx *c, const char *path, const char *s)
{
	if (text_is_guid(s))
		return 0;
	return spec_fail(
	    c, path, "'%s' is not a GUID; use the form 00000000-0000-0000-0000-000000000000", s);
}

static int check_url(struct spec_ctx *c, const char *path, const char *s, int spaces_ok)
{
	if (strncmp(s, "https://", 8) != 0 || !s[8])
		return spec_fail(c, path, "'%s' is not an https:// URL; give an https:// URL", s);
	if (strlen(s) > SPEC_URI_MAX)
		return spec_fail(c, path, "longer than %d bytes; use a shorter URL", SPEC_URI_MAX);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f || (*p == ' ' && !spaces_ok))
			return spec_fail(
			    c, path, "contains a space or control character; percent-encode it");
	return 0;
}

int spec_check_https(struct spec_ctx *c, const char *path, const char *s)
{
	return check_url(c, path, s, 0);
}

int spec_check_filter_uri(struct spec_ctx *c, const char *path, const char *s)
{
	return check_url(c, path, s, 1);
}

int spec_file_name(struct spec_ctx *c, int pipeline, char *out, size_t n)
{
	const char *base = c->file ? strrchr(c->file, '/') : NULL;
	size_t len;

	base = base ? base + 1 : (c->file ? c->file : "");
	len = strlen(base);
	if (len > 5 && strcmp(base + len - 5, ".json") == 0)
		len -= 5;
	if (len >= n)
		return spec_fail(c, "$", "file name longer than %d characters; use a shorter name",
		                 SPEC_NAME_MAX);
	memcpy(out, base, len);
	out[len] = '\0';
	if (!pipeline) {
		int res = spec_check_name(c, "$", out, SPEC_NAME_MAX);

		if (res < 0)
			return res;
		/* The registration contract takes ASCII letters, digits, space, '.', '_' and
		 * '-', first a letter or digit: refuse anything else here, not by a request. */
		for (size_t i = 0; i < len; i++) {
			unsigned char ch = (unsigned char)out[i];

			if (!(ch < 0x80 && isalnum(ch)) && (i == 0 || !strchr(" ._-", ch)))
				return spec_fail(
				    c, "$",
				    "app name '%s' is not allowed; use ASCII letters, digits, "
				    "space, '_' and '-', starting with a letter or digit",
				    out);
		}
		return 0;
	}
	if (!*out || len > SPEC_NAME_MAX)
		return spec_fail(c, "$", "pipeline name must have 1 to %d characters",
		                 SPEC_NAME_MAX);
	/* Pipeline names become ADF resource names: ADF's naming rules want a letter first;
	 * keep the rest to what every host accepts. */
	for (size_t i = 0; i < len; i++)
		if (!(out[i] < 0x7f && isalnum((unsigned char)out[i])) &&
		    ((out[i] != '_' && out[i] != '-') || i == 0))
			return spec_fail(c, "$",
			                 "pipeline name '%s' is not allowed; start with a letter, "
			                 "then use letters, "
			                 "digits, '_' and '-', at most %d",
			                 out, SPEC_NAME_MAX);
	if (!isalpha((unsigned char)out[0]))
		return spec_fail(c, "$",
		                 "pipeline name '%s' is not allowed; ADF names start with a letter",
		                 out);
	return 0;
}

int spec_str_in(const cJSON *arr, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
	{
		if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
			return 1;
	}
	return 0;
}

cJSON *spec_add_string(cJSON *obj, const char *key, const char *val)
{
	return cJSON_AddStringToObject(obj, key, val);
}

char *spec_text(const cJSON *v)
{
	return text_json(v, NULL);
}

/* ---- registration specs ---- */

static const char *const reg_keys[] = {"appId",        "description", "publishType", "computeType",
                                       "activityType", "destination", "datasets",    NULL};
static const char *const dest_keys[] = {"type", "subscriptionId", "resourceGroup", "storageAccount",
                                        "uri",  "container",      "folder",        NULL};
static const char *const ds_keys[] = {"name", "columns", "scope", NULL};
static const char *const scope_keys[] = {"kind", "groupIds", "scopeFilterUri", NULL};
static const char *const publish_types[] = {"SingleTenant", "MultiTenant", NULL};
static const char *const compute_types[] = {"AzureDataFactory", "AzureSynapse", "MicrosoftFabric",
                                            NULL};
static const char *const activity_types[] = {"CopyActivity", "MappingDataFlow", NULL};
static const char *const dest_types[] = {"AzureStorageAccount", "AzureSqlDatabaseServer",
                                         "FabricLakehouse", NULL};

/*
 * A string field with a default: the spec's value (checked by `check` and,
 * when given, against `allowed`) or `def`; refused when both are missing.
 */
static int reg_field(struct spec_ctx *c, const cJSON *obj, const char *path, const char *key,
                     const char *def, int (*check)(struct spec_ctx *, const char *, const char *),
                     const char *const *allowed, cJSON *out)
{
	char sub[SPEC_PATH_MAX];
	const cJSON *v;
	int res = spec_get(c, obj, path, key, cJSON_String, 0, "a string", &v);

	if (res < 0)
		return res;
	spec_path(sub, sizeof(sub), path, key);
	if (!v && !def)
		return spec_fail(c, sub, "missing and the profile has no default; give %s", key);
	if (v && check && (res = check(c, sub, v->valuestring)) < 0)
		return res;
	if (v && allowed && (res = spec_check_enum(c, sub, v->valuestring, allowed)) < 0)
		return res;
	return spec_add_string(out, key, v ? v->valuestring : def) ? 0 : -ENOMEM;
}

/* An enumerated field; the first allowed value is the default. */
static int reg_enum(struct spec_ctx *c, const cJSON *obj, const char *path, const char *key,
                    const char *const *allowed, cJSON *out)
{
	return reg_field(c, obj, path, key, allowed[0], NULL, allowed, out);
}

static int reg_default(struct spec_ctx *c, const cJSON *obj, const char *path, const char *key,
                       const char *def, int (*check)(struct spec_ctx *, const char *, const char *),
                       cJSON *out)
{
	return reg_field(c, obj, path, key, def, check, NULL, out);
}

/* Azure resource group names: 1-90 letters, digits, '_', '(', ')', '-', '.', not ending in '.'. */
static int check_rg(struct spec_ctx *c, const char *path, const char *s)
{
	size_t len = strlen(s);
	int res = spec_check_name(c, path, s, 90);

	if (res < 0)
		return res;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		/* Bytes >= 0x80 are Unicode letters, checked as UTF-8 above. */
		if ((ch < 0x80 && !isalnum(ch) && !strchr("_()-.", ch)) || s[len - 1] == '.')
			return spec_fail(
			    c, path,
			    "'%s' is not a resource group name; use letters, digits, '_', "
			    "'(', ')', '-' and '.', not ending in '.'",
			    s);
	}
	return 0;
}

static int check_account(struct spec_ctx *c, const char *path, const char *s)
{
	size_t len = strlen(s);

	for (size_t i = 0; i < len; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
			len = 0;
	if (len < 3 || len > 24)
		return spec_fail(
		    c, path,
		    "'%s' is not a storage account name; use 3 to 24 lowercase letters and digits",
		    s);
	return 0;
}

static int reg_destination(struct spec_ctx *c, const cJSON *spec, const struct spec_profile *p,
                           cJSON *body)
{
	const cJSON *d, *v;
	cJSON *out;
	char uri[300];
	const char *acct;
	int res;

	res = spec_get(c, spec, "$", "destination", cJSON_Object, 1,
	               "give {\"container\": \"<container>\"} at least", &d);
	if (res < 0 || (res = spec_check_keys(c, d, "destination", dest_keys)) < 0)
		return res;
	out = cJSON_AddObjectToObject(body, "destination");
	if (!out)
		return -ENOMEM;
	if ((res = reg_enum(c, d, "destination", "type", dest_types, out)) < 0 ||
	    (res = reg_default(c, d, "destination", "subscriptionId", p->subscription_id,
	                       spec_check_guid, out)) < 0 ||
	    (res = reg_default(c, d, "destination", "resourceGroup", p->resource_group, check_rg,
	                       out)) < 0 ||
	    (res = reg_default(c, d, "destination", "storageAccount", p->storage_account,
	                       check_account, out)) < 0)
		return res;
	acct = cJSON_GetObjectItemCaseSensitive(out, "storageAccount")->valuestring;
	snprintf(uri, sizeof(uri), "https://%s.blob.core.windows.net/", acct);
	if ((res = reg_default(c, d, "destination", "uri",
	                       p->blob_endpoint ? p->blob_endpoint : uri, spec_check_https, out)) <
	        0 ||
	    (res = reg_default(c, d, "destination", "container", NULL, spec_check_container, out)) <
	        0)
		return res;
	if ((res = spec_get(c, d, "destination", "folder", cJSON_String, 0,
	                    "a folder such as \"mail\"", &v)) < 0)
		return res;
	if (v && (res = spec_check_folder(c, "destination.folder", v->valuestring)) < 0)
		return res;
	if (v && !spec_add_string(out, "folder", v->valuestring))
		return -ENOMEM;
	return 0;
}

static int reg_columns(struct spec_ctx *c, const cJSON *d, const char *path,
                       const struct catalog_dataset *ds, cJSON *out)
{
	char sub[SPEC_PATH_MAX], near[256];
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, "columns"), *it;
	cJSON *cols;
	size_t i = 0;

	spec_path(sub, sizeof(sub), path, "columns");
	if (!v)
		return spec_fail(c, sub, "missing; give \"all\" or a list of column names");
	cols = cJSON_AddArrayToObject(out, "columns");
	if (!cols)
		return -ENOMEM;
	if (cJSON_IsString(v)) {
		if (strcmp(v->valuestring, "all") != 0)
			return spec_fail(
			    c, sub, "'%s' is not allowed; give \"all\" or a list of column names",
			    v->valuestring);
		for (size_t k = 0; k < ds->n_columns; k++)
			if (!cJSON_AddItemToArray(cols, cJSON_CreateString(ds->columns[k].name)))
				return -ENOMEM;
		return 0;
	}
	if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v))
		return spec_fail(c, sub,
		                 "expected \"all\" or a non-empty array of column names, got %s",
		                 cJSON_IsArray(v) ? "an empty array" : spec_json_type(v));
	if (cJSON_GetArraySize(v) > CATALOG_MAX_COLUMNS)
		return spec_fail(c, sub, "more than %d columns; list fewer", CATALOG_MAX_COLUMNS);
	cJSON_ArrayForEach(it, v)
	{
		char item[SPEC_PATH_MAX];
		int res;

		spec_path_index(item, sizeof(item), sub, i++);
		if (!cJSON_IsString(it))
			return spec_fail(c, item, "expected a string, got %s; a column name",
			                 spec_json_type(it));
		if ((res = spec_check_name(c, item, it->valuestring, 128)) < 0)
			return res;
		if (!catalog_column_ok(ds, it->valuestring)) {
			if (catalog_suggest_column(ds, it->valuestring, near, sizeof(near)))
				return spec_fail(c, item,
				                 "unknown column '%s' of %s; did you mean %s?",
				                 it->valuestring, ds->name, near);
			return spec_fail(c, item, "unknown column '%s' of %s; see catalog/%s.json",
			                 it->valuestring, ds->name, ds->name);
		}
		if (spec_str_in(cols, it->valuestring))
			return spec_fail(c, item, "column '%s' listed twice; list each column once",
			                 it->valuestring);
		if (!cJSON_AddItemToArray(cols, cJSON_CreateString(it->valuestring)))
			return -ENOMEM;
	}
	return 0;
}

/* groupIds: 1..SPEC_MAX_GROUPS distinct GUIDs, copied to out. */
static int check_groups(struct spec_ctx *c, const cJSON *arr, const char *path, cJSON *out)
{
	const cJSON *it;
	size_t i = 0;
	int res;

	if (!cJSON_GetArraySize(arr))
		return spec_fail(c, path, "empty; give 1 to %d group object ids", SPEC_MAX_GROUPS);
	if (cJSON_GetArraySize(arr) > SPEC_MAX_GROUPS)
		return spec_fail(c, path, "%d groups; at most %d are allowed",
		                 cJSON_GetArraySize(arr), SPEC_MAX_GROUPS);
	cJSON_ArrayForEach(it, arr)
	{
		char item[SPEC_PATH_MAX];

		spec_path_index(item, sizeof(item), path, i++);
		if (!cJSON_IsString(it))
			return spec_fail(c, item,
			                 "expected a string, got %s; a group object id (GUID)",
			                 spec_json_type(it));
		if ((res = spec_check_guid(c, item, it->valuestring)) < 0)
			return res;
		if (spec_str_in(out, it->valuestring))
			return spec_fail(c, item, "group listed twice; list each group once");
		if (!cJSON_AddItemToArray(out, cJSON_CreateString(it->valuestring)))
			return -ENOMEM;
	}
	return 0;
}

static int reg_scope(struct spec_ctx *c, const cJSON *d, const char *path,
                     const struct catalog_dataset *ds, cJSON *out)
{
	const char *const *kinds = catalog_scope_kinds(ds->scope);
	char sub[SPEC_PATH_MAX], kpath[SPEC_PATH_MAX];
	const cJSON *s, *kind = NULL, *groups = NULL, *uri = NULL;
	const char *k;
	cJSON *o;
	int res;

	spec_path(sub, sizeof(sub), path, "scope");
	if ((res = spec_get(c, d, path, "scope", cJSON_Object, 0, "{\"kind\": \"AllUsers\"}", &s)) <
	    0)
		return res;
	if (s && ((res = spec_check_keys(c, s, sub, scope_keys)) < 0 ||
	          (res = spec_get(c, s, sub, "kind", cJSON_String, 0, "a scope kind", &kind)) < 0 ||
	          (res = spec_get(c, s, sub, "groupIds", cJSON_Array, 0, "an array of group ids",
	                          &groups)) < 0 ||
	          (res = spec_get(c, s, sub, "scopeFilterUri", cJSON_String, 0,
	                          "a Graph users query URL", &uri)) < 0))
		return res;
	spec_path(kpath, sizeof(kpath), sub, "kind");
	k = kind ? kind->valuestring : kinds[0];
	if ((res = spec_check_enum(c, kpath, k, kinds)) < 0)
		return res;
	o = cJSON_AddObjectToObject(out, "scope");
	if (!o || !spec_add_string(o, "kind", k))
		return -ENOMEM;
	spec_path(kpath, sizeof(kpath), sub, "groupIds");
	if (strcmp(k, "Groups") == 0) {
		cJSON *g = cJSON_AddArrayToObject(o, "groupIds");

		if (!groups)
			return spec_fail(c, kpath,
			                 "missing; kind Groups needs 1 to %d group object ids",
			                 SPEC_MAX_GROUPS);
		if (!g || (res = check_groups(c, groups, kpath, g)) < 0)
			return g ? res : -ENOMEM;
	} else if (groups && cJSON_GetArraySize(groups)) {
		return spec_fail(c, kpath,
		                 "only allowed with kind Groups; remove it or use kind Groups");
	}
	spec_path(kpath, sizeof(kpath), sub, "scopeFilterUri");
	if (strcmp(k, "AllUsersWithScopeFilter") == 0) {
		if (!uri)
			return spec_fail(
			    c, kpath,
			    "missing; kind AllUsersWithScopeFilter needs a URL such as "
			    "https://graph.microsoft.com/v1.0/users?$filter=Department eq "
			    "'Finance'");
		if ((res = spec_check_filter_uri(c, kpath, uri->valuestring)) < 0)
			return res;
		if (!spec_add_string(o, "scopeFilterUri", uri->valuestring))
			return -ENOMEM;
	} else if (uri) {
		return spec_fail(c, kpath,
		                 "only allowed with kind AllUsersWithScopeFilter; remove it");
	}
	return 0;
}

static int reg_dataset(struct spec_ctx *c, const cJSON *d, const char *path,
                       const struct catalog *cat, cJSON *list)
{
	char sub[SPEC_PATH_MAX], near[256];
	const struct catalog_dataset *ds;
	const cJSON *name, *it;
	const char *dname;
	cJSON *out;
	int res;

	if (!cJSON_IsObject(d))
		return spec_fail(c, path,
		                 "expected an object, got %s; {\"name\": ..., \"columns\": ...}",
		                 spec_json_type(d));
	if ((res = spec_check_keys(c, d, path, ds_keys)) < 0 ||
	    (res = spec_get(c, d, path, "name", cJSON_String, 1,
	                    "a dataset name such as BasicDataSet_v0.Message_v1", &name)) < 0)
		return res;
	spec_path(sub, sizeof(sub), path, "name");
	ds = catalog_find(cat, name->valuestring);
	if (!ds && catalog_suggest(cat, name->valuestring, near, sizeof(near)))
		return spec_fail(c, sub, "unknown dataset '%s'; did you mean %s?",
		                 name->valuestring, near);
	if (!ds)
		return spec_fail(c, sub, "unknown dataset '%s'; see the names under catalog/",
		                 name->valuestring);
	/* A name form (a Viva Insights report) is registered under the name given. */
	dname = ds->form_prefix ? name->valuestring : ds->name;
	cJSON_ArrayForEach(it, list)
	{
		if (strcmp(cJSON_GetObjectItemCaseSensitive(it, "name")->valuestring, dname) == 0)
			return spec_fail(
			    c, sub, "dataset '%s' listed twice; list each dataset once", dname);
	}
	out = cJSON_CreateObject();
	if (!cJSON_AddItemToArray(list, out) || !spec_add_string(out, "name", dname))
		return -ENOMEM;
	if ((res = reg_columns(c, d, path, ds, out)) < 0)
		return res;
	return reg_scope(c, d, path, ds, out);
}

static int reg_build(struct spec_ctx *c, const cJSON *spec, const char *name,
                     const struct spec_profile *p, const struct catalog *cat, cJSON *body)
{
	const cJSON *v, *list, *it;
	cJSON *out;
	size_t i = 0;
	int res;

	if ((res = spec_check_keys(c, spec, "$", reg_keys)) < 0 ||
	    (res = reg_default(c, spec, "$", "appId", p->client_id, spec_check_guid, body)) < 0)
		return res;
	if (!spec_add_string(body, "name", name))
		return -ENOMEM;
	if ((res = spec_get(c, spec, "$", "description", cJSON_String, 0, "free text", &v)) < 0)
		return res;
	if (v && strlen(v->valuestring) > 1024)
		return spec_fail(c, "description", "longer than 1024 bytes; shorten it");
	if (!spec_add_string(body, "description", v ? v->valuestring : name))
		return -ENOMEM;
	if ((res = reg_enum(c, spec, "$", "publishType", publish_types, body)) < 0 ||
	    (res = reg_enum(c, spec, "$", "computeType", compute_types, body)) < 0 ||
	    (res = reg_enum(c, spec, "$", "activityType", activity_types, body)) < 0 ||
	    (res = reg_destination(c, spec, p, body)) < 0)
		return res;
	res = spec_get(c, spec, "$", "datasets", cJSON_Array, 1,
	               "give [{\"name\": \"BasicDataSet_v0.Message_v1\", \"columns\": \"all\"}]",
	               &list);
	if (res < 0)
		return res;
	if (!cJSON_GetArraySize(list) || cJSON_GetArraySize(list) > SPEC_MAX_DATASETS)
		return spec_fail(c, "datasets", "%d datasets; give 1 to %d",
		                 cJSON_GetArraySize(list), SPEC_MAX_DATASETS);
	out = cJSON_AddArrayToObject(body, "datasets");
	if (!out)
		return -ENOMEM;
	cJSON_ArrayForEach(it, list)
	{
		char path[SPEC_PATH_MAX];

		spec_path_index(path, sizeof(path), "datasets", i++);
		if ((res = reg_dataset(c, it, path, cat, out)) < 0)
			return res;
	}
	return 0;
}

int spec_parse_registration(const char *file, const char *buf, size_t len,
                            const struct spec_profile *p, const struct catalog *cat,
                            cJSON **body_out, char *err, size_t errlen)
{
	struct spec_ctx c = {file, err, errlen};
	static const struct spec_profile none;
	char name[SPEC_NAME_MAX * 4 + 8];
	cJSON *spec = NULL, *body = NULL;
	int res;

	*body_out = NULL;
	if (errlen)
		err[0] = '\0';
	if ((res = spec_file_name(&c, 0, name, sizeof(name))) < 0 ||
	    (res = spec_load(&c, buf, len, &spec)) < 0)
		goto out;
	body = cJSON_CreateObject();
	if (!body) {
		res = -ENOMEM;
		goto out;
	}
	res = reg_build(&c, spec, name, p ? p : &none, cat, body);
	if (res == -ENOMEM)
		spec_fail(&c, "$", "out of memory");
	if (res < 0)
		goto out;
	*body_out = body;
	body = NULL;
out:
	cJSON_Delete(body);
	cJSON_Delete(spec);
	return res;
}

/* ---- small command values ---- */

/* Compare the trimmed value with each word; the index of the match, or -EINVAL. */
static int parse_word(const char *file, const char *buf, size_t len, const char *const *words,
                      char *err, size_t errlen)
{
	struct spec_ctx c = {file, err, errlen};
	char shown[40];
	size_t n;

	if (errlen)
		err[0] = '\0';
	while (len && isspace((unsigned char)*buf))
		buf++, len--;
	while (len && isspace((unsigned char)buf[len - 1]))
		len--;
	for (int i = 0; words[i]; i++)
		if (strlen(words[i]) == len && memcmp(words[i], buf, len) == 0)
			return i;
	n = len < sizeof(shown) - 4 ? len : sizeof(shown) - 4;
	memcpy(shown, buf, n);
	strcpy(shown + n, len > n ? "..." : "");
	for (size_t i = 0; i < n; i++)
		if (!shown[i])
			shown[i] = '?';
	return spec_fail(&c, "$", "'%s' is not a valid value; write '%s' or '%s'", shown, words[0],
	                 words[1]);
}

int spec_parse_data_connect(const char *file, const char *buf, size_t len, int *enabled, char *err,
                            size_t errlen)
{
	static const char *const words[] = {"enabled", "disabled", NULL};
	int res = parse_word(file, buf, len, words, err, errlen);

	if (res >= 0)
		*enabled = res == 0;
	return res < 0 ? res : 0;
}

int spec_parse_consent(const char *file, const char *buf, size_t len, int *approve, char *err,
                       size_t errlen)
{
	static const char *const words[] = {"approve", "decline", NULL};
	int res = parse_word(file, buf, len, words, err, errlen);

	if (res >= 0)
		*approve = res == 0;
	return res < 0 ? res : 0;
}

int spec_parse_trigger(const char *file, const char *buf, size_t len, const cJSON *pipeline,
                       cJSON **params_out, char *err, size_t errlen)
{
	struct spec_ctx c = {file, err, errlen};
	const cJSON *declared = NULL, *it;
	cJSON *v = NULL;
	size_t i = 0;
	int res = 0;

	*params_out = NULL;
	if (errlen)
		err[0] = '\0';
	while (i < len && isspace((unsigned char)buf[i]))
		i++;
	if (i == len) {
		*params_out = cJSON_CreateObject();
		return *params_out ? 0 : -ENOMEM;
	}
	if ((res = spec_load(&c, buf, len, &v)) < 0)
		return res;
	if (pipeline)
		declared = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(pipeline, "properties"), "parameters");
	if (cJSON_GetArraySize(v) > SPEC_MAX_PARAMS) {
		res = spec_fail(&c, "$", "%d parameters; at most %d", cJSON_GetArraySize(v),
		                SPEC_MAX_PARAMS);
		goto out;
	}
	cJSON_ArrayForEach(it, v)
	{
		char names[512];
		const cJSON *d;

		if (!pipeline)
			continue;
		if (cJSON_GetObjectItemCaseSensitive(declared, it->string))
			continue;
		names[0] = '\0';
		for (d = cJSON_IsObject(declared) ? declared->child : NULL; d; d = d->next)
			if (strlen(names) + strlen(d->string) + 3 < sizeof(names))
				strcat(strcat(names, *names ? ", " : ""), d->string);
		res = spec_fail(&c, it->string, "not a parameter of this pipeline; %s%s",
		                *names ? "declared parameters: "
		                       : "the pipeline declares none, write {}",
		                names);
		goto out;
	}
	cJSON_ArrayForEach(it, v)
	{
		for (const cJSON *prev = v->child; prev != it; prev = prev->next)
			if (strcmp(prev->string, it->string) == 0) {
				res = spec_fail(&c, it->string,
				                "given twice; give each parameter once");
				goto out;
			}
	}
	*params_out = v;
	v = NULL;
out:
	cJSON_Delete(v);
	return res;
}
