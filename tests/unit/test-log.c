/* Unit tests for daemon/shared/log.[ch]: object fields of a message prefix, the repetition limit and its
 * summary line, one line per record, and how stderr is recognised as the journal's stream. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shared/log.h"
#include "unit.h"

/* ------------------------------------------------------------------ fields */

static char *field_str(const LogField *f)
{
        static char buf[4][128];
        static unsigned i;
        char *b = buf[i++ % 4];

        snprintf(b, sizeof buf[0], "%s=%.*s", f->name, (int) f->len, f->value);
        return b;
}

START_TEST(test_fields_lif)
{
        LogField f[LOG_FIELDS_MAX];

        ck_assert_uint_eq(log_parse_fields("dlr=blue lif=web vxlan=5000: created", f, LOG_FIELDS_MAX), 3);
        ck_assert_str_eq(field_str(&f[0]), "DLR=blue");
        ck_assert_str_eq(field_str(&f[1]), "LIF=web");
        ck_assert_str_eq(field_str(&f[2]), "VNI=5000");
        ck_assert_uint_eq(log_parse_fields("dlr=blue lif=web vni=5000: x", f, LOG_FIELDS_MAX), 3);
        ck_assert_str_eq(field_str(&f[2]), "VNI=5000");
        ck_assert_uint_eq(log_parse_fields("dlr=red lif=db vlan=42: created", f, LOG_FIELDS_MAX), 3);
        ck_assert_str_eq(field_str(&f[2]), "VLAN=42");
}
END_TEST

START_TEST(test_fields_peer_and_colons)
{
        LogField f[LOG_FIELDS_MAX];

        ck_assert_uint_eq(log_parse_fields("peer=hostB: connected", f, LOG_FIELDS_MAX), 1);
        ck_assert_str_eq(field_str(&f[0]), "PEER=hostB");
        /* Values with colons of their own: only the colon that ends the prefix is cut off. */
        ck_assert_uint_eq(log_parse_fields("peer=hostC vtep=2001:db8::3: says hello", f, LOG_FIELDS_MAX), 2);
        ck_assert_str_eq(field_str(&f[0]), "PEER=hostC");
        ck_assert_str_eq(field_str(&f[1]), "VTEP=2001:db8::3");
        ck_assert_uint_eq(
                log_parse_fields("dlr=blue lif=web endpoint=02:00:00:00:00:01: deleted", f, LOG_FIELDS_MAX), 3);
        ck_assert_str_eq(field_str(&f[2]), "ENDPOINT=02:00:00:00:00:01");
        ck_assert_uint_eq(log_parse_fields("dlr=blue table=1001: created", f, LOG_FIELDS_MAX), 2);
        ck_assert_str_eq(field_str(&f[1]), "TABLE=1001");
        ck_assert_uint_eq(log_parse_fields("port=tap0: taking it out of its bridge: gone", f, LOG_FIELDS_MAX), 1);
        ck_assert_str_eq(field_str(&f[0]), "PORT=tap0");
        /* Plain words between the objects: "dlr=blue route 10.0.0.0/8:" names the DLR. */
        ck_assert_uint_eq(log_parse_fields("dlr=blue route 10.0.0.0/8: File exists", f, LOG_FIELDS_MAX), 1);
        ck_assert_str_eq(field_str(&f[0]), "DLR=blue");
        ck_assert_uint_eq(log_parse_fields("dlr=blue lif=web port=tap1: attached", f, LOG_FIELDS_MAX), 3);
        ck_assert_str_eq(field_str(&f[2]), "PORT=tap1");
}
END_TEST

START_TEST(test_fields_none)
{
        LogField f[LOG_FIELDS_MAX];

        ck_assert_uint_eq(log_parse_fields("dlrd 0.1.0 running: host=a vtep=192.0.2.1", f, LOG_FIELDS_MAX), 0);
        ck_assert_uint_eq(log_parse_fields("Received Terminated, exiting.", f, LOG_FIELDS_MAX), 0);
        ck_assert_uint_eq(log_parse_fields("", f, LOG_FIELDS_MAX), 0);
        ck_assert_uint_eq(log_parse_fields(NULL, f, LOG_FIELDS_MAX), 0);
        /* No colon ending the words: not a prefix. */
        ck_assert_uint_eq(log_parse_fields("dlr=blue", f, LOG_FIELDS_MAX), 0);
        ck_assert_uint_eq(log_parse_fields("dlr=blue lif=web", f, LOG_FIELDS_MAX), 0);
        /* The first word must be key=value. */
        ck_assert_uint_eq(log_parse_fields("route 10.0.0.0/8 dlr=blue: gone", f, LOG_FIELDS_MAX), 0);
        /* Too many words before a colon: prose, not a prefix. */
        ck_assert_uint_eq(log_parse_fields("dlr=blue a b c d e f g h: x", f, LOG_FIELDS_MAX), 0);
        ck_assert_uint_eq(log_parse_fields("Dlr=blue: x", f, LOG_FIELDS_MAX), 0);
        ck_assert_uint_eq(log_parse_fields("=blue: x", f, LOG_FIELDS_MAX), 0);
}
END_TEST

START_TEST(test_fields_unknown_and_limits)
{
        LogField f[LOG_FIELDS_MAX];

        /* Unknown keys are skipped, empty values make no field, the prefix still counts. */
        ck_assert_uint_eq(log_parse_fields("dlr=blue colour=red lif=: x", f, LOG_FIELDS_MAX), 1);
        ck_assert_str_eq(field_str(&f[0]), "DLR=blue");
        /* n_max bounds what is stored. */
        ck_assert_uint_eq(log_parse_fields("dlr=blue lif=web vni=5000: created", f, 2), 2);
        ck_assert_str_eq(field_str(&f[1]), "LIF=web");
}
END_TEST

/* ------------------------------------------------------------------ output */

static uint64_t fake_now;
static uint64_t fake_clock(void)
{
        return fake_now;
}

static FILE *captured;
static int saved_stderr = -1;

/* Sends stderr into a temporary file until capture_end(), which returns what was written. */
static void capture_begin(void)
{
        captured = tmpfile();
        ck_assert_ptr_nonnull(captured);
        fflush(stderr);
        saved_stderr = dup(STDERR_FILENO);
        ck_assert_int_ge(saved_stderr, 0);
        ck_assert_int_ge(dup2(fileno(captured), STDERR_FILENO), 0);
}

static char *capture_end(void)
{
        static char buf[65536];
        size_t n;

        fflush(stderr);
        ck_assert_int_ge(dup2(saved_stderr, STDERR_FILENO), 0);
        close(saved_stderr);
        rewind(captured);
        n = fread(buf, 1, sizeof buf - 1, captured);
        buf[n] = 0;
        fclose(captured);
        return buf;
}

static unsigned count_lines(const char *s, const char *needle)
{
        unsigned n = 0;
        const char *line = s;

        while (*line) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t) (nl - line) : strlen(line);
                char one[2048];
                snprintf(one, sizeof one, "%.*s", (int) len, line);
                if (strstr(one, needle))
                        n++;
                line += len + (nl ? 1 : 0);
        }
        return n;
}

static void setup_output(void)
{
        unsetenv("JOURNAL_STREAM");
        log_set_target(LOG_TARGET_STDERR);
        log_set_max_level(LOG_INFO);
        fake_now = 1000000;
        log_set_clock(fake_clock);
        log_set_ratelimit(10 * 1000000ULL, 5);
}

START_TEST(test_ratelimit_summary)
{
        char *out;

        capture_begin();
        for (int i = 0; i < 25; i++) {
                log_warning("peer=hostB: over its rate limit");
                fake_now += 100000; /* 2.5 s in all: one interval */
        }
        log_info("dlr=blue: created");
        /* The interval ends: the next record of any text reports the suppressed ones first. */
        fake_now += 10 * 1000000ULL;
        log_info("dlr=blue: deleted");
        log_warning("peer=hostB: over its rate limit");
        out = capture_end();

        ck_assert_uint_eq(count_lines(out, "peer=hostB: over its rate limit"), 5 + 1 + 1);
        ck_assert_uint_eq(count_lines(out, "peer=hostB: over its rate limit (repeated 20 more times in 10s, "
                                           "suppressed)"),
                1);
        ck_assert_uint_eq(count_lines(out, "dlr=blue: created"), 1);
        /* The summary comes before the record that found the interval over. */
        ck_assert_ptr_nonnull(strstr(out, "(repeated 20"));
        ck_assert_ptr_nonnull(strstr(out, "dlr=blue: deleted"));
        ck_assert(strstr(out, "(repeated 20") < strstr(out, "dlr=blue: deleted"));
        /* A new interval: the text is written again. */
        ck_assert_ptr_nonnull(strstr(strstr(out, "dlr=blue: deleted"), "peer=hostB: over its rate limit\n"));
}
END_TEST

START_TEST(test_ratelimit_per_text)
{
        char *out;

        capture_begin();
        for (int i = 0; i < 8; i++) {
                log_info("dlr=blue lif=web: attached %d", i % 2);
                log_info("peer=hostC: connected");
        }
        out = capture_end();
        /* Each distinct text has its own count: 4 of each "attached" text, 5 of "connected". */
        ck_assert_uint_eq(count_lines(out, "attached 0"), 4);
        ck_assert_uint_eq(count_lines(out, "attached 1"), 4);
        ck_assert_uint_eq(count_lines(out, "peer=hostC: connected"), 5);
}
END_TEST

START_TEST(test_ratelimit_flush_and_off)
{
        char *out;

        capture_begin();
        for (int i = 0; i < 7; i++)
                log_error("dlr=blue: kernel says no");
        log_flush_suppressed();
        log_flush_suppressed(); /* reported once only */
        log_set_ratelimit(10 * 1000000ULL, 0);
        for (int i = 0; i < 30; i++)
                log_info("no limit");
        out = capture_end();
        ck_assert_uint_eq(count_lines(out, "dlr=blue: kernel says no"), 6);
        ck_assert_uint_eq(count_lines(out, "(repeated 2 more times in 10s, suppressed)"), 1);
        ck_assert_uint_eq(count_lines(out, "no limit"), 30);
}
END_TEST

START_TEST(test_one_line_and_levels)
{
        char *out;
        int r;

        capture_begin();
        r = log_warning_errno(-EEXIST, "peer=hostB: a text\nfrom a peer\r with breaks");
        log_debug("not shown at level info");
        out = capture_end();
        ck_assert_int_eq(r, -EEXIST);
        ck_assert_str_eq(out, "peer=hostB: a text from a peer  with breaks: File exists\n");
}
END_TEST

START_TEST(test_errno_m)
{
        char *out;

        capture_begin();
        errno = EPERM;
        ck_assert_int_eq(log_error_errno(ENOENT, "dlr=blue: opening: %m"), -ENOENT);
        ck_assert_int_eq(errno, EPERM);
        out = capture_end();
        ck_assert_str_eq(out, "dlr=blue: opening: No such file or directory\n");
}
END_TEST

START_TEST(test_journal_stream)
{
        struct stat st;
        char v[64];

        ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
        unsetenv("JOURNAL_STREAM");
        ck_assert(!log_stderr_is_journal());
        snprintf(v, sizeof v, "%llu:%llu", (unsigned long long) st.st_dev, (unsigned long long) st.st_ino);
        setenv("JOURNAL_STREAM", v, 1);
        ck_assert(log_stderr_is_journal());
        snprintf(v, sizeof v, "%llu:%llu", (unsigned long long) st.st_dev, (unsigned long long) st.st_ino + 1);
        setenv("JOURNAL_STREAM", v, 1);
        ck_assert(!log_stderr_is_journal());
        snprintf(v, sizeof v, "%llu:%llux", (unsigned long long) st.st_dev, (unsigned long long) st.st_ino);
        setenv("JOURNAL_STREAM", v, 1);
        ck_assert(!log_stderr_is_journal());
        setenv("JOURNAL_STREAM", "", 1);
        ck_assert(!log_stderr_is_journal());
        unsetenv("JOURNAL_STREAM");
}
END_TEST

/* Has the datagram (the journal's native protocol: FIELD=value lines) this field line? */
static bool has_field(const char *dgram, const char *line)
{
        size_t n = strlen(line);
        for (const char *p = dgram; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == 0))
                        return true;
        return false;
}

/* Runs in a child with a mount namespace of its own: a fake journal socket where journald's would be, stderr
 * made "the journal's stream" through JOURNAL_STREAM, and one record that must arrive there with its fields.
 * Exit status: 0 passed, 77 cannot set up (not root), 1-9 which check failed. */
static int journal_child(void)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char dgram[8192], v[64];
        struct stat st;
        ssize_t n;
        int fd;

        if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
                        mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") < 0)
                return 77;
        if (mkdir("/run/systemd", 0755) < 0 || mkdir("/run/systemd/journal", 0755) < 0)
                return 1;
        snprintf(sa.sun_path, sizeof sa.sun_path, "/run/systemd/journal/socket");
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return 2;
        if (fstat(STDERR_FILENO, &st) < 0)
                return 3;
        snprintf(v, sizeof v, "%llu:%llu", (unsigned long long) st.st_dev, (unsigned long long) st.st_ino);
        setenv("JOURNAL_STREAM", v, 1);
        log_set_target(LOG_TARGET_AUTO);
        log_set_ratelimit(10 * 1000000ULL, 5);
        (void) log_warning_errno(-ENOENT, "dlr=blue lif=web vxlan=5000: bridge gone");
        n = recv(fd, dgram, sizeof dgram - 1, MSG_DONTWAIT);
        if (n <= 0)
                return 4;
        dgram[n] = 0;
        if (!has_field(dgram, "MESSAGE=dlr=blue lif=web vxlan=5000: bridge gone: No such file or directory"))
                return 5;
        if (!has_field(dgram, "PRIORITY=4") || !has_field(dgram, "ERRNO=2"))
                return 6;
        if (!has_field(dgram, "DLR=blue") || !has_field(dgram, "LIF=web") || !has_field(dgram, "VNI=5000"))
                return 7;
        if (!has_field(dgram, "SYSLOG_IDENTIFIER=test-log"))
                return 8;
        /* Plain stderr is left alone: nothing was written there. */
        return 0;
}

START_TEST(test_journal_native)
{
        int status;
        pid_t pid;
        char *out;

        capture_begin();
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(journal_child());
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        out = capture_end();
        ck_assert(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77) {
                fprintf(stderr, "test_journal_native: skipped (needs root for a mount namespace)\n");
                return;
        }
        ck_assert_msg(WEXITSTATUS(status) == 0, "journal record check %d failed", WEXITSTATUS(status));
        ck_assert_str_eq(out, "");
}
END_TEST

static Suite *log_suite(void)
{
        Suite *s = suite_create("log");
        TCase *tc = tcase_create("fields");

        tcase_add_test(tc, test_fields_lif);
        tcase_add_test(tc, test_fields_peer_and_colons);
        tcase_add_test(tc, test_fields_none);
        tcase_add_test(tc, test_fields_unknown_and_limits);
        suite_add_tcase(s, tc);

        tc = tcase_create("output");
        tcase_add_checked_fixture(tc, setup_output, NULL);
        tcase_add_test(tc, test_ratelimit_summary);
        tcase_add_test(tc, test_ratelimit_per_text);
        tcase_add_test(tc, test_ratelimit_flush_and_off);
        tcase_add_test(tc, test_one_line_and_levels);
        tcase_add_test(tc, test_errno_m);
        tcase_add_test(tc, test_journal_stream);
        tcase_add_test(tc, test_journal_native);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(log_suite());
}
