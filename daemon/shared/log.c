/* The one place that writes log lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level)
{
        max_level = level;
}

int log_get_max_level(void)
{
        return max_level;
}

int log_internal(int level, int error, const char *file, int line, const char *fmt, ...)
{
        int saved = errno;
        int e = error < 0 ? -error : error;

        if (level <= max_level) {
                char buf[1024];
                va_list ap;

                va_start(ap, fmt);
                /* %m in callers' formats refers to the error we were given, not to stray errno. */
                errno = e;
                vsnprintf(buf, sizeof buf, fmt, ap);
                va_end(ap);
                if (e != 0 && !strstr(fmt, "%m"))
                        fprintf(stderr, "<%d>%s: %s\n", level, buf, strerror(e));
                else
                        fprintf(stderr, "<%d>%s\n", level, buf);
                if (max_level >= LOG_DEBUG)
                        fprintf(stderr, "<%d>  (at %s:%d)\n", LOG_DEBUG, file, line);
        }
        errno = saved;
        return -e;
}
