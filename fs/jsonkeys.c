/*
 * jsonkeys.c - duplicate keys in a JSON document, with their lines.
 *
 * A small scanner, not a parser: the text has already been accepted by
 * cJSON, so only strings (to skip their contents and read keys), braces,
 * brackets, commas and colons matter. Each open object collects its keys
 * with their line numbers; when it closes, the keys are sorted and a
 * neighbour with the same name is a duplicate.
 */
#include "fs/jsonkeys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSONKEYS_DEPTH 64

struct jsonkeys_key {
	char *name;
	int line;
};

struct jsonkeys_frame {
	int is_obj;
	int expect_key;
	char *name; /* the key this object or array is the value of; NULL at the top */
	struct jsonkeys_key *keys;
	size_t n, cap;
};

static int jsonkeys_cmp(const void *a, const void *b)
{
	const struct jsonkeys_key *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : x->line - y->line;
}

/* Read the string starting at s[0] == '"', decoded (escapes undone) into a malloc'd *out when
 * `want` (NULL on ENOMEM). Returns the length up to and with the closing quote. */
static size_t jsonkeys_string(const char *s, char **out, int want)
{
	size_t i = 1, o = 0;
	char *d = NULL;

	if (want) {
		size_t n = 1;

		while (s[n] && s[n] != '"')
			n += s[n] == '\\' && s[n + 1] ? 2 : 1;
		d = malloc(n + 1);
	}
	while (s[i] && s[i] != '"') {
		char c = s[i++];

		if (c == '\\' && s[i]) {
			char e = s[i++];

			if (e == 'u') {
				unsigned v = 0;
				int k;

				for (k = 0; k < 4 && s[i]; k++, i++)
					v = v * 16 + (unsigned)(s[i] <= '9'
					                            ? s[i] - '0'
					                            : (s[i] | 32) - 'a' + 10);
				/* UTF-8 of the code unit: enough to compare keys (surrogates stay
				 * distinct, as they do in cJSON's own comparison). */
				if (d && v < 0x80) {
					d[o++] = (char)v;
				} else if (d && v < 0x800) {
					d[o++] = (char)(0xc0 | (v >> 6));
					d[o++] = (char)(0x80 | (v & 0x3f));
				} else if (d) {
					d[o++] = (char)(0xe0 | (v >> 12));
					d[o++] = (char)(0x80 | ((v >> 6) & 0x3f));
					d[o++] = (char)(0x80 | (v & 0x3f));
				}
				continue;
			}
			c = e == 'n'   ? '\n'
			    : e == 't' ? '\t'
			    : e == 'r' ? '\r'
			    : e == 'b' ? '\b'
			    : e == 'f' ? '\f'
			               : e;
		}
		if (d)
			d[o++] = c;
	}
	if (d)
		d[o] = '\0';
	if (out)
		*out = d;
	return s[i] == '"' ? i + 1 : i;
}

/* The dotted path of frames [2, top] (frame 1 is the document itself) and `key`. */
static void jsonkeys_path(char *msg, size_t msglen, struct jsonkeys_frame *st, int top,
                          const char *key)
{
	size_t o = 0;

	msg[0] = '\0';
	for (int i = 2; i <= top && o < msglen; i++)
		o += (size_t)snprintf(msg + o, msglen - o, "%s%s", st[i].name ? st[i].name : "",
		                      st[i].is_obj ? "." : "[].");
	if (o < msglen)
		snprintf(msg + o, msglen - o, "%s", key);
}

static void jsonkeys_frame_free(struct jsonkeys_frame *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->keys[i].name);
	free(f->keys);
	free(f->name);
	memset(f, 0, sizeof(*f));
}

/* Sort the frame's keys; 1 (msg filled) if two are equal. */
static int jsonkeys_close(struct jsonkeys_frame *st, int top, char *msg, size_t msglen)
{
	struct jsonkeys_frame *f = &st[top];
	char path[512];

	if (f->n < 2)
		return 0;
	qsort(f->keys, f->n, sizeof(f->keys[0]), jsonkeys_cmp);
	for (size_t i = 1; i < f->n; i++) {
		if (strcmp(f->keys[i].name, f->keys[i - 1].name) != 0)
			continue;
		jsonkeys_path(path, sizeof(path), st, top, f->keys[i].name);
		snprintf(msg, msglen, "%s: on lines %d and %d", path, f->keys[i - 1].line,
		         f->keys[i].line);
		return 1;
	}
	return 0;
}

int jsonkeys_duplicate(const char *text, char *msg, size_t msglen)
{
	struct jsonkeys_frame st[JSONKEYS_DEPTH + 1];
	char *last = NULL; /* the last key read: the name of a value that opens next */
	int top = 0, line = 1, res = 0;

	memset(st, 0, sizeof(st));
	msg[0] = '\0';
	for (size_t i = 0; text[i] && res == 0;) {
		char c = text[i];
		struct jsonkeys_frame *f = &st[top];

		if (c == '"') {
			char *s = NULL;
			int is_key = f->is_obj && f->expect_key;
			size_t n = jsonkeys_string(text + i, is_key ? &s : NULL, is_key);

			for (size_t k = i; k < i + n; k++)
				line += text[k] == '\n';
			i += n;
			if (!is_key)
				continue;
			if (!s) {
				res = -ENOMEM;
				break;
			}
			if (f->n == f->cap) {
				size_t cap = f->cap ? f->cap * 2 : 8;
				struct jsonkeys_key *k = realloc(f->keys, cap * sizeof(*k));

				if (!k) {
					free(s);
					res = -ENOMEM;
					break;
				}
				f->keys = k;
				f->cap = cap;
			}
			f->keys[f->n++] = (struct jsonkeys_key){s, line};
			last = s;
			continue;
		}
		i++;
		if (c == '\n') {
			line++;
		} else if (c == '{' || c == '[') {
			if (top == JSONKEYS_DEPTH)
				break; /* deeper than any config: stop looking */
			top++;
			st[top].is_obj = c == '{';
			st[top].expect_key = c == '{';
			st[top].name = strdup(last ? last : "");
			if (!st[top].name)
				res = -ENOMEM;
			last = NULL;
		} else if ((c == '}' || c == ']') && top > 0) {
			if (c == '}')
				res = jsonkeys_close(st, top, msg, msglen);
			jsonkeys_frame_free(&st[top]);
			top--;
			last = NULL;
		} else if (c == ',') {
			f->expect_key = f->is_obj;
			last = NULL;
		} else if (c == ':') {
			f->expect_key = 0;
		}
	}
	for (; top > 0; top--)
		jsonkeys_frame_free(&st[top]);
	return res;
}
