/*
 * text.c - GUID shape and FNV-1a (text.h).
 */
#include "base/text.h"

#include <ctype.h>
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
