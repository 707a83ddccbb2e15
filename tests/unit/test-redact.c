/* Unit tests for daemon/state/redact.[ch]: what callers that are not root see of peers' bus addresses. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/cleanup.h"
#include "state/json.h"
#include "state/redact.h"
#include "unit.h"

/* The redacted form of address, in a static buffer. */
static const char *redact(const char *address)
{
        static char buf[256];
        char *s = NULL;

        ck_assert_int_eq(peer_address_redact(address, &s), 0);
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_lt(strlen(s), sizeof buf);
        snprintf(buf, sizeof buf, "%s", s);
        free(s);
        return buf;
}

START_TEST(test_ssh_user_removed)
{
        ck_assert_str_eq(redact("ssh:dlrd@hostB"), "ssh:hostB");
        ck_assert_str_eq(redact("ssh:dlrd@hostB:2222"), "ssh:hostB:2222");
        ck_assert_str_eq(redact("ssh:root@192.0.2.2"), "ssh:192.0.2.2");
        ck_assert_str_eq(redact("ssh:ops@[2001:db8::2]:22"), "ssh:[2001:db8::2]:22");
}
END_TEST

START_TEST(test_ssh_without_user_unchanged)
{
        ck_assert_str_eq(redact("ssh:hostB"), "ssh:hostB");
        ck_assert_str_eq(redact("ssh:hostB:2222"), "ssh:hostB:2222");
        ck_assert_str_eq(redact("ssh:[2001:db8::2]:22"), "ssh:[2001:db8::2]:22");
        ck_assert_str_eq(redact("ssh:"), "ssh:");
}
END_TEST

START_TEST(test_ssh_nothing_before_last_at_survives)
{
        /* Whatever precedes the last '@' may be user information, even a second '@' or a ':'. */
        ck_assert_str_eq(redact("ssh:a@b@hostB"), "ssh:hostB");
        ck_assert_str_eq(redact("ssh:alice:secret@hostB:22"), "ssh:hostB:22");
        ck_assert_str_eq(redact("ssh:@hostB"), "ssh:hostB");
        ck_assert_str_eq(redact("ssh:dlrd@"), "ssh:");
}
END_TEST

START_TEST(test_unix_whole)
{
        ck_assert_str_eq(redact("unix:path=/run/dlrd/peer.sock"), "unix:path=/run/dlrd/peer.sock");
        /* An '@' in a path is part of the path, no user. */
        ck_assert_str_eq(redact("unix:path=/srv/a@b/peer.sock"), "unix:path=/srv/a@b/peer.sock");
}
END_TEST

START_TEST(test_other_transports_only_named)
{
        ck_assert_str_eq(redact("unixexec:path=ssh,argv1=-xT,argv2=dlrd@hostB,argv3=systemd-stdio-bridge"),
                "unixexec:");
        ck_assert_str_eq(redact("tcp:host=hostB,port=1234"), "tcp:");
        /* Prefixes match whole transport names only. */
        ck_assert_str_eq(redact("sshx:dlrd@hostB"), "sshx:");
        ck_assert_str_eq(redact("unixfoo:path=/x"), "unixfoo:");
        ck_assert_str_eq(redact("no-colon-at-all@hostB"), "");
        ck_assert_str_eq(redact(""), "");
}
END_TEST

START_TEST(test_export_redacted)
{
        _cleanup_(config_freep) Config *c = config_new();
        _cleanup_free_ char *whole = NULL, *shown = NULL;
        IpPrefix v = unit_prefix("192.0.2.2/32");
        Member *mb;

        ck_assert_ptr_nonnull(c);
        mb = member_new("hostB", &v, "ssh:dlrd@hostB:2222", "");
        ck_assert_ptr_nonnull(mb);
        ck_assert_int_eq(config_add_member(c, mb), 0);
        ck_assert_int_eq(config_to_json(c, true, &whole, NULL), 0);
        ck_assert_int_eq(config_to_json_redacted(c, &shown, NULL), 0);
        ck_assert_ptr_nonnull(strstr(whole, "\"address\":\"ssh:dlrd@hostB:2222\""));
        ck_assert_ptr_nonnull(strstr(shown, "\"address\":\"ssh:hostB:2222\""));
        ck_assert_ptr_null(strstr(shown, "dlrd@"));
        /* Nothing else differs: the same document but for the user. */
        char *at = strstr(whole, "dlrd@");
        ck_assert_ptr_nonnull(at);
        memmove(at, at + 5, strlen(at + 5) + 1);
        ck_assert_str_eq(whole, shown);
}
END_TEST

static Suite *redact_suite(void)
{
        Suite *s = suite_create("redact");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_ssh_user_removed);
        tcase_add_test(tc, test_ssh_without_user_unchanged);
        tcase_add_test(tc, test_ssh_nothing_before_last_at_survives);
        tcase_add_test(tc, test_unix_whole);
        tcase_add_test(tc, test_other_transports_only_named);
        tcase_add_test(tc, test_export_redacted);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(redact_suite());
}
