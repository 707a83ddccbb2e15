/* Unit tests for daemon/peer/seen.[ch]: vectors of changes seen, their D-Bus form, and the decision whether
 * a difference between two hosts is one that changes on their way explain (look again) or one that only a
 * whole-state exchange repairs. */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer/seen.h"
#include "unit.h"

/* A vector from "host=seq" pairs, NULL-terminated. */
static SeenVec vec(const char *first, ...)
{
        SeenVec s = {};
        va_list ap;

        va_start(ap, first);
        for (const char *e = first; e; e = va_arg(ap, const char *)) {
                char host[64];
                unsigned long long seq;
                ck_assert_int_eq(sscanf(e, "%63[^=]=%llu", host, &seq), 2);
                ck_assert_int_eq(seen_raise(&s, host, seq), 0);
        }
        va_end(ap);
        return s;
}

START_TEST(test_raise_and_get)
{
        SeenVec s = vec("hostA=5", NULL);

        ck_assert_uint_eq(seen_get(&s, "hostA"), 5);
        ck_assert_uint_eq(seen_get(&s, "hostB"), 0);
        /* Raising never lowers: an older seq arriving late changes nothing. */
        ck_assert_int_eq(seen_raise(&s, "hostA", 3), 0);
        ck_assert_uint_eq(seen_get(&s, "hostA"), 5);
        ck_assert_int_eq(seen_raise(&s, "hostA", 9), 0);
        ck_assert_uint_eq(seen_get(&s, "hostA"), 9);
        ck_assert_int_eq(seen_raise(&s, "hostB", 1), 0);
        ck_assert_uint_eq(s.n, 2);
        seen_clear(&s);
        ck_assert_uint_eq(s.n, 0);
        ck_assert_ptr_null(s.v);
}
END_TEST

START_TEST(test_covers)
{
        SeenVec a = vec("hostA=5", "hostB=7", NULL), b = vec("hostA=5", NULL), c = vec("hostC=1", NULL),
                empty = {};

        ck_assert(seen_covers(&a, &b));
        ck_assert(!seen_covers(&b, &a));
        ck_assert(seen_covers(&a, &a));
        /* A missing host counts as 0: nothing of it seen. */
        ck_assert(!seen_covers(&a, &c));
        ck_assert(seen_covers(&a, &empty));
        ck_assert(seen_covers(&empty, &empty));
        SeenVec zero = vec("hostC=0", NULL);
        ck_assert(seen_covers(&empty, &zero));
        seen_clear(&a);
        seen_clear(&b);
        seen_clear(&c);
        seen_clear(&zero);
}
END_TEST

/* The decision, case by case. Vectors are this host's ("mine") and the peer's ("theirs"), at the previous
 * comparison ("then") and at this one. */
START_TEST(test_difference_first_time_is_in_flight)
{
        SeenVec mine = vec("hostA=10", "hostB=4", NULL), theirs = vec("hostA=9", "hostB=4", NULL), none = {};

        /* The first difference is never acted on: the peer may lack a change of ours still on its way. */
        ck_assert(!seen_difference_is_real(false, &none, &none, &mine, &theirs));
        /* Even with identical vectors: a third host's push may have reached one side only. */
        ck_assert(!seen_difference_is_real(false, &none, &none, &mine, &mine));
        seen_clear(&mine);
        seen_clear(&theirs);
}
END_TEST

START_TEST(test_difference_changes_arrived)
{
        /* Then: the peer lacked our change 10 and we lacked its 6. Now both arrived, and new changes
         * (ours 12, a third host's 3) are on their way: a stream of changes, not a divergence. */
        SeenVec mine_then = vec("hostA=10", "hostB=4", NULL), theirs_then = vec("hostA=9", "hostB=6", NULL);
        SeenVec mine = vec("hostA=12", "hostB=6", "hostC=3", NULL), theirs = vec("hostA=10", "hostB=6", NULL);

        ck_assert(!seen_difference_is_real(true, &mine_then, &theirs_then, &mine, &theirs));
        seen_clear(&mine_then);
        seen_clear(&theirs_then);
        seen_clear(&mine);
        seen_clear(&theirs);
}
END_TEST

START_TEST(test_difference_we_still_lack_theirs)
{
        /* The peer had its change 6 a comparison ago; we still have only 4: that push was lost. */
        SeenVec mine_then = vec("hostA=10", "hostB=4", NULL), theirs_then = vec("hostA=10", "hostB=6", NULL);
        SeenVec mine = vec("hostA=11", "hostB=4", NULL), theirs = vec("hostA=11", "hostB=7", NULL);

        ck_assert(seen_difference_is_real(true, &mine_then, &theirs_then, &mine, &theirs));
        seen_clear(&mine_then);
        seen_clear(&theirs_then);
        seen_clear(&mine);
        seen_clear(&theirs);
}
END_TEST

START_TEST(test_difference_they_still_lack_ours)
{
        /* We had our change 10 then; the peer still reports 9. */
        SeenVec mine_then = vec("hostA=10", NULL), theirs_then = vec("hostA=9", NULL);
        SeenVec mine = vec("hostA=10", NULL), theirs = vec("hostA=9", NULL);

        ck_assert(seen_difference_is_real(true, &mine_then, &theirs_then, &mine, &theirs));
        /* A host it has never heard of counts as nothing seen. */
        SeenVec mine2 = vec("hostA=10", "hostC=2", NULL), theirs2 = vec("hostA=10", NULL);
        ck_assert(seen_difference_is_real(true, &mine2, &theirs2, &mine2, &theirs2));
        seen_clear(&mine_then);
        seen_clear(&theirs_then);
        seen_clear(&mine);
        seen_clear(&theirs);
        seen_clear(&mine2);
        seen_clear(&theirs2);
}
END_TEST

START_TEST(test_difference_equal_vectors_twice)
{
        /* Nothing was on its way either time and the digests still differ: something pushes do not carry
         * (a host that restarted from an older state, a bug) needs the whole state. */
        SeenVec v = vec("hostA=10", "hostB=4", NULL), w = vec("hostA=10", "hostB=4", NULL);

        ck_assert(seen_difference_is_real(true, &v, &w, &v, &w));
        /* Equal now but not then: what was on its way then has arrived; a fresh difference may be a third
         * host's push that reached one side only, so look again. */
        SeenVec then_mine = vec("hostA=9", "hostB=4", NULL);
        ck_assert(!seen_difference_is_real(true, &then_mine, &w, &v, &w));
        seen_clear(&v);
        seen_clear(&w);
        seen_clear(&then_mine);
}
END_TEST

/* a(st) round trip through a real message, and the bounds on what a peer may send. Messages need an open
 * connection: one end of a socket pair, never used for sending. */
static int pair[2] = { -1, -1 };

static sd_bus_message *new_message(sd_bus **bus)
{
        sd_bus_message *m = NULL;

        if (pair[0] < 0)
                ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
        ck_assert_int_ge(sd_bus_new(bus), 0);
        ck_assert_int_ge(sd_bus_set_fd(*bus, dup(pair[0]), dup(pair[0])), 0);
        ck_assert_int_ge(sd_bus_start(*bus), 0);
        ck_assert_int_ge(sd_bus_message_new_method_call(*bus, &m, "org.dlrd1", "/org/dlrd1", "org.dlrd1.Peer",
                                 "PutState"),
                0);
        return m;
}

static int read_back(sd_bus_message *m, SeenVec *ret)
{
        ck_assert_int_ge(sd_bus_message_seal(m, 1, 0), 0);
        ck_assert_int_ge(sd_bus_message_rewind(m, true), 0);
        return seen_read(m, ret);
}

START_TEST(test_dbus_round_trip)
{
        sd_bus *bus = NULL;
        sd_bus_message *m = new_message(&bus);
        SeenVec s = vec("hostA=1", "hostB=18446744073709551615", NULL), back = {};

        ck_assert_int_ge(seen_append(m, &s), 0);
        ck_assert_int_eq(read_back(m, &back), 0);
        ck_assert_uint_eq(back.n, 2);
        ck_assert(seen_covers(&s, &back) && seen_covers(&back, &s));
        sd_bus_message_unref(m);
        sd_bus_close_unref(bus);
        seen_clear(&s);
        seen_clear(&back);
}
END_TEST

static int read_raw(const char *const *hosts, size_t n)
{
        sd_bus *bus = NULL;
        sd_bus_message *m = new_message(&bus);
        SeenVec back = {};

        ck_assert_int_ge(sd_bus_message_open_container(m, 'a', "(st)"), 0);
        for (size_t i = 0; i < n; i++)
                ck_assert_int_ge(sd_bus_message_append(m, "(st)", hosts[i], (uint64_t) i + 1), 0);
        ck_assert_int_ge(sd_bus_message_close_container(m), 0);
        int r = read_back(m, &back);
        if (r == 0)
                ck_assert_uint_eq(back.n, n);
        else
                ck_assert_uint_eq(back.n, 0);
        seen_clear(&back);
        sd_bus_message_unref(m);
        sd_bus_close_unref(bus);
        return r;
}

START_TEST(test_dbus_refusals)
{
        static const char *const dup[] = { "hostA", "hostB", "hostA" };
        static const char *const bad[] = { "hostA", "bad host" };
        static const char *const empty[] = { "" };

        ck_assert_int_eq(read_raw(dup, 2), 0);
        ck_assert_int_eq(read_raw(dup, 3), -EBADMSG);
        ck_assert_int_eq(read_raw(bad, 2), -EBADMSG);
        ck_assert_int_eq(read_raw(empty, 1), -EBADMSG);
        ck_assert_int_eq(read_raw(NULL, 0), 0);
}
END_TEST

START_TEST(test_dbus_limit)
{
        enum { N = SEEN_MAX + 1 };
        static char names[N][16];
        static const char *hosts[N];

        for (size_t i = 0; i < N; i++) {
                snprintf(names[i], sizeof names[i], "h%zu", i);
                hosts[i] = names[i];
        }
        ck_assert_int_eq(read_raw(hosts, SEEN_MAX), 0);
        ck_assert_int_eq(read_raw(hosts, N), -EBADMSG);
}
END_TEST

static Suite *seen_suite(void)
{
        Suite *s = suite_create("seen");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_raise_and_get);
        tcase_add_test(tc, test_covers);
        tcase_add_test(tc, test_difference_first_time_is_in_flight);
        tcase_add_test(tc, test_difference_changes_arrived);
        tcase_add_test(tc, test_difference_we_still_lack_theirs);
        tcase_add_test(tc, test_difference_they_still_lack_ours);
        tcase_add_test(tc, test_difference_equal_vectors_twice);
        tcase_add_test(tc, test_dbus_round_trip);
        tcase_add_test(tc, test_dbus_refusals);
        tcase_add_test(tc, test_dbus_limit);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(seen_suite());
}
