/*
 * log.c - level-checked, printf-checked logging with a pluggable sink.
 *
 * The sink is set once before worker threads start, so it is read without a
 * lock. Lines are formatted into a stack buffer (truncated at 2 KiB) and handed
 * over whole, so concurrent lines never interleave inside one line.
 */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int log_level_cur = LOG_WARN;

static void (*log_sink)(int level, const char *line);

void log_set_level(int level)
{
	log_level_cur = level;
}

void log_set_sink(void (*fn)(int level, const char *line))
{
	log_sink = fn;
}

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void log_msg(int level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_sink) {
		log_sink(level, line);
		return;
	}
	if (level < 0 || level > LOG_DEBUG)
		level = LOG_DEBUG;
	fprintf(stderr, "mgdcfs: %s: %s\n", level_names[level], line);
}

char *log_escape(char *dst, size_t n, const char *src, size_t srclen)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (n == 0)
		return dst;
	if (!src)
		src = "(null)";
	for (i = 0; i < srclen && src[i] != '\0'; i++) {
		unsigned char c = (unsigned char)src[i];
		size_t need = (c < 0x20 || c >= 0x7f || c == '\\') ? 4 : 1;

		if (o + need + 4 > n) {
			if (n >= 4) {
				o = o > n - 4 ? n - 4 : o;
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 4) {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		} else {
			dst[o++] = (char)c;
		}
	}
	dst[o < n ? o : n - 1] = '\0';
	return dst;
}
