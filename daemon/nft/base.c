/* dlrd's tables as a whole: table bridge dlrd (gateway protection, per-router conntrack zones, the dispatch of
 * VM traffic to the routers' firewall chains) and table inet dlrd (the same zones for routed traffic). Every
 * per-LIF fact is an element of a named set or map, so the base chains stay a handful of rules whatever the
 * number of routers and LIFs. Rebuilt whole, in one transaction, by nft_sync(). */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <string.h>

#include <libnftnl/chain.h>
#include <libnftnl/table.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_bridge.h>
#include <openssl/evp.h>

#include "nft-internal.h"
#include "reconcile/names.h"
#include "shared/array.h"
#include "shared/cleanup.h"

static const NftOwner OWNER_GW = { .what = "gateway protection" };
static const NftOwner OWNER_ZONES = { .what = "conntrack zones" };
static const NftOwner OWNER_DISPATCH = { .what = "firewall dispatch" };

bool nft_designated(const Config *c, const char *host_id)
{
        const char *min = NULL;

        for (size_t i = 0; i < c->n_members; i++)
                if (!min || strcmp(c->members[i]->host, min) < 0)
                        min = c->members[i]->host;
        return !min || (host_id && streq(min, host_id));
}

void nft_router_zones(const Config *c, uint16_t *ret)
{
        /* Tables that fit keep their id; the others, in router order (the same on every pass over the same
         * configuration), take the first zone upwards from their table id modulo 65535 that nobody holds. */
        for (size_t i = 0; i < c->n_routers; i++)
                ret[i] = c->routers[i]->table >= 1 && c->routers[i]->table <= 65535 ? (uint16_t) c->routers[i]->table : 0;
        for (size_t i = 0; i < c->n_routers; i++) {
                if (ret[i] != 0)
                        continue;
                uint32_t z = c->routers[i]->table % 65535u + 1;
                for (;;) {
                        bool taken = false;
                        for (size_t j = 0; j < c->n_routers && !taken; j++)
                                taken = ret[j] == z;
                        if (!taken)
                                break;
                        z = z % 65535u + 1;
                }
                ret[i] = (uint16_t) z;
        }
}

/* The source MAC routed frames leave this host with: unique per host, so the shared gateway MAC never
 * appears on the underlay (where peers drop it, DESIGN §2). */
static void host_mac(const char *host_id, uint8_t ret[6])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        char buf[256];
        int k = snprintf(buf, sizeof buf, "dlrd-pmac%c%s", 0, host_id ? host_id : "");

        if (k < 0 || (size_t) k >= sizeof buf)
                k = (int) sizeof buf - 1;
        if (EVP_Digest(buf, (size_t) k, md, &len, EVP_sha256(), NULL) != 1)
                memset(md, 0x5b, sizeof md);
        memcpy(ret, md, 6);
        ret[0] = (uint8_t) ((ret[0] & 0xfc) | 0x02);
}

static void key_ifname(uint8_t *key, const char *name)
{
        memset(key, 0, IFNAMSIZ);
        memcpy(key, name, strnlen(name, IFNAMSIZ - 1));
}

/* Growing element arrays. */
typedef struct Elems {
        NftElem *v;
        size_t n, cap;
} Elems;

static NftElem *elem_new(Elems *e)
{
        if (ARRAY_GROW(e->v, e->cap, e->n, 16) < 0)
                return NULL;
        memset(&e->v[e->n], 0, sizeof e->v[e->n]);
        return &e->v[e->n++];
}

static void elems_done(Elems *e)
{
        free(e->v);
}

typedef struct BaseSets {
        Elems underlay, guarded, gwmac, gw4, gw6, zone_br, zone_inet, from_vm, to_vm;
} BaseSets;

static void base_sets_done(BaseSets *s)
{
        elems_done(&s->underlay);
        elems_done(&s->guarded);
        elems_done(&s->gwmac);
        elems_done(&s->gw4);
        elems_done(&s->gw6);
        elems_done(&s->zone_br);
        elems_done(&s->zone_inet);
        elems_done(&s->from_vm);
        elems_done(&s->to_vm);
}

static int add_ifname(Elems *e, const char *ifname)
{
        NftElem *x = elem_new(e);
        if (!x)
                return -ENOMEM;
        key_ifname(x->key, ifname);
        return 0;
}

static int add_zone(Elems *e, const char *ifname, uint16_t zone)
{
        NftElem *x = elem_new(e);
        if (!x)
                return -ENOMEM;
        key_ifname(x->key, ifname);
        memcpy(x->data, &zone, sizeof zone); /* ct zone is in host byte order */
        return 0;
}

static int add_jump(Elems *e, const char *ifname, const char *chain)
{
        NftElem *x = elem_new(e);
        if (!x)
                return -ENOMEM;
        key_ifname(x->key, ifname);
        x->jump = chain;
        return 0;
}

static int add_gw(Elems *e, const char *port, const uint8_t *addr, size_t len)
{
        NftElem *x = elem_new(e);
        if (!x)
                return -ENOMEM;
        key_ifname(x->key, port);
        memcpy(x->key + IFNAMSIZ, addr, len);
        return 0;
}

/* The chain names the dispatch maps jump to, kept until the batch is built. */
typedef struct ChainNames {
        char (*v)[2][NFT_CHAIN_MAXNAMELEN];
} ChainNames;

static int collect(Nft *n, const Config *c, const char *host_id, const uint16_t *zones, const ChainNames *chains,
                BaseSets *s)
{
        bool designated = nft_designated(c, host_id);
        bool by_bridge = n->features & NFT_FEATURE_BRIDGE_META;

        for (size_t i = 0; i < c->n_routers; i++) {
                const Router *r = c->routers[i];
                for (size_t j = 0; j < r->n_lifs; j++) {
                        const Lif *l = r->lifs[j];
                        char br[IFNAMSIZ], port[IFNAMSIZ];
                        bool guarded = !(l->kind == LIF_KIND_VLAN && designated);
                        NftElem *x;

                        lif_bridge_name(l, br);
                        lif_port_name(l, port);
                        RETURN_IF(add_ifname(&s->underlay, port));
                        if (guarded)
                                RETURN_IF(add_ifname(&s->guarded, port));
                        x = elem_new(&s->gwmac);
                        if (!x)
                                return -ENOMEM;
                        memcpy(x->key, l->mac, 6);
                        RETURN_IF(add_zone(&s->zone_inet, br, zones[i]));
                        if (by_bridge) {
                                RETURN_IF(add_zone(&s->zone_br, br, zones[i]));
                                RETURN_IF(add_jump(&s->from_vm, br, chains->v[i][NFT_CHAIN_FROM_VM]));
                                RETURN_IF(add_jump(&s->to_vm, br, chains->v[i][NFT_CHAIN_TO_VM]));
                        } else
                                RETURN_IF(add_zone(&s->zone_br, port, zones[i]));
                        if (!guarded)
                                continue;
                        for (size_t k = 0; k < l->n_addresses; k++)
                                RETURN_IF(add_gw(l->addresses[k].family == AF_INET ? &s->gw4 : &s->gw6, port,
                                                l->addresses[k].addr, ip_addr_len(l->addresses[k].family)));
                        /* The bridge's link-local address comes from the shared MAC, so it is shared too. */
                        uint8_t ll[16] = { 0xfe, 0x80 };
                        ll[8] = l->mac[0] ^ 0x02;
                        ll[9] = l->mac[1];
                        ll[10] = l->mac[2];
                        ll[11] = 0xff;
                        ll[12] = 0xfe;
                        memcpy(ll + 13, l->mac + 3, 3);
                        RETURN_IF(add_gw(&s->gw6, port, ll, 16));
                }
        }
        if (by_bridge)
                return 0;
        /* Without `meta ibrname`, VM ports are known by name: the ones attached through dlrd. */
        for (size_t i = 0; i < c->n_ports; i++) {
                const Port *p = &c->ports[i];
                for (size_t j = 0; j < c->n_routers; j++) {
                        if (!streq(c->routers[j]->name, p->router) || !router_find_lif(c->routers[j], p->lif))
                                continue;
                        RETURN_IF(add_zone(&s->zone_br, p->ifname, zones[j]));
                        RETURN_IF(add_jump(&s->from_vm, p->ifname, chains->v[j][NFT_CHAIN_FROM_VM]));
                        RETURN_IF(add_jump(&s->to_vm, p->ifname, chains->v[j][NFT_CHAIN_TO_VM]));
                }
        }
        return 0;
}

static int named_set(Nft *n, const NftOwner *o, uint16_t family, const char *name, uint32_t flags,
                uint32_t key_type, uint32_t key_len, uint32_t data_type, uint32_t data_len, const Elems *e)
{
        NftSetSpec s = {
                .key_host_order = key_type == TYPE_IFNAME,
                .name = name,
                .family = family,
                .flags = flags,
                .key_type = key_type,
                .key_len = key_len,
                .data_type = data_type,
                .data_len = data_len,
                .elems = e->v,
                .n_elems = e->n,
        };
        return nft_add_set(n, o, &s, NULL);
}

static int zone_map(Nft *n, uint16_t family, uint32_t meta_key, const Elems *e)
{
        NftSetSpec s = {
                .name = "zones",
                .family = family,
                .flags = NFT_SET_MAP,
                .key_type = TYPE_IFNAME,
                .key_len = IFNAMSIZ,
                .data_type = TYPE_INTEGER,
                .data_len = 2,
                .elems = e->v,
                .n_elems = e->n,
                .key_host_order = true,
                .zone_map_meta_key = meta_key,
        };
        return nft_add_set(n, &OWNER_ZONES, &s, NULL);
}

static int table(Nft *n, uint16_t family)
{
        struct nftnl_table *t = nftnl_table_alloc();
        static const uint16_t cmds[] = { NFT_MSG_NEWTABLE, NFT_MSG_DELTABLE, NFT_MSG_NEWTABLE };
        NftOwner o = { .what = "table" };

        if (!t)
                return -ENOMEM;
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE);
        nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
        /* Create (if missing), delete, create: a fresh table whatever was there, in one transaction. */
        for (size_t i = 0; i < ELEMENTSOF(cmds); i++) {
                struct nlmsghdr *h = nft_batch_msg(n, cmds[i], family, cmds[i] == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0,
                                &o, NULL);
                if (!h) {
                        nftnl_table_free(t);
                        return -ENOMEM;
                }
                nftnl_table_nlmsg_build_payload(h, t);
        }
        nftnl_table_free(t);
        return 0;
}

/* A chain; base chains (hook >= 0) are filter chains with policy accept. */
static int chain(Nft *n, const NftOwner *o, uint16_t family, const char *name, int hook, int prio)
{
        struct nftnl_chain *ch = nftnl_chain_alloc();
        struct nlmsghdr *h;

        if (!ch)
                return -ENOMEM;
        nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, NFT_TABLE);
        nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, name);
        if (hook >= 0) {
                nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, (uint32_t) hook);
                nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, prio);
                nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, "filter");
                nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
        }
        h = nft_batch_msg(n, NFT_MSG_NEWCHAIN, family, NLM_F_CREATE, o, NULL);
        if (!h) {
                nftnl_chain_free(ch);
                return -ENOMEM;
        }
        nftnl_chain_nlmsg_build_payload(h, ch);
        nftnl_chain_free(ch);
        return 0;
}

static struct nftnl_rule *rule_alloc(uint16_t family, const char *chain)
{
        struct nftnl_rule *r = nftnl_rule_alloc();

        if (!r)
                return NULL;
        nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TABLE);
        nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
        nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family);
        return r;
}

static int append(Nft *n, const NftOwner *o, uint16_t family, struct nftnl_rule *r)
{
        struct nlmsghdr *h = nft_batch_msg(n, NFT_MSG_NEWRULE, family, NLM_F_CREATE | NLM_F_APPEND, o, NULL);

        if (!h)
                return -ENOMEM;
        nftnl_rule_nlmsg_build_payload(h, r);
        return 0;
}

static int cmp_ethertype(struct nftnl_rule *r, uint16_t type)
{
        RETURN_IF(nft_expr_meta(r, NFT_META_PROTOCOL, NFT_REG_1));
        return nft_expr_cmp_be16(r, NFT_CMP_EQ, NFT_REG_1, type);
}

/* meta protocol { ip, ip6 }: an anonymous set of the two ether types. */
static int ip_or_ip6(Nft *n, const NftOwner *o, struct nftnl_rule *r)
{
        NftElem e[2] = {};
        uint16_t ip = htons(ETH_P_IP_), ip6 = htons(ETH_P_IPV6_);
        NftSetSpec s = {
                .family = NFPROTO_BRIDGE,
                .flags = NFT_SET_ANONYMOUS | NFT_SET_CONSTANT,
                .key_type = TYPE_ETHERTYPE,
                .key_len = 2,
                .elems = e,
                .n_elems = 2,
        };
        uint32_t id;

        memcpy(e[0].key, &ip, 2);
        memcpy(e[1].key, &ip6, 2);
        RETURN_IF(nft_add_set(n, o, &s, &id));
        RETURN_IF(nft_expr_meta(r, NFT_META_PROTOCOL, NFT_REG_1));
        return nft_expr_lookup(r, NFT_REG_1, UINT32_MAX, NFT_ANON_SET, id, false);
}

static int icmpv6_types(struct nftnl_rule *r, uint8_t first, uint8_t last)
{
        RETURN_IF(cmp_ethertype(r, ETH_P_IPV6_));
        RETURN_IF(nft_expr_meta(r, NFT_META_L4PROTO, NFT_REG_1));
        RETURN_IF(nft_expr_cmp_u8(r, NFT_CMP_EQ, NFT_REG_1, IPPROTO_ICMPV6));
        RETURN_IF(nft_expr_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1));
        RETURN_IF(nft_expr_cmp_u8(r, NFT_CMP_GTE, NFT_REG_1, first));
        return nft_expr_cmp_u8(r, NFT_CMP_LTE, NFT_REG_1, last);
}

/* IPv4/IPv6 on a VM port (port_key: the in or out port; by_bridge: not the underlay port, and the port's bridge
 * picks the router) jumps to that router's chain through the verdict map. */
static int append_dispatch(Nft *n, const char *chain, uint32_t port_key, uint32_t bridge_key, const char *map,
                bool by_bridge)
{
        _cleanup_(nftnl_rule_freep) struct nftnl_rule *r = rule_alloc(NFPROTO_BRIDGE, chain);
        if (!r)
                return -ENOMEM;
        RETURN_IF(ip_or_ip6(n, &OWNER_DISPATCH, r));
        RETURN_IF(nft_expr_meta(r, port_key, NFT_REG_1));
        if (by_bridge) {
                RETURN_IF(nft_expr_lookup(r, NFT_REG_1, UINT32_MAX, "underlay", 0, true));
                RETURN_IF(nft_expr_meta(r, bridge_key, NFT_REG_1));
        }
        RETURN_IF(nft_expr_lookup(r, NFT_REG_1, NFT_REG_VERDICT, map, 0, false));
        return append(n, &OWNER_DISPATCH, NFPROTO_BRIDGE, r);
}

/* bridge prerouting, priority 0: after nf_conntrack_bridge (-200), so `ct state` sees the flow. */
static int prerouting(Nft *n, bool by_bridge)
{
        RETURN_IF(chain(n, &OWNER_GW, NFPROTO_BRIDGE, "prerouting", NF_BR_PRE_ROUTING, 0));
        /* Frames from the overlay or the VLAN claiming a gateway MAC as their source: never ours. */
        {
                _cleanup_(nftnl_rule_freep) struct nftnl_rule *r = rule_alloc(NFPROTO_BRIDGE, "prerouting");
                if (!r)
                        return -ENOMEM;
                RETURN_IF(nft_expr_meta(r, NFT_META_IIFNAME, NFT_REG_1));
                RETURN_IF(nft_expr_lookup(r, NFT_REG_1, UINT32_MAX, "underlay", 0, false));
                RETURN_IF(nft_expr_payload(r, NFT_PAYLOAD_LL_HEADER, 6, 6, NFT_REG_1));
                RETURN_IF(nft_expr_lookup(r, NFT_REG_1, UINT32_MAX, "gateway-macs", 0, false));
                RETURN_IF(nft_expr_verdict(r, NF_DROP, NULL));
                RETURN_IF(append(n, &OWNER_GW, NFPROTO_BRIDGE, r));
        }
        /* Nor sent to one: each host routes its own VMs' traffic; only the designated instance of a VLAN
         * LIF is reached at the gateway MAC from outside. */
        {
                _cleanup_(nftnl_rule_freep) struct nftnl_rule *r = rule_alloc(NFPROTO_BRIDGE, "prerouting");
                if (!r)
                        return -ENOMEM;
                RETURN_IF(nft_expr_meta(r, NFT_META_IIFNAME, NFT_REG_1));
                RETURN_IF(nft_expr_lookup(r, NFT_REG_1, UINT32_MAX, "guarded", 0, false));
                RETURN_IF(nft_expr_payload(r, NFT_PAYLOAD_LL_HEADER, 0, 6, NFT_REG_1));
                RETURN_IF(nft_expr_lookup(r, NFT_REG_1, UINT32_MAX, "gateway-macs", 0, false));
                RETURN_IF(nft_expr_verdict(r, NF_DROP, NULL));
                RETURN_IF(append(n, &OWNER_GW, NFPROTO_BRIDGE, r));
        }
        /* IP from a VM port: its router's firewall. */
        return append_dispatch(n, "prerouting", NFT_META_IIFNAME, NFT_META_BRI_IIFNAME, "from-vm", by_bridge);
}

/* oifname . <address at base+offset> in a set of (port, gateway address). */
static int port_and_address(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len, const char *set)
{
        RETURN_IF(nft_expr_meta(r, NFT_META_OIFNAME, NFT_REG_1));
        RETURN_IF(nft_expr_payload(r, base, offset, len, NFT_REG_2));
        return nft_expr_lookup(r, NFT_REG_1, UINT32_MAX, set, 0, false);
}

static int postrouting(Nft *n, bool by_bridge, const uint8_t pmac[6])
{
        RETURN_IF(chain(n, &OWNER_GW, NFPROTO_BRIDGE, "postrouting", NF_BR_POST_ROUTING, 0));
        /* No ARP or ND for a gateway address leaves towards the underlay: ARP by sender or target, ND by
         * source or target address (the field after the 4 reserved bytes of NS/NA). */
        for (int k = 0; k < 5; k++) {
                _cleanup_(nftnl_rule_freep) struct nftnl_rule *r = rule_alloc(NFPROTO_BRIDGE, "postrouting");
                const NftOwner *o = k < 4 ? &OWNER_GW : &OWNER_DISPATCH;
                if (!r)
                        return -ENOMEM;
                switch (k) {
                case 0:
                case 1:
                        RETURN_IF(cmp_ethertype(r, ETH_P_ARP_));
                        RETURN_IF(port_and_address(r, NFT_PAYLOAD_NETWORK_HEADER, k == 0 ? 14 : 24, 4, "gateway4"));
                        RETURN_IF(nft_expr_verdict(r, NF_DROP, NULL));
                        break;
                case 2:
                        RETURN_IF(icmpv6_types(r, 133, 137));
                        RETURN_IF(port_and_address(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 16, "gateway6"));
                        RETURN_IF(nft_expr_verdict(r, NF_DROP, NULL));
                        break;
                case 3:
                        RETURN_IF(icmpv6_types(r, 135, 136));
                        RETURN_IF(port_and_address(r, NFT_PAYLOAD_TRANSPORT_HEADER, 8, 16, "gateway6"));
                        RETURN_IF(nft_expr_verdict(r, NF_DROP, NULL));
                        break;
                default:
                        /* What is left of ND towards the underlay is a designated instance's own: untouched
                         * by the source rewrite below. */
                        RETURN_IF(icmpv6_types(r, 133, 137));
                        RETURN_IF(nft_expr_meta(r, NFT_META_OIFNAME, NFT_REG_1));
                        RETURN_IF(nft_expr_lookup(r, NFT_REG_1, UINT32_MAX, "underlay", 0, false));
                        RETURN_IF(nft_expr_verdict(r, NF_ACCEPT, NULL));
                        o = &OWNER_GW;
                        break;
                }
                RETURN_IF(append(n, o, NFPROTO_BRIDGE, r));
        }
        /* Routed frames leave with this host's own MAC instead of the shared gateway MAC. */
        {
                _cleanup_(nftnl_rule_freep) struct nftnl_rule *r = rule_alloc(NFPROTO_BRIDGE, "postrouting");
                if (!r)
                        return -ENOMEM;
                RETURN_IF(nft_expr_meta(r, NFT_META_OIFNAME, NFT_REG_1));
                RETURN_IF(nft_expr_lookup(r, NFT_REG_1, UINT32_MAX, "underlay", 0, false));
                RETURN_IF(nft_expr_payload(r, NFT_PAYLOAD_LL_HEADER, 6, 6, NFT_REG_1));
                RETURN_IF(nft_expr_lookup(r, NFT_REG_1, UINT32_MAX, "gateway-macs", 0, false));
                RETURN_IF(ip_or_ip6(n, &OWNER_GW, r));
                RETURN_IF(nft_expr_immediate_data(r, NFT_REG_1, pmac, 6));
                RETURN_IF(nft_expr_payload_write(r, NFT_PAYLOAD_LL_HEADER, 6, 6, NFT_REG_1));
                RETURN_IF(append(n, &OWNER_GW, NFPROTO_BRIDGE, r));
        }
        /* IP towards a VM port: its router's firewall. */
        return append_dispatch(n, "postrouting", NFT_META_OIFNAME, NFT_META_BRI_OIFNAME, "to-vm", by_bridge);
}

/* ct zone set <key> map @zones, in a chain of its own ahead of conntrack. */
static int zone_chain(Nft *n, uint16_t family, int hook, uint32_t key)
{
        _cleanup_(nftnl_rule_freep) struct nftnl_rule *r = NULL;

        RETURN_IF(chain(n, &OWNER_ZONES, family, "zone", hook, -300));
        r = rule_alloc(family, "zone");
        if (!r)
                return -ENOMEM;
        RETURN_IF(nft_expr_meta(r, key, NFT_REG_1));
        RETURN_IF(nft_expr_lookup(r, NFT_REG_1, NFT_REG_1, "zones", 0, false));
        RETURN_IF(nft_expr_ct_set(r, NFT_CT_ZONE, NFT_REG_1));
        return append(n, &OWNER_ZONES, family, r);
}

int nft_compile_all(Nft *n, const Config *c, const char *host_id, NftRouterState **states)
{
        _cleanup_free_ uint16_t *zones = calloc(c->n_routers + 1, sizeof *zones);
        ChainNames chains = { .v = calloc(c->n_routers + 1, sizeof *chains.v) };
        bool by_bridge = n->features & NFT_FEATURE_BRIDGE_META, ct = n->features & NFT_FEATURE_BRIDGE_CT;
        BaseSets s = {};
        uint8_t pmac[6];
        int r;

        if (!zones || !chains.v) {
                free(chains.v);
                return -ENOMEM;
        }
        nft_router_zones(c, zones);
        host_mac(host_id, pmac);

        if ((r = table(n, NFPROTO_BRIDGE)) < 0 || (r = table(n, NFPROTO_INET)) < 0)
                goto out;
        for (size_t i = 0; i < c->n_routers; i++) {
                const Router *rt = c->routers[i];
                for (NftChain ch = 0; ch < _NFT_CHAIN_MAX; ch++) {
                        NftOwner o = { .router = rt->name, .what = "firewall chain" };
                        nft_chain_name(rt, ch, chains.v[i][ch], sizeof chains.v[i][ch]);
                        if ((r = chain(n, &o, NFPROTO_BRIDGE, chains.v[i][ch], -1, 0)) < 0)
                                goto out;
                }
                if ((r = nft_compile_router(n, rt, states[i])) < 0)
                        goto out;
        }
        if ((r = collect(n, c, host_id, zones, &chains, &s)) < 0)
                goto out;
        if ((r = named_set(n, &OWNER_GW, NFPROTO_BRIDGE, "underlay", 0, TYPE_IFNAME, IFNAMSIZ, 0, 0, &s.underlay)) < 0 ||
                        (r = named_set(n, &OWNER_GW, NFPROTO_BRIDGE, "guarded", 0, TYPE_IFNAME, IFNAMSIZ, 0, 0,
                                         &s.guarded)) < 0 ||
                        (r = named_set(n, &OWNER_GW, NFPROTO_BRIDGE, "gateway-macs", 0, TYPE_ETHERADDR, 6, 0, 0,
                                         &s.gwmac)) < 0 ||
                        (r = named_set(n, &OWNER_GW, NFPROTO_BRIDGE, "gateway4", 0, CONCAT(TYPE_IFNAME, TYPE_IPADDR),
                                         IFNAMSIZ + 4, 0, 0, &s.gw4)) < 0 ||
                        (r = named_set(n, &OWNER_GW, NFPROTO_BRIDGE, "gateway6", 0,
                                         CONCAT(TYPE_IFNAME, TYPE_IP6ADDR), IFNAMSIZ + 16, 0, 0, &s.gw6)) < 0 ||
                        (r = named_set(n, &OWNER_DISPATCH, NFPROTO_BRIDGE, "from-vm", NFT_SET_MAP, TYPE_IFNAME,
                                         IFNAMSIZ, NFT_DATA_VERDICT, 0, &s.from_vm)) < 0 ||
                        (r = named_set(n, &OWNER_DISPATCH, NFPROTO_BRIDGE, "to-vm", NFT_SET_MAP, TYPE_IFNAME,
                                         IFNAMSIZ, NFT_DATA_VERDICT, 0, &s.to_vm)) < 0)
                goto out;
        if (ct) {
                uint32_t key = by_bridge ? NFT_META_BRI_IIFNAME : NFT_META_IIFNAME;
                if ((r = zone_map(n, NFPROTO_BRIDGE, key, &s.zone_br)) < 0 ||
                                (r = zone_chain(n, NFPROTO_BRIDGE, NF_BR_PRE_ROUTING, key)) < 0)
                        goto out;
        }
        if ((r = prerouting(n, by_bridge)) < 0 || (r = postrouting(n, by_bridge, pmac)) < 0)
                goto out;
        /* Routed traffic: the IP layer's conntrack of packets arriving on a LIF bridge uses the same zone. */
        if ((r = zone_map(n, NFPROTO_INET, NFT_META_IIFNAME, &s.zone_inet)) < 0 ||
                        (r = zone_chain(n, NFPROTO_INET, NF_INET_PRE_ROUTING, NFT_META_IIFNAME)) < 0)
                goto out;
        r = 0;
out:
        base_sets_done(&s);
        free(chains.v);
        return r;
}
