/* Routes of the desired configuration and the compact table that holds up to millions of them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "shared/cleanup.h"

const Nexthop *route_nexthops(const Route *rt)
{
        return rt->n_nexthops > 1 ? rt->nh.many : &rt->nh.one;
}

void route_done(Route *rt)
{
        if (rt->n_nexthops > 1)
                free(rt->nh.many);
        rt->n_nexthops = 0;
}

int route_copy(const Route *src, Route *ret)
{
        Route r = *src;

        if (src->n_nexthops > 1) {
                r.nh.many = malloc(src->n_nexthops * sizeof(Nexthop));
                if (!r.nh.many)
                        return -ENOMEM;
                memcpy(r.nh.many, src->nh.many, src->n_nexthops * sizeof(Nexthop));
        }
        *ret = r;
        return 0;
}

int nexthop_compare(const Nexthop *x, const Nexthop *y)
{
        int r = memcmp(x->gw, y->gw, sizeof x->gw);
        if (r != 0)
                return r;
        if (x->has_gw != y->has_gw)
                return x->has_gw < y->has_gw ? -1 : 1;
        return x->lif < y->lif ? -1 : x->lif > y->lif;
}

static int nexthop_qsort_cmp(const void *a, const void *b)
{
        return nexthop_compare(a, b);
}

bool route_equal(const Route *a, const Route *b)
{
        if (ip_prefix_compare(&a->prefix, &b->prefix) != 0 || a->n_nexthops != b->n_nexthops)
                return false;
        const Nexthop *x = route_nexthops(a), *y = route_nexthops(b);
        for (unsigned i = 0; i < a->n_nexthops; i++)
                if (nexthop_compare(&x[i], &y[i]) != 0)
                        return false;
        return true;
}

#define FAIL(code, msg)                                                                                       \
        do {                                                                                                  \
                *ret_error = (msg);                                                                           \
                return (code);                                                                                \
        } while (0)

int route_build(const Router *r, const char *prefix, const NexthopSpec *nh, size_t n_nh, Route *ret,
                const char **ret_error)
{
        _cleanup_free_ Nexthop *hops = NULL;
        Route rt = {};

        if (ip_prefix_parse(prefix, &rt.prefix) < 0)
                FAIL(-EINVAL, "invalid route prefix: expected ADDRESS/LENGTH");
        if (!ip_prefix_is_network(&rt.prefix))
                FAIL(-EINVAL, "invalid route prefix: host bits are set");
        if (n_nh > DLR_NEXTHOPS_MAX)
                FAIL(-EINVAL, "too many next hops (at most 32)");

        hops = calloc(n_nh ? n_nh : 1, sizeof(Nexthop));
        if (!hops)
                return -ENOMEM;

        for (size_t i = 0; i < n_nh; i++) {
                Nexthop *h = &hops[i];

                if (!nh[i].gateway || !nh[i].lif)
                        FAIL(-EINVAL, "invalid next hop");
                if (nh[i].gateway[0]) {
                        IpPrefix gw;
                        if (ip_addr_parse(nh[i].gateway, &gw) < 0)
                                FAIL(-EINVAL, "invalid next-hop gateway address");
                        if (gw.family != rt.prefix.family)
                                FAIL(-EINVAL, "next-hop gateway is not of the prefix's address family");
                        if (ip_addr_check_unicast(&gw) < 0)
                                FAIL(-EINVAL, "next-hop gateway is not a usable unicast address");
                        memcpy(h->gw, gw.addr, sizeof h->gw);
                        h->has_gw = 1;
                }
                if (nh[i].lif[0]) {
                        Lif *l;
                        if (dlr_name_check(nh[i].lif) < 0)
                                FAIL(-EINVAL, "invalid next-hop LIF name");
                        l = router_find_lif(r, nh[i].lif);
                        if (!l)
                                FAIL(-ENOENT, "next-hop LIF not found in this router");
                        h->lif = l->id;
                }
                if (!h->has_gw && h->lif == 0)
                        FAIL(-EINVAL, "a next hop needs a gateway, a LIF, or both");
                if (n_nh > 1 && !h->has_gw)
                        FAIL(-EINVAL, "every next hop of a multipath route needs a gateway");
        }
        qsort(hops, n_nh, sizeof(Nexthop), nexthop_qsort_cmp);
        for (size_t i = 1; i < n_nh; i++)
                if (nexthop_compare(&hops[i - 1], &hops[i]) == 0)
                        FAIL(-EINVAL, "duplicate next hop");

        rt.n_nexthops = (uint8_t) n_nh;
        if (n_nh == 1)
                rt.nh.one = hops[0];
        else if (n_nh > 1)
                rt.nh.many = TAKE_PTR(hops);
        *ret = rt;
        *ret_error = NULL;
        return 0;
}

void route_table_done(RouteTable *t)
{
        ROUTE_TABLE_FOREACH(rt, t)
                route_done(rt);
        free(t->slots);
        *t = (RouteTable) {};
}

static size_t slot_of(const RouteTable *t, const IpPrefix *p)
{
        return (size_t) ip_prefix_hash(p) & (t->capacity - 1);
}

static int resize(RouteTable *t, size_t capacity)
{
        Route *slots = calloc(capacity, sizeof(Route));
        if (!slots)
                return -ENOMEM;
        RouteTable n = { .slots = slots, .capacity = capacity, .n = t->n };
        ROUTE_TABLE_FOREACH(rt, t) {
                size_t i = slot_of(&n, &rt->prefix);
                while (n.slots[i].used)
                        i = (i + 1) & (capacity - 1);
                n.slots[i] = *rt;
        }
        free(t->slots);
        *t = n;
        return 0;
}

int route_table_reserve(RouteTable *t, size_t more)
{
        size_t want = t->n + more, cap = t->capacity ? t->capacity : 16;

        /* Up to 7/8 full: linear probing stays short at that load with a mixing hash, and a million routes
         * then cost under 100 bytes of table each. */
        while (want * 8 >= cap * 7)
                cap *= 2;
        if (cap == t->capacity)
                return 0;
        return resize(t, cap);
}

Route *route_table_get(const RouteTable *t, const IpPrefix *p)
{
        if (t->capacity == 0)
                return NULL;
        for (size_t i = slot_of(t, p);; i = (i + 1) & (t->capacity - 1)) {
                Route *rt = &t->slots[i];
                if (!rt->used)
                        return NULL;
                if (ip_prefix_compare(&rt->prefix, p) == 0)
                        return rt;
        }
}

int route_table_put(RouteTable *t, Route *rt, Route *ret_old)
{
        Route *old = route_table_get(t, &rt->prefix);
        if (old) {
                if (ret_old)
                        *ret_old = *old;
                else
                        route_done(old);
                *old = *rt;
                old->used = 1;
                return 0;
        }
        int r = route_table_reserve(t, 1);
        if (r < 0)
                return r;
        size_t i = slot_of(t, &rt->prefix);
        while (t->slots[i].used)
                i = (i + 1) & (t->capacity - 1);
        t->slots[i] = *rt;
        t->slots[i].used = 1;
        t->n++;
        return 1;
}

int route_table_remove(RouteTable *t, const IpPrefix *p, Route *ret_old)
{
        Route *rt = route_table_get(t, p);
        if (!rt)
                return -ENOENT;
        if (ret_old) {
                *ret_old = *rt;
                ret_old->used = 0;
        } else
                route_done(rt);

        /* Backward-shift deletion keeps probe chains intact without tombstones. */
        size_t mask = t->capacity - 1, hole = (size_t) (rt - t->slots);
        for (size_t j = (hole + 1) & mask; t->slots[j].used; j = (j + 1) & mask) {
                size_t home = slot_of(t, &t->slots[j].prefix);
                /* Move j into the hole unless its home lies cyclically in (hole, j]. */
                bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
                if (!stays) {
                        t->slots[hole] = t->slots[j];
                        hole = j;
                }
        }
        memset(&t->slots[hole], 0, sizeof(Route));
        t->n--;
        return 0;
}
