/* common/log: see log.h. */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Singleton: the process log level, set once from the environment. */
static int log_level_singleton = -1;

static int
log_level(void)
{
    int level = __atomic_load_n(&log_level_singleton, __ATOMIC_RELAXED);
    if (level >= 0)
        return level;
    level = PV_LOG_INFO;
    const char *env = getenv("PEARVISOR_LOG");
    if (env) {
        static const char *const names[] = {"err", "warn", "info", "debug"};
        for (int i = 0; i < 4; i++)
            if (!strcmp(env, names[i]))
                level = i;
    }
    __atomic_store_n(&log_level_singleton, level, __ATOMIC_RELAXED);
    return level;
}

bool
pv_log_enabled(enum pv_log_level level)
{
    return (int)level <= log_level();
}

void
pv_logv(enum pv_log_level level, const char *module, const char *fmt, va_list ap)
{
    static const char *const tags[] = {"error", "warning", "info", "debug"};
    if (!pv_log_enabled(level))
        return;
    char line[1024];
    int n = snprintf(line, sizeof(line), "pearvisor %s %s: ", tags[level], module);
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    if (m < 0)
        return;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void
pv_log_sanitize(char *dst, size_t size, const char *src)
{
    if (!size)
        return;
    size_t n = 0;
    for (; src && src[n] && n + 1 < size; n++) {
        char c = src[n];
        dst[n] = (c >= 0x20 && c < 0x7f && c != '%') ? c : '?';
    }
    dst[n] = '\0';
}

void
pv_log(enum pv_log_level level, const char *module, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pv_logv(level, module, fmt, ap);
    va_end(ap);
}
