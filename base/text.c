/*
 * text.c - GUID shape and FNV-1a (text.h).
 */
#include "base/text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

uint32_t text_fnv1a(uint32_t h, const char *s, int fold)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (fold && c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h = (h ^ c) * 16777619u;
	}
	return h;
}

int text_is_guid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (!s || strlen(s) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

char *text_json(const cJSON *v, size_t *len)
{
	char *s = cJSON_Print(v), *t;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	t = realloc(s, n + 2);
	if (!t) {
		free(s);
		return NULL;
	}
	t[n] = '\n';
	t[n + 1] = '\0';
	if (len)
		*len = n + 1;
	return t;
}
