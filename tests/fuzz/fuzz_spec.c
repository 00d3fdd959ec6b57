/*
 * fuzz_spec.c - libFuzzer target: the spec parsers and validators
 * (registration, pipeline with and without an approved registration,
 * trigger parameters, data-connect and consent values).
 *
 * Design decision: the entry point lives in fs/spec_fuzz.c next to the code
 * it drives, so the daemon's own build keeps it compiling; this file only
 * hands libFuzzer's bytes to it (the first byte picks the parser).
 */
#include <stddef.h>
#include <stdint.h>

#include "fs/spec_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return spec_fuzz_one(data, size);
}
