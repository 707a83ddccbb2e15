/* Unit tests for daemon/reconcile/learnlimit.[ch]: a port's and a LIF's bursts, then their steady rates; ports
 * and LIFs limited apart from each other; an address that moved stays put for the hold time, then may move
 * again. */
#include <check.h>

#include "reconcile/learnlimit.h"
#include "unit.h"

static LearnLimit ll;
#define SEC 1000000ULL

static void setup(void)
{
        static const uint64_t seed[2] = { 1, 2 };

        learn_limit_init(&ll, seed);
}

static unsigned take_n(const char *lif, const char *port, unsigned n, uint64_t at)
{
        unsigned ok = 0;

        for (unsigned i = 0; i < n; i++)
                ok += learn_limit_take(&ll, "t", lif, port, at);
        return ok;
}

START_TEST(test_port_burst_then_rate)
{
        uint64_t t = 1000 * SEC;

        ck_assert_uint_eq(take_n("web", "tap1", 1000, t), LEARN_PORT_BURST);
        ck_assert_uint_eq(ll.dropped, 1000 - LEARN_PORT_BURST);
        /* One second later: the rate's worth, not more. */
        ck_assert_uint_eq(take_n("web", "tap1", 100, t + SEC), LEARN_PORT_PER_SEC);
        /* A long quiet time refills to the burst, not beyond. */
        ck_assert_uint_eq(take_n("web", "tap1", 1000, t + 3600 * SEC), LEARN_PORT_BURST);
        /* Another port of the same LIF has its own bucket. */
        ck_assert_uint_eq(take_n("web", "tap2", 1000, t + 3600 * SEC), LEARN_PORT_BURST);
}
END_TEST

START_TEST(test_lif_bounds_many_ports)
{
        uint64_t t = 50 * SEC;
        unsigned ok = 0;
        char port[16];

        for (unsigned p = 0; p < 64; p++) {
                snprintf(port, sizeof port, "tap%u", p);
                ok += take_n("db", port, 8, t);
        }
        ck_assert_uint_eq(ok, LEARN_LIF_BURST);
        /* Another LIF is not held back by this one. */
        ck_assert_uint_eq(take_n("web", "tapx", 1, t), 1);
}
END_TEST

START_TEST(test_move_hold)
{
        uint64_t t = 7 * SEC;

        ck_assert(learn_limit_move(&ll, "t", "web", "10.0.0.5", t));
        /* Flapping back at once, and again and again within the hold time: held. */
        for (unsigned i = 1; i <= 100; i++)
                ck_assert(!learn_limit_move(&ll, "t", "web", "10.0.0.5", t + i * (LEARN_MOVE_HOLD_USEC / 200)));
        ck_assert_uint_eq(ll.held, 100);
        /* Another address moves freely. */
        ck_assert(learn_limit_move(&ll, "t", "web", "10.0.0.6", t));
        /* After the hold time it may move again, once. */
        ck_assert(learn_limit_move(&ll, "t", "web", "10.0.0.5", t + LEARN_MOVE_HOLD_USEC));
        ck_assert(!learn_limit_move(&ll, "t", "web", "10.0.0.5", t + LEARN_MOVE_HOLD_USEC + 1));
}
END_TEST

START_TEST(test_keys_separate_parts)
{
        uint64_t t = 9 * SEC;

        /* ("ab", "c") and ("a", "bc") are different addresses' holds. */
        ck_assert(learn_limit_move(&ll, "t", "ab", "c", t));
        ck_assert(learn_limit_move(&ll, "t", "a", "bc", t));
}
END_TEST

static Suite *learnlimit_suite(void)
{
        Suite *s = suite_create("learnlimit");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_port_burst_then_rate);
        tcase_add_test(tc, test_lif_bounds_many_ports);
        tcase_add_test(tc, test_move_hold);
        tcase_add_test(tc, test_keys_separate_parts);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(learnlimit_suite());
}
