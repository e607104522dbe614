/* common/clock: see clock.h. */
#include "clock.h"
#include <sys/prctl.h>

uint64_t
pv_clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t
pv_clock_now_ms(void)
{
    return (int64_t)(pv_clock_now_ns() / 1000000);
}

double
pv_clock_now_s(void)
{
    return (double)pv_clock_now_ns() / 1e9;
}

int
pv_clock_ms_left(int64_t deadline)
{
    return (int)(deadline - pv_clock_now_ms());
}

void
pv_clock_cond_init(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

void
pv_clock_deadline(struct timespec *ts, uint64_t ns)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    uint64_t t = (uint64_t)ts->tv_nsec + ns;
    ts->tv_sec += (time_t)(t / 1000000000ull);
    ts->tv_nsec = (long)(t % 1000000000ull);
}

void
pv_clock_sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    nanosleep(&ts, NULL);
}

void
pv_clock_precise_sleeps(void)
{
#ifdef __linux__
    prctl(PR_SET_TIMERSLACK, 1000ul, 0, 0, 0);
#endif
}
