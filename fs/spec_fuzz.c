/*
 * spec_fuzz.c - one entry point that feeds arbitrary bytes to every spec
 * parser, for libFuzzer (LLVMFuzzerTestOneInput calls spec_fuzz_one).
 *
 * Design decision: the first byte picks the parser, the rest is the text, so
 * one corpus covers registration and pipeline specs and the command values;
 * the pipeline parser gets a fixed approved registration so the approval
 * checks run too. The built-in catalog is used, as in the daemon.
 */
#include "fs/spec_fuzz.h"

#include <string.h>

#include "fs/spec.h"

static const char fuzz_registration[] =
    "{\"appId\":\"11111111-2222-3333-4444-555555555555\",\"name\":\"mail\","
    "\"tenantId\":\"99999999-8888-7777-6666-555555555555\","
    "\"destination\":{\"storageAccount\":\"mgdcsandbox\",\"uri\":\"https://"
    "mgdcsandbox.blob.core.windows.net/\","
    "\"container\":\"exports\",\"folder\":\"mail\"},"
    "\"datasets\":[{\"name\":\"BasicDataSet_v0.Message_v1\",\"columns\":[\"id\",\"subject\","
    "\"receivedDateTime\"],"
    "\"scope\":{\"kind\":\"Groups\",\"groupIds\":[\"0a0a0a0a-0000-0000-0000-000000000001\"]}}],"
    "\"authorization\":{\"status\":\"Approved\"}}";

int spec_fuzz_one(const uint8_t *data, size_t size)
{
	static const struct spec_profile p = {
	    .client_id = "11111111-2222-3333-4444-555555555555",
	    .tenant_id = "99999999-8888-7777-6666-555555555555",
	    .subscription_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
	    .resource_group = "rg",
	    .storage_account = "mgdcsandbox",
	};
	const struct catalog *cat = catalog_builtin();
	const char *buf = (const char *)data + 1;
	struct pipeline_plan plan;
	cJSON *out = NULL, *reg;
	char err[512] = "";
	int v;

	if (!size || !cat)
		return 0;
	size--;
	switch (data[0] % 5) {
	case 0:
		if (spec_parse_registration("apps/fuzz.json", buf, size, &p, cat, &out, err,
		                            sizeof(err)) == 0)
			cJSON_Delete(out);
		break;
	case 1:
		reg = cJSON_Parse(fuzz_registration);
		if (spec_parse_pipeline("pipelines/fuzz.json", buf, size, &p, cat, reg,
		                        "fuzz-secret", &plan, err, sizeof(err)) == 0)
			plan_free(&plan);
		cJSON_Delete(reg);
		break;
	case 2:
		if (spec_parse_pipeline("pipelines/fuzz.json", buf, size, &p, cat, NULL,
		                        "fuzz-secret", &plan, err, sizeof(err)) == 0)
			plan_free(&plan);
		break;
	case 3:
		if (spec_parse_trigger("pipelines/fuzz/trigger", buf, size, NULL, &out, err,
		                       sizeof(err)) == 0)
			cJSON_Delete(out);
		break;
	default:
		spec_parse_data_connect("tenant/data-connect", buf, size, &v, err, sizeof(err));
		spec_parse_consent("apps/fuzz/consent", buf, size, &v, err, sizeof(err));
		break;
	}
	/* Whatever was refused, the message is one line. */
	if (memchr(err, '\n', strnlen(err, sizeof(err))))
		__builtin_trap();
	return 0;
}
