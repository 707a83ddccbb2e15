/* Unit tests for daemon/nl/nl.[ch]: a batch whose outcome is partly unknown (here: the socket fails under it)
 * is flagged, so that the manager follows it with the full resync that makes the kernel match again; a batch
 * the kernel answered in full is not. */
#include <check.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <unistd.h>

#include "nl/nl.h"
#include "unit.h"

/* A message the kernel accepts and ignores (and acks). */
static void add_noop(Netlink *nl)
{
        struct nlmsghdr h = { .nlmsg_len = NLMSG_HDRLEN, .nlmsg_type = NLMSG_NOOP, .nlmsg_flags = NLM_F_REQUEST };

        ck_assert_int_eq(netlink_batch_add_copy(nl, &h), 0);
}

START_TEST(test_uncertain_after_socket_failure)
{
        Netlink *nl = NULL;
        NetlinkResult res;
        int lowest, devnull;

        /* netlink_open makes one socket, which takes the lowest free descriptor. */
        lowest = dup(0);
        ck_assert_int_ge(lowest, 0);
        close(lowest);
        ck_assert_int_eq(netlink_open(&nl), 0);

        add_noop(nl);
        ck_assert_int_eq(netlink_batch_commit(nl, &res), 0);
        ck_assert_uint_eq(res.n_errors, 0);
        ck_assert(!res.lost);
        netlink_result_done(&res);
        ck_assert(!netlink_take_uncertain(nl));

        /* The socket goes away under the batch: sendmsg fails, and what went in is unknown. */
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        ck_assert_int_ge(devnull, 0);
        ck_assert_int_eq(dup2(devnull, lowest), lowest);
        close(devnull);
        add_noop(nl);
        add_noop(nl);
        ck_assert_int_lt(netlink_batch_commit(nl, &res), 0);
        netlink_result_done(&res);
        ck_assert(netlink_take_uncertain(nl));
        ck_assert(!netlink_take_uncertain(nl)); /* taken: cleared */
        netlink_closep(&nl);
}
END_TEST

static Suite *netlink_suite(void)
{
        Suite *s = suite_create("netlink");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_uncertain_after_socket_failure);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(netlink_suite());
}
