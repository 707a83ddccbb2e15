/* Interface addresses: the LIF gateway addresses on the bridges. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "kernel.h"
#include "shared/cleanup.h"

void kaddrs_done(KAddrs *a)
{
        free(a->v);
        *a = (KAddrs) {};
}

static int addr_cb(const struct nlmsghdr *h, void *userdata)
{
        KAddrs *l = userdata;
        const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
        const struct nlattr *a;
        KAddr k = {};
        bool have = false;

        if (h->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(h) < sizeof(*ifa))
                return MNL_CB_OK;
        if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
                return MNL_CB_OK;
        k.ifindex = (int) ifa->ifa_index;
        k.scope = ifa->ifa_scope;
        k.flags = ifa->ifa_flags;
        k.addr.family = ifa->ifa_family;
        k.addr.plen = ifa->ifa_prefixlen;
        mnl_attr_for_each(a, h, sizeof(*ifa)) {
                uint16_t t = mnl_attr_get_type(a);
                size_t len = mnl_attr_get_payload_len(a);
                /* IFA_LOCAL is the address itself on point-to-point links; IFA_ADDRESS otherwise. */
                if ((t == IFA_LOCAL || (t == IFA_ADDRESS && !have)) && len == ip_addr_len(ifa->ifa_family)) {
                        memcpy(k.addr.addr, mnl_attr_get_payload(a), len);
                        have = true;
                } else if (t == IFA_FLAGS && len >= 4)
                        k.flags = mnl_attr_get_u32(a);
        }
        if (!have)
                return MNL_CB_OK;
        KAddr *v = realloc(l->v, (l->n + 1) * sizeof(KAddr));
        if (!v)
                return MNL_CB_ERROR;
        l->v = v;
        l->v[l->n++] = k;
        return MNL_CB_OK;
}

int kernel_dump_addrs(Netlink *nl, KAddrs *ret)
{
        KAddrs l = {};
        struct ifaddrmsg *ifa;
        int r;

        netlink_batch_reset(nl);
        if (!netlink_batch_add(nl, RTM_GETADDR, NLM_F_DUMP, sizeof(*ifa), (void **) &ifa))
                return -ENOMEM;
        ifa->ifa_family = AF_UNSPEC;
        r = netlink_dump(nl, addr_cb, &l);
        if (r < 0) {
                kaddrs_done(&l);
                return r;
        }
        *ret = l;
        return 0;
}

static int addr_msg(Netlink *nl, uint16_t type, uint16_t flags, int ifindex, const IpPrefix *p)
{
        struct ifaddrmsg *ifa;
        struct nlmsghdr *h = netlink_batch_add(nl, type, flags, sizeof(*ifa), (void **) &ifa);
        size_t len = ip_addr_len(p->family);

        if (!h)
                return -ENOMEM;
        ifa->ifa_family = p->family;
        ifa->ifa_prefixlen = p->plen;
        ifa->ifa_index = (uint32_t) ifindex;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        mnl_attr_put(h, IFA_LOCAL, len, p->addr);
        mnl_attr_put(h, IFA_ADDRESS, len, p->addr);
        if (type == RTM_NEWADDR) {
                /* Every host carries the same gateway address: duplicate address detection would fail it. */
                ifa->ifa_flags = p->family == AF_INET6 ? IFA_F_NODAD : 0;
                mnl_attr_put_u32(h, IFA_FLAGS, ifa->ifa_flags);
        }
        return 0;
}

int kernel_addr_add(Netlink *nl, int ifindex, const IpPrefix *p)
{
        return addr_msg(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, ifindex, p);
}

int kernel_addr_delete(Netlink *nl, int ifindex, const IpPrefix *p)
{
        return addr_msg(nl, RTM_DELADDR, 0, ifindex, p);
}
