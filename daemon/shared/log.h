/* Logging: one line per event. When stderr is the journal's stream, records go to the journal natively, with
 * the objects a message names in its "dlr=blue lif=web vxlan=5000: ..." prefix as fields of their own (DLR=,
 * LIF=, VNI=, PEER=, ...); otherwise they are plain lines on stderr. The same text logged again and again is
 * rate-limited, and one line says how often it was suppressed. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

void log_set_max_level(int level);
int log_get_max_level(void);

typedef enum LogTarget {
        LOG_TARGET_AUTO,    /* the journal when stderr is connected to it, stderr otherwise */
        LOG_TARGET_STDERR,  /* plain lines */
        LOG_TARGET_JOURNAL, /* the journal's native protocol (plain lines when that fails) */
        _LOG_TARGET_MAX,
        _LOG_TARGET_INVALID = -EINVAL,
} LogTarget;

void log_set_target(LogTarget target);
/* True when JOURNAL_STREAM names stderr's device and inode, i.e. systemd connected stderr to the journal.
 * (Evaluated on each call; LOG_TARGET_AUTO evaluates it once, at the first record.) */
bool log_stderr_is_journal(void);

/* Repetition limit: the same message text logged more than burst times within interval_usec is suppressed
 * until the interval is over; then one line, the text with "(repeated N more times in Ts, suppressed)",
 * stands for the suppressed ones. burst 0 turns the limit off. Default: 10 per 10 s. */
#define LOG_RATELIMIT_INTERVAL_USEC (10ULL * 1000000ULL)
#define LOG_RATELIMIT_BURST 10
void log_set_ratelimit(uint64_t interval_usec, unsigned burst);
/* Writes the summary line of every suppression not reported yet (at exit). */
void log_flush_suppressed(void);
/* Replaces the monotonic clock (microseconds) the limit uses; NULL restores it. For tests. */
void log_set_clock(uint64_t (*now_usec)(void));

/* An object named in a message's prefix: the journal field name and the value (not NUL-terminated). */
typedef struct LogField {
        const char *name;
        const char *value;
        size_t len;
} LogField;

#define LOG_FIELDS_MAX 8

/* Finds the objects a message names in its prefix: the words up to the first one ending in a colon, the first
 * of them a key=value word, as in "dlr=blue lif=web vxlan=5000: created" or "dlr=blue route 10.0.0.0/8:
 * File exists". The key=value words with known keys (dlr, lif, vni, vxlan, vlan, peer, port, endpoint,
 * table, vtep) become fields; other words are skipped. A message without such a prefix names none. Returns
 * the number of fields stored (at most n_max). */
size_t log_parse_fields(const char *msg, LogField *fields, size_t n_max);

/* Logs and returns -abs(error) (or 0 if error is 0), so callers can write "return log_error_errno(r, ...)". */
int log_internal(int level, int error, const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

#define log_full_errno(level, error, ...) log_internal(level, error, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")
