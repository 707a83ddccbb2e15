/* Unit tests for daemon/persist.[ch]: a failed journal append is cut back to exactly where it began, whether
 * it failed before its first byte or in the middle (the file-size limit stands in for a full disk), so the
 * acknowledged records before it are intact and the next append does not glue onto a torn tail; a failed
 * snapshot leaves the previous snapshot and journal as they were; a snapshot supersedes the journal. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "persist.h"
#include "shared/cleanup.h"
#include "unit.h"

static char dir[64];

static void setup(void)
{
        snprintf(dir, sizeof dir, "/tmp/test-persist.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        /* Past the size limit write() fails with EFBIG instead of killing the process. */
        signal(SIGXFSZ, SIG_IGN);
}

static void remove_file(const char *name)
{
        char path[128];

        snprintf(path, sizeof path, "%s/%s", dir, name);
        (void) unlink(path);
}

static void teardown(void)
{
        struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

        (void) setrlimit(RLIMIT_FSIZE, &rl);
        remove_file("state.json");
        remove_file("state.journal");
        remove_file(".state.json.prev");
        (void) rmdir(dir);
}

static bool file_exists(const char *name)
{
        char path[128];

        snprintf(path, sizeof path, "%s/%s", dir, name);
        return access(path, F_OK) == 0;
}

/* The journal's whole content, as a string. */
static char *journal(void)
{
        char *buf = NULL;
        size_t len;

        ck_assert_int_eq(persist_load_journal(dir, &buf, &len), 0);
        ck_assert_uint_eq(strlen(buf), len);
        return buf;
}

static void append_ok(const char *rec)
{
        bool torn = true;

        ck_assert_int_eq(persist_append(dir, rec, strlen(rec), &torn), 0);
        ck_assert(!torn);
}

/* Files may grow to exactly limit bytes. */
static void limit_size(rlim_t limit)
{
        struct rlimit rl;

        ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
        rl.rlim_cur = limit;
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static void unlimit_size(void)
{
        struct rlimit rl;

        ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
        rl.rlim_cur = rl.rlim_max;
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static const char *const A = "{\"op\":\"a\",\"n\":1}\n", *const B = "{\"op\":\"b\",\"n\":22}\n",
                          *const C = "{\"op\":\"c\",\"long\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n",
                          *const D = "{\"op\":\"d\"}\n";

/* No byte of the record fits: nothing before it may go. */
START_TEST(test_append_fails_before_first_byte)
{
        _cleanup_free_ char *j = NULL, *j2 = NULL;
        bool torn = true;

        append_ok(A);
        append_ok(B);
        limit_size(strlen(A) + strlen(B));
        ck_assert_int_eq(persist_append(dir, C, strlen(C), &torn), -EFBIG);
        ck_assert(!torn);
        unlimit_size();
        j = journal();
        ck_assert_str_eq(j, "{\"op\":\"a\",\"n\":1}\n{\"op\":\"b\",\"n\":22}\n");
        /* Failures in a row eat nothing either. */
        limit_size(strlen(A) + strlen(B));
        for (int i = 0; i < 5; i++)
                ck_assert_int_eq(persist_append(dir, C, strlen(C), &torn), -EFBIG);
        unlimit_size();
        append_ok(D);
        j2 = journal();
        ck_assert_str_eq(j2, "{\"op\":\"a\",\"n\":1}\n{\"op\":\"b\",\"n\":22}\n{\"op\":\"d\"}\n");
}
END_TEST

/* Part of the record fits: the part is cut off, so the next record starts on a line of its own. */
START_TEST(test_append_fails_midway)
{
        _cleanup_free_ char *j = NULL;
        bool torn = true;

        append_ok(A);
        append_ok(B);
        for (size_t part = 1; part < strlen(C); part += 7) {
                limit_size(strlen(A) + strlen(B) + part);
                ck_assert_int_eq(persist_append(dir, C, strlen(C), &torn), -EFBIG);
                ck_assert(!torn);
        }
        unlimit_size();
        append_ok(D);
        j = journal();
        ck_assert_str_eq(j, "{\"op\":\"a\",\"n\":1}\n{\"op\":\"b\",\"n\":22}\n{\"op\":\"d\"}\n");
}
END_TEST

/* The first record of a new journal fails: an empty journal remains, and the next append works. */
START_TEST(test_append_first_record_fails)
{
        _cleanup_free_ char *j = NULL;
        bool torn = true;

        limit_size(3);
        ck_assert_int_eq(persist_append(dir, A, strlen(A), &torn), -EFBIG);
        ck_assert(!torn);
        unlimit_size();
        append_ok(B);
        j = journal();
        ck_assert_str_eq(j, B);
}
END_TEST

START_TEST(test_save_fails_keeps_previous)
{
        _cleanup_free_ char *s = NULL, *j = NULL;
        const char *big = "{\"version\":1,\"generation\":2,\"padding\":\"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\"}";
        bool torn = true;
        size_t len;

        ck_assert_int_eq(persist_save(dir, "{\"generation\":1}", 16, &torn), 0);
        append_ok(A);
        limit_size(20);
        ck_assert_int_eq(persist_save(dir, big, strlen(big), &torn), -EFBIG);
        ck_assert(!torn);
        unlimit_size();
        ck_assert_int_eq(persist_load(dir, &s, &len), 0);
        ck_assert_str_eq(s, "{\"generation\":1}");
        j = journal();
        ck_assert_str_eq(j, A);
        ck_assert(!file_exists(".state.json.prev"));
}
END_TEST

START_TEST(test_save_supersedes_journal)
{
        _cleanup_free_ char *s = NULL;
        char *buf = NULL;
        bool torn = true;
        size_t len;

        ck_assert_int_eq(persist_save(dir, "{\"generation\":1}", 16, &torn), 0);
        append_ok(A);
        ck_assert_int_eq(persist_save(dir, "{\"generation\":2}", 16, &torn), 0);
        ck_assert_int_eq(persist_load(dir, &s, &len), 0);
        ck_assert_str_eq(s, "{\"generation\":2}");
        ck_assert_int_eq(persist_load_journal(dir, &buf, &len), -ENOENT);
        ck_assert(!file_exists(".state.json.prev"));
}
END_TEST

START_TEST(test_cut_journal)
{
        _cleanup_free_ char *j = NULL;

        append_ok(A);
        append_ok("{\"op\":\"torn");
        ck_assert_int_eq(persist_cut_journal(dir, strlen(A)), 0);
        append_ok(B);
        j = journal();
        ck_assert_str_eq(j, "{\"op\":\"a\",\"n\":1}\n{\"op\":\"b\",\"n\":22}\n");
}
END_TEST

static Suite *persist_suite(void)
{
        Suite *s = suite_create("persist");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_append_fails_before_first_byte);
        tcase_add_test(tc, test_append_fails_midway);
        tcase_add_test(tc, test_append_first_record_fails);
        tcase_add_test(tc, test_save_fails_keeps_previous);
        tcase_add_test(tc, test_save_supersedes_journal);
        tcase_add_test(tc, test_cut_journal);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(persist_suite());
}
