/* Unit tests for daemon/peer/hostkey.[ch]: the host key file (created once, kept private, refused when others
 * may read it), the public key's textual form, and the handshake signatures: valid only for the transcript
 * signed (role, both host ids, both nonces) and only under the signer's key. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peer/hostkey.h"
#include "unit.h"

static char dir[64];

static void setup(void)
{
        snprintf(dir, sizeof dir, "/tmp/test-hostkey.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
        char path[128];

        snprintf(path, sizeof path, "%s/%s", dir, HOSTKEY_FILE);
        (void) unlink(path);
        (void) rmdir(dir);
}

static const char *key_path(void)
{
        static char path[128];

        snprintf(path, sizeof path, "%s/%s", dir, HOSTKEY_FILE);
        return path;
}

START_TEST(test_create_then_load_same_key)
{
        HostKey *a = NULL, *b = NULL;
        struct stat st;

        ck_assert_int_eq(hostkey_load_or_create(dir, &a), 0);
        ck_assert_int_eq(stat(key_path(), &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_int_eq(hostkey_load_or_create(dir, &b), 0);
        ck_assert_str_eq(hostkey_public(a), hostkey_public(b));
        ck_assert_uint_eq(strlen(hostkey_public(a)), HOSTKEY_PUBLIC_LEN);
        ck_assert_int_eq(hostkey_public_check(hostkey_public(a)), 0);
        hostkey_free(a);
        hostkey_free(b);
}
END_TEST

START_TEST(test_refuses_readable_key)
{
        HostKey *k = NULL;

        ck_assert_int_eq(hostkey_load_or_create(dir, &k), 0);
        hostkey_free(k);
        k = NULL;
        ck_assert_int_eq(chmod(key_path(), 0640), 0);
        ck_assert_int_eq(hostkey_load_or_create(dir, &k), -EPERM);
        ck_assert_ptr_null(k);
}
END_TEST

START_TEST(test_refuses_garbage_key)
{
        HostKey *k = NULL;
        int fd = open(key_path(), O_WRONLY | O_CREAT | O_EXCL, 0600);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "not a key\n", 10), 10);
        close(fd);
        ck_assert_int_lt(hostkey_load_or_create(dir, &k), 0);
        ck_assert_ptr_null(k);
}
END_TEST

START_TEST(test_public_form)
{
        char ok[HOSTKEY_PUBLIC_LEN + 1] = "ed25519:";

        memset(ok + 8, 'a', 64);
        ok[72] = '\0';
        ck_assert_int_eq(hostkey_public_check(ok), 0);
        ok[20] = 'A'; /* lowercase only: one spelling per key */
        ck_assert_int_eq(hostkey_public_check(ok), -EINVAL);
        ok[20] = 'a';
        ok[71] = '\0'; /* one digit short */
        ck_assert_int_eq(hostkey_public_check(ok), -EINVAL);
        ck_assert_int_eq(hostkey_public_check(""), -EINVAL);
        ck_assert_int_eq(hostkey_public_check("rsa:00"), -EINVAL);
}
END_TEST

START_TEST(test_handshake_binds_transcript)
{
        HostKey *server = NULL, *other = NULL;
        uint8_t cn[HANDSHAKE_NONCE_LEN], sn[HANDSHAKE_NONCE_LEN], sig[HOSTKEY_SIG_LEN];

        ck_assert_int_eq(hostkey_generate(&server), 0);
        ck_assert_int_eq(hostkey_generate(&other), 0);
        ck_assert_int_eq(handshake_nonce(cn), 0);
        ck_assert_int_eq(handshake_nonce(sn), 0);
        ck_assert_mem_ne(cn, sn, HANDSHAKE_NONCE_LEN);
        ck_assert_int_eq(handshake_sign(server, HANDSHAKE_SERVER, "hostB", "hostA", cn, sn, sig), 0);

        const char *pub = hostkey_public(server);
        ck_assert_int_eq(handshake_verify(pub, HANDSHAKE_SERVER, "hostB", "hostA", cn, sn, sig, sizeof sig), 0);
        /* Each part of the transcript counts. */
        ck_assert_int_eq(handshake_verify(pub, HANDSHAKE_CLIENT, "hostB", "hostA", cn, sn, sig, sizeof sig),
                -EBADMSG);
        ck_assert_int_eq(handshake_verify(pub, HANDSHAKE_SERVER, "hostC", "hostA", cn, sn, sig, sizeof sig),
                -EBADMSG);
        ck_assert_int_eq(handshake_verify(pub, HANDSHAKE_SERVER, "hostB", "hostC", cn, sn, sig, sizeof sig),
                -EBADMSG);
        ck_assert_int_eq(handshake_verify(pub, HANDSHAKE_SERVER, "hostB", "hostA", sn, cn, sig, sizeof sig),
                -EBADMSG);
        /* Host ids are length-delimited: "ab"+"c" is not "a"+"bc". */
        ck_assert_int_eq(handshake_sign(server, HANDSHAKE_SERVER, "ab", "c", cn, sn, sig), 0);
        ck_assert_int_eq(handshake_verify(pub, HANDSHAKE_SERVER, "a", "bc", cn, sn, sig, sizeof sig), -EBADMSG);
        ck_assert_int_eq(handshake_verify(pub, HANDSHAKE_SERVER, "ab", "c", cn, sn, sig, sizeof sig), 0);
        /* Another key, a flipped bit, a short signature. */
        ck_assert_int_eq(handshake_verify(hostkey_public(other), HANDSHAKE_SERVER, "ab", "c", cn, sn, sig,
                                 sizeof sig),
                -EBADMSG);
        sig[10] ^= 1;
        ck_assert_int_eq(handshake_verify(pub, HANDSHAKE_SERVER, "ab", "c", cn, sn, sig, sizeof sig), -EBADMSG);
        sig[10] ^= 1;
        ck_assert_int_eq(handshake_verify(pub, HANDSHAKE_SERVER, "ab", "c", cn, sn, sig, sizeof sig - 1), -EBADMSG);
        ck_assert_int_eq(handshake_verify("ed25519:zz", HANDSHAKE_SERVER, "ab", "c", cn, sn, sig, sizeof sig),
                -EINVAL);
        hostkey_free(server);
        hostkey_free(other);
}
END_TEST

START_TEST(test_save_and_load_file)
{
        HostKey *a = NULL, *b = NULL;

        ck_assert_int_eq(hostkey_generate(&a), 0);
        ck_assert_int_eq(hostkey_save_file(a, key_path()), 0);
        ck_assert_int_eq(hostkey_save_file(a, key_path()), -EEXIST);
        ck_assert_int_eq(hostkey_load_file(key_path(), &b), 0);
        ck_assert_str_eq(hostkey_public(a), hostkey_public(b));
        hostkey_free(a);
        hostkey_free(b);
}
END_TEST

static Suite *hostkey_suite(void)
{
        Suite *s = suite_create("hostkey");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_create_then_load_same_key);
        tcase_add_test(tc, test_refuses_readable_key);
        tcase_add_test(tc, test_refuses_garbage_key);
        tcase_add_test(tc, test_public_form);
        tcase_add_test(tc, test_handshake_binds_transcript);
        tcase_add_test(tc, test_save_and_load_file);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(hostkey_suite());
}
