/* A router's firewall as nf_tables rules: two chains per router in table bridge dlrd, "from-vm-<router>"
 * (packets sent by its VMs) and "to-vm-<router>" (packets delivered to them), each a fixed head (established
 * flows, ICMP errors that must never be filtered, neighbour discovery), then one kernel rule per dlrd rule and
 * address family, in order, then the default action. Lists of addresses and ports become anonymous interval
 * sets bound to their rule, so a packet costs one lookup per list whatever its length. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>

#include "nft-internal.h"
#include "shared/cleanup.h"

static const char *const chain_prefix[_NFT_CHAIN_MAX] = { "from-vm-", "to-vm-" };

void nft_chain_name(const Router *r, NftChain chain, char *buf, size_t size)
{
        snprintf(buf, size, "%s%s", chain_prefix[chain], r->name);
}

/* '/' is in no router name, so chunk names cannot collide with another router's chain. */
void nft_chunk_name(const Router *r, NftChain chain, uint32_t chunk, char *buf, size_t size)
{
        snprintf(buf, size, "%s%s/%u", chain_prefix[chain], r->name, chunk);
}

static size_t carried_find(const NftCarry *c, const char *router, const char *rule)
{
        size_t lo = 0, hi = c->n;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int k = strcmp(c->v[mid].router, router);
                if (k == 0)
                        k = strcmp(c->v[mid].rule, rule);
                if (k == 0)
                        return mid;
                if (k < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return SIZE_MAX;
}

const NftCarried *nft_carry_take(Nft *n, const char *router, const char *rule)
{
        size_t i;

        if (!n->carry || (i = carried_find(n->carry, router, rule)) == SIZE_MAX || n->carry->v[i].used)
                return NULL;
        n->carry->v[i].used = true;
        return &n->carry->v[i];
}

bool nft_chain_router(const char *chain, const char **ret_router, size_t *ret_len)
{
        for (NftChain ch = 0; ch < _NFT_CHAIN_MAX; ch++) {
                size_t lp = strlen(chain_prefix[ch]);
                if (strncmp(chain, chain_prefix[ch], lp) == 0 && chain[lp]) {
                        *ret_router = chain + lp;
                        *ret_len = strcspn(chain + lp, "/");
                        return true;
                }
        }
        return false;
}

bool nft_chain_of_router(const char *chain, const char *router, uint32_t *ret_chunk)
{
        for (NftChain ch = 0; ch < _NFT_CHAIN_MAX; ch++) {
                size_t lp = strlen(chain_prefix[ch]), lr = strlen(router);
                const char *rest = chain + lp + lr;
                if (strncmp(chain, chain_prefix[ch], lp) != 0 || strncmp(chain + lp, router, lr) != 0)
                        continue;
                if (*rest == 0) {
                        *ret_chunk = UINT32_MAX;
                        return true;
                }
                if (*rest == '/' && rest[1] >= '0' && rest[1] <= '9') {
                        char *end;
                        unsigned long id = strtoul(rest + 1, &end, 10);
                        if (*end == 0 && id < UINT32_MAX) {
                                *ret_chunk = (uint32_t) id;
                                return true;
                        }
                }
        }
        return false;
}

static struct nftnl_rule *rule_alloc(const char *chain)
{
        struct nftnl_rule *r = nftnl_rule_alloc();

        if (!r)
                return NULL;
        nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TABLE);
        nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
        nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_BRIDGE);
        return r;
}

/* Appends the rule to its chain, or inserts it before the rule with handle position. */
static int emit(Nft *n, struct nftnl_rule *r, uint64_t position, const NftOwner *o, uint64_t *echo)
{
        struct nlmsghdr *h;
        uint16_t flags = NLM_F_CREATE;

        if (position)
                nftnl_rule_set_u64(r, NFTNL_RULE_POSITION, position);
        else
                flags |= NLM_F_APPEND;
        h = nft_batch_msg(n, NFT_MSG_NEWRULE, NFPROTO_BRIDGE, flags, o, echo);
        if (!h)
                return -ENOMEM;
        nftnl_rule_nlmsg_build_payload(h, r);
        return 0;
}

static void prefix_range(const IpPrefix *p, NftRange *ret)
{
        size_t len = ip_addr_len(p->family);

        memset(ret, 0, sizeof *ret);
        for (size_t i = 0; i < len; i++) {
                unsigned bits = p->plen > i * 8 ? p->plen - i * 8 : 0;
                uint8_t mask = bits >= 8 ? 0xff : (uint8_t) (0xff << (8 - bits));
                ret->first[i] = p->addr[i] & mask;
                ret->last[i] = (uint8_t) (p->addr[i] | (uint8_t) ~mask);
        }
}

/* An anonymous constant interval set bound to the rule being built. */
static int anon_interval_set(Nft *n, const NftOwner *o, uint32_t key_type, uint32_t key_len, NftRange *ranges,
                size_t n_ranges, uint32_t *ret_id)
{
        _cleanup_free_ NftElem *elems = calloc(2 * n_ranges + 1, sizeof *elems);
        NftSetSpec s = {
                .family = NFPROTO_BRIDGE,
                .flags = NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_INTERVAL,
                .key_type = key_type,
                .key_len = key_len,
                .elems = elems,
        };

        if (!elems)
                return -ENOMEM;
        s.n_elems = nft_interval_elems(ranges, n_ranges, key_len, elems);
        return nft_add_set(n, o, &s, ret_id);
}

/* ip saddr / daddr (offset in the network header) against the list's prefixes of one family. */
static int match_addresses(Nft *n, struct nftnl_rule *kr, const NftOwner *o, const IpPrefix *p, size_t np,
                int family, uint32_t offset)
{
        uint32_t len = (uint32_t) ip_addr_len(family);
        const IpPrefix *one = NULL;
        size_t count = 0;

        for (size_t i = 0; i < np; i++)
                if (p[i].family == family) {
                        one = &p[i];
                        count++;
                }
        if (count == 0)
                return 0;
        RETURN_IF(nft_expr_payload(kr, NFT_PAYLOAD_NETWORK_HEADER, offset, len, NFT_REG_1));
        if (count == 1) {
                NftRange range;
                prefix_range(one, &range);
                if (one->plen < len * 8) {
                        uint8_t mask[16];
                        for (uint32_t i = 0; i < len; i++)
                                mask[i] = (uint8_t) ~(range.first[i] ^ range.last[i]);
                        RETURN_IF(nft_expr_bitwise(kr, NFT_REG_1, mask, len));
                }
                return nft_expr_cmp(kr, NFT_CMP_EQ, NFT_REG_1, range.first, len);
        }

        _cleanup_free_ NftRange *ranges = calloc(count, sizeof *ranges);
        size_t k = 0;
        uint32_t id;

        if (!ranges)
                return -ENOMEM;
        for (size_t i = 0; i < np; i++)
                if (p[i].family == family)
                        prefix_range(&p[i], &ranges[k++]);
        RETURN_IF(anon_interval_set(n, o, family == AF_INET ? TYPE_IPADDR : TYPE_IP6ADDR, len, ranges, count, &id));
        return nft_expr_lookup(kr, NFT_REG_1, UINT32_MAX, NFT_ANON_SET, id, false);
}

static int match_ports(Nft *n, struct nftnl_rule *kr, const NftOwner *o, const PortRange *p, size_t np)
{
        if (np == 0)
                return 0;
        RETURN_IF(nft_expr_payload(kr, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1));
        if (np == 1 && p[0].first == p[0].last)
                return nft_expr_cmp_be16(kr, NFT_CMP_EQ, NFT_REG_1, p[0].first);
        if (np == 1) {
                RETURN_IF(nft_expr_cmp_be16(kr, NFT_CMP_GTE, NFT_REG_1, p[0].first));
                return nft_expr_cmp_be16(kr, NFT_CMP_LTE, NFT_REG_1, p[0].last);
        }

        _cleanup_free_ NftRange *ranges = calloc(np, sizeof *ranges);
        uint32_t id;

        if (!ranges)
                return -ENOMEM;
        for (size_t i = 0; i < np; i++) {
                ranges[i].first[0] = (uint8_t) (p[i].first >> 8);
                ranges[i].first[1] = (uint8_t) p[i].first;
                ranges[i].last[0] = (uint8_t) (p[i].last >> 8);
                ranges[i].last[1] = (uint8_t) p[i].last;
        }
        RETURN_IF(anon_interval_set(n, o, TYPE_INET_SERVICE, 2, ranges, np, &id));
        return nft_expr_lookup(kr, NFT_REG_1, UINT32_MAX, NFT_ANON_SET, id, false);
}

static int match_family(struct nftnl_rule *kr, int family)
{
        RETURN_IF(nft_expr_meta(kr, NFT_META_PROTOCOL, NFT_REG_1));
        return nft_expr_cmp_be16(kr, NFT_CMP_EQ, NFT_REG_1, family == AF_INET ? ETH_P_IP_ : ETH_P_IPV6_);
}

static int match_l4proto(struct nftnl_rule *kr, uint8_t proto)
{
        RETURN_IF(nft_expr_meta(kr, NFT_META_L4PROTO, NFT_REG_1));
        return nft_expr_cmp_u8(kr, NFT_CMP_EQ, NFT_REG_1, proto);
}

/* reject works in bridge prerouting only (nft_reject_bridge_validate), so packets towards VMs are dropped. */
static int action(Nft *n, struct nftnl_rule *kr, RuleAction a, RuleProtocol proto, NftChain chain)
{
        switch (a) {
        case RULE_ACTION_ALLOW:
                return nft_expr_verdict(kr, NF_ACCEPT, NULL);
        case RULE_ACTION_REJECT:
                if (chain == NFT_CHAIN_FROM_VM && (n->features & NFT_FEATURE_BRIDGE_REJECT)) {
                        if (proto == RULE_PROTO_TCP)
                                return nft_expr_reject(kr, NFT_REJECT_TCP_RST, 0);
                        return nft_expr_reject(kr, NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
                }
                return nft_expr_verdict(kr, NF_DROP, NULL);
        default:
                return nft_expr_verdict(kr, NF_DROP, NULL);
        }
}

static uint8_t proto_number(RuleProtocol p)
{
        switch (p) {
        case RULE_PROTO_TCP:
                return IPPROTO_TCP;
        case RULE_PROTO_UDP:
                return IPPROTO_UDP;
        case RULE_PROTO_ICMP:
                return IPPROTO_ICMP;
        case RULE_PROTO_ICMPV6:
                return IPPROTO_ICMPV6;
        default:
                return 0;
        }
}

/* One kernel rule of a dlrd rule: family AF_INET / AF_INET6, or 0 when the rule matches no address. */
static int one_rule(Nft *n, const Router *r, const Rule *rule, NftChain chain, uint32_t chunk, int family,
                uint64_t position, uint64_t *echo)
{
        _cleanup_(nftnl_rule_freep) struct nftnl_rule *kr = NULL;
        char name[NFT_CHAIN_MAXNAMELEN];
        NftOwner o = { .router = r->name, .rule = rule->name };
        uint8_t proto = proto_number(rule->protocol);

        nft_chunk_name(r, chain, chunk, name, sizeof name);
        kr = rule_alloc(name);
        if (!kr)
                return -ENOMEM;
        if (family != 0) {
                RETURN_IF(match_family(kr, family));
                RETURN_IF(match_addresses(n, kr, &o, rule->source, rule->n_source, family, family == AF_INET ? 12 : 8));
                RETURN_IF(match_addresses(n, kr, &o, rule->destination, rule->n_destination, family,
                                family == AF_INET ? 16 : 24));
        }
        if (proto != 0) {
                RETURN_IF(match_l4proto(kr, proto));
                if (rule->protocol == RULE_PROTO_TCP || rule->protocol == RULE_PROTO_UDP)
                        RETURN_IF(match_ports(n, kr, &o, rule->ports, rule->n_ports));
        }
        if (n->test_poison && streq(n->test_poison, rule->name))
                RETURN_IF(nft_expr_meta(kr, 255, NFT_REG_1)); /* no such meta key: the kernel says EOPNOTSUPP */
        const NftCarried *carried = nft_carry_take(n, r->name, rule->name);
        RETURN_IF(nft_expr_counter(kr, carried ? carried->packets : 0, carried ? carried->bytes : 0));
        RETURN_IF(action(n, kr, rule->action, rule->protocol, chain));
        RETURN_IF(nft_rule_comment(kr, rule->name));
        return emit(n, kr, position, &o, echo);
}

int nft_compile_rule(Nft *n, const Router *r, const Rule *rule, NftChain chain, uint32_t chunk, uint64_t position,
                uint64_t handles[2], uint8_t *ret_n)
{
        unsigned f = rule_families(rule);
        uint8_t k = 0;

        /* Nothing family-specific to match: one kernel rule serves both families. */
        if (f != 0 && rule->n_source == 0 && rule->n_destination == 0)
                RETURN_IF(one_rule(n, r, rule, chain, chunk, 0, position, &handles[k++]));
        else {
                if (f & RULE_FAMILY_IPV4)
                        RETURN_IF(one_rule(n, r, rule, chain, chunk, AF_INET, position, &handles[k++]));
                if (f & RULE_FAMILY_IPV6)
                        RETURN_IF(one_rule(n, r, rule, chain, chunk, AF_INET6, position, &handles[k++]));
        }
        if (ret_n)
                *ret_n = k;
        return 0;
}

int nft_compile_default(Nft *n, const Router *r, NftChain chain, uint64_t replace, uint64_t *echo)
{
        _cleanup_(nftnl_rule_freep) struct nftnl_rule *kr = NULL;
        char name[NFT_CHAIN_MAXNAMELEN];
        NftOwner o = { .router = r->name, .what = "default action" };
        struct nlmsghdr *h;

        nft_chain_name(r, chain, name, sizeof name);
        kr = rule_alloc(name);
        if (!kr)
                return -ENOMEM;
        /* A changed default action starts again from zero, like a changed rule; a pass carries it over. */
        const NftCarried *carried = replace ? NULL : nft_carry_take(n, r->name, NFT_DEFAULT_COMMENT);
        RETURN_IF(nft_expr_counter(kr, carried ? carried->packets : 0, carried ? carried->bytes : 0));
        RETURN_IF(action(n, kr, r->default_action, RULE_PROTO_ANY, chain));
        RETURN_IF(nft_rule_comment(kr, NFT_DEFAULT_COMMENT));
        if (!replace)
                return emit(n, kr, 0, &o, echo);
        nftnl_rule_set_u64(kr, NFTNL_RULE_HANDLE, replace);
        h = nft_batch_msg(n, NFT_MSG_NEWRULE, NFPROTO_BRIDGE, NLM_F_REPLACE, &o, echo);
        if (!h)
                return -ENOMEM;
        nftnl_rule_nlmsg_build_payload(h, kr);
        return 0;
}

/* The head every router chain starts with. */
static int fixed_rules(Nft *n, const Router *r, const char *chain)
{
        NftOwner o = { .router = r->name, .what = "firewall chain" };

        if (n->features & NFT_FEATURE_BRIDGE_CT) {
                _cleanup_(nftnl_rule_freep) struct nftnl_rule *kr = rule_alloc(chain);
                uint32_t mask = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED), zero = 0;
                if (!kr)
                        return -ENOMEM;
                RETURN_IF(nft_expr_ct(kr, NFT_CT_STATE, NFT_REG_1));
                RETURN_IF(nft_expr_bitwise(kr, NFT_REG_1, &mask, sizeof mask));
                RETURN_IF(nft_expr_cmp(kr, NFT_CMP_NEQ, NFT_REG_1, &zero, sizeof zero));
                RETURN_IF(nft_expr_verdict(kr, NF_ACCEPT, NULL));
                RETURN_IF(emit(n, kr, 0, &o, NULL));
        }
        {
                /* icmp type destination-unreachable code frag-needed: path MTU discovery (DESIGN §2). */
                _cleanup_(nftnl_rule_freep) struct nftnl_rule *kr = rule_alloc(chain);
                static const uint8_t type_code[2] = { 3, 4 };
                if (!kr)
                        return -ENOMEM;
                RETURN_IF(match_family(kr, AF_INET));
                RETURN_IF(match_l4proto(kr, IPPROTO_ICMP));
                RETURN_IF(nft_expr_payload(kr, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG_1));
                RETURN_IF(nft_expr_cmp(kr, NFT_CMP_EQ, NFT_REG_1, type_code, sizeof type_code));
                RETURN_IF(nft_expr_verdict(kr, NF_ACCEPT, NULL));
                RETURN_IF(emit(n, kr, 0, &o, NULL));
        }
        {
                /* icmpv6 packet-too-big, and neighbour discovery (133-137), without which IPv6 stops. */
                _cleanup_(nftnl_rule_freep) struct nftnl_rule *kr = rule_alloc(chain);
                if (!kr)
                        return -ENOMEM;
                RETURN_IF(match_family(kr, AF_INET6));
                RETURN_IF(match_l4proto(kr, IPPROTO_ICMPV6));
                RETURN_IF(nft_expr_payload(kr, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1));
                RETURN_IF(nft_expr_cmp_u8(kr, NFT_CMP_EQ, NFT_REG_1, 2));
                RETURN_IF(nft_expr_verdict(kr, NF_ACCEPT, NULL));
                RETURN_IF(emit(n, kr, 0, &o, NULL));
        }
        {
                _cleanup_(nftnl_rule_freep) struct nftnl_rule *kr = rule_alloc(chain);
                if (!kr)
                        return -ENOMEM;
                RETURN_IF(match_family(kr, AF_INET6));
                RETURN_IF(match_l4proto(kr, IPPROTO_ICMPV6));
                RETURN_IF(nft_expr_payload(kr, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1));
                RETURN_IF(nft_expr_cmp_u8(kr, NFT_CMP_GTE, NFT_REG_1, 133));
                RETURN_IF(nft_expr_cmp_u8(kr, NFT_CMP_LTE, NFT_REG_1, 137));
                RETURN_IF(nft_expr_verdict(kr, NF_ACCEPT, NULL));
                RETURN_IF(emit(n, kr, 0, &o, NULL));
        }
        return 0;
}

/* Creates (NFT_MSG_NEWCHAIN) or deletes (NFT_MSG_DELCHAIN) a chunk chain of a router. */
static int chunk_chain_msg(Nft *n, const Router *r, NftChain chain, uint32_t chunk, uint16_t cmd, uint16_t flags)
{
        NftOwner o = { .router = r->name, .what = "firewall chain" };
        char name[NFT_CHAIN_MAXNAMELEN];
        struct nftnl_chain *ch = nftnl_chain_alloc();
        struct nlmsghdr *h;

        if (!ch)
                return -ENOMEM;
        nft_chunk_name(r, chain, chunk, name, sizeof name);
        nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, NFT_TABLE);
        nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, name);
        h = nft_batch_msg(n, cmd, NFPROTO_BRIDGE, flags, &o, NULL);
        if (h)
                nftnl_chain_nlmsg_build_payload(h, ch);
        nftnl_chain_free(ch);
        return h ? 0 : -ENOMEM;
}

int nft_compile_chunk_chain(Nft *n, const Router *r, NftChain chain, uint32_t chunk)
{
        return chunk_chain_msg(n, r, chain, chunk, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
}

int nft_compile_jump(Nft *n, const Router *r, NftChain chain, uint32_t chunk, uint64_t position, uint64_t *echo)
{
        _cleanup_(nftnl_rule_freep) struct nftnl_rule *kr = NULL;
        NftOwner o = { .router = r->name, .what = "firewall chain" };
        char name[NFT_CHAIN_MAXNAMELEN], target[NFT_CHAIN_MAXNAMELEN];

        nft_chain_name(r, chain, name, sizeof name);
        nft_chunk_name(r, chain, chunk, target, sizeof target);
        kr = rule_alloc(name);
        if (!kr)
                return -ENOMEM;
        RETURN_IF(nft_expr_verdict(kr, NFT_JUMP, target));
        return emit(n, kr, position, &o, echo);
}

int nft_compile_delrule(Nft *n, const Router *r, const char *rule, NftChain chain, uint32_t chunk, uint64_t handle)
{
        _cleanup_(nftnl_rule_freep) struct nftnl_rule *kr = NULL;
        NftOwner o = { .router = r->name, .rule = rule, .what = "firewall chain" };
        char name[NFT_CHAIN_MAXNAMELEN];
        struct nlmsghdr *h;

        if (chunk == UINT32_MAX)
                nft_chain_name(r, chain, name, sizeof name);
        else
                nft_chunk_name(r, chain, chunk, name, sizeof name);
        kr = rule_alloc(name);
        if (!kr)
                return -ENOMEM;
        if (handle)
                nftnl_rule_set_u64(kr, NFTNL_RULE_HANDLE, handle); /* else: every rule of the chain */
        h = nft_batch_msg(n, NFT_MSG_DELRULE, NFPROTO_BRIDGE, 0, &o, NULL);
        if (!h)
                return -ENOMEM;
        nftnl_rule_nlmsg_build_payload(h, kr);
        return 0;
}

/* Deletes a chunk chain and its rules; the jump to it must be gone first (in the same transaction). */
int nft_compile_delchunk(Nft *n, const Router *r, NftChain chain, uint32_t chunk)
{
        return chunk_chain_msg(n, r, chain, chunk, NFT_MSG_DELCHAIN, 0);
}

int nft_compile_router(Nft *n, const Router *r, NftRouterState *st)
{
        char name[NFT_CHAIN_MAXNAMELEN];

        assert(st->n_chunks == 0);
        /* Chunks first: the jumps to them need them to exist. */
        for (size_t i = 0; i < r->n_rules; i += NFT_CHUNK_FILL) {
                NftChunk *c = nft_chunk_insert(st, st->n_chunks, st->next_chunk++);
                if (!c)
                        return -ENOMEM;
                for (NftChain ch = 0; ch < _NFT_CHAIN_MAX; ch++) {
                        RETURN_IF(nft_compile_chunk_chain(n, r, ch, c->id));
                        for (size_t j = i; j < r->n_rules && j < i + NFT_CHUNK_FILL; j++) {
                                NftRuleHandles *h = nft_router_state_find(st, r->rules[j]->name);
                                assert(h);
                                h->chunk = c->id;
                                RETURN_IF(nft_compile_rule(n, r, r->rules[j], ch, c->id, 0, h->handle[ch], &h->n));
                        }
                }
                c->n = (uint32_t) MIN(NFT_CHUNK_FILL, r->n_rules - i);
        }
        for (NftChain ch = 0; ch < _NFT_CHAIN_MAX; ch++) {
                nft_chain_name(r, ch, name, sizeof name);
                RETURN_IF(fixed_rules(n, r, name));
                for (size_t i = 0; i < st->n_chunks; i++)
                        RETURN_IF(nft_compile_jump(n, r, ch, st->chunks[i].id, 0, &st->chunks[i].jump[ch]));
                RETURN_IF(nft_compile_default(n, r, ch, 0, &st->default_handle[ch]));
        }
        return 0;
}
