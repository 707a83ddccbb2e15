/* Links: VRFs, bridges, VXLAN and VLAN devices. libnl-route encodes the kind-specific creation requests;
 * the messages go out in dlrd's own batches. Dumps are parsed here directly, since libnl does not decode
 * bridge-port options such as neigh_suppress. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet.h>
#include <netlink/route/link/vlan.h>
#include <netlink/route/link/vrf.h>
#include <netlink/route/link/vxlan.h>

#include "kernel.h"
#include "shared/cleanup.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_msg *, nlmsg_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_addr *, nl_addr_put)

void klinks_done(KLinks *l)
{
        free(l->v);
        *l = (KLinks) {};
}

const KLink *klinks_by_name(const KLinks *l, const char *name)
{
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->v[i].name, name))
                        return &l->v[i];
        return NULL;
}

const KLink *klinks_by_index(const KLinks *l, int ifindex)
{
        for (size_t i = 0; i < l->n; i++)
                if (l->v[i].ifindex == ifindex)
                        return &l->v[i];
        return NULL;
}

static void parse_str(const struct nlattr *a, char *buf, size_t size)
{
        size_t n = mnl_attr_get_payload_len(a);
        const char *s = mnl_attr_get_payload(a);
        n = strnlen(s, n);
        if (n >= size)
                n = size - 1;
        memcpy(buf, s, n);
        buf[n] = 0;
}

static void parse_info_data(KLink *k, const struct nlattr *data)
{
        const struct nlattr *a;

        mnl_attr_for_each_nested(a, data) {
                uint16_t t = mnl_attr_get_type(a);
                size_t len = mnl_attr_get_payload_len(a);

                if (streq(k->kind, "vrf") && t == IFLA_VRF_TABLE && len >= 4)
                        k->vrf_table = mnl_attr_get_u32(a);
                else if (streq(k->kind, "vxlan")) {
                        if (t == IFLA_VXLAN_ID && len >= 4)
                                k->vxlan_id = mnl_attr_get_u32(a);
                        else if (t == IFLA_VXLAN_PORT && len >= 2)
                                k->vxlan_port = ntohs(mnl_attr_get_u16(a));
                        else if (t == IFLA_VXLAN_LEARNING && len >= 1)
                                k->vxlan_learning = mnl_attr_get_u8(a);
                        else if (t == IFLA_VXLAN_LOCAL && len == 4) {
                                k->vxlan_local = (IpPrefix) { .family = AF_INET, .plen = 32 };
                                memcpy(k->vxlan_local.addr, mnl_attr_get_payload(a), 4);
                        } else if (t == IFLA_VXLAN_LOCAL6 && len == 16) {
                                k->vxlan_local = (IpPrefix) { .family = AF_INET6, .plen = 128 };
                                memcpy(k->vxlan_local.addr, mnl_attr_get_payload(a), 16);
                        }
                } else if (streq(k->kind, "vlan") && t == IFLA_VLAN_ID && len >= 2)
                        k->vlan_id = mnl_attr_get_u16(a);
        }
}

static void parse_slave_data(KLink *k, const struct nlattr *data)
{
        const struct nlattr *a;

        mnl_attr_for_each_nested(a, data) {
                if (mnl_attr_get_payload_len(a) < 1)
                        continue;
                if (mnl_attr_get_type(a) == IFLA_BRPORT_LEARNING)
                        k->brport_learning = mnl_attr_get_u8(a);
                else if (mnl_attr_get_type(a) == IFLA_BRPORT_NEIGH_SUPPRESS)
                        k->brport_neigh_suppress = mnl_attr_get_u8(a);
        }
}

static void parse_linkinfo(KLink *k, const struct nlattr *info)
{
        const struct nlattr *a, *data = NULL, *sdata = NULL;

        mnl_attr_for_each_nested(a, info) {
                switch (mnl_attr_get_type(a)) {
                case IFLA_INFO_KIND:
                        parse_str(a, k->kind, sizeof k->kind);
                        break;
                case IFLA_INFO_SLAVE_KIND:
                        parse_str(a, k->slave_kind, sizeof k->slave_kind);
                        break;
                case IFLA_INFO_DATA:
                        data = a;
                        break;
                case IFLA_INFO_SLAVE_DATA:
                        sdata = a;
                        break;
                }
        }
        if (data)
                parse_info_data(k, data);
        if (sdata && streq(k->slave_kind, "bridge"))
                parse_slave_data(k, sdata);
}

static void parse_af_spec(KLink *k, const struct nlattr *spec)
{
        const struct nlattr *af, *a;

        mnl_attr_for_each_nested(af, spec) {
                if (mnl_attr_get_type(af) != AF_INET)
                        continue;
                mnl_attr_for_each_nested(a, af) {
                        if (mnl_attr_get_type(a) != IFLA_INET_CONF)
                                continue;
                        /* An array of u32 indexed by IPV4_DEVCONF_* - 1. */
                        if (mnl_attr_get_payload_len(a) >= IPV4_DEVCONF_FORWARDING * 4) {
                                const uint32_t *conf = mnl_attr_get_payload(a);
                                k->ipv4_forwarding = (int) conf[IPV4_DEVCONF_FORWARDING - 1];
                        }
                }
        }
}

static int link_cb(const struct nlmsghdr *h, void *userdata)
{
        KLinks *l = userdata;
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
        const struct nlattr *a;
        KLink k = {
                .master = 0, .link = 0, .vrf_table = -1, .vxlan_id = -1, .vxlan_port = -1,
                .vxlan_learning = -1, .vlan_id = -1, .brport_learning = -1, .brport_neigh_suppress = -1,
                .ipv4_forwarding = -1,
        };

        if (h->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(h) < sizeof(*ifi))
                return MNL_CB_OK;
        k.ifindex = ifi->ifi_index;
        k.flags = ifi->ifi_flags;
        mnl_attr_for_each(a, h, sizeof(*ifi)) {
                size_t len = mnl_attr_get_payload_len(a);
                switch (mnl_attr_get_type(a)) {
                case IFLA_IFNAME:
                        parse_str(a, k.name, sizeof k.name);
                        break;
                case IFLA_IFALIAS:
                        parse_str(a, k.alias, sizeof k.alias);
                        break;
                case IFLA_MTU:
                        if (len >= 4)
                                k.mtu = mnl_attr_get_u32(a);
                        break;
                case IFLA_MASTER:
                        if (len >= 4)
                                k.master = (int) mnl_attr_get_u32(a);
                        break;
                case IFLA_LINK:
                        if (len >= 4)
                                k.link = (int) mnl_attr_get_u32(a);
                        break;
                case IFLA_LINK_NETNSID:
                        k.link_other_netns = true;
                        break;
                case IFLA_ADDRESS:
                        if (len == 6) {
                                memcpy(k.mac, mnl_attr_get_payload(a), 6);
                                k.has_mac = true;
                        }
                        break;
                case IFLA_LINKINFO:
                        parse_linkinfo(&k, a);
                        break;
                case IFLA_AF_SPEC:
                        parse_af_spec(&k, a);
                        break;
                }
        }
        KLink *v = realloc(l->v, (l->n + 1) * sizeof(KLink));
        if (!v)
                return MNL_CB_ERROR;
        l->v = v;
        l->v[l->n++] = k;
        return MNL_CB_OK;
}

int kernel_dump_links(Netlink *nl, KLinks *ret)
{
        KLinks l = {};
        struct ifinfomsg *ifi;
        int r;

        netlink_batch_reset(nl);
        if (!netlink_batch_add(nl, RTM_GETLINK, NLM_F_DUMP, sizeof(*ifi), (void **) &ifi))
                return -ENOMEM;
        ifi->ifi_family = AF_UNSPEC;
        r = netlink_dump(nl, link_cb, &l);
        if (r < 0) {
                klinks_done(&l);
                return r;
        }
        *ret = l;
        return 0;
}

static int append_libnl(Netlink *nl, struct rtnl_link *link, int flags)
{
        _cleanup_(nlmsg_freep) struct nl_msg *msg = NULL;
        int r = rtnl_link_build_add_request(link, flags, &msg);
        if (r < 0)
                return -ENOMEM; /* libnl only fails here on allocation or an object it cannot encode */
        return netlink_batch_add_copy(nl, nlmsg_hdr(msg));
}

static int set_generic(struct rtnl_link *link, const LinkSpec *s)
{
        if (s->name)
                rtnl_link_set_name(link, s->name);
        if (s->alias)
                rtnl_link_set_ifalias(link, s->alias);
        if (s->mtu)
                rtnl_link_set_mtu(link, s->mtu);
        if (s->mac) {
                _cleanup_(nl_addr_putp) struct nl_addr *a = nl_addr_build(AF_LLC, s->mac, 6);
                if (!a)
                        return -ENOMEM;
                rtnl_link_set_addr(link, a);
        }
        if (s->up)
                rtnl_link_set_flags(link, IFF_UP);
        if (s->ipv4_forwarding && rtnl_link_inet_set_conf(link, IPV4_DEVCONF_FORWARDING, 1) < 0)
                return -ENOMEM;
        return 0;
}

int kernel_link_create(Netlink *nl, const LinkSpec *s)
{
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r;

        if (streq(s->kind, "vrf")) {
                link = rtnl_link_vrf_alloc();
                if (link && rtnl_link_vrf_set_tableid(link, s->vrf_table) < 0)
                        return -EINVAL;
        } else if (streq(s->kind, "bridge")) {
                link = rtnl_link_alloc();
                if (link && rtnl_link_set_type(link, "bridge") < 0)
                        return -EINVAL;
        } else if (streq(s->kind, "vxlan")) {
                link = rtnl_link_vxlan_alloc();
                if (link) {
                        _cleanup_(nl_addr_putp) struct nl_addr *a = NULL;
                        if (s->vxlan_local) {
                                a = nl_addr_build(s->vxlan_local->family, s->vxlan_local->addr,
                                        ip_addr_len(s->vxlan_local->family));
                                if (!a || rtnl_link_vxlan_set_local(link, a) < 0)
                                        return -ENOMEM;
                        }
                        if (rtnl_link_vxlan_set_id(link, s->vxlan_id) < 0 ||
                                        rtnl_link_vxlan_set_port(link, DLRD_VXLAN_PORT) < 0 ||
                                        rtnl_link_vxlan_set_learning(link, 0) < 0)
                                return -EINVAL;
                }
        } else if (streq(s->kind, "vlan")) {
                link = rtnl_link_vlan_alloc();
                if (link) {
                        rtnl_link_set_link(link, s->vlan_link);
                        if (rtnl_link_vlan_set_id(link, s->vlan_id) < 0)
                                return -EINVAL;
                }
        } else
                return -EOPNOTSUPP;
        if (!link)
                return -ENOMEM;

        r = set_generic(link, s);
        if (r < 0)
                return r;
        return append_libnl(nl, link, NLM_F_CREATE | NLM_F_EXCL);
}

int kernel_link_change(Netlink *nl, int ifindex, const LinkSpec *s)
{
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = rtnl_link_alloc();
        int r;

        if (!link)
                return -ENOMEM;
        rtnl_link_set_ifindex(link, ifindex);
        r = set_generic(link, &(LinkSpec) { .alias = s->alias, .mac = s->mac, .mtu = s->mtu, .up = s->up,
                                                   .ipv4_forwarding = s->ipv4_forwarding });
        if (r < 0)
                return r;
        if (s->master != 0)
                rtnl_link_set_master(link, s->master < 0 ? 0 : s->master);
        return append_libnl(nl, link, 0);
}

int kernel_link_delete(Netlink *nl, int ifindex)
{
        struct ifinfomsg *ifi;

        if (!netlink_batch_add(nl, RTM_DELLINK, 0, sizeof(*ifi), (void **) &ifi))
                return -ENOMEM;
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        return 0;
}

int kernel_brport_set(Netlink *nl, int ifindex, bool learning, bool neigh_suppress)
{
        struct ifinfomsg *ifi;
        struct nlmsghdr *h = netlink_batch_add(nl, RTM_NEWLINK, 0, sizeof(*ifi), (void **) &ifi);
        struct nlattr *info, *data;

        if (!h)
                return -ENOMEM;
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        /* The bridge applies slave data only to a current port, so this must follow the enslaving request. */
        info = mnl_attr_nest_start(h, IFLA_LINKINFO);
        mnl_attr_put_strz(h, IFLA_INFO_SLAVE_KIND, "bridge");
        data = mnl_attr_nest_start(h, IFLA_INFO_SLAVE_DATA);
        mnl_attr_put_u8(h, IFLA_BRPORT_LEARNING, learning);
        mnl_attr_put_u8(h, IFLA_BRPORT_NEIGH_SUPPRESS, neigh_suppress);
        mnl_attr_nest_end(h, data);
        mnl_attr_nest_end(h, info);
        return 0;
}

int kernel_ipv6_forwarding_set(const char *ifname, bool on)
{
        char path[128];
        _cleanup_close_ int fd = -EBADF;

        if (strchr(ifname, '/') || streq(ifname, ".") || streq(ifname, ".."))
                return -EINVAL;
        snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/forwarding", ifname);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, on ? "1" : "0", 1) != 1)
                return -errno;
        return 0;
}

int kernel_ipv6_forwarding_get(const char *ifname)
{
        char path[128], c = 0;
        _cleanup_close_ int fd = -EBADF;

        if (strchr(ifname, '/'))
                return -EINVAL;
        snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/forwarding", ifname);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (read(fd, &c, 1) != 1)
                return -EIO;
        return c == '1';
}
