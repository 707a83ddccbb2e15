/* VM ports: which links may be one (ports.h), plugging the attached ones into their LIF bridges and taking
 * one out again. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "ports.h"
#include "reconcile.h"
#include "shared/cleanup.h"
#include "shared/log.h"
#include "shared/strtable.h"

static const char *const port_refusal_table[_PORT_REFUSAL_MAX] = {
        [PORT_ALLOWED] = NULL,
        [PORT_LOOPBACK] = "the loopback device",
        [PORT_OURS] = "one of dlrd's own links",
        [PORT_UPLINK] = "the uplink (--uplink)",
        [PORT_VTEP] = "the device carrying the VTEP address",
        [PORT_UNDERLAY] = "a device the uplink or the VTEP address depends on",
};
DEFINE_STRING_TABLE_LOOKUP(port_refusal, PortRefusal, _PORT_REFUSAL_MAX)

static bool carries(const KAddrs *addrs, int ifindex, const IpPrefix *a)
{
        for (size_t i = 0; addrs && i < addrs->n; i++) {
                const KAddr *x = &addrs->v[i];
                if (x->ifindex == ifindex && x->addr.family == a->family &&
                                memcmp(x->addr.addr, a->addr, ip_addr_len(a->family)) == 0)
                        return true;
        }
        return false;
}

/* Kinds whose IFLA_LINK is the device they send through. (A veth's is its peer; a VXLAN device names its
 * lower device elsewhere, and dlrd's own are refused anyway.) */
static bool has_parent(const char *kind)
{
        static const char *const kinds[] = { "vlan", "macvlan", "macvtap", "ipvlan", "ipvtap" };

        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                if (streq(kind, kinds[i]))
                        return true;
        return false;
}

static bool is_underlay(PortRefusal r)
{
        return r == PORT_UPLINK || r == PORT_VTEP || r == PORT_UNDERLAY;
}

typedef struct ByIndex {
        const KLinks *links;
        size_t *pos; /* positions in links->v, in ifindex order */
} ByIndex;

static int cmp_pos(const void *a, const void *b, void *userdata)
{
        const KLinks *l = userdata;
        int x = l->v[*(const size_t *) a].ifindex, y = l->v[*(const size_t *) b].ifindex;
        return (x > y) - (x < y);
}

/* The position of the link with this ifindex, or -1. */
static ssize_t by_index_find(const ByIndex *bi, int ifindex)
{
        size_t lo = 0, hi = bi->links->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int x = bi->links->v[bi->pos[mid]].ifindex;
                if (x == ifindex)
                        return (ssize_t) bi->pos[mid];
                if (x < ifindex)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return -1;
}

int port_refusals(const KLinks *links, const KAddrs *addrs, const IpPrefix *vtep, const char *uplink,
                PortRefusal **ret)
{
        _cleanup_free_ PortRefusal *v = calloc(links->n + 1, sizeof(PortRefusal));
        _cleanup_free_ size_t *pos = malloc((links->n + 1) * sizeof(size_t));
        ByIndex bi = { .links = links, .pos = pos };
        bool changed;

        if (!v || !pos)
                return -ENOMEM;
        for (size_t i = 0; i < links->n; i++) {
                const KLink *k = &links->v[i];
                pos[i] = i;
                if (k->flags & IFF_LOOPBACK)
                        v[i] = PORT_LOOPBACK;
                else if (link_name_is_ours(k->name))
                        v[i] = PORT_OURS;
                else if (uplink && uplink[0] && streq(k->name, uplink))
                        v[i] = PORT_UPLINK;
                else if (vtep && carries(addrs, k->ifindex, vtep))
                        v[i] = PORT_VTEP;
        }
        if (links->n > 0)
                qsort_r(pos, links->n, sizeof(size_t), cmp_pos, (void *) links);

        /* Down from the uplink and the VTEP device until nothing more is added: each pass reaches one level
         * further (a bond's port under a VLAN under a bridge is three). */
        do {
                changed = false;
                for (size_t i = 0; i < links->n; i++) {
                        const KLink *k = &links->v[i];
                        ssize_t j;

                        if (v[i] == PORT_ALLOWED && k->master > 0 &&
                                        (j = by_index_find(&bi, k->master)) >= 0 && is_underlay(v[j])) {
                                v[i] = PORT_UNDERLAY;
                                changed = true;
                        }
                        if (is_underlay(v[i]) && k->link > 0 && !k->link_other_netns && has_parent(k->kind) &&
                                        (j = by_index_find(&bi, k->link)) >= 0 && v[j] == PORT_ALLOWED) {
                                v[j] = PORT_UNDERLAY;
                                changed = true;
                        }
                }
        } while (changed);
        *ret = TAKE_PTR(v);
        return 0;
}

int reconcile_check_port(Reconciler *rc, const char *ifname, PortState *ret_prev, DlrError *e)
{
        _cleanup_free_ PortRefusal *refusals = NULL;
        KLinks links = {};
        KAddrs addrs = {};
        const KLink *k;
        int ifindex, r;

        /* By index, so that an alternative name is judged as the link it names. */
        ifindex = (int) if_nametoindex(ifname);
        if (ifindex <= 0)
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENODEV, "no interface %s on this host", ifname);
        r = kernel_dump_links(rc->nl, &links);
        if (r < 0) {
                r = dlr_error_set(e, DLR_ERROR_KERNEL, r, "dumping links: %s%s%s", strerror(-r),
                        NETLINK_EXTACK(netlink_dump_error(rc->nl)));
                goto finish;
        }
        r = kernel_dump_addrs(rc->nl, &addrs);
        if (r < 0) {
                r = dlr_error_set(e, DLR_ERROR_KERNEL, r, "dumping addresses: %s%s%s", strerror(-r),
                        NETLINK_EXTACK(netlink_dump_error(rc->nl)));
                goto finish;
        }
        r = port_refusals(&links, &addrs, &rc->vtep, rc->uplink, &refusals);
        if (r < 0) {
                r = dlr_error_set(e, DLR_ERROR_INTERNAL, r, "out of memory");
                goto finish;
        }
        k = klinks_by_index(&links, ifindex);
        if (!k)
                r = dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENODEV, "no interface %s on this host", ifname);
        else if (refusals[k - links.v] != PORT_ALLOWED)
                r = dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL,
                        "port=%s: cannot be a VM port: it is %s", ifname,
                        port_refusal_to_string(refusals[k - links.v]));
        else if (ret_prev)
                *ret_prev = (PortState) { .ifindex = k->ifindex, .master = k->master > 0 ? k->master : 0,
                        .up = (k->flags & IFF_UP) != 0 };
finish:
        kaddrs_done(&addrs);
        klinks_done(&links);
        return r;
}

int reconcile_ports(Reconciler *rc, const Config *c, DlrError *e)
{
        _cleanup_free_ PortRefusal *refusals = NULL;
        KLinks links = {};
        KAddrs addrs = {};
        NetlinkResult res;
        size_t n = 0;
        int r;

        if (c->n_ports == 0)
                return 0;
        r = kernel_dump_links(rc->nl, &links);
        if (r < 0)
                return dlr_error_set(e, DLR_ERROR_KERNEL, r, "dumping links: %s%s%s", strerror(-r),
                        NETLINK_EXTACK(netlink_dump_error(rc->nl)));
        r = kernel_dump_addrs(rc->nl, &addrs);
        if (r < 0) {
                klinks_done(&links);
                return dlr_error_set(e, DLR_ERROR_KERNEL, r, "dumping addresses: %s%s%s", strerror(-r),
                        NETLINK_EXTACK(netlink_dump_error(rc->nl)));
        }
        r = port_refusals(&links, &addrs, &rc->vtep, rc->uplink, &refusals);
        kaddrs_done(&addrs);
        if (r < 0) {
                klinks_done(&links);
                return dlr_error_set(e, DLR_ERROR_INTERNAL, r, "out of memory");
        }
        netlink_batch_reset(rc->nl);
        for (size_t i = 0; i < c->n_ports; i++) {
                const Port *p = &c->ports[i];
                const Router *ro = config_find_router(c, p->router);
                const Lif *l = ro ? router_find_lif(ro, p->lif) : NULL;
                const KLink *k = klinks_by_name(&links, p->ifname);
                char bn[IFNAMSIZ];
                if (!l || !k)
                        continue; /* the port or its LIF is not there (yet): nothing to plug */
                if (refusals[k - links.v] != PORT_ALLOWED) {
                        /* AttachPort refuses these; the saved state of an older dlrd, or another --uplink
                         * since, may still name one. */
                        log_warning("dlr=%s lif=%s port=%s: not plugged in: it is %s", p->router, p->lif,
                                p->ifname, port_refusal_to_string(refusals[k - links.v]));
                        continue;
                }
                lif_bridge_name(l, bn);
                const KLink *br = klinks_by_name(&links, bn);
                if (!br || k->master == br->ifindex)
                        continue;
                LinkSpec spec = { .master = br->ifindex, .up = true };
                (void) kernel_link_change(rc->nl, k->ifindex, &spec);
                n++;
        }
        klinks_done(&links);
        r = netlink_batch_commit(rc->nl, &res);
        if (r >= 0 && res.n_errors > 0)
                r = dlr_error_set(e, DLR_ERROR_KERNEL, res.errors[0].error, "attaching a port: %s%s%s",
                        strerror(-res.errors[0].error), res.errors[0].msg[0] ? ": " : "", res.errors[0].msg);
        else if (r < 0)
                r = dlr_error_set(e, DLR_ERROR_KERNEL, r, "netlink: %s", strerror(-r));
        netlink_result_done(&res);
        if (n > 0 && r >= 0)
                log_info("ports: %zu attached to their LIF bridge", n);
        return r;
}

/* Sends one link change and reports its outcome. */
static int port_change(Reconciler *rc, int ifindex, const LinkSpec *spec, const char *ifname, const char *what,
                DlrError *e)
{
        NetlinkResult res;
        int r;

        netlink_batch_reset(rc->nl);
        r = kernel_link_change(rc->nl, ifindex, spec);
        if (r < 0)
                return dlr_error_set(e, DLR_ERROR_INTERNAL, r, "building netlink request: %s", strerror(-r));
        r = netlink_batch_commit(rc->nl, &res);
        if (r < 0)
                r = dlr_error_set(e, DLR_ERROR_KERNEL, r, "netlink: %s", strerror(-r));
        else if (res.n_errors > 0)
                r = dlr_error_set(e, DLR_ERROR_KERNEL, res.errors[0].error, "port=%s: %s: %s%s%s", ifname, what,
                        strerror(-res.errors[0].error), NETLINK_EXTACK(res.errors[0].msg));
        netlink_result_done(&res);
        return r;
}

int reconcile_restore_port(Reconciler *rc, const char *ifname, const PortState *prev, DlrError *e)
{
        /* By index: the name may have been taken by another link since. */
        char name[IFNAMSIZ];
        if (prev->ifindex <= 0 || !if_indextoname((unsigned) prev->ifindex, name) || !streq(name, ifname))
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENODEV, "port=%s: no longer there", ifname);
        LinkSpec spec = { .master = prev->master > 0 ? prev->master : -1, .up = prev->up };
        return port_change(rc, prev->ifindex, &spec, ifname, "putting it back where it was", e);
}

int reconcile_detach_port(Reconciler *rc, const char *ifname, DlrError *e)
{
        int ifindex = (int) if_nametoindex(ifname);

        if (ifindex <= 0)
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENODEV, "port=%s: no such interface", ifname);
        LinkSpec spec = { .master = -1, .up = true };
        return port_change(rc, ifindex, &spec, ifname, "taking it out of its bridge", e);
}
