/* Routes in the DLR tables, encoded directly with libmnl: this is the hot path (DESIGN §6 measured libnl's
 * per-object route API at twice the cost of raw batched messages). */
#include <errno.h>
#include <string.h>

#include <linux/rtnetlink.h>

#include "kernel.h"
#include "shared/cleanup.h"

static void put_table(struct nlmsghdr *h, struct rtmsg *rtm, uint32_t table)
{
        rtm->rtm_table = table < 256 ? (uint8_t) table : RT_TABLE_UNSPEC;
        mnl_attr_put_u32(h, RTA_TABLE, table);
}

int kernel_route_replace(Netlink *nl, const KRoute *rt)
{
        struct rtmsg *rtm;
        struct nlmsghdr *h = netlink_batch_add(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, sizeof(*rtm),
                (void **) &rtm);
        size_t alen = ip_addr_len(rt->family);

        if (!h)
                return -ENOMEM;
        rtm->rtm_family = rt->family;
        rtm->rtm_dst_len = rt->plen;
        rtm->rtm_protocol = DLRD_RTPROT;
        rtm->rtm_type = rt->n_nexthops == 0 ? RTN_BLACKHOLE : RTN_UNICAST;
        /* A route straight onto a LIF (no gateway) is on-link: scope link, as "ip route add ... dev" does. */
        rtm->rtm_scope = (rt->n_nexthops == 1 && !rt->nh[0].has_gw) ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
        put_table(h, rtm, rt->table);
        mnl_attr_put(h, RTA_DST, alen, rt->dst);

        if (rt->n_nexthops == 1) {
                if (rt->nh[0].has_gw)
                        mnl_attr_put(h, RTA_GATEWAY, alen, rt->nh[0].gw);
                if (rt->nh[0].ifindex > 0)
                        mnl_attr_put_u32(h, RTA_OIF, (uint32_t) rt->nh[0].ifindex);
        } else if (rt->n_nexthops > 1) {
                struct nlattr *mp = mnl_attr_nest_start(h, RTA_MULTIPATH);
                for (unsigned i = 0; i < rt->n_nexthops; i++) {
                        struct rtnexthop *nh = mnl_nlmsg_get_payload_tail(h);
                        size_t start = h->nlmsg_len;

                        h->nlmsg_len += MNL_ALIGN(sizeof(*nh));
                        memset(nh, 0, sizeof(*nh));
                        nh->rtnh_ifindex = rt->nh[i].ifindex;
                        if (rt->nh[i].has_gw)
                                mnl_attr_put(h, RTA_GATEWAY, alen, rt->nh[i].gw);
                        nh->rtnh_len = (unsigned short) (h->nlmsg_len - start);
                }
                mnl_attr_nest_end(h, mp);
        }
        return 0;
}

int kernel_route_delete(Netlink *nl, uint32_t table, uint8_t family, const uint8_t *dst, uint8_t plen)
{
        struct rtmsg *rtm;
        struct nlmsghdr *h = netlink_batch_add(nl, RTM_DELROUTE, 0, sizeof(*rtm), (void **) &rtm);

        if (!h)
                return -ENOMEM;
        rtm->rtm_family = family;
        rtm->rtm_dst_len = plen;
        rtm->rtm_protocol = DLRD_RTPROT; /* only ever ours */
        rtm->rtm_scope = RT_SCOPE_NOWHERE;
        put_table(h, rtm, table);
        mnl_attr_put(h, RTA_DST, ip_addr_len(family), dst);
        return 0;
}

typedef struct DumpCtx {
        kroute_cb_t cb;
        void *userdata;
        uint32_t table;
        int error;
} DumpCtx;

static void parse_multipath(KRoute *k, const struct nlattr *a)
{
        const struct rtnexthop *nh = mnl_attr_get_payload(a);
        int left = (int) mnl_attr_get_payload_len(a);

        while (left >= (int) sizeof(*nh) && nh->rtnh_len >= sizeof(*nh) && nh->rtnh_len <= left &&
                        k->n_nexthops < KROUTE_NEXTHOPS_MAX) {
                KNexthop *x = &k->nh[k->n_nexthops++];
                const struct nlattr *attr;

                *x = (KNexthop) { .ifindex = nh->rtnh_ifindex };
                mnl_attr_for_each_payload((const void *) ((const char *) nh + MNL_ALIGN(sizeof(*nh))),
                        nh->rtnh_len - MNL_ALIGN(sizeof(*nh))) {
                        if (mnl_attr_get_type(attr) == RTA_GATEWAY &&
                                        mnl_attr_get_payload_len(attr) == ip_addr_len(k->family)) {
                                memcpy(x->gw, mnl_attr_get_payload(attr), ip_addr_len(k->family));
                                x->has_gw = true;
                        }
                }
                left -= (int) MNL_ALIGN(nh->rtnh_len);
                nh = (const struct rtnexthop *) ((const char *) nh + MNL_ALIGN(nh->rtnh_len));
        }
}

static int route_cb(const struct nlmsghdr *h, void *userdata)
{
        DumpCtx *ctx = userdata;
        const struct rtmsg *rtm = mnl_nlmsg_get_payload(h);
        const struct nlattr *a;
        KNexthop one = {};
        bool have_one = false;
        KRoute k;

        if (h->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(h) < sizeof(*rtm))
                return MNL_CB_OK;
        if (rtm->rtm_protocol != DLRD_RTPROT || (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6))
                return MNL_CB_OK;
        k.family = rtm->rtm_family;
        k.plen = rtm->rtm_dst_len;
        k.type = rtm->rtm_type;
        k.protocol = rtm->rtm_protocol;
        k.table = rtm->rtm_table;
        k.n_nexthops = 0;
        memset(k.dst, 0, sizeof k.dst);
        mnl_attr_for_each(a, h, sizeof(*rtm)) {
                size_t len = mnl_attr_get_payload_len(a);
                switch (mnl_attr_get_type(a)) {
                case RTA_TABLE:
                        if (len >= 4)
                                k.table = mnl_attr_get_u32(a);
                        break;
                case RTA_DST:
                        if (len == ip_addr_len(k.family))
                                memcpy(k.dst, mnl_attr_get_payload(a), len);
                        break;
                case RTA_GATEWAY:
                        if (len == ip_addr_len(k.family)) {
                                memcpy(one.gw, mnl_attr_get_payload(a), len);
                                one.has_gw = true;
                                have_one = true;
                        }
                        break;
                case RTA_OIF:
                        if (len >= 4) {
                                one.ifindex = (int) mnl_attr_get_u32(a);
                                have_one = true;
                        }
                        break;
                case RTA_MULTIPATH:
                        parse_multipath(&k, a);
                        break;
                }
        }
        if (ctx->table != 0 && k.table != ctx->table)
                return MNL_CB_OK;
        if (k.type == RTN_UNICAST && k.n_nexthops == 0 && have_one)
                k.nh[k.n_nexthops++] = one;
        if (k.type != RTN_UNICAST)
                k.n_nexthops = 0;
        ctx->error = ctx->cb(&k, ctx->userdata);
        return ctx->error < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

int kernel_dump_routes(Netlink *nl, uint8_t family, uint32_t table, kroute_cb_t cb, void *userdata)
{
        DumpCtx ctx = { .cb = cb, .userdata = userdata, .table = table };
        struct rtmsg *rtm;
        struct nlmsghdr *h;
        int r;

        netlink_batch_reset(nl);
        h = netlink_batch_add(nl, RTM_GETROUTE, NLM_F_DUMP, sizeof(*rtm), (void **) &rtm);
        if (!h)
                return -ENOMEM;
        rtm->rtm_family = family;
        /* Strict checking lets the kernel filter by protocol and table instead of sending every route. */
        rtm->rtm_protocol = DLRD_RTPROT;
        if (table != 0)
                put_table(h, rtm, table);
        r = netlink_dump(nl, route_cb, &ctx);
        if (r == -EIO && ctx.error < 0)
                return ctx.error;
        return r;
}
