/* Building blocks of dlrd's nf_tables rules and sets, encoded the way nft(8) encodes the same statements so
 * that `nft list ruleset` shows them as readable nft syntax. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h> /* libnftnl's headers use FILE */
#include <string.h>

#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nf_tables.h>

#include "nft-internal.h"

static int add(struct nftnl_rule *r, struct nftnl_expr *e)
{
        nftnl_rule_add_expr(r, e);
        return 0;
}

#define NEW_EXPR(e, name)                                                                                     \
        struct nftnl_expr *e = nftnl_expr_alloc(name);                                                        \
        if (!(e))                                                                                             \
                return -ENOMEM

int nft_expr_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
        NEW_EXPR(e, "meta");
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
        return add(r, e);
}

int nft_expr_meta_set(struct nftnl_rule *r, uint32_t key, uint32_t sreg)
{
        NEW_EXPR(e, "meta");
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, sreg);
        return add(r, e);
}

int nft_expr_cmp(struct nftnl_rule *r, uint32_t op, uint32_t sreg, const void *data, uint32_t len)
{
        NEW_EXPR(e, "cmp");
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
        nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
        return add(r, e);
}

int nft_expr_cmp_u8(struct nftnl_rule *r, uint32_t op, uint32_t sreg, uint8_t v)
{
        return nft_expr_cmp(r, op, sreg, &v, sizeof v);
}

int nft_expr_cmp_be16(struct nftnl_rule *r, uint32_t op, uint32_t sreg, uint16_t v)
{
        uint16_t be = htons(v);
        return nft_expr_cmp(r, op, sreg, &be, sizeof be);
}

static int payload(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len, uint32_t reg, bool write)
{
        NEW_EXPR(e, "payload");
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
        if (write) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_SREG, reg);
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_CSUM_TYPE, NFT_PAYLOAD_CSUM_NONE);
        } else
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, reg);
        return add(r, e);
}

int nft_expr_payload(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg)
{
        return payload(r, base, offset, len, dreg, false);
}

int nft_expr_payload_write(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len, uint32_t sreg)
{
        return payload(r, base, offset, len, sreg, true);
}

int nft_expr_bitwise(struct nftnl_rule *r, uint32_t reg, const void *mask, uint32_t len)
{
        static const uint8_t zero[16];

        NEW_EXPR(e, "bitwise");
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
        nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
        nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
        return add(r, e);
}

int nft_expr_lookup(struct nftnl_rule *r, uint32_t sreg, uint32_t dreg, const char *set, uint32_t set_id,
                bool invert)
{
        NEW_EXPR(e, "lookup");
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
        if (dreg != UINT32_MAX)
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, dreg);
        nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
        if (set_id)
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
        if (invert)
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
        return add(r, e);
}

int nft_expr_ct(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
        NEW_EXPR(e, "ct");
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
        return add(r, e);
}

int nft_expr_ct_set(struct nftnl_rule *r, uint32_t key, uint32_t sreg)
{
        NEW_EXPR(e, "ct");
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_SREG, sreg);
        return add(r, e);
}

int nft_expr_immediate_data(struct nftnl_rule *r, uint32_t dreg, const void *data, uint32_t len)
{
        NEW_EXPR(e, "immediate");
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
        nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
        return add(r, e);
}

int nft_expr_verdict(struct nftnl_rule *r, int verdict, const char *chain)
{
        NEW_EXPR(e, "immediate");
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t) verdict);
        if (chain)
                nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
        return add(r, e);
}

int nft_expr_counter(struct nftnl_rule *r, uint64_t packets, uint64_t bytes)
{
        NEW_EXPR(e, "counter");
        if (packets > 0 || bytes > 0) {
                nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, packets);
                nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, bytes);
        }
        return add(r, e);
}

int nft_expr_reject(struct nftnl_rule *r, uint32_t type, uint8_t code)
{
        NEW_EXPR(e, "reject");
        nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
        nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
        return add(r, e);
}

int nft_rule_comment(struct nftnl_rule *r, const char *comment)
{
        struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);

        if (!u)
                return -ENOMEM;
        if (!nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, comment)) {
                nftnl_udata_buf_free(u);
                return -E2BIG;
        }
        nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
        nftnl_udata_buf_free(u);
        return 0;
}

/* Elements per NEWSETELEM message: the element list is one netlink attribute, whose length is 16 bits; 256
 * of dlrd's largest elements (an interface name and a jump to a chain named after a router) stay well below
 * that and below NFT_MSG_ROOM. */
#define ELEMS_PER_MSG 256

static struct nftnl_set *set_header(const NftSetSpec *s, uint32_t id)
{
        struct nftnl_set *set = nftnl_set_alloc();

        if (!set)
                return NULL;
        nftnl_set_set_str(set, NFTNL_SET_TABLE, NFT_TABLE);
        nftnl_set_set_str(set, NFTNL_SET_NAME, s->name ? s->name : NFT_ANON_SET);
        nftnl_set_set_u32(set, NFTNL_SET_FAMILY, s->family);
        nftnl_set_set_u32(set, NFTNL_SET_ID, id);
        return set;
}

/* What nft(8) itself stores in a set's user data for `nft list` to print it as it was written; the numbers of
 * nft's expression types (meta 9, ct 12) are part of that format. */
static int set_userdata(struct nftnl_set *set, const NftSetSpec *s)
{
        struct nftnl_udata_buf *u;

        if (!s->key_host_order && !s->zone_map_meta_key)
                return 0;
        u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
        if (!u)
                return -ENOMEM;
        if (s->key_host_order)
                nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, 1);
        if (s->zone_map_meta_key) {
                nftnl_udata_put_u32(u, NFTNL_UDATA_SET_DATABYTEORDER, 1);
                struct nftnl_udata *outer = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_KEY_TYPEOF);
                nftnl_udata_put_u32(u, NFTNL_UDATA_SET_TYPEOF_EXPR, 9);
                struct nftnl_udata *inner = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_TYPEOF_DATA);
                nftnl_udata_put_u32(u, 0, s->zone_map_meta_key);
                nftnl_udata_nest_end(u, inner);
                nftnl_udata_nest_end(u, outer);
                outer = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_DATA_TYPEOF);
                nftnl_udata_put_u32(u, NFTNL_UDATA_SET_TYPEOF_EXPR, 12);
                inner = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_TYPEOF_DATA);
                nftnl_udata_put_u32(u, 0, NFT_CT_ZONE);
                nftnl_udata_put_u32(u, 1, UINT32_MAX); /* no direction */
                nftnl_udata_nest_end(u, inner);
                nftnl_udata_nest_end(u, outer);
                nftnl_udata_put_u32(u, NFTNL_UDATA_SET_DATA_INTERVAL, 0);
        }
        nftnl_set_set_data(set, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
        nftnl_udata_buf_free(u);
        return 0;
}

int nft_add_set(Nft *n, const NftOwner *o, const NftSetSpec *s, uint32_t *ret_id)
{
        uint32_t id = ++n->set_id;
        struct nftnl_set *set = set_header(s, id);
        struct nlmsghdr *h;

        if (!set)
                return -ENOMEM;
        nftnl_set_set_u32(set, NFTNL_SET_FLAGS, s->flags);
        nftnl_set_set_u32(set, NFTNL_SET_KEY_TYPE, s->key_type);
        nftnl_set_set_u32(set, NFTNL_SET_KEY_LEN, s->key_len);
        if (s->flags & NFT_SET_MAP) {
                nftnl_set_set_u32(set, NFTNL_SET_DATA_TYPE, s->data_type);
                nftnl_set_set_u32(set, NFTNL_SET_DATA_LEN, s->data_len);
        }
        if (set_userdata(set, s) < 0) {
                nftnl_set_free(set);
                return -ENOMEM;
        }
        h = nft_batch_msg(n, NFT_MSG_NEWSET, s->family, NLM_F_CREATE, o, NULL);
        if (!h) {
                nftnl_set_free(set);
                return -ENOMEM;
        }
        nftnl_set_nlmsg_build_payload(h, set);
        nftnl_set_free(set);

        for (size_t i = 0; i < s->n_elems; i += ELEMS_PER_MSG) {
                set = set_header(s, id);
                if (!set)
                        return -ENOMEM;
                for (size_t j = i; j < s->n_elems && j < i + ELEMS_PER_MSG; j++) {
                        const NftElem *x = &s->elems[j];
                        struct nftnl_set_elem *e = nftnl_set_elem_alloc();
                        if (!e) {
                                nftnl_set_free(set);
                                return -ENOMEM;
                        }
                        nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, x->key, s->key_len);
                        if (x->flags)
                                nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, x->flags);
                        if (x->jump) {
                                nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, (uint32_t) NFT_JUMP);
                                nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, x->jump);
                        } else if ((s->flags & NFT_SET_MAP) && !(x->flags & NFT_SET_ELEM_INTERVAL_END))
                                nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, x->data, s->data_len);
                        nftnl_set_elem_add(set, e);
                }
                h = nft_batch_msg(n, NFT_MSG_NEWSETELEM, s->family, NLM_F_CREATE, o, NULL);
                if (!h) {
                        nftnl_set_free(set);
                        return -ENOMEM;
                }
                nftnl_set_elems_nlmsg_build_payload(h, set);
                nftnl_set_free(set);
        }
        if (ret_id)
                *ret_id = id;
        return 0;
}

static void be_increment(uint8_t *v, uint32_t len, bool *ret_overflow)
{
        for (uint32_t i = len; i-- > 0;)
                if (++v[i] != 0) {
                        *ret_overflow = false;
                        return;
                }
        *ret_overflow = true;
}

size_t nft_interval_elems(NftRange *ranges, size_t n, uint32_t len, NftElem *ret)
{
        static const uint8_t zero[16];
        size_t m = 0, k = 0;

        /* Merge: sorted by first, so a range overlapping or touching the previous one extends it. */
        for (size_t i = 0; i < n; i++) {
                if (m > 0) {
                        NftRange *prev = &ranges[m - 1];
                        uint8_t next[16];
                        bool overflow;
                        memcpy(next, prev->last, len);
                        be_increment(next, len, &overflow);
                        if (overflow || memcmp(ranges[i].first, next, len) <= 0) {
                                if (memcmp(ranges[i].last, prev->last, len) > 0)
                                        memcpy(prev->last, ranges[i].last, len);
                                continue;
                        }
                }
                ranges[m++] = ranges[i];
        }
        /* nft starts an interval set with an end element at 0 when the first range does not start there. */
        if (m > 0 && memcmp(ranges[0].first, zero, len) != 0) {
                memset(&ret[k], 0, sizeof ret[k]);
                ret[k++].flags = NFT_SET_ELEM_INTERVAL_END;
        }
        for (size_t i = 0; i < m; i++) {
                bool overflow;
                memset(&ret[k], 0, sizeof ret[k]);
                memcpy(ret[k++].key, ranges[i].first, len);
                memset(&ret[k], 0, sizeof ret[k]);
                memcpy(ret[k].key, ranges[i].last, len);
                be_increment(ret[k].key, len, &overflow);
                if (overflow)
                        continue; /* runs to the end of the number space: no end element */
                ret[k++].flags = NFT_SET_ELEM_INTERVAL_END;
        }
        return k;
}
