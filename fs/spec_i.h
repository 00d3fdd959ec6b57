/*
 * spec_i.h - helpers shared by fs/spec.c and fs/spec_pipeline.c only.
 *
 * Every helper that refuses input writes the one error line through
 * spec_fail() and returns -EINVAL, so callers just propagate `res`.
 * All are pure functions of their arguments (no globals, no network), so any
 * thread may call them; what they return points into the caller's JSON or
 * buffers and is owned by the caller.
 */
#ifndef MGDCFS_FS_SPEC_I_H
#define MGDCFS_FS_SPEC_I_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Room for one field path ("datasets[12].scope.groupIds[3]"). */
#define SPEC_PATH_MAX 160

struct spec_ctx {
	const char *file;
	char *err;
	size_t errlen;
};

/* spec_fail - write "<file>: <path>: <message>" (control bytes escaped) and return -EINVAL. */
int spec_fail(struct spec_ctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* spec_path / spec_path_index - "base.key" / "base[i]"; base "$" means the root. */
void spec_path(char *dst, size_t n, const char *base, const char *key);
void spec_path_index(char *dst, size_t n, const char *base, size_t i);

/* spec_json_type - "a string", "an array", ... for "expected X, got Y" messages. */
const char *spec_json_type(const cJSON *v);

/*
 * spec_load - cap, UTF-8 check, parse (line and column on failure) and
 * require a JSON object. *out is the parsed tree (cJSON_Delete it).
 */
int spec_load(struct spec_ctx *c, const char *buf, size_t len, cJSON **out);

/* spec_check_keys - refuse a field not in NULL-terminated `known`, or one given twice. */
int spec_check_keys(struct spec_ctx *c, const cJSON *obj, const char *path,
                    const char *const *known);

/*
 * spec_get - field `key` of `obj` (at `path`) if it has JSON type `type`
 * (cJSON_String, cJSON_Array, cJSON_Object, ...; cJSON_True means any
 * boolean). Absent: *out = NULL, and -EINVAL "missing; <hint>" when
 * `required`. Wrong type: -EINVAL "expected <type>, got <type>".
 */
int spec_get(struct spec_ctx *c, const cJSON *obj, const char *path, const char *key, int type,
             int required, const char *hint, const cJSON **out);

/* spec_check_enum - `s` must be one of NULL-terminated `allowed`. */
int spec_check_enum(struct spec_ctx *c, const char *path, const char *s,
                    const char *const *allowed);

/* spec_check_name - an app name or a generic label: not empty, <= max chars, UTF-8, no / \ or
 * control. */
int spec_check_name(struct spec_ctx *c, const char *path, const char *s, size_t max);

/* spec_check_container - an Azure container name (3-63 of a-z 0-9 -, no "--"). */
int spec_check_container(struct spec_ctx *c, const char *path, const char *s);

/* spec_check_folder - "a/b/c": segments that are names, no "." or "..", no quote. */
int spec_check_folder(struct spec_ctx *c, const char *path, const char *s);

/* spec_check_guid - 8-4-4-4-12 hex digits. */
int spec_check_guid(struct spec_ctx *c, const char *path, const char *s);

/* spec_check_https - an https:// URL, no spaces or control bytes, <= SPEC_URI_MAX. */
int spec_check_https(struct spec_ctx *c, const char *path, const char *s);

/*
 * spec_check_filter_uri - a Graph users query URL as the docs write them:
 * https://, spaces allowed (`$filter=Department eq 'Finance'`), no control bytes.
 */
int spec_check_filter_uri(struct spec_ctx *c, const char *path, const char *s);

/*
 * spec_file_name - the base name of c->file without ".json" into out,
 * checked as an app name (pipeline = 0) or as an ADF-safe pipeline name.
 */
int spec_file_name(struct spec_ctx *c, int pipeline, char *out, size_t n);

/* spec_str_in - `s` is one of the strings of JSON array `arr` (exact match). */
int spec_str_in(const cJSON *arr, const char *s);

/* spec_join - the strings of `arr` (or of `v`, n of them) as "a, b, c", truncated to fit. */
void spec_join(char *dst, size_t n, const cJSON *arr, const char *const *v, size_t nv);

/* spec_add_string - add a string member; returns the item or NULL (out of memory). */
cJSON *spec_add_string(cJSON *obj, const char *key, const char *val);

/* spec_nth - element i of a `const char *const *` array (a catalog_nearest getter). */
const char *spec_nth(const void *ctx, size_t i);

/* spec_text - cJSON_Print plus a final newline, malloc'd; NULL when out of memory. */
char *spec_text(const cJSON *v);

#endif
