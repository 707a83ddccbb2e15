/* The one place that writes log lines: level filter, repetition limit, and the journal or stderr. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "cleanup.h"
#include "log.h"
#include "time.h"

#define LINE_MAX_LEN 1024
#define REPEAT_SLOTS 64
#define REPEAT_TEXT_MAX 512
#define JOURNAL_BUF (LINE_MAX_LEN + 2048)
#define PREFIX_WORDS_MAX 8 /* words before the colon that ends an object prefix */

static int max_level = LOG_INFO;
static LogTarget target = LOG_TARGET_AUTO;
static int journal_state = -1; /* LOG_TARGET_AUTO: unknown until the first record, then 0 or 1 */

/* One message text seen recently: how often in its current interval, and how often suppressed. */
typedef struct Repeat {
        uint64_t hash;
        uint64_t begin; /* start of the current interval */
        unsigned count;
        unsigned suppressed;
        int level;
        bool used;
        char text[REPEAT_TEXT_MAX];
} Repeat;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* bulk route changes build records on a thread */
static Repeat repeats[REPEAT_SLOTS];
static uint64_t rl_interval = LOG_RATELIMIT_INTERVAL_USEC;
static unsigned rl_burst = LOG_RATELIMIT_BURST;
static uint64_t (*clock_fn)(void);

void log_set_max_level(int level)
{
        max_level = level;
}

int log_get_max_level(void)
{
        return max_level;
}

void log_set_target(LogTarget t)
{
        target = t;
        journal_state = -1;
}

bool log_stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        int n = 0;

        if (!e || sscanf(e, "%llu:%llu%n", &dev, &ino, &n) != 2 || e[n] != 0)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_set_ratelimit(uint64_t interval_usec, unsigned burst)
{
        pthread_mutex_lock(&lock);
        rl_interval = interval_usec;
        rl_burst = burst;
        memset(repeats, 0, sizeof repeats);
        pthread_mutex_unlock(&lock);
}

void log_set_clock(uint64_t (*now_usec)(void))
{
        clock_fn = now_usec;
}

static uint64_t clock_now(void)
{
        return clock_fn ? clock_fn() : now(CLOCK_MONOTONIC);
}

static const struct {
        const char *key;
        const char *field;
} field_keys[] = {
        { "dlr", "DLR" },
        { "lif", "LIF" },
        { "vni", "VNI" },
        { "vxlan", "VNI" }, /* "dlr=blue lif=web vxlan=5000:" names the VNI by the LIF's kind */
        { "vlan", "VLAN" },
        { "peer", "PEER" },
        { "port", "PORT" },
        { "endpoint", "ENDPOINT" },
        { "table", "TABLE" },
        { "vtep", "VTEP" },
};

static bool is_key_char(char c)
{
        return c >= 'a' && c <= 'z';
}

size_t log_parse_fields(const char *msg, LogField *fields, size_t n_max)
{
        LogField found[LOG_FIELDS_MAX];
        size_t n = 0;
        const char *p = msg;

        if (!msg)
                return 0;
        for (unsigned word = 0;; word++) {
                const char *start = p, *eq = NULL, *end;
                bool last;

                if (word == PREFIX_WORDS_MAX)
                        return 0;
                while (is_key_char(*p))
                        p++;
                if (p > start && *p == '=')
                        eq = p;
                /* The first word must be key=value; others ("route 10.0.0.0/8") may be plain words. */
                if (word == 0 && !eq)
                        return 0;
                while (*p && *p != ' ')
                        p++;
                end = p;
                /* The prefix ends at the first word whose last character is a colon; values may hold colons
                 * themselves (IPv6 addresses, MACs), so only the last one of the word counts. */
                last = end > start && end[-1] == ':';
                if (last)
                        end--;
                if (eq && end > eq + 1 && n < LOG_FIELDS_MAX)
                        for (size_t i = 0; i < ELEMENTSOF(field_keys); i++)
                                if (strlen(field_keys[i].key) == (size_t) (eq - start) &&
                                                strncmp(field_keys[i].key, start, (size_t) (eq - start)) == 0) {
                                        found[n++] = (LogField) { field_keys[i].field, eq + 1, (size_t) (end - eq - 1) };
                                        break;
                                }
                if (last)
                        break;
                if (*p != ' ')
                        return 0; /* the message ended inside the prefix */
                p++;
        }
        n = MIN(n, n_max);
        if (n > 0)
                memcpy(fields, found, n * sizeof(LogField));
        return n;
}

static void write_stderr(int level, const char *text, const char *file, int line)
{
        if (max_level >= LOG_DEBUG && file)
                fprintf(stderr, "%s (at %s:%d)\n", text, file, line);
        else
                fprintf(stderr, "%s\n", text);
}

/* Appends one FIELD=value item to the record: formatted into buf at *used, described by the next iovec. */
static void __attribute__((format(printf, 5, 6)))
item(struct iovec *iov, size_t *n, char *buf, size_t *used, const char *fmt, ...)
{
        size_t size = JOURNAL_BUF - *used;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vsnprintf(buf + *used, size, fmt, ap);
        va_end(ap);
        if (k < 0 || size == 0)
                return;
        k = MIN(k, (int) size - 1);
        iov[(*n)++] = (struct iovec) { .iov_base = buf + *used, .iov_len = (size_t) k };
        *used += (size_t) k + 1;
}

static int write_journal(int level, int error, const char *text, const char *file, int line)
{
        LogField fields[LOG_FIELDS_MAX];
        size_t n_fields = log_parse_fields(text, fields, ELEMENTSOF(fields));
        struct iovec iov[6 + LOG_FIELDS_MAX];
        char buf[JOURNAL_BUF];
        size_t n = 0, used = 0;

        item(iov, &n, buf, &used, "MESSAGE=%s", text);
        item(iov, &n, buf, &used, "PRIORITY=%d", level);
        item(iov, &n, buf, &used, "SYSLOG_IDENTIFIER=%s", program_invocation_short_name);
        if (file) {
                item(iov, &n, buf, &used, "CODE_FILE=%s", file);
                item(iov, &n, buf, &used, "CODE_LINE=%d", line);
        }
        if (error != 0)
                item(iov, &n, buf, &used, "ERRNO=%d", error);
        for (size_t i = 0; i < n_fields; i++)
                item(iov, &n, buf, &used, "%s=%.*s", fields[i].name, (int) fields[i].len, fields[i].value);
        return sd_journal_sendv(iov, (int) n);
}

static void write_record(int level, int error, const char *text, const char *file, int line)
{
        if (target == LOG_TARGET_AUTO && journal_state < 0)
                journal_state = log_stderr_is_journal();
        if ((target == LOG_TARGET_JOURNAL || (target == LOG_TARGET_AUTO && journal_state == 1)) &&
                        write_journal(level, error, text, file, line) >= 0)
                return;
        write_stderr(level, text, file, line);
}

static uint64_t hash_text(const char *s)
{
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 1099511628211ULL;
        return h;
}

static void summarise(Repeat *r)
{
        if (r->suppressed > 0) {
                char line[LINE_MAX_LEN];
                snprintf(line, sizeof line, "%s (repeated %u more times in %llus, suppressed)", r->text,
                        r->suppressed, (unsigned long long) ((rl_interval + 999999) / 1000000));
                write_record(r->level, 0, line, NULL, 0);
        }
        r->suppressed = 0;
}

/* Decides whether this text may be written now; reports suppressions whose interval is over first. Called
 * with the lock held. */
static bool repeat_allow(int level, const char *text)
{
        uint64_t t = clock_now(), h = hash_text(text);
        Repeat *slot = NULL, *oldest = NULL;

        if (rl_burst == 0)
                return true;
        for (size_t i = 0; i < REPEAT_SLOTS; i++) {
                Repeat *r = &repeats[i];
                if (!r->used) {
                        if (!slot)
                                slot = r;
                        continue;
                }
                if (t - r->begin >= rl_interval) {
                        summarise(r);
                        r->used = false;
                        if (!slot)
                                slot = r;
                        continue;
                }
                if (r->hash == h && strncmp(r->text, text, sizeof r->text - 1) == 0) {
                        if (++r->count <= rl_burst)
                                return true;
                        r->suppressed++;
                        return false;
                }
                if (!oldest || r->begin < oldest->begin)
                        oldest = r;
        }
        if (!slot) {
                /* More distinct texts than slots within one interval: forget the oldest. */
                slot = oldest;
                summarise(slot);
        }
        *slot = (Repeat) { .hash = h, .begin = t, .count = 1, .level = level, .used = true };
        snprintf(slot->text, sizeof slot->text, "%s", text);
        return true;
}

void log_flush_suppressed(void)
{
        pthread_mutex_lock(&lock);
        for (size_t i = 0; i < REPEAT_SLOTS; i++)
                if (repeats[i].used)
                        summarise(&repeats[i]);
        pthread_mutex_unlock(&lock);
}

int log_internal(int level, int error, const char *file, int line, const char *fmt, ...)
{
        int saved = errno;
        int e = error < 0 ? -error : error;

        if (level <= max_level) {
                char buf[LINE_MAX_LEN];
                size_t len;
                va_list ap;

                va_start(ap, fmt);
                /* %m in callers' formats refers to the error we were given, not to stray errno. */
                errno = e;
                vsnprintf(buf, sizeof buf, fmt, ap);
                va_end(ap);
                len = strlen(buf);
                if (e != 0 && !strstr(fmt, "%m"))
                        snprintf(buf + len, sizeof buf - len, ": %s", strerror(e));
                /* One event, one line: texts from peers or the kernel may hold line breaks. */
                for (char *c = buf; *c; c++)
                        if (*c == '\n' || *c == '\r')
                                *c = ' ';
                pthread_mutex_lock(&lock);
                if (repeat_allow(level, buf))
                        write_record(level, e, buf, file, line);
                pthread_mutex_unlock(&lock);
        }
        errno = saved;
        return -e;
}
