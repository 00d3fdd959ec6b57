/*
 * clock.h - the monotonic clock in milliseconds, the one time base of every
 * deadline, back-off and age in mgdcfs (never the wall clock, which moves).
 */
#ifndef MGDCFS_BASE_CLOCK_H
#define MGDCFS_BASE_CLOCK_H

/* clock_ms - milliseconds of CLOCK_MONOTONIC (an arbitrary origin). Any thread. */
long long clock_ms(void);

#endif
