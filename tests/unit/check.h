/*
 * tests/unit/check: the one CHECK macro of the unit tests. A failed check
 * prints where it is and what it checked, is counted, and the test goes on,
 * so one run shows every failure; main() ends with check_report().
 */
#ifndef PV_TESTS_CHECK_H
#define PV_TESTS_CHECK_H

#include <stdio.h>

/* Singleton: the failed checks of this test program. */
static int check_failures_singleton;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
            check_failures_singleton++;                                                            \
        }                                                                                          \
    } while (0)

/* CHECK with a printf-style line saying what was found instead. */
#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            check_failures_singleton++;                                                            \
        }                                                                                          \
    } while (0)

/* 1 (and a line naming the test and the count) when any check failed, else 0. */
static inline int
check_report(const char *test)
{
    if (!check_failures_singleton)
        return 0;
    fprintf(stderr, "%s: %d check(s) failed\n", test, check_failures_singleton);
    return 1;
}

#endif /* PV_TESTS_CHECK_H */
