/* Unit tests for the RouteTable of daemon/state/route.c: open addressing with linear probing and
 * backward-shift deletion, checked directly and against a simple array model. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/config.h"
#include "unit.h"

/* A route with k next hops (k > 1: a malloc'ed array the table will own); gateways derived from tag. */
static Route mk_route(const IpPrefix *p, unsigned k, uint32_t tag)
{
        Route rt;

        memset(&rt, 0, sizeof rt);
        rt.prefix = *p;
        rt.n_nexthops = (uint8_t)k;
        rt.stamp_lamport = tag;
        rt.stamp_host = tag % 7;
        Nexthop *nh = k > 1 ? calloc(k, sizeof(Nexthop)) : &rt.nh.one;
        ck_assert_ptr_nonnull(nh);
        for (unsigned i = 0; i < k; i++) {
                nh[i].has_gw = 1;
                nh[i].gw[0] = 10;
                nh[i].gw[1] = (uint8_t)(tag >> 16);
                nh[i].gw[2] = (uint8_t)(tag >> 8);
                nh[i].gw[3] = (uint8_t)(tag + i);
                nh[i].lif = (uint16_t)(i + 1);
        }
        if (k > 1)
                rt.nh.many = nh;
        return rt;
}

/* Structural invariants: n matches, no prefix twice, and every route is reachable from its home slot without
 * crossing an empty slot (which is what backward-shift deletion must preserve). */
static void check_invariants(const RouteTable *t)
{
        size_t used = 0;

        if (t->capacity == 0) {
                ck_assert_uint_eq(t->n, 0);
                return;
        }
        ck_assert_uint_eq(t->capacity & (t->capacity - 1), 0); /* power of two */
        ck_assert_uint_lt(t->n, t->capacity);                  /* an empty slot ends every probe */
        for (size_t i = 0; i < t->capacity; i++) {
                const Route *rt = &t->slots[i];
                if (!rt->used)
                        continue;
                used++;
                size_t home = (size_t)ip_prefix_hash(&rt->prefix) & (t->capacity - 1);
                for (size_t j = home; j != i; j = (j + 1) & (t->capacity - 1))
                        ck_assert_msg(t->slots[j].used, "slot %zu empty between home %zu and slot %zu", j,
                                home, i);
                ck_assert_ptr_eq(route_table_get(t, &rt->prefix), rt);
        }
        ck_assert_uint_eq(used, t->n);
}

START_TEST(test_empty)
{
        RouteTable t = {};
        IpPrefix p = unit_prefix("10.0.0.0/8");
        Route old;

        ck_assert_ptr_null(route_table_get(&t, &p));
        ck_assert_int_eq(route_table_remove(&t, &p, &old), -ENOENT);
        ck_assert_int_eq(route_table_remove(&t, &p, NULL), -ENOENT);
        check_invariants(&t);
        size_t k = 0;
        ROUTE_TABLE_FOREACH(rt, &t)
        k++;
        ck_assert_uint_eq(k, 0);
        route_table_done(&t);
        ck_assert_ptr_null(t.slots);
        ck_assert_uint_eq(t.capacity, 0);
        ck_assert_uint_eq(t.n, 0);
}
END_TEST

START_TEST(test_put_get_replace)
{
        RouteTable t = {};
        IpPrefix p = unit_prefix("10.9.0.0/16"), q = unit_prefix("10.9.0.0/24"),
                 v6 = unit_prefix("2001:db8::/32");
        Route a = mk_route(&p, 3, 100), b, c, old;
        Nexthop *a_hops = a.nh.many;

        ck_assert_int_eq(route_table_put(&t, &a, NULL), 1);
        ck_assert_uint_eq(t.n, 1);
        ck_assert_uint_gt(t.capacity, 1);
        /* The table holds its own copy of the struct: the caller's variable may be reused. */
        memset(&a, 0xee, sizeof a);
        Route *got = route_table_get(&t, &p);
        ck_assert_ptr_nonnull(got);
        ck_assert_uint_eq(got->used, 1);
        ck_assert_uint_eq(got->n_nexthops, 3);
        ck_assert_ptr_eq(got->nh.many, a_hops); /* ownership of the array moved in */
        ck_assert_uint_eq(got->stamp_lamport, 100);
        /* Same address, other length; other family: distinct keys. */
        ck_assert_ptr_null(route_table_get(&t, &q));
        ck_assert_ptr_null(route_table_get(&t, &v6));

        /* Replacement returns 0, keeps n and hands back the old route untouched. */
        b = mk_route(&p, 1, 200);
        memset(&old, 0, sizeof old);
        ck_assert_int_eq(route_table_put(&t, &b, &old), 0);
        ck_assert_uint_eq(t.n, 1);
        ck_assert_uint_eq(old.n_nexthops, 3);
        ck_assert_ptr_eq(old.nh.many, a_hops);
        ck_assert_uint_eq(old.stamp_lamport, 100);
        ck_assert_int_eq(ip_prefix_compare(&old.prefix, &p), 0);
        route_done(&old);
        got = route_table_get(&t, &p);
        ck_assert_uint_eq(got->n_nexthops, 1);
        ck_assert_uint_eq(got->stamp_lamport, 200);
        ck_assert_uint_eq(got->nh.one.gw[3], 200);

        /* Replacement without ret_old frees the old route (valgrind checks). */
        c = mk_route(&p, 4, 300);
        ck_assert_int_eq(route_table_put(&t, &c, NULL), 0);
        c = mk_route(&p, 2, 400);
        ck_assert_int_eq(route_table_put(&t, &c, NULL), 0);
        ck_assert_uint_eq(route_table_get(&t, &p)->n_nexthops, 2);
        ck_assert_uint_eq(route_table_get(&t, &p)->nh.many[1].gw[3], (uint8_t)401);

        c = mk_route(&q, 0, 500);
        ck_assert_int_eq(route_table_put(&t, &c, NULL), 1);
        c = mk_route(&v6, 2, 600);
        ck_assert_int_eq(route_table_put(&t, &c, NULL), 1);
        ck_assert_uint_eq(t.n, 3);
        ck_assert_uint_eq(route_table_get(&t, &q)->n_nexthops, 0);
        check_invariants(&t);
        route_table_done(&t);
        ck_assert_uint_eq(t.n, 0);
}
END_TEST

START_TEST(test_remove)
{
        RouteTable t = {};
        IpPrefix p = unit_prefix("10.9.0.0/16"), q = unit_prefix("192.0.2.0/24");
        Route a = mk_route(&p, 2, 1), b = mk_route(&q, 5, 2), old;
        Nexthop *b_hops = b.nh.many;

        ck_assert_int_eq(route_table_put(&t, &a, NULL), 1);
        ck_assert_int_eq(route_table_put(&t, &b, NULL), 1);

        memset(&old, 0x55, sizeof old);
        ck_assert_int_eq(route_table_remove(&t, &q, &old), 0);
        ck_assert_uint_eq(t.n, 1);
        ck_assert_uint_eq(old.used, 0);
        ck_assert_uint_eq(old.n_nexthops, 5);
        ck_assert_ptr_eq(old.nh.many, b_hops);
        ck_assert_uint_eq(old.stamp_lamport, 2);
        ck_assert_ptr_null(route_table_get(&t, &q));
        ck_assert_int_eq(route_table_remove(&t, &q, NULL), -ENOENT);
        ck_assert_ptr_nonnull(route_table_get(&t, &p));

        /* A removed route can go back in. */
        ck_assert_int_eq(route_table_put(&t, &old, NULL), 1);
        ck_assert_uint_eq(route_table_get(&t, &q)->n_nexthops, 5);

        ck_assert_int_eq(route_table_remove(&t, &p, NULL), 0); /* frees the next hops itself */
        ck_assert_int_eq(route_table_remove(&t, &q, NULL), 0);
        ck_assert_uint_eq(t.n, 0);
        ck_assert_ptr_null(route_table_get(&t, &p));
        check_invariants(&t);
        route_table_done(&t);
}
END_TEST

START_TEST(test_growth_and_reserve)
{
        RouteTable t = {};
        size_t cap = 0, grows = 0;

        for (unsigned i = 0; i < 3000; i++) {
                IpPrefix p = {.family = AF_INET, .plen = 24, .addr = {10, (uint8_t)(i >> 8), (uint8_t)i}};
                Route rt = mk_route(&p, i % 3, i);
                ck_assert_int_eq(route_table_put(&t, &rt, NULL), 1);
                ck_assert_uint_eq(t.n, i + 1);
                ck_assert_uint_lt(t.n, t.capacity);
                if (t.capacity != cap) {
                        ck_assert_uint_eq(t.capacity, cap ? cap * 2 : 16);
                        cap = t.capacity;
                        grows++;
                }
        }
        /* Grown by doubling from 16, and not oversized: at least a quarter full. */
        ck_assert_uint_ge(grows, 8);
        ck_assert_uint_le(t.capacity, 4 * 3000);
        check_invariants(&t);
        for (unsigned i = 0; i < 3000; i++) {
                IpPrefix p = {.family = AF_INET, .plen = 24, .addr = {10, (uint8_t)(i >> 8), (uint8_t)i}};
                Route *rt = route_table_get(&t, &p);
                ck_assert_ptr_nonnull(rt);
                ck_assert_uint_eq(rt->stamp_lamport, i);
                ck_assert_uint_eq(rt->n_nexthops, i % 3);
        }
        size_t seen = 0;
        ROUTE_TABLE_FOREACH(rt, &t)
        seen++;
        ck_assert_uint_eq(seen, 3000);
        route_table_done(&t);

        /* Reserving first means no resize (and no moved slots) while filling. */
        ck_assert_int_eq(route_table_reserve(&t, 1000), 0);
        ck_assert_uint_gt(t.capacity, 1000);
        ck_assert_uint_le(t.capacity, 4096);
        ck_assert_uint_eq(t.n, 0);
        size_t reserved = t.capacity;
        Route *slots = t.slots;
        for (unsigned i = 0; i < 1000; i++) {
                IpPrefix p = {.family = AF_INET6,
                        .plen = 64,
                        .addr = {0x20, 0x01, 0x0d, 0xb8, (uint8_t)(i >> 8), (uint8_t)i}};
                Route rt = mk_route(&p, 1, i);
                ck_assert_int_eq(route_table_put(&t, &rt, NULL), 1);
        }
        ck_assert_ptr_eq(t.slots, slots);
        ck_assert_uint_eq(t.capacity, reserved);
        ck_assert_int_eq(route_table_reserve(&t, 0), 0);
        ck_assert_uint_eq(t.capacity, reserved);
        check_invariants(&t);
        route_table_done(&t);
}
END_TEST

/* Finds count IPv4 /32 prefixes whose home slot in a table of capacity cap is home, starting the search at
 * *next. */
static void find_colliding(size_t cap, size_t home, unsigned count, uint32_t *next, IpPrefix *ret)
{
        for (unsigned found = 0; found < count; (*next)++) {
                uint32_t x = *next;
                IpPrefix p = {.family = AF_INET,
                        .plen = 32,
                        .addr = {10, (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x}};
                ck_assert_uint_lt(x, 1u << 24);
                if (((size_t)ip_prefix_hash(&p) & (cap - 1)) == home)
                        ret[found++] = p;
        }
}

START_TEST(test_backward_shift_wraparound)
{
        /* Probe chains that collide and wrap from the last slot to the first, then removal in every
         * position. */
        IpPrefix a[4], b[2], c[1];
        RouteTable probe = {};
        uint32_t next = 0;
        size_t cap;

        /* The capacity a table has once it holds 7 routes, whatever the growth policy. */
        ck_assert_int_eq(route_table_reserve(&probe, 7), 0);
        cap = probe.capacity;
        route_table_done(&probe);
        ck_assert_uint_ge(cap, 8);

        find_colliding(cap, cap - 2, 4, &next, a);
        find_colliding(cap, cap - 1, 2, &next, b);
        find_colliding(cap, 0, 1, &next, c);
        const IpPrefix *order[] = {&a[0], &a[1], &a[2], &b[0], &c[0], &a[3], &b[1]};
        enum { N = sizeof order / sizeof order[0] };

        /* For each victim: build the same table, remove the victim, check the rest. Then remove all in
         * order. */
        for (unsigned victim = 0; victim < N; victim++) {
                RouteTable t = {};
                ck_assert_int_eq(route_table_reserve(&t, N), 0);
                for (unsigned i = 0; i < N; i++) {
                        Route rt = mk_route(order[i], 2, i);
                        ck_assert_int_eq(route_table_put(&t, &rt, NULL), 1);
                }
                ck_assert_uint_eq(t.capacity, cap);
                /* The chain really wraps: slots cap-2, cap-1, 0, 1, 2, 3, 4 are used. */
                for (size_t s = cap - 2; s != 5; s = (s + 1) & (cap - 1))
                        ck_assert_msg(t.slots[s].used, "slot %zu unused", s);
                check_invariants(&t);

                ck_assert_int_eq(route_table_remove(&t, order[victim], NULL), 0);
                ck_assert_ptr_null(route_table_get(&t, order[victim]));
                check_invariants(&t);
                for (unsigned i = 0; i < N; i++)
                        if (i != victim) {
                                Route *rt = route_table_get(&t, order[i]);
                                ck_assert_msg(rt != NULL, "route %u lost after removing %u", i, victim);
                                ck_assert_uint_eq(rt->stamp_lamport, i);
                        }
                /* Remove the rest, starting after the victim, checking each time. */
                for (unsigned k = 1; k < N; k++) {
                        unsigned i = (victim + k) % N;
                        ck_assert_int_eq(route_table_remove(&t, order[i], NULL), 0);
                        check_invariants(&t);
                        for (unsigned m = k + 1; m < N; m++)
                                ck_assert_ptr_nonnull(route_table_get(&t, order[(victim + m) % N]));
                }
                ck_assert_uint_eq(t.n, 0);
                for (size_t s = 0; s < t.capacity; s++)
                        ck_assert(!t.slots[s].used);
                route_table_done(&t);
        }
}
END_TEST

/* ---- randomized model test ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
        /* xorshift64*: the same sequence on every platform, unlike rand(). */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * 2685821657736338717ull;
}

enum { MODEL_KEYS = 2000, MODEL_OPS = 20000 };

typedef struct ModelEntry {
        bool present;
        Route route; /* deep copy */
} ModelEntry;

static IpPrefix model_key(unsigned i)
{
        IpPrefix p;

        memset(&p, 0, sizeof p);
        if (i % 3 == 2) {
                p.family = AF_INET6;
                p.plen = (uint8_t)(48 + i % 81); /* 48..128 */
                p.addr[0] = 0x20;
                p.addr[1] = 0x01;
                p.addr[2] = 0x0d;
                p.addr[3] = 0xb8;
                p.addr[4] = (uint8_t)(i >> 8);
                p.addr[5] = (uint8_t)i;
        } else {
                p.family = AF_INET;
                p.plen = (uint8_t)(16 + i % 17);      /* 16..32 */
                p.addr[0] = (uint8_t)(10 + (i >> 8)); /* the key lives in the first 16 bits */
                p.addr[1] = (uint8_t)i;
                p.addr[2] = (uint8_t)(i * 7); /* host bits, masked off below for short lengths */
                p.addr[3] = (uint8_t)(i * 13);
        }
        ip_prefix_mask(&p);
        return p;
}

static int cmp_prefix(const void *a, const void *b)
{
        return ip_prefix_compare(a, b);
}

static void assert_same_route(const Route *got, const Route *want)
{
        ck_assert(route_equal(got, want));
        ck_assert_uint_eq(got->stamp_lamport, want->stamp_lamport);
        ck_assert_uint_eq(got->stamp_host, want->stamp_host);
}

START_TEST(test_model_random)
{
        static ModelEntry model[MODEL_KEYS];
        RouteTable t = {};
        size_t model_n = 0;
        unsigned puts = 0, replaces = 0, removes = 0, misses = 0;

        memset(model, 0, sizeof model);
        /* model_key must be injective for the model to be sound. */
        static IpPrefix keys[MODEL_KEYS];
        for (unsigned i = 0; i < MODEL_KEYS; i++)
                keys[i] = model_key(i);
        qsort(keys, MODEL_KEYS, sizeof keys[0], cmp_prefix);
        for (unsigned i = 1; i < MODEL_KEYS; i++)
                ck_assert_int_ne(ip_prefix_compare(&keys[i - 1], &keys[i]), 0);

        rng_state = 0x9e3779b97f4a7c15ull;
        for (unsigned op = 0; op < MODEL_OPS; op++) {
                unsigned key = (unsigned)(rng() % MODEL_KEYS), kind = (unsigned)(rng() % 10);
                IpPrefix p = model_key(key);
                ModelEntry *m = &model[key];
                bool want_old = rng() & 1;

                if (kind < 5) {
                        Route rt = mk_route(&p, (unsigned)(rng() % 4), op), copy, old;
                        ck_assert_int_eq(route_copy(&rt, &copy), 0);
                        memset(&old, 0, sizeof old);
                        int r = route_table_put(&t, &rt, want_old ? &old : NULL);
                        if (m->present) {
                                ck_assert_int_eq(r, 0);
                                if (want_old) {
                                        assert_same_route(&old, &m->route);
                                        route_done(&old);
                                }
                                route_done(&m->route);
                                replaces++;
                        } else {
                                ck_assert_int_eq(r, 1);
                                m->present = true;
                                model_n++;
                                puts++;
                        }
                        m->route = copy;
                } else if (kind < 8) {
                        Route old;
                        int r = route_table_remove(&t, &p, want_old ? &old : NULL);
                        if (m->present) {
                                ck_assert_int_eq(r, 0);
                                if (want_old) {
                                        ck_assert_uint_eq(old.used, 0);
                                        assert_same_route(&old, &m->route);
                                        route_done(&old);
                                }
                                route_done(&m->route);
                                m->present = false;
                                model_n--;
                                removes++;
                        } else {
                                ck_assert_int_eq(r, -ENOENT);
                                misses++;
                        }
                } else {
                        Route *got = route_table_get(&t, &p);
                        if (m->present) {
                                ck_assert_ptr_nonnull(got);
                                assert_same_route(got, &m->route);
                        } else
                                ck_assert_ptr_null(got);
                }
                ck_assert_uint_eq(t.n, model_n);

                if (op % 2000 == 1999) {
                        check_invariants(&t);
                        for (unsigned i = 0; i < MODEL_KEYS; i++) {
                                IpPrefix q = model_key(i);
                                Route *got = route_table_get(&t, &q);
                                if (model[i].present) {
                                        ck_assert_ptr_nonnull(got);
                                        assert_same_route(got, &model[i].route);
                                } else
                                        ck_assert_ptr_null(got);
                        }
                }
        }
        /* The run exercised every path a meaningful number of times. */
        ck_assert_uint_gt(puts, 2000);
        ck_assert_uint_gt(replaces, 2000);
        ck_assert_uint_gt(removes, 2000);
        ck_assert_uint_gt(misses, 500);
        ck_assert_uint_gt(model_n, 500);

        size_t seen = 0;
        ROUTE_TABLE_FOREACH(rt, &t)
        {
                seen++;
                bool found = false;
                for (unsigned i = 0; i < MODEL_KEYS && !found; i++)
                        if (model[i].present && ip_prefix_compare(&model[i].route.prefix, &rt->prefix) == 0)
                                found = true;
                ck_assert(found);
        }
        ck_assert_uint_eq(seen, model_n);

        route_table_done(&t);
        for (unsigned i = 0; i < MODEL_KEYS; i++)
                if (model[i].present)
                        route_done(&model[i].route);
}
END_TEST

static Suite *routetable_suite(void)
{
        Suite *s = suite_create("routetable");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_empty);
        tcase_add_test(tc, test_put_get_replace);
        tcase_add_test(tc, test_remove);
        tcase_add_test(tc, test_growth_and_reserve);
        tcase_add_test(tc, test_backward_shift_wraparound);
        tcase_add_test(tc, test_model_random);
        tcase_set_timeout(tc, 60); /* room for valgrind */
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(routetable_suite());
}
