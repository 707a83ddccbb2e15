/* Neighbour and forwarding pass: endpoint bindings and head-end replication against the kernel's entries on
 * dlrd's own bridges and ports. Only permanent neighbours on LIF bridges, static bridge entries on LIF ports
 * and VXLAN device entries with a remote are dlrd's; learned entries (local VMs) are left to the bridge. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/neighbour.h>

#include "kernel/kernel.h"
#include "names.h"
#include "reconcile.h"
#include "shared/cleanup.h"
#include "shared/log.h"

/* One entry dlrd wants. kind: 0 IP neighbour on the bridge, 1 static bridge entry on the port, 2 VXLAN entry
 * towards a remote VTEP on the port. */
typedef struct Want {
        int kind;
        int ifindex;
        uint8_t mac[6];
        IpPrefix ip; /* kind 0: the address; kind 2: the remote VTEP */
        bool seen;
} Want;

typedef struct Wants {
        Want *v;
        size_t n;
        bool oom;
} Wants;

static void want(Wants *w, int kind, int ifindex, const uint8_t mac[6], const IpPrefix *ip)
{
        Want *n = realloc(w->v, (w->n + 1) * sizeof(Want));
        if (!n) {
                w->oom = true;
                return;
        }
        w->v = n;
        n[w->n] = (Want) { .kind = kind, .ifindex = ifindex };
        memcpy(n[w->n].mac, mac, 6);
        if (ip)
                n[w->n].ip = *ip;
        w->n++;
}

static Want *find_want(Wants *w, int kind, int ifindex, const uint8_t *mac, const IpPrefix *ip)
{
        for (size_t i = 0; i < w->n; i++) {
                Want *x = &w->v[i];
                if (x->kind != kind || x->ifindex != ifindex)
                        continue;
                if (kind != 0 && memcmp(x->mac, mac, 6) != 0)
                        continue;
                if (kind != 1 && (!ip || ip_prefix_compare(&x->ip, ip) != 0))
                        continue;
                return x;
        }
        return NULL;
}

static const Member *member_of(const Config *c, uint32_t host)
{
        return host < c->n_hosts ? config_find_member(c, c->hosts[host]) : NULL;
}

static void collect(const Reconciler *rc, const Config *c, const KLinks *links, Wants *w)
{
        static const uint8_t zero[6] = {};

        for (size_t i = 0; i < c->n_routers; i++) {
                const Router *r = c->routers[i];
                for (size_t j = 0; j < r->n_lifs; j++) {
                        const Lif *l = r->lifs[j];
                        char bn[IFNAMSIZ], pn[IFNAMSIZ];
                        lif_bridge_name(l, bn);
                        lif_port_name(l, pn);
                        const KLink *br = klinks_by_name(links, bn), *port = klinks_by_name(links, pn);
                        if (!br)
                                continue;
                        /* Head-end replication: broadcast and unknown frames go to every other host's VTEP. */
                        for (size_t m = 0; port && l->kind == LIF_KIND_VXLAN && m < c->n_members; m++) {
                                const Member *mb = c->members[m];
                                if (streq(mb->host, rc->host_id) || mb->vtep.family != rc->vtep.family)
                                        continue;
                                want(w, 2, port->ifindex, zero, &mb->vtep);
                        }
                        for (size_t e = 0; e < r->n_endpoints; e++) {
                                const Endpoint *ep = r->endpoints[e];
                                if (ep->lif != l->id)
                                        continue;
                                for (size_t a = 0; a < ep->n_addresses; a++)
                                        want(w, 0, br->ifindex, ep->mac, &ep->addresses[a]);
                                bool local = ep->host < c->n_hosts && streq(c->hosts[ep->host], rc->host_id);
                                if (local || !port)
                                        continue;
                                const Member *mb = member_of(c, ep->host);
                                if (l->kind == LIF_KIND_VXLAN) {
                                        if (!mb || mb->vtep.family != rc->vtep.family)
                                                continue; /* no way to reach it: flooding stays the fallback */
                                        want(w, 2, port->ifindex, ep->mac, &mb->vtep);
                                }
                                want(w, 1, port->ifindex, ep->mac, NULL);
                        }
                }
        }
}

static bool is_our_port(const KLinks *links, int ifindex, bool bridge)
{
        const KLink *k = klinks_by_index(links, ifindex);
        if (!k || !link_name_is_ours(k->name))
                return false;
        bool is_bridge = streq(k->kind, "bridge");
        return bridge ? is_bridge : (streq(k->kind, "vxlan") || streq(k->kind, "vlan"));
}

int reconcile_neighbours(Reconciler *rc, const Config *c, DlrError *e)
{
        KLinks links = {};
        KNeighs nb = {};
        Wants w = {};
        NetlinkResult res;
        size_t n_del = 0, n_add = 0;
        int r;

        r = kernel_dump_links(rc->nl, &links);
        if (r < 0)
                return dlr_error_set(e, DLR_ERROR_KERNEL, r, "dumping links: %s%s%s", strerror(-r),
                        NETLINK_EXTACK(netlink_dump_error(rc->nl)));
        collect(rc, c, &links, &w);
        if (w.oom) {
                r = dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
                goto finish;
        }

        static const uint8_t families[] = { AF_INET, AF_INET6, AF_BRIDGE };
        for (size_t f = 0; f < ELEMENTSOF(families); f++) {
                r = kernel_dump_neighs(rc->nl, families[f], &nb);
                if (r < 0) {
                        r = dlr_error_set(e, DLR_ERROR_KERNEL, r, "dumping neighbours: %s%s%s", strerror(-r),
                                NETLINK_EXTACK(netlink_dump_error(rc->nl)));
                        goto finish;
                }
                netlink_batch_reset(rc->nl);
                for (size_t i = 0; i < nb.n; i++) {
                        const KNeigh *k = &nb.v[i];
                        Want *x;
                        if (families[f] != AF_BRIDGE) {
                                /* Ours: permanent entries on our bridges. */
                                if (!(k->state & NUD_PERMANENT) || !is_our_port(&links, k->ifindex, true))
                                        continue;
                                x = find_want(&w, 0, k->ifindex, k->mac, &k->dst);
                                if (x && k->has_mac && memcmp(x->mac, k->mac, 6) == 0) {
                                        x->seen = true;
                                        continue;
                                }
                                if (!x) {
                                        (void) kernel_neigh_delete(rc->nl, k->ifindex, &k->dst);
                                        n_del++;
                                }
                                continue; /* a wrong MAC is replaced below */
                        }
                        if (!is_our_port(&links, k->ifindex, false) || !k->has_mac)
                                continue;
                        if ((k->flags & NTF_SELF) && k->dst.family != 0) {
                                x = find_want(&w, 2, k->ifindex, k->mac, &k->dst);
                                if (x)
                                        x->seen = true;
                                else {
                                        (void) kernel_fdb_delete(rc->nl, k->ifindex, k->mac, false, &k->dst);
                                        n_del++;
                                }
                        } else if (k->master != 0 && k->state == NUD_NOARP) {
                                /* Bridge entries are reported with NDA_MASTER, not NTF_MASTER. */
                                x = find_want(&w, 1, k->ifindex, k->mac, &k->dst);
                                if (x)
                                        x->seen = true;
                                else {
                                        (void) kernel_fdb_delete(rc->nl, k->ifindex, k->mac, true, NULL);
                                        n_del++;
                                }
                        }
                }
                kneighs_done(&nb);
                r = netlink_batch_commit(rc->nl, &res);
                for (size_t i = 0; r >= 0 && i < res.n_errors && i < 10; i++)
                        /* An entry already gone is fine. */
                        if (res.errors[i].error != -ENOENT)
                                log_warning("neighbours/FDB: removing a stale entry: %s%s%s", strerror(-res.errors[i].error),
                                        NETLINK_EXTACK(res.errors[i].msg));
                netlink_result_done(&res);
                if (r < 0) {
                        r = dlr_error_set(e, DLR_ERROR_KERNEL, r, "netlink: %s", strerror(-r));
                        goto finish;
                }
        }

        netlink_batch_reset(rc->nl);
        for (size_t i = 0; i < w.n; i++) {
                const Want *x = &w.v[i];
                if (x->seen)
                        continue;
                n_add++;
                if (x->kind == 0)
                        (void) kernel_neigh_replace(rc->nl, x->ifindex, &x->ip, x->mac);
                else
                        (void) kernel_fdb_add(rc->nl, x->ifindex, x->mac, x->kind == 1, x->kind == 2 ? &x->ip : NULL);
        }
        r = netlink_batch_commit(rc->nl, &res);
        if (r < 0)
                r = dlr_error_set(e, DLR_ERROR_KERNEL, r, "netlink: %s", strerror(-r));
        else if (res.n_errors > 0) {
                /* The first goes to the caller; the others would be lost. */
                for (size_t i = 1; i < res.n_errors && i < 10; i++)
                        log_warning("neighbour/FDB entry: %s%s%s", strerror(-res.errors[i].error),
                                NETLINK_EXTACK(res.errors[i].msg));
                r = dlr_error_set(e, DLR_ERROR_KERNEL, res.errors[0].error, "neighbour/FDB entry: %s%s%s",
                        strerror(-res.errors[0].error), res.errors[0].msg[0] ? ": " : "", res.errors[0].msg);
        } else
                r = 0;
        netlink_result_done(&res);
        if (n_add + n_del > 0)
                log_info("neighbours/FDB: %zu added or fixed, %zu stale removed", n_add, n_del);
finish:
        free(w.v);
        kneighs_done(&nb);
        klinks_done(&links);
        return r;
}
