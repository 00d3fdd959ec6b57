/*
 * test_text.c - base/text: FNV-1a against the published test vectors of the
 * algorithm's authors (Fowler, Noll, Vo: "FNV hash" test suite, 32-bit
 * FNV-1a column), the GUID shape, and JSON as the tree shows it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "tap.h"

int main(void)
{
	TAP_EQ_INT((long)text_fnv1a(TEXT_FNV_SEED, "", 0), 0x811c9dc5L, "fnv1a(\"\") is the basis");
	TAP_EQ_INT((long)text_fnv1a(TEXT_FNV_SEED, NULL, 0), 0x811c9dc5L, "fnv1a(NULL) too");
	TAP_EQ_INT((long)text_fnv1a(TEXT_FNV_SEED, "a", 0), 0xe40c292cL, "fnv1a(\"a\")");
	TAP_EQ_INT((long)text_fnv1a(TEXT_FNV_SEED, "foobar", 0), 0xbf9cf968L, "fnv1a(\"foobar\")");
	TAP_EQ_INT((long)text_fnv1a(TEXT_FNV_SEED, "FooBar", 1), 0xbf9cf968L,
	           "folded: \"FooBar\" hashes as \"foobar\"");
	TAP_OK(text_fnv1a(TEXT_FNV_SEED, "FooBar", 0) != 0xbf9cf968u, "not folded: it differs");
	TAP_EQ_INT((long)text_fnv1a(text_fnv1a(TEXT_FNV_SEED, "foo", 0), "bar", 0), 0xbf9cf968L,
	           "chained parts hash as the whole");
	TAP_EQ_INT((long)text_fnv1a(TEXT_FNV_SEED, "\xc3\xa9", 1),
	           (long)text_fnv1a(TEXT_FNV_SEED, "\xc3\xa9", 0),
	           "folding leaves bytes above ASCII alone");

	TAP_OK(text_is_guid("00000000-0000-0000-0000-000000000000"), "guid: zeros");
	TAP_OK(text_is_guid("9E3AB2D4-aaaa-4bcd-8eF0-0123456789ab"), "guid: mixed case");
	TAP_OK(!text_is_guid(NULL), "guid: NULL is not");
	TAP_OK(!text_is_guid(""), "guid: empty is not");
	TAP_OK(!text_is_guid("00000000-0000-0000-0000-00000000000"), "guid: one digit short");
	TAP_OK(!text_is_guid("00000000-0000-0000-0000-0000000000000"), "guid: one digit long");
	TAP_OK(!text_is_guid("0000000g-0000-0000-0000-000000000000"), "guid: a non-hex digit");
	TAP_OK(!text_is_guid("00000000_0000-0000-0000-000000000000"), "guid: a wrong separator");
	TAP_OK(!text_is_guid("../../../../etc/passwd-0000-00000000"), "guid: a path is not");
	TAP_OK(!text_is_guid("{00000000-0000-0000-0000-000000000000}"), "guid: braces are not");
	{
		cJSON *o = cJSON_CreateObject();
		size_t n = 0;
		char *t;

		cJSON_AddStringToObject(o, "a", "b");
		t = text_json(o, &n);
		TAP_EQ_STR(t, "{\n\t\"a\":\t\"b\"\n}\n",
		           "text_json: cJSON's pretty form and a newline");
		TAP_EQ_INT((long)n, t ? (long)strlen(t) : -1L, "  its length");
		free(t);
		t = text_json(o, NULL);
		TAP_OK(t != NULL, "  len may be NULL");
		free(t);
		cJSON_Delete(o);
	}
	return tap_done();
}
