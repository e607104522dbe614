/*
 * common/clock: the monotonic clock, and the deadlines and sleeps measured
 * on it. Every timeout in PearVisor uses CLOCK_MONOTONIC, which the wall
 * clock's jumps do not move.
 *
 * Threads: safe from any thread; pv_clock_now_ns() and pv_clock_now_ms()
 *          also from a signal handler.
 */
#ifndef PV_COMMON_CLOCK_H
#define PV_COMMON_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

uint64_t pv_clock_now_ns(void);
int64_t pv_clock_now_ms(void);
/* For printing durations. */
double pv_clock_now_s(void);

/* Milliseconds from now until `deadline` (a pv_clock_now_ms() time); <= 0 once it passed. */
int pv_clock_ms_left(int64_t deadline);

/*
 * Condition variables whose timed waits take pv_clock_deadline() times.
 * Every timed wait uses both: a deadline on the wrong clock is already
 * past, and the wait spins.
 */
void pv_clock_cond_init(pthread_cond_t *c);
/* The absolute CLOCK_MONOTONIC time `ns` from now, for pthread_cond_timedwait(). */
void pv_clock_deadline(struct timespec *ts, uint64_t ns);

/* Sleeps for about `ns` nanoseconds (less when a signal arrives). */
void pv_clock_sleep_ns(uint64_t ns);

/*
 * Makes the calling thread's timed sleeps and waits end when asked (about a
 * microsecond of slack) rather than up to the default 50 us later: for
 * threads whose short polling sleeps are what a client waits on.
 */
void pv_clock_precise_sleeps(void);

#endif /* PV_COMMON_CLOCK_H */
