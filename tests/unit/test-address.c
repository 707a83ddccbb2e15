/* Unit tests for daemon/state/peer-address.[ch]: the two grammars of peer addresses, what is refused, and
 * the exact sd-bus address built from each, escaping included. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shared/cleanup.h"
#include "state/peer-address.h"
#include "unit.h"

static void assert_refused(const char *s)
{
        const char *why = NULL;
        PeerAddress a;

        ck_assert_msg(peer_address_parse(s, &a, &why) == -EINVAL, "accepted: %s", s);
        ck_assert_ptr_nonnull(why);
        ck_assert_msg(strncmp(why, "invalid peer bus address", 24) == 0, "%s: reason %s", s, why);
}

static PeerAddress parsed(const char *s)
{
        const char *why = "unset";
        PeerAddress a;

        memset(&a, 0xaa, sizeof a);
        ck_assert_msg(peer_address_parse(s, &a, &why) == 0, "refused: %s (%s)", s, why ? why : "(null)");
        ck_assert_ptr_null(why);
        return a;
}

START_TEST(test_unix_accepted)
{
        PeerAddress a = parsed("unix:path=/run/dlrd/peer.sock");

        ck_assert_int_eq(a.kind, PEER_ADDRESS_UNIX);
        ck_assert_str_eq(a.path, "/run/dlrd/peer.sock");
        a = parsed("unix:path=/tmp/dlt.Ab_9-x/hostB/peer.sock");
        ck_assert_str_eq(a.path, "/tmp/dlt.Ab_9-x/hostB/peer.sock");
        a = parsed("unix:path=/");
        ck_assert_str_eq(a.path, "/");
}
END_TEST

START_TEST(test_unix_refused)
{
        static const char *const bad[] = {
                "unix:path=rel/peer.sock",
                "unix:path=",
                "unix:path=/x,guid=0123456789abcdef0123456789abcdef",
                "unix:path=/x;unix:path=/y",
                "unix:path=/x;",
                "unix:path=/x,",
                "unix:path=/a%2cb",
                "unix:path=/a b",
                "unix:path=/a\tb",
                "unix:path=/a\nb",
                "unix:path=/a=b",
                "unix:path=/a*b",
                "unix:path=/a\\b",
                "unix:path=/a~b",
                "unix:path=/caf\xc3\xa9",
                "unix:abstract=dlrd",
                "unix:guid=0123456789abcdef0123456789abcdef,path=/x",
                "unix:tmpdir=/tmp",
                "unix:runtime=yes",
                "unix:",
                "unix:PATH=/x",
                "UNIX:path=/x",
                " unix:path=/x",
                "unixexec:path=/bin/sh,argv1=-c,argv2=touch%20/tmp/owned",
                "unixexec:path=systemd-stdio-bridge,argv1=--bus-path=unix:path=/run/dlrd/peer.sock",
                "unixexec:path=ssh,argv1=hostC",
                "tcp:host=192.0.2.1,port=4242",
                "nonce-tcp:host=192.0.2.1,port=4242,noncefile=/x",
                "launchd:env=X",
                "systemd:",
                "x-machine-unix:machine=foo",
                "kernel:path=/sys/fs/kdbus/0-system/bus",
                "",
        };
        char big[10 + PEER_UNIX_PATH_MAX + 2] = "unix:path=/";

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_refused(bad[i]);
        /* 107 characters of path are the most a socket address holds. */
        memset(big + 11, 'a', PEER_UNIX_PATH_MAX - 1);
        ck_assert_uint_eq(strlen(big), 10 + PEER_UNIX_PATH_MAX);
        ck_assert_str_eq(parsed(big).path, big + 10);
        big[10 + PEER_UNIX_PATH_MAX] = 'a';
        assert_refused(big);
}
END_TEST

START_TEST(test_ssh_accepted)
{
        PeerAddress a = parsed("ssh:hostb.example.org");

        ck_assert_int_eq(a.kind, PEER_ADDRESS_SSH);
        ck_assert_str_eq(a.host, "hostb.example.org");
        ck_assert_str_eq(a.user, "");
        ck_assert_uint_eq(a.port, 0);

        a = parsed("ssh:dlrd@hostB:2222");
        ck_assert_str_eq(a.user, "dlrd");
        ck_assert_str_eq(a.host, "hostB");
        ck_assert_uint_eq(a.port, 2222);

        a = parsed("ssh:root@192.0.2.1");
        ck_assert_str_eq(a.user, "root");
        ck_assert_str_eq(a.host, "192.0.2.1");

        a = parsed("ssh:_svc-1@[2001:db8::1]:65535");
        ck_assert_str_eq(a.user, "_svc-1");
        ck_assert_str_eq(a.host, "2001:db8::1");
        ck_assert_uint_eq(a.port, 65535);

        a = parsed("ssh:[::ffff:192.0.2.1]");
        ck_assert_str_eq(a.host, "::ffff:192.0.2.1");
        ck_assert_uint_eq(a.port, 0);

        ck_assert_uint_eq(parsed("ssh:h:1").port, 1);
        ck_assert_str_eq(parsed("ssh:a-b.c1").host, "a-b.c1");
        ck_assert_str_eq(parsed("ssh:1a.example").host, "1a.example");
        ck_assert_str_eq(parsed("ssh:abcdefghijklmnopqrstuvwxyz012345@h").user, "abcdefghijklmnopqrstuvwxyz012345");
}
END_TEST

START_TEST(test_ssh_refused)
{
        static const char *const bad[] = {
                /* option injection, in every place a '-' could reach ssh's command line */
                "ssh:-oProxyCommand=x",
                "ssh:-oProxyCommand=touch%20/tmp/owned",
                "ssh:-F/tmp/x@host",
                "ssh:-l@host",
                "ssh:host:-22",
                "ssh:-host",
                "ssh:host-",
                "ssh:a.-b",
                "ssh:[-1]",
                /* ports */
                "ssh:host:0",
                "ssh:host:65536",
                "ssh:host:99999",
                "ssh:host:022",
                "ssh:host:+22",
                "ssh:host:",
                "ssh:host:22a",
                "ssh:host:123456",
                "ssh:host:22:23",
                "ssh:[::1]:0",
                "ssh:[::1]x",
                /* users */
                "ssh:user@",
                "ssh:@host",
                "ssh:User@host",
                "ssh:1user@host",
                "ssh:us.er@host",
                "ssh:us er@host",
                "ssh:a@b@host",
                "ssh:abcdefghijklmnopqrstuvwxyz0123456@h",
                /* hosts */
                "ssh:",
                "ssh::22",
                "ssh:host.",
                "ssh:.host",
                "ssh:a..b",
                "ssh:ho_st",
                "ssh:host/x",
                "ssh:host,argv9=x",
                "ssh:host;unix:path=/x",
                "ssh:host%2c",
                "ssh:ho st",
                "ssh:host\n",
                "ssh:host\x7f",
                "ssh:h\x01st",
                "ssh:caf\xc3\xa9.example",
                "ssh:1.2.3",
                "ssh:1.2.3.4.5",
                "ssh:1.2.3.256",
                "ssh:01.2.3.4",
                "ssh:127.1",
                "ssh:0x7f000001",
                "ssh:0x7f.0.0.1",
                "ssh:2130706433",
                "ssh:example.123",
                "ssh:2001:db8::1",
                "ssh:[2001:db8::1",
                "ssh:[]",
                "ssh:[host]",
                "ssh:[192.0.2.1]",
                "ssh:[fe80::1%eth0]",
                "ssh:[fe80::1%25eth0]",
                "ssh:[::1]]",
                "ssh://host",
                "ssh: host",
                "SSH:host",
                "sshhost",
        };
        char label[4 + 64 + 1] = "ssh:", name[4 + PEER_SSH_HOST_MAX + 2] = "ssh:";

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_refused(bad[i]);

        /* Labels of 63 characters at most; names of 253 at most. */
        memset(label + 4, 'a', 63);
        ck_assert_uint_eq(strlen(parsed(label).host), 63);
        label[4 + 63] = 'a';
        assert_refused(label);
        for (size_t i = 4; i < 4 + PEER_SSH_HOST_MAX; i++)
                name[i] = (i - 4) % 4 == 3 ? '.' : 'a';
        ck_assert_uint_eq(strlen(parsed(name).host), PEER_SSH_HOST_MAX);
        name[4 + PEER_SSH_HOST_MAX] = 'b';
        assert_refused(name);
}
END_TEST

START_TEST(test_other_forms_refused)
{
        const char *why = NULL;

        assert_refused("unix:path=/a;ssh:host");
        assert_refused("ssh:host;ssh:other");
        /* Only validating: ret may be NULL, the reason is still given. */
        ck_assert_int_eq(peer_address_parse("unixexec:path=/bin/sh", NULL, &why), -EINVAL);
        ck_assert_str_eq(why, "invalid peer bus address: expected unix:path=/PATH or ssh:[USER@]HOST[:PORT]");
        ck_assert_int_eq(peer_address_parse(NULL, NULL, &why), -EINVAL);
        ck_assert_int_eq(peer_address_parse("ssh:hostB", NULL, &why), 0);
        ck_assert_ptr_null(why);
}
END_TEST

static char *bus_for(const char *s, const char *config)
{
        char *out = NULL;

        ck_assert_int_eq(peer_address_bus_for(s, config, &out), 0);
        ck_assert_ptr_nonnull(out);
        return out;
}

START_TEST(test_bus_unix)
{
        char *s = bus_for("unix:path=/run/dlrd/peer.sock", "/etc/dlrd/ssh_config");

        ck_assert_str_eq(s, "unix:path=/run/dlrd/peer.sock");
        free(s);
}
END_TEST

#define SSH "unixexec:path=" DLRD_SSH ",argv0=ssh,argv1=-F,argv2="
#define FIXED ",argv3=-T,argv4=-x,argv5=-a,argv6=-o,argv7=BatchMode%3dyes"

START_TEST(test_bus_ssh)
{
        char *s;

        /* The path of ssh is configure's, without anything to escape. */
        ck_assert_str_eq(DLRD_SSH, "/usr/bin/ssh");

        s = bus_for("ssh:hostB", NULL);
        ck_assert_str_eq(s, SSH "none" FIXED ",argv8=--,argv9=hostB");
        free(s);

        s = bus_for("ssh:hostB", "none");
        ck_assert_str_eq(s, SSH "none" FIXED ",argv8=--,argv9=hostB");
        free(s);

        s = bus_for("ssh:root@192.0.2.2", "/etc/dlrd/ssh_config");
        ck_assert_str_eq(s, SSH "/etc/dlrd/ssh_config" FIXED ",argv8=-l,argv9=root,argv10=--,argv11=192.0.2.2");
        free(s);

        s = bus_for("ssh:dlrd_1@[2001:db8::2]:2222", "/etc/dlrd/ssh_config");
        ck_assert_str_eq(s, SSH "/etc/dlrd/ssh_config" FIXED
                ",argv8=-p,argv9=2222,argv10=-l,argv11=dlrd_1,argv12=--,argv13=2001%3adb8%3a%3a2");
        free(s);

        s = bus_for("ssh:h-1.example:22", NULL);
        ck_assert_str_eq(s, SSH "none" FIXED ",argv8=-p,argv9=22,argv10=--,argv11=h-1.example");
        free(s);
}
END_TEST

START_TEST(test_bus_escaping)
{
        char *s;

        /* Every byte of the configuration path outside D-Bus's plain set is %XX: ',' and ';' would end the
         * value or the address, '%' would start an escape. */
        s = bus_for("ssh:h", "/etc/my dlrd,x=1;y%z/\xc3\xa9~ssh_config");
        ck_assert_str_eq(s, SSH "/etc/my%20dlrd%2cx%3d1%3by%25z/%c3%a9%7essh_config" FIXED ",argv8=--,argv9=h");
        free(s);

        s = bus_for("ssh:h", "/a*b_c-d.e/F9");
        ck_assert_str_eq(s, SSH "/a*b_c-d.e/F9" FIXED ",argv8=--,argv9=h");
        free(s);
}
END_TEST

START_TEST(test_bus_refused)
{
        PeerAddress a = parsed("ssh:h");
        char *s = NULL;

        ck_assert_int_eq(peer_address_bus_for("unixexec:path=/bin/sh", NULL, &s), -EINVAL);
        ck_assert_int_eq(peer_address_bus_for("ssh:-oProxyCommand=x", NULL, &s), -EINVAL);
        ck_assert_int_eq(peer_address_to_bus(&a, "relative/ssh_config", &s), -EINVAL);
        ck_assert_int_eq(peer_address_to_bus(&a, "/etc/ssh\nconfig", &s), -EINVAL);
        ck_assert_ptr_null(s);
        a.kind = _PEER_ADDRESS_KIND_INVALID;
        ck_assert_int_eq(peer_address_to_bus(&a, NULL, &s), -EINVAL);
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_ssh_config_check)
{
        const char *why = NULL;

        ck_assert_int_eq(peer_ssh_config_check("none", &why), 0);
        ck_assert_int_eq(peer_ssh_config_check("/etc/dlrd/ssh_config", &why), 0);
        ck_assert_int_eq(peer_ssh_config_check("/with space,comma;semicolon", &why), 0);
        ck_assert_int_eq(peer_ssh_config_check("", &why), -EINVAL);
        ck_assert_int_eq(peer_ssh_config_check("ssh_config", &why), -EINVAL);
        ck_assert_int_eq(peer_ssh_config_check("-oProxyCommand=x", &why), -EINVAL);
        ck_assert_int_eq(peer_ssh_config_check("/a\tb", &why), -EINVAL);
        ck_assert_int_eq(peer_ssh_config_check(NULL, &why), -EINVAL);
        ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(test_kind_strings)
{
        ck_assert_str_eq(peer_address_kind_to_string(PEER_ADDRESS_UNIX), "unix");
        ck_assert_str_eq(peer_address_kind_to_string(PEER_ADDRESS_SSH), "ssh");
        ck_assert_ptr_null(peer_address_kind_to_string(_PEER_ADDRESS_KIND_MAX));
        ck_assert_int_eq(peer_address_kind_from_string("ssh"), PEER_ADDRESS_SSH);
        ck_assert_int_eq(peer_address_kind_from_string("unixexec"), _PEER_ADDRESS_KIND_INVALID);
}
END_TEST

START_TEST(test_member_check_uses_grammar)
{
        const char *why = NULL;

        ck_assert_int_eq(member_check("hostB", "192.0.2.2", "ssh:root@192.0.2.2", NULL, &why), 0);
        ck_assert_int_eq(member_check("hostB", "192.0.2.2", "unix:path=/run/b.sock", NULL, &why), 0);
        ck_assert_int_eq(member_check("hostB", "192.0.2.2", "unixexec:path=/bin/sh", NULL, &why), -EINVAL);
        ck_assert_str_eq(why, "invalid peer bus address: expected unix:path=/PATH or ssh:[USER@]HOST[:PORT]");
        ck_assert_int_eq(member_check("hostB", "192.0.2.2", "ssh:host:0", NULL, &why), -EINVAL);
        ck_assert_int_eq(member_check("hostB", "192.0.2.2", NULL, NULL, &why), -EINVAL);
}
END_TEST

static Suite *address_suite(void)
{
        Suite *s = suite_create("peer-address");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_unix_accepted);
        tcase_add_test(tc, test_unix_refused);
        tcase_add_test(tc, test_ssh_accepted);
        tcase_add_test(tc, test_ssh_refused);
        tcase_add_test(tc, test_other_forms_refused);
        tcase_add_test(tc, test_bus_unix);
        tcase_add_test(tc, test_bus_ssh);
        tcase_add_test(tc, test_bus_escaping);
        tcase_add_test(tc, test_bus_refused);
        tcase_add_test(tc, test_ssh_config_check);
        tcase_add_test(tc, test_kind_strings);
        tcase_add_test(tc, test_member_check_uses_grammar);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(address_suite());
}
