/*
 * common/log: the one logger. Lines go to stderr as "level module: message".
 *
 * Trust:   never print client-supplied strings raw; print sizes, ids and
 *          offsets. Anything a client can trigger logs at most once per
 *          context (pv_log_once) so a hostile client cannot flood the log.
 * Threads: safe from any thread (one write(2) per line).
 */
#ifndef PV_COMMON_LOG_H
#define PV_COMMON_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum pv_log_level { PV_LOG_ERR, PV_LOG_WARN, PV_LOG_INFO, PV_LOG_DEBUG };

/* Process-wide level, read once from PEARVISOR_LOG (err|warn|info|debug). */
void pv_log(enum pv_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pv_logv(enum pv_log_level level, const char *module, const char *fmt, va_list ap);
bool pv_log_enabled(enum pv_log_level level);

/*
 * Copies a client-chosen name into dst (at most size - 1 bytes, always
 * terminated) for log lines: anything but printable ASCII, and '%', becomes
 * '?'.
 */
void pv_log_sanitize(char *dst, size_t size, const char *src);

#define pv_err(mod, ...) pv_log(PV_LOG_ERR, mod, __VA_ARGS__)
#define pv_warn(mod, ...) pv_log(PV_LOG_WARN, mod, __VA_ARGS__)
#define pv_info(mod, ...) pv_log(PV_LOG_INFO, mod, __VA_ARGS__)
#define pv_dbg(mod, ...)                                                                           \
    do {                                                                                           \
        if (pv_log_enabled(PV_LOG_DEBUG))                                                          \
            pv_log(PV_LOG_DEBUG, mod, __VA_ARGS__);                                                \
    } while (0)

#endif /* PV_COMMON_LOG_H */
