/*
 * tap.h - a minimal TAP producer for the C unit tests.
 *
 * Each check prints "ok N - name" or "not ok N - name"; tap_done() prints the
 * plan and returns the exit status. tests/run counts the lines.
 */
#ifndef MGDCFS_TESTS_TAP_H
#define MGDCFS_TESTS_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define TAP_OK(cond, ...)                                                                          \
	do {                                                                                       \
		int tap_c_ = !!(cond);                                                             \
		printf("%sok %d - ", tap_c_ ? "" : "not ", ++tap_n);                               \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
		if (!tap_c_) {                                                                     \
			tap_failed++;                                                              \
			printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);            \
		}                                                                                  \
		fflush(stdout);                                                                    \
	} while (0)

#define TAP_EQ_INT(a, b, ...)                                                                      \
	do {                                                                                       \
		long long tap_a_ = (long long)(a), tap_b_ = (long long)(b);                        \
		TAP_OK(tap_a_ == tap_b_, __VA_ARGS__);                                             \
		if (tap_a_ != tap_b_)                                                              \
			printf("#   got %lld, want %lld\n", tap_a_, tap_b_);                       \
	} while (0)

#define TAP_EQ_STR(a, b, ...)                                                                      \
	do {                                                                                       \
		const char *tap_a_ = (a), *tap_b_ = (b);                                           \
		int tap_e_ = tap_a_ && tap_b_ && strcmp(tap_a_, tap_b_) == 0;                      \
		TAP_OK(tap_e_, __VA_ARGS__);                                                       \
		if (!tap_e_)                                                                       \
			printf("#   got '%s', want '%s'\n", tap_a_ ? tap_a_ : "(null)",            \
			       tap_b_ ? tap_b_ : "(null)");                                        \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
