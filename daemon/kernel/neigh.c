/* Neighbour entries on LIF bridges and forwarding entries on their ports: the kernel side of endpoint
 * bindings and of head-end replication. Encoded with libmnl into the caller's batch. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "kernel.h"
#include "shared/cleanup.h"

void kneighs_done(KNeighs *n)
{
        free(n->v);
        *n = (KNeighs) {};
}

static struct nlmsghdr *neigh_msg(Netlink *nl, uint16_t type, uint16_t flags, uint8_t family, int ifindex,
                uint16_t state, uint8_t ntf)
{
        struct ndmsg *ndm;
        struct nlmsghdr *h = netlink_batch_add(nl, type, flags, sizeof(*ndm), (void **) &ndm);
        if (!h)
                return NULL;
        ndm->ndm_family = family;
        ndm->ndm_ifindex = ifindex;
        ndm->ndm_state = state;
        ndm->ndm_flags = ntf;
        return h;
}

int kernel_neigh_replace(Netlink *nl, int ifindex, const IpPrefix *ip, const uint8_t mac[6])
{
        struct nlmsghdr *h = neigh_msg(nl, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, ip->family, ifindex,
                NUD_PERMANENT, 0);
        if (!h)
                return -ENOMEM;
        mnl_attr_put(h, NDA_DST, ip_addr_len(ip->family), ip->addr);
        mnl_attr_put(h, NDA_LLADDR, 6, mac);
        return 0;
}

int kernel_neigh_delete(Netlink *nl, int ifindex, const IpPrefix *ip)
{
        struct nlmsghdr *h = neigh_msg(nl, RTM_DELNEIGH, 0, ip->family, ifindex, 0, 0);
        if (!h)
                return -ENOMEM;
        mnl_attr_put(h, NDA_DST, ip_addr_len(ip->family), ip->addr);
        return 0;
}

/* master: an entry of the bridge ("static": never aged, not local); else an entry of the VXLAN device
 * itself, pointing at a remote VTEP. The all-zero MAC takes several remotes, so it is appended. */
int kernel_fdb_add(Netlink *nl, int ifindex, const uint8_t mac[6], bool master, const IpPrefix *dst)
{
        bool zero = memcmp(mac, (uint8_t[6]) {}, 6) == 0;
        uint16_t flags = NLM_F_CREATE | (zero && !master ? NLM_F_APPEND : NLM_F_REPLACE);
        struct nlmsghdr *h = neigh_msg(nl, RTM_NEWNEIGH, flags, AF_BRIDGE, ifindex, master ? NUD_NOARP : NUD_PERMANENT,
                master ? NTF_MASTER : NTF_SELF);
        if (!h)
                return -ENOMEM;
        mnl_attr_put(h, NDA_LLADDR, 6, mac);
        if (dst)
                mnl_attr_put(h, NDA_DST, ip_addr_len(dst->family), dst->addr);
        return 0;
}

int kernel_fdb_delete(Netlink *nl, int ifindex, const uint8_t mac[6], bool master, const IpPrefix *dst)
{
        struct nlmsghdr *h = neigh_msg(nl, RTM_DELNEIGH, 0, AF_BRIDGE, ifindex, 0, master ? NTF_MASTER : NTF_SELF);
        if (!h)
                return -ENOMEM;
        mnl_attr_put(h, NDA_LLADDR, 6, mac);
        if (dst)
                mnl_attr_put(h, NDA_DST, ip_addr_len(dst->family), dst->addr);
        return 0;
}

int kernel_parse_neigh(const struct nlmsghdr *h, KNeigh *ret)
{
        const struct ndmsg *ndm = mnl_nlmsg_get_payload(h);
        const struct nlattr *a;
        KNeigh n = {};

        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ndm)))
                return -EINVAL;
        n.family = ndm->ndm_family;
        n.ifindex = ndm->ndm_ifindex;
        n.state = ndm->ndm_state;
        n.flags = ndm->ndm_flags;
        mnl_attr_for_each(a, h, sizeof(*ndm)) {
                size_t len = mnl_attr_get_payload_len(a);
                switch (mnl_attr_get_type(a)) {
                case NDA_DST:
                        if (len == 4 || len == 16) {
                                n.dst.family = len == 4 ? AF_INET : AF_INET6;
                                n.dst.plen = (uint8_t) (len * 8);
                                memcpy(n.dst.addr, mnl_attr_get_payload(a), len);
                        }
                        break;
                case NDA_LLADDR:
                        if (len == 6) {
                                memcpy(n.mac, mnl_attr_get_payload(a), 6);
                                n.has_mac = true;
                        }
                        break;
                case NDA_MASTER:
                        if (len == 4)
                                n.master = (int) mnl_attr_get_u32(a);
                        break;
                default:
                        break;
                }
        }
        *ret = n;
        return 0;
}

static int dump_cb(const struct nlmsghdr *h, void *data)
{
        KNeighs *out = data;
        KNeigh n;

        if (h->nlmsg_type != RTM_NEWNEIGH || kernel_parse_neigh(h, &n) < 0)
                return MNL_CB_OK;
        KNeigh *v = realloc(out->v, (out->n + 1) * sizeof(KNeigh));
        if (!v)
                return MNL_CB_ERROR;
        out->v = v;
        v[out->n++] = n;
        return MNL_CB_OK;
}

int kernel_dump_neighs(Netlink *nl, uint8_t family, KNeighs *ret)
{
        struct ndmsg *ndm;
        KNeighs out = {};
        int r;

        netlink_batch_reset(nl);
        if (!netlink_batch_add(nl, RTM_GETNEIGH, NLM_F_DUMP, sizeof(*ndm), (void **) &ndm))
                return -ENOMEM;
        ndm->ndm_family = family;
        r = netlink_dump(nl, dump_cb, &out);
        if (r < 0) {
                kneighs_done(&out);
                return r;
        }
        *ret = out;
        return 0;
}
