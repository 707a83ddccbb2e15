/* Link pass: VRFs, LIF bridges with their gateway addresses, and the VXLAN/VLAN ports. Runs a few rounds of
 * dump-and-fix because a new link's ifindex (needed to enslave others to it) is only known after it exists. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "kernel/kernel.h"
#include "names.h"
#include "nft/nft.h"
#include "reconcile.h"
#include "shared/cleanup.h"
#include "shared/log.h"

#define LINK_ROUNDS 4

/* One link dlrd wants. */
typedef struct Want {
        char name[IFNAMSIZ];
        char master[IFNAMSIZ]; /* "" = none */
        char alias[DLR_NAME_MAX * 2 + 8];
        const char *kind;
        const Router *router;
        const Lif *lif; /* NULL for a VRF */
        uint8_t mac[6];
        bool has_mac;
        bool is_port;
        unsigned mtu;
        uint32_t vrf_table;
        uint32_t vxlan_id;
        uint16_t vlan_id;
} Want;

typedef struct Wants {
        Want *v;
        size_t n;
} Wants;

int reconciler_init(Reconciler *rc, const IpPrefix *vtep, const char *uplink)
{
        *rc = (Reconciler) { .vtep = *vtep };
        snprintf(rc->uplink, sizeof rc->uplink, "%s", uplink ? uplink : "");
        return netlink_open(&rc->nl);
}

void reconciler_done(Reconciler *rc)
{
        netlink_close(rc->nl);
        nft_free(rc->nft);
        free(rc->lif_index);
        free(rc->vrf_tables);
        *rc = (Reconciler) {};
}

static Want *want_add(Wants *w)
{
        Want *v = realloc(w->v, (w->n + 1) * sizeof(Want));
        if (!v)
                return NULL;
        w->v = v;
        memset(&v[w->n], 0, sizeof(Want));
        return &v[w->n++];
}

static int build_wants(const Reconciler *rc, const Config *c, Wants *w)
{
        for (size_t i = 0; i < c->n_routers; i++) {
                const Router *r = c->routers[i];
                char vrf[IFNAMSIZ];
                Want *x = want_add(w);

                if (!x)
                        return -ENOMEM;
                router_vrf_name(r, vrf);
                snprintf(x->name, sizeof x->name, "%s", vrf);
                snprintf(x->alias, sizeof x->alias, "dlrd:%s", r->name);
                x->kind = "vrf";
                x->router = r;
                x->vrf_table = r->table;

                for (size_t j = 0; j < r->n_lifs; j++) {
                        const Lif *l = r->lifs[j];
                        Want *b = want_add(w);
                        if (!b)
                                return -ENOMEM;
                        lif_bridge_name(l, b->name);
                        snprintf(b->master, sizeof b->master, "%s", vrf);
                        snprintf(b->alias, sizeof b->alias, "dlrd:%s/%s", r->name, l->name);
                        b->kind = "bridge";
                        b->router = r;
                        b->lif = l;
                        memcpy(b->mac, l->mac, 6);
                        b->has_mac = true;
                        b->mtu = l->mtu;

                        if (l->kind == LIF_KIND_VLAN && !rc->uplink[0])
                                continue; /* a host without uplink carries the bridge only */
                        Want *p = want_add(w);
                        if (!p)
                                return -ENOMEM;
                        b = &w->v[w->n - 2]; /* want_add may have moved the array */
                        lif_port_name(l, p->name);
                        snprintf(p->master, sizeof p->master, "%s", b->name);
                        snprintf(p->alias, sizeof p->alias, "%s", b->alias);
                        p->router = r;
                        p->lif = l;
                        p->is_port = true;
                        p->mtu = l->mtu;
                        lif_derive_port_mac(r->name, l->name, p->mac);
                        p->has_mac = true;
                        if (l->kind == LIF_KIND_VXLAN) {
                                p->kind = "vxlan";
                                p->vxlan_id = l->segment;
                        } else {
                                p->kind = "vlan";
                                p->vlan_id = (uint16_t) l->segment;
                        }
                }
        }
        return 0;
}

/* True when the existing link cannot become what w describes without being recreated. */
static bool needs_recreate(const Reconciler *rc, const KLinks *kl, const KLink *k, const Want *w)
{
        if (!streq(k->kind, w->kind))
                return true;
        if (streq(w->kind, "vrf"))
                return k->vrf_table != w->vrf_table;
        if (streq(w->kind, "vxlan"))
                return k->vxlan_id != w->vxlan_id || k->vxlan_port != DLRD_VXLAN_PORT || k->vxlan_learning != 0 ||
                       ip_prefix_compare(&k->vxlan_local, &rc->vtep) != 0;
        if (streq(w->kind, "vlan")) {
                const KLink *lower = klinks_by_index(kl, k->link);
                return k->vlan_id != w->vlan_id || !lower || !streq(lower->name, rc->uplink);
        }
        return false;
}

typedef struct Pending {
        char what[96];
} Pending;

typedef struct Batch {
        Pending *v;
        size_t n;
} Batch;

static int note(Batch *b, const char *verb, const char *name)
{
        Pending *v = realloc(b->v, (b->n + 1) * sizeof(Pending));
        if (!v)
                return -ENOMEM;
        b->v = v;
        snprintf(v[b->n].what, sizeof v[b->n].what, "%s %s", verb, name);
        b->n++;
        return 0;
}

static int commit(Reconciler *rc, Batch *b, DlrError *e)
{
        NetlinkResult res;
        int r = netlink_batch_commit(rc->nl, &res);

        if (r < 0) {
                free(b->v);
                *b = (Batch) {};
                return dlr_error_set(e, DLR_ERROR_KERNEL, r, "netlink: %s", strerror(-r));
        }
        for (size_t i = 0; i < res.n_errors; i++) {
                const NetlinkError *x = &res.errors[i];
                const char *what = x->index < b->n ? b->v[x->index].what : "?";
                log_warning("%s: %s%s%s", what, strerror(-x->error), x->msg[0] ? ": " : "", x->msg);
                if (i == 0)
                        r = dlr_error_set(e, DLR_ERROR_KERNEL, x->error, "%s: %s%s%s", what, strerror(-x->error),
                                x->msg[0] ? ": " : "", x->msg);
        }
        if (res.lost && r == 0)
                r = dlr_error_set(e, DLR_ERROR_KERNEL, -ENOBUFS, "netlink: lost replies");
        netlink_result_done(&res);
        free(b->v);
        *b = (Batch) {};
        return r;
}

static const Want *find_want(const Wants *w, const char *name)
{
        for (size_t i = 0; i < w->n; i++)
                if (streq(w->v[i].name, name))
                        return &w->v[i];
        return NULL;
}

static int remember_table(Reconciler *rc, uint32_t table)
{
        for (size_t i = 0; i < rc->n_vrf_tables; i++)
                if (rc->vrf_tables[i] == table)
                        return 0;
        uint32_t *v = realloc(rc->vrf_tables, (rc->n_vrf_tables + 1) * sizeof(uint32_t));
        if (!v)
                return -ENOMEM;
        rc->vrf_tables = v;
        v[rc->n_vrf_tables++] = table;
        return 0;
}

/* A dump the kernel flags as interrupted (the table changed under it) is simply taken again. */
#define DUMP_ATTEMPTS 3

static int dump_links(Reconciler *rc, KLinks *ret)
{
        for (int attempt = 0;; attempt++) {
                int r = kernel_dump_links(rc->nl, ret);
                if (r != -EINTR || attempt == DUMP_ATTEMPTS)
                        return r;
        }
}

/* One round; *ret_queued tells whether anything was sent. */
static int links_round(Reconciler *rc, const Wants *w, bool *ret_queued, bool *changed, DlrError *e)
{
        _cleanup_(klinks_done) KLinks kl = {};
        Batch b = {};
        int r;

        r = dump_links(rc, &kl);
        if (r < 0)
                return dlr_error_set(e, DLR_ERROR_KERNEL, r, "dumping links: %s%s%s", strerror(-r),
                        NETLINK_EXTACK(netlink_dump_error(rc->nl)));

        /* Stale or unfixable links of ours go first, so their names are free for the creations below. */
        for (size_t i = 0; i < kl.n; i++) {
                const KLink *k = &kl.v[i];
                const Want *x;

                if (!link_name_is_ours(k->name))
                        continue;
                if (streq(k->kind, "vrf") && k->vrf_table > 0 && (r = remember_table(rc, (uint32_t) k->vrf_table)) < 0)
                        goto fail;
                x = find_want(w, k->name);
                if (x && !needs_recreate(rc, &kl, k, x))
                        continue;
                if ((r = kernel_link_delete(rc->nl, k->ifindex)) < 0 || (r = note(&b, "deleting link", k->name)) < 0)
                        goto fail;
                *changed = true;
        }

        for (size_t i = 0; i < w->n; i++) {
                const Want *x = &w->v[i];
                const KLink *k = klinks_by_name(&kl, x->name);
                const KLink *master = x->master[0] ? klinks_by_name(&kl, x->master) : NULL;
                int lower = 0;

                if (streq(x->kind, "vlan")) {
                        const KLink *u = klinks_by_name(&kl, rc->uplink);
                        if (!u) {
                                log_warning("dlr=%s lif=%s: uplink %s not found, VLAN port not created",
                                        x->router->name, x->lif->name, rc->uplink);
                                continue;
                        }
                        lower = u->ifindex;
                }

                if (!k || needs_recreate(rc, &kl, k, x)) {
                        LinkSpec s = { .name = x->name, .kind = x->kind, .alias = x->alias,
                                .mac = x->has_mac ? x->mac : NULL, .mtu = x->mtu, .vrf_table = x->vrf_table,
                                .vxlan_id = x->vxlan_id, .vxlan_local = &rc->vtep, .vlan_link = lower,
                                .vlan_id = x->vlan_id };
                        if ((r = kernel_link_create(rc->nl, &s)) < 0 || (r = note(&b, "creating link", x->name)) < 0)
                                goto fail;
                        *changed = true;
                        continue;
                }

                /* Exists and is of the right kind: change only what differs, so adoption rewrites nothing. */
                LinkSpec s = {};
                bool any = false;
                if (!streq(k->alias, x->alias))
                        s.alias = x->alias, any = true;
                if (x->has_mac && (!k->has_mac || memcmp(k->mac, x->mac, 6) != 0))
                        s.mac = x->mac, any = true;
                if (x->mtu && k->mtu != x->mtu)
                        s.mtu = x->mtu, any = true;
                if (!(k->flags & IFF_UP))
                        s.up = true, any = true;
                if (streq(x->kind, "bridge") && k->ipv4_forwarding != 1)
                        s.ipv4_forwarding = true, any = true;
                bool master_ok = master ? k->master == master->ifindex : k->master == 0;
                if (!master_ok && (master || !x->master[0]))
                        s.master = master ? master->ifindex : -1, any = true;
                if (any) {
                        if ((r = kernel_link_change(rc->nl, k->ifindex, &s)) < 0 ||
                                        (r = note(&b, "configuring link", x->name)) < 0)
                                goto fail;
                }
                if (x->is_port && master && (k->brport_learning != 0 || k->brport_neigh_suppress != 1 || !master_ok)) {
                        if ((r = kernel_brport_set(rc->nl, k->ifindex, false, true)) < 0 ||
                                        (r = note(&b, "setting bridge-port options of", x->name)) < 0)
                                goto fail;
                }
                if (streq(x->kind, "bridge")) {
                        /* The kernel keeps IPv6 forwarding per device only in /proc. */
                        r = kernel_ipv6_forwarding_set(x->name, true);
                        if (r < 0 && r != -ENOENT)
                                log_warning_errno(r, "dlr=%s lif=%s: enabling IPv6 forwarding on %s: %m",
                                        x->router->name, x->lif->name, x->name);
                }
        }

        *ret_queued = netlink_batch_count(rc->nl) > 0;
        if (!*ret_queued) {
                free(b.v);
                return 0;
        }
        return commit(rc, &b, e);
fail:
        netlink_batch_reset(rc->nl);
        free(b.v);
        return dlr_error_set(e, DLR_ERROR_INTERNAL, r, "building netlink request: %s", strerror(-r));
}

static bool addr_wanted(const Lif *l, const KAddr *a)
{
        for (size_t i = 0; i < l->n_addresses; i++)
                if (ip_prefix_compare(&l->addresses[i], &a->addr) == 0)
                        return true;
        return false;
}

static int addresses_pass(Reconciler *rc, const Wants *w, DlrError *e)
{
        _cleanup_(klinks_done) KLinks kl = {};
        _cleanup_(kaddrs_done) KAddrs ka = {};
        Batch b = {};
        int r;

        r = dump_links(rc, &kl);
        for (int attempt = 0; r >= 0; attempt++) {
                r = kernel_dump_addrs(rc->nl, &ka);
                if (r != -EINTR || attempt == DUMP_ATTEMPTS)
                        break;
        }
        if (r < 0)
                return dlr_error_set(e, DLR_ERROR_KERNEL, r, "dumping links and addresses: %s%s%s", strerror(-r),
                        NETLINK_EXTACK(netlink_dump_error(rc->nl)));

        free(rc->lif_index);
        rc->lif_index = NULL;
        rc->n_lif_index = 0;

        for (size_t i = 0; i < w->n; i++) {
                const Want *x = &w->v[i];
                const KLink *k;
                char s[IP_PREFIX_MAX_STR];

                if (!streq(x->kind, "bridge") || !(k = klinks_by_name(&kl, x->name)))
                        continue;
                LifIndex *li = realloc(rc->lif_index, (rc->n_lif_index + 1) * sizeof(LifIndex));
                if (!li)
                        return -ENOMEM;
                rc->lif_index = li;
                li[rc->n_lif_index++] = (LifIndex) { .lif = x->lif, .bridge_ifindex = k->ifindex };

                /* Global addresses on our bridge are ours; link-local ones belong to the kernel. */
                for (size_t j = 0; j < ka.n; j++) {
                        const KAddr *a = &ka.v[j];
                        if (a->ifindex != k->ifindex || a->scope != RT_SCOPE_UNIVERSE || addr_wanted(x->lif, a))
                                continue;
                        ip_prefix_to_string(&a->addr, true, s, sizeof s);
                        if ((r = kernel_addr_delete(rc->nl, k->ifindex, &a->addr)) < 0 ||
                                        (r = note(&b, "removing stale address", s)) < 0)
                                goto fail;
                }
                for (size_t j = 0; j < x->lif->n_addresses; j++) {
                        const IpPrefix *p = &x->lif->addresses[j];
                        bool have = false;
                        for (size_t m = 0; m < ka.n; m++)
                                if (ka.v[m].ifindex == k->ifindex && ip_prefix_compare(&ka.v[m].addr, p) == 0 &&
                                                !(ka.v[m].flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)))
                                        have = true;
                        if (have)
                                continue;
                        ip_prefix_to_string(p, true, s, sizeof s);
                        if ((r = kernel_addr_add(rc->nl, k->ifindex, p)) < 0 ||
                                        (r = note(&b, "adding gateway address", s)) < 0)
                                goto fail;
                }
        }
        if (netlink_batch_count(rc->nl) == 0) {
                free(b.v);
                return 0;
        }
        return commit(rc, &b, e);
fail:
        netlink_batch_reset(rc->nl);
        free(b.v);
        return dlr_error_set(e, DLR_ERROR_INTERNAL, r, "building netlink request: %s", strerror(-r));
}

/* Linux 6.1 forwards IPv6 only when net.ipv6.conf.all.forwarding is on (ip6_forward checks devconf_all),
 * and switching that changes every interface of the host (router advertisements stop being accepted).
 * That is the operator's call, so dlrd says so once instead of doing it. */
static void warn_ipv6_forwarding(Reconciler *rc, const Config *c)
{
        bool v6 = false;

        for (size_t i = 0; i < c->n_routers && !v6; i++)
                for (size_t j = 0; j < c->routers[i]->n_lifs && !v6; j++)
                        for (size_t a = 0; a < c->routers[i]->lifs[j]->n_addresses; a++)
                                if (c->routers[i]->lifs[j]->addresses[a].family == AF_INET6)
                                        v6 = true;
        if (!v6 || rc->warned_ipv6_forwarding || kernel_ipv6_forwarding_get("all") != 0)
                return;
        log_warning("IPv6 LIF addresses are configured but net.ipv6.conf.all.forwarding is 0: the kernel will not "
                    "route IPv6 between LIFs until it is set");
        rc->warned_ipv6_forwarding = true;
}

int reconcile_links(Reconciler *rc, const Config *c, bool *ret_changed, DlrError *e)
{
        Wants w = {};
        bool changed = false;
        int r;

        r = build_wants(rc, c, &w);
        if (r < 0) {
                free(w.v);
                return dlr_error_set(e, DLR_ERROR_INTERNAL, r, "out of memory");
        }
        for (int round = 0;; round++) {
                bool queued = false;
                if (round == LINK_ROUNDS) {
                        r = dlr_error_set(e, DLR_ERROR_KERNEL, -EAGAIN, "links did not settle after %d rounds",
                                LINK_ROUNDS);
                        break;
                }
                r = links_round(rc, &w, &queued, &changed, e);
                if (r < 0 || !queued)
                        break;
        }
        if (r >= 0)
                r = addresses_pass(rc, &w, e);
        warn_ipv6_forwarding(rc, c);
        free(w.v);
        if (ret_changed)
                *ret_changed = changed;
        return r;
}

int reconcile_all(Reconciler *rc, const Config *c, DlrError *e)
{
        int r = reconcile_links(rc, c, NULL, e);
        if (r >= 0)
                r = reconcile_ports(rc, c, e);
        if (r >= 0)
                r = reconcile_routes(rc, c, e);
        if (r >= 0)
                r = reconcile_neighbours(rc, c, e);
        if (r >= 0 && rc->nft)
                r = nft_sync(rc->nft, c, rc->host_id, e);
        return r;
}
