/* Route pass: desired routes against the kernel's routes of protocol DLRD_RTPROT in every table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/rtnetlink.h>

#include "kernel/kernel.h"
#include "reconcile.h"
#include "shared/array.h"
#include "shared/cleanup.h"
#include "shared/log.h"

static int lif_ifindex(const Reconciler *rc, const Router *r, uint16_t id)
{
        const Lif *l = router_find_lif_by_id(r, id);
        for (size_t i = 0; l && i < rc->n_lif_index; i++)
                if (rc->lif_index[i].lif == l)
                        return rc->lif_index[i].bridge_ifindex;
        return -ENODEV;
}

/* Translates a desired route into the kernel's terms. */
static int to_kroute(const Reconciler *rc, const Router *r, const Route *rt, KRoute *k)
{
        const Nexthop *nh = route_nexthops(rt);

        k->family = rt->prefix.family;
        k->plen = rt->prefix.plen;
        memcpy(k->dst, rt->prefix.addr, sizeof k->dst);
        k->table = r->table;
        k->type = rt->n_nexthops ? RTN_UNICAST : RTN_BLACKHOLE;
        k->n_nexthops = rt->n_nexthops;
        for (unsigned i = 0; i < rt->n_nexthops; i++) {
                k->nh[i] = (KNexthop) { .has_gw = nh[i].has_gw };
                memcpy(k->nh[i].gw, nh[i].gw, sizeof k->nh[i].gw);
                if (nh[i].lif) {
                        int ifindex = lif_ifindex(rc, r, nh[i].lif);
                        if (ifindex < 0)
                                return ifindex;
                        k->nh[i].ifindex = ifindex;
                }
        }
        return 0;
}

static int knh_compare(const void *a, const void *b)
{
        const KNexthop *x = a, *y = b;
        int r = memcmp(x->gw, y->gw, sizeof x->gw);
        if (r)
                return r;
        if (x->has_gw != y->has_gw)
                return x->has_gw ? 1 : -1;
        return 0;
}

/* Whether the kernel's route k is what the desired route w asks for; a desired next hop without LIF
 * accepts whatever device the kernel resolved. */
static bool kroute_matches(KRoute *k, KRoute *w)
{
        if (k->type != w->type || k->n_nexthops != w->n_nexthops)
                return false;
        qsort(k->nh, k->n_nexthops, sizeof(KNexthop), knh_compare);
        qsort(w->nh, w->n_nexthops, sizeof(KNexthop), knh_compare);
        for (unsigned i = 0; i < k->n_nexthops; i++) {
                if (knh_compare(&k->nh[i], &w->nh[i]) != 0)
                        return false;
                if (w->nh[i].ifindex != 0 && w->nh[i].ifindex != k->nh[i].ifindex)
                        return false;
        }
        return true;
}

typedef struct Stale {
        uint32_t table;
        IpPrefix p;
} Stale;

typedef struct SyncCtx {
        Reconciler *rc;
        const Config *c;
        Stale *stale;
        size_t n_stale, cap_stale;
} SyncCtx;

static bool table_is_ours(const Reconciler *rc, uint32_t table)
{
        if (table >= DLR_TABLE_AUTO_MIN && table <= DLR_TABLE_AUTO_MAX)
                return true;
        for (size_t i = 0; i < rc->n_vrf_tables; i++)
                if (rc->vrf_tables[i] == table)
                        return true;
        return false;
}

static int sync_cb(const KRoute *k, void *userdata)
{
        SyncCtx *ctx = userdata;
        const Router *r = config_find_router_by_table(ctx->c, k->table);
        IpPrefix p = { .family = k->family, .plen = k->plen };
        Route *want;

        memcpy(p.addr, k->dst, sizeof p.addr);
        if (r && (want = route_table_get(&r->routes, &p))) {
                KRoute w, kk = *k;
                if (to_kroute(ctx->rc, r, want, &w) == 0 && kroute_matches(&kk, &w))
                        want->used |= 2; /* the kernel has it: leave it alone */
                return 0;
        }
        if (!r && !table_is_ours(ctx->rc, k->table))
                return 0; /* our protocol number in someone else's table: not ours to judge */
        if (ARRAY_GROW(ctx->stale, ctx->cap_stale, ctx->n_stale, 256) < 0)
                return -ENOMEM;
        ctx->stale[ctx->n_stale++] = (Stale) { .table = k->table, .p = p };
        return 0;
}

static int stale_descending(const void *a, const void *b)
{
        const Stale *x = a, *y = b;
        if (x->table != y->table)
                return x->table < y->table ? 1 : -1;
        return -ip_prefix_compare(&x->p, &y->p);
}

/* What failed, for the operator: "dlr=blue route 10.1.0.0/16". Only computed on error. */
static void describe(const Config *c, uint32_t table, const IpPrefix *p, char *buf, size_t size)
{
        const Router *r = config_find_router_by_table(c, table);
        char s[IP_PREFIX_MAX_STR];
        snprintf(buf, size, "dlr=%s route %s", r ? r->name : "?", ip_prefix_to_string(p, true, s, sizeof s));
}

typedef struct Sent {
        uint32_t table;
        IpPrefix p;
} Sent;

int reconcile_routes(Reconciler *rc, const Config *c, DlrError *e)
{
        static const uint8_t families[] = { AF_INET, AF_INET6 };
        _cleanup_free_ Sent *sent = NULL;
        size_t n_sent = 0, cap_sent = 0;
        SyncCtx ctx = { .rc = rc, .c = c };
        int r = 0, first = 0;

        for (size_t i = 0; i < c->n_routers; i++)
                ROUTE_TABLE_FOREACH(rt, &c->routers[i]->routes)
                        rt->used &= 1;

        for (size_t f = 0; f < ELEMENTSOF(families); f++) {
                for (int attempt = 0;; attempt++) {
                        ctx.n_stale = 0;
                        r = kernel_dump_routes(rc->nl, families[f], 0, sync_cb, &ctx);
                        if (r != -EINTR || attempt >= 3)
                                break;
                }
                if (r < 0) {
                        free(ctx.stale);
                        return dlr_error_set(e, DLR_ERROR_KERNEL, r, "dumping routes: %s%s%s", strerror(-r),
                                NETLINK_EXTACK(netlink_dump_error(rc->nl)));
                }
                if (ctx.n_stale > 0) /* NULL until the first stale route */
                        qsort(ctx.stale, ctx.n_stale, sizeof(Stale), stale_descending);
                for (size_t i = 0; i < ctx.n_stale; i++)
                        if (kernel_route_delete(rc->nl, ctx.stale[i].table, ctx.stale[i].p.family,
                                            ctx.stale[i].p.addr, ctx.stale[i].p.plen) < 0) {
                                free(ctx.stale);
                                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
                        }
                if (ctx.n_stale > 0)
                        log_info("removing %zu stale route(s)", ctx.n_stale);
                NetlinkResult res;
                r = netlink_batch_commit(rc->nl, &res);
                for (size_t i = 0, shown = 0; r >= 0 && i < res.n_errors; i++) {
                        const NetlinkError *x = &res.errors[i];
                        char what[96] = "?";
                        /* A stale route already gone is fine. */
                        if (x->error == -ESRCH || x->error == -ENOENT)
                                continue;
                        if (x->index < ctx.n_stale)
                                describe(c, ctx.stale[x->index].table, &ctx.stale[x->index].p, what, sizeof what);
                        if (shown++ < 10)
                                log_warning("%s: removing the stale route: %s%s%s", what, strerror(-x->error),
                                        NETLINK_EXTACK(x->msg));
                }
                netlink_result_done(&res);
                if (r < 0) {
                        free(ctx.stale);
                        return dlr_error_set(e, DLR_ERROR_KERNEL, r, "netlink: %s", strerror(-r));
                }
        }
        free(ctx.stale);

        for (size_t i = 0; i < c->n_routers; i++) {
                const Router *rt_router = c->routers[i];
                ROUTE_TABLE_FOREACH(rt, &rt_router->routes) {
                        KRoute k;
                        if (rt->used & 2)
                                continue;
                        if (ARRAY_GROW(sent, cap_sent, n_sent, 256) < 0)
                                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
                        sent[n_sent++] = (Sent) { .table = rt_router->table, .p = rt->prefix };
                        r = to_kroute(rc, rt_router, rt, &k);
                        if (r < 0) {
                                netlink_batch_reset(rc->nl);
                                char what[96];
                                describe(c, rt_router->table, &rt->prefix, what, sizeof what);
                                return dlr_error_set(e, DLR_ERROR_KERNEL, r, "%s: a next-hop LIF has no bridge", what);
                        }
                        if (kernel_route_replace(rc->nl, &k) < 0) {
                                netlink_batch_reset(rc->nl);
                                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
                        }
                }
        }
        if (n_sent == 0)
                return 0;
        log_info("installing %zu route(s)", n_sent);

        NetlinkResult res;
        r = netlink_batch_commit(rc->nl, &res);
        if (r < 0)
                return dlr_error_set(e, DLR_ERROR_KERNEL, r, "netlink: %s", strerror(-r));
        for (size_t i = 0; i < res.n_errors; i++) {
                const NetlinkError *x = &res.errors[i];
                char what[96] = "?";
                if (x->index < n_sent)
                        describe(c, sent[x->index].table, &sent[x->index].p, what, sizeof what);
                if (i < 10)
                        log_warning("%s: %s%s%s", what, strerror(-x->error), x->msg[0] ? ": " : "", x->msg);
                if (i == 0)
                        first = dlr_error_set(e, DLR_ERROR_KERNEL, x->error, "%s: %s%s%s", what,
                                strerror(-x->error), x->msg[0] ? ": " : "", x->msg);
        }
        if (res.n_errors > 10)
                log_warning("... and %zu more route errors", res.n_errors - 10);
        if (res.lost && first == 0)
                first = dlr_error_set(e, DLR_ERROR_KERNEL, -ENOBUFS, "netlink: lost replies, resync needed");
        netlink_result_done(&res);
        return first;
}

int reconcile_routes_install(Reconciler *rc, const Router *r, const Route *routes, const Route *old,
                const bool *has_old, size_t n, DlrError *e)
{
        NetlinkResult res;
        KRoute k;
        int ret;

        for (size_t i = 0; i < n; i++) {
                ret = to_kroute(rc, r, &routes[i], &k);
                if (ret < 0) {
                        netlink_batch_reset(rc->nl);
                        char s[IP_PREFIX_MAX_STR];
                        return dlr_error_set(e, DLR_ERROR_KERNEL, ret, "dlr=%s route %s: a next-hop LIF has no bridge",
                                r->name, ip_prefix_to_string(&routes[i].prefix, true, s, sizeof s));
                }
                if (kernel_route_replace(rc->nl, &k) < 0) {
                        netlink_batch_reset(rc->nl);
                        return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
                }
        }
        ret = netlink_batch_commit(rc->nl, &res);
        if (ret < 0)
                return dlr_error_set(e, DLR_ERROR_KERNEL, ret, "netlink: %s", strerror(-ret));
        if (res.n_errors == 0 && !res.lost) {
                netlink_result_done(&res);
                return 0;
        }

        /* Undo: every route of the call that is not among the failures went in. */
        if (res.n_errors > 0) {
                const NetlinkError *x = &res.errors[0];
                char s[IP_PREFIX_MAX_STR];
                ret = dlr_error_set(e, DLR_ERROR_KERNEL, x->error, "dlr=%s route %s: %s%s%s", r->name,
                        ip_prefix_to_string(&routes[x->index < n ? x->index : 0].prefix, true, s, sizeof s),
                        strerror(-x->error), x->msg[0] ? ": " : "", x->msg);
        } else
                ret = dlr_error_set(e, DLR_ERROR_KERNEL, -ENOBUFS, "dlr=%s: netlink lost replies", r->name);
        size_t next_err = 0;
        for (size_t i = 0; i < n; i++) {
                if (next_err < res.n_errors && res.errors[next_err].index == i) {
                        next_err++;
                        continue;
                }
                if (has_old[i] && to_kroute(rc, r, &old[i], &k) == 0)
                        (void) kernel_route_replace(rc->nl, &k);
                else
                        (void) kernel_route_delete(rc->nl, r->table, routes[i].prefix.family, routes[i].prefix.addr,
                                routes[i].prefix.plen);
        }
        bool lost = res.lost;
        netlink_result_done(&res);
        int r2 = netlink_batch_commit(rc->nl, &res);
        if (r2 < 0)
                log_warning("dlr=%s: rolling back routes failed: %s; a full resync follows", r->name, strerror(-r2));
        else if (res.n_errors > 0)
                log_warning("dlr=%s: rolling back routes failed for %zu route(s), first: %s%s%s; a full resync follows",
                        r->name, res.n_errors, strerror(-res.errors[0].error), NETLINK_EXTACK(res.errors[0].msg));
        else if (res.lost || lost)
                log_warning("dlr=%s: rolling back routes lost netlink replies; a full resync follows", r->name);
        netlink_result_done(&res);
        return ret;
}

int reconcile_route_remove(Reconciler *rc, const Router *r, const IpPrefix *p, DlrError *e)
{
        NetlinkResult res;
        int ret;

        if (kernel_route_delete(rc->nl, r->table, p->family, p->addr, p->plen) < 0)
                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        ret = netlink_batch_commit(rc->nl, &res);
        if (ret < 0)
                return dlr_error_set(e, DLR_ERROR_KERNEL, ret, "netlink: %s", strerror(-ret));
        if (res.n_errors > 0 && res.errors[0].error != -ESRCH && res.errors[0].error != -ENOENT) {
                char s[IP_PREFIX_MAX_STR];
                ret = dlr_error_set(e, DLR_ERROR_KERNEL, res.errors[0].error, "dlr=%s route %s: %s%s%s", r->name,
                        ip_prefix_to_string(p, true, s, sizeof s), strerror(-res.errors[0].error),
                        res.errors[0].msg[0] ? ": " : "", res.errors[0].msg);
        }
        netlink_result_done(&res);
        return ret;
}
