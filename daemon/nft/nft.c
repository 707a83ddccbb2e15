/* The nftables module's life cycle and full passes: the sockets, the feature probe, nft_sync() — which
 * rebuilds dlrd's tables in one transaction and learns the handle of every kernel rule (NLM_F_ECHO) — and
 * the per-router pass, with the record of handles (NftRouterState) that the incremental calls (rules.c) work
 * from. A full recompute is always correct; the incremental path is only an optimisation. */
#include <errno.h>
#include <stdio.h> /* libnftnl's headers use FILE */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nf_tables.h>

#include "nft-internal.h"
#include "shared/array.h"
#include "shared/cleanup.h"
#include "shared/log.h"


static int rule_handles_compare(const void *a, const void *b)
{
        return strcmp(((const NftRuleHandles *) a)->name, ((const NftRuleHandles *) b)->name);
}

NftRouterState *nft_router_state_free(NftRouterState *st)
{
        if (!st)
                return NULL;
        for (size_t i = 0; i < st->n_rules; i++)
                free(st->rules[i].name);
        free(st->rules);
        free(st->chunks);
        free(st->name);
        free(st);
        return NULL;
}

NftRouterState *nft_router_state_new(const Router *r)
{
        NftRouterState *st = calloc(1, sizeof *st);

        if (!st)
                return NULL;
        st->name = strdup(r->name);
        st->rules = calloc(r->n_rules + 1, sizeof *st->rules);
        if (!st->name || !st->rules)
                return nft_router_state_free(st);
        st->cap = r->n_rules + 1;
        for (size_t i = 0; i < r->n_rules; i++) {
                st->rules[i].name = strdup(r->rules[i]->name);
                if (!st->rules[i].name)
                        return nft_router_state_free(st);
                st->n_rules++;
        }
        qsort(st->rules, st->n_rules, sizeof *st->rules, rule_handles_compare);
        return st;
}

NftRuleHandles *nft_router_state_find(const NftRouterState *st, const char *name)
{
        NftRuleHandles key = { .name = (char *) name };

        return bsearch(&key, st->rules, st->n_rules, sizeof *st->rules, rule_handles_compare);
}

NftRuleHandles *nft_router_state_insert(NftRouterState *st, const char *name)
{
        size_t lo = 0, hi = st->n_rules;

        if (ARRAY_GROW(st->rules, st->cap, st->n_rules, 16) < 0)
                return NULL;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (strcmp(st->rules[mid].name, name) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        char *copy = strdup(name);
        if (!copy)
                return NULL;
        memmove(&st->rules[lo + 1], &st->rules[lo], (st->n_rules - lo) * sizeof *st->rules);
        st->rules[lo] = (NftRuleHandles) { .name = copy };
        st->n_rules++;
        return &st->rules[lo];
}

void nft_router_state_remove(NftRouterState *st, NftRuleHandles *h)
{
        size_t i = (size_t) (h - st->rules);

        free(h->name);
        memmove(&st->rules[i], &st->rules[i + 1], (st->n_rules - i - 1) * sizeof *st->rules);
        st->n_rules--;
}

static void states_free(NftRouterState **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                nft_router_state_free(v[i]);
        free(v);
}

size_t nft_chunk_index(const NftRouterState *st, uint32_t id)
{
        for (size_t i = 0; i < st->n_chunks; i++)
                if (st->chunks[i].id == id)
                        return i;
        return SIZE_MAX;
}

NftChunk *nft_chunk_insert(NftRouterState *st, size_t i, uint32_t id)
{
        if (ARRAY_GROW(st->chunks, st->cap_chunks, st->n_chunks, 8) < 0)
                return NULL;
        memmove(&st->chunks[i + 1], &st->chunks[i], (st->n_chunks - i) * sizeof *st->chunks);
        st->chunks[i] = (NftChunk) { .id = id };
        st->n_chunks++;
        return &st->chunks[i];
}

void nft_chunk_remove(NftRouterState *st, size_t i)
{
        memmove(&st->chunks[i], &st->chunks[i + 1], (st->n_chunks - i - 1) * sizeof *st->chunks);
        st->n_chunks--;
}

NftRouterState **nft_router_state_slot(Nft *n, const char *router)
{
        for (size_t i = 0; i < n->n_routers; i++)
                if (streq(n->routers[i]->name, router))
                        return &n->routers[i];
        return NULL;
}

int nft_new(Nft **ret)
{
        Nft *n = calloc(1, sizeof *n);
        int r;

        if (!n)
                return -ENOMEM;
        n->test_features_mask = NFT_FEATURES_ALL;
        n->rx = malloc(NFT_RX_SIZE);
        if (!n->rx) {
                nft_free(n);
                return -ENOMEM;
        }
        r = nft_socket_open(&n->sock, false);
        if (r < 0) {
                nft_free(n);
                return r;
        }
        n->portid = mnl_socket_get_portid(n->sock);
        n->seq = (uint32_t) time(NULL) << 8;
        r = nft_monitor_open(n);
        if (r < 0) {
                nft_free(n);
                return r;
        }
        *ret = n;
        return 0;
}

Nft *nft_free(Nft *n)
{
        if (!n)
                return NULL;
        if (n->sock)
                mnl_socket_close(n->sock);
        if (n->mon)
                mnl_socket_close(n->mon);
        nft_batch_done(&n->batch);
        states_free(n->routers, n->n_routers);
        free(n->rx);
        free(n->host_id);
        free(n->test_poison);
        free(n);
        return NULL;
}

void nft_freep(Nft **n)
{
        nft_free(*n);
}

unsigned nft_features(const Nft *n)
{
        return n->features;
}

int nft_test_poison_rule(Nft *n, const char *name)
{
        char *copy = NULL;

        if (name && !(copy = strdup(name)))
                return -ENOMEM;
        free(n->test_poison);
        n->test_poison = copy;
        return 0;
}

void nft_test_mask_features(Nft *n, unsigned mask)
{
        n->test_features_mask = mask;
        n->features &= mask;
}

int nft_oom(DlrError *e)
{
        return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "nftables: out of memory");
}

/* Which optional kernel parts exist, asked the only way nf_tables answers: by trying. The transaction always
 * ends with a message that fails (deleting a chain that does not exist), so nothing of it is committed and
 * nobody is notified; every message's own answer still comes back. */
static int probe(Nft *n, DlrError *e)
{
        static const char chain_name[] = "probe";
        NftOwner o = { .what = "feature probe" };
        struct nftnl_table *t = nftnl_table_alloc();
        struct nftnl_chain *ch = nftnl_chain_alloc();
        size_t first_rule;
        int r = -ENOMEM;

        if (!t || !ch || nft_batch_begin(n) < 0)
                goto out;
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE);
        struct nlmsghdr *h = nft_batch_msg(n, NFT_MSG_NEWTABLE, NFPROTO_BRIDGE, NLM_F_CREATE, &o, NULL);
        if (!h)
                goto out;
        nftnl_table_nlmsg_build_payload(h, t);
        nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, NFT_TABLE);
        nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, chain_name);
        h = nft_batch_msg(n, NFT_MSG_NEWCHAIN, NFPROTO_BRIDGE, NLM_F_CREATE, &o, NULL);
        if (!h)
                goto out;
        nftnl_chain_nlmsg_build_payload(h, ch);
        first_rule = n->batch.n;
        for (int k = 0; k < 3; k++) {
                struct nftnl_rule *rule = nftnl_rule_alloc();
                int q;
                if (!rule)
                        goto out;
                nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, NFT_TABLE);
                nftnl_rule_set_str(rule, NFTNL_RULE_CHAIN, chain_name);
                q = k == 0 ? nft_expr_meta(rule, NFT_META_BRI_IIFNAME, NFT_REG_1)
                  : k == 1 ? nft_expr_ct(rule, NFT_CT_STATE, NFT_REG_1)
                           : nft_expr_reject(rule, NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
                h = q < 0 ? NULL : nft_batch_msg(n, NFT_MSG_NEWRULE, NFPROTO_BRIDGE, NLM_F_CREATE | NLM_F_APPEND, &o, NULL);
                if (h)
                        nftnl_rule_nlmsg_build_payload(h, rule);
                nftnl_rule_free(rule);
                if (!h)
                        goto out;
        }
        nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, "probe-end");
        h = nft_batch_msg(n, NFT_MSG_DELCHAIN, NFPROTO_BRIDGE, 0, &o, NULL);
        if (!h)
                goto out;
        nftnl_chain_nlmsg_build_payload(h, ch);

        r = nft_batch_commit(n, e);
        if (r == 0)
                r = dlr_error_set(e, DLR_ERROR_INTERNAL, -EIO, "nftables: the feature probe was committed");
        else if (n->batch.msgs[1].error == 0 && n->batch.msgs[2].error == 0 && n->batch.msgs[first_rule + 3].replied) {
                static const unsigned bits[] = { NFT_FEATURE_BRIDGE_META, NFT_FEATURE_BRIDGE_CT,
                        NFT_FEATURE_BRIDGE_REJECT };
                n->features = 0;
                for (size_t k = 0; k < 3; k++)
                        if (n->batch.msgs[first_rule + k].replied && n->batch.msgs[first_rule + k].error == 0)
                                n->features |= bits[k];
                n->features &= n->test_features_mask;
                n->probed = true;
                r = 0;
                if (!(n->features & NFT_FEATURE_BRIDGE_META))
                        log_warning("nftables: the kernel has no `meta ibrname` (nft_meta_bridge): the firewall "
                                    "sees only VM ports attached through dlrd.");
                if (!(n->features & NFT_FEATURE_BRIDGE_CT))
                        log_warning("nftables: the kernel has no bridge conntrack (nf_conntrack_bridge): the "
                                    "firewall is stateless, replies are matched by the rules like any packet.");
                if (!(n->features & NFT_FEATURE_BRIDGE_REJECT))
                        log_warning("nftables: the kernel has no bridge reject (nft_reject_bridge): rules that "
                                    "reject drop instead.");
        }
        /* else: the table or chain itself was refused (no nf_tables, no permission): r says why. */
out:
        nftnl_table_free(t);
        nftnl_chain_free(ch);
        return r == -ENOMEM ? nft_oom(e) : r;
}

void nft_carry_begin(Nft *n, const char *router, const char *const *chains, size_t n_chains, NftCarry *carry)
{
        int k = nft_carry_read(n, router, chains, n_chains, carry);

        if (k < 0)
                log_warning("nftables: reading the firewall counters to carry them over: %s; they start again "
                            "from zero", strerror(-k));
        n->carry = carry;
}

void nft_carry_end(Nft *n, NftCarry *carry)
{
        n->carry = NULL;
        nft_carry_done(carry);
}

int nft_sync(Nft *n, const Config *c, const char *host_id, DlrError *e)
{
        NftCarry carry = {};
        NftRouterState **states;
        int r;

        if (!n->probed && (r = probe(n, e)) < 0)
                return r;
        if (host_id && (!n->host_id || !streq(n->host_id, host_id))) {
                char *copy = strdup(host_id);
                if (!copy)
                        return nft_oom(e);
                free(n->host_id);
                n->host_id = copy;
        }
        states = calloc(c->n_routers + 1, sizeof(NftRouterState *));
        if (!states)
                return nft_oom(e);
        for (size_t i = 0; i < c->n_routers; i++)
                if (!(states[i] = nft_router_state_new(c->routers[i]))) {
                        states_free(states, i);
                        return nft_oom(e);
                }
        nft_carry_begin(n, NULL, NULL, 0, &carry);
        r = nft_batch_begin(n);
        if (r >= 0)
                r = nft_compile_all(n, c, n->host_id, states);
        nft_carry_end(n, &carry);
        if (r < 0) {
                states_free(states, c->n_routers);
                return r == -ENOMEM ? nft_oom(e) : dlr_error_set(e, DLR_ERROR_INTERNAL, r, "nftables: %s", strerror(-r));
        }
        r = nft_batch_commit(n, e);
        if (r < 0) {
                states_free(states, c->n_routers);
                return r;
        }
        states_free(n->routers, n->n_routers);
        n->routers = states;
        n->n_routers = c->n_routers;
        n->synced = true;
        n->dirty = false;
        return 0;
}

int nft_full_pass(Nft *n, const Config *c, DlrError *e)
{
        if (!n->host_id)
                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ESTALE,
                                "nftables: dlrd's tables were never synced; a full pass is due");
        return nft_sync(n, c, n->host_id, e);
}

typedef struct ChunkScan {
        const char *router;
        uint32_t *ids;
        size_t n, cap;
} ChunkScan;

static int chunk_scan_cb(const struct nlmsghdr *h, void *userdata)
{
        ChunkScan *s = userdata;
        struct nftnl_chain *ch = nftnl_chain_alloc();
        const char *table, *name;
        uint32_t id;
        int r = 0;

        if (!ch)
                return -ENOMEM;
        if (nftnl_chain_nlmsg_parse(h, ch) < 0) {
                nftnl_chain_free(ch);
                return -EBADMSG;
        }
        table = nftnl_chain_get_str(ch, NFTNL_CHAIN_TABLE);
        name = nftnl_chain_get_str(ch, NFTNL_CHAIN_NAME);
        if (table && name && streq(table, NFT_TABLE) && nft_chain_of_router(name, s->router, &id) &&
                        id != UINT32_MAX) {
                r = ARRAY_GROW(s->ids, s->cap, s->n, 16);
                if (r == 0)
                        s->ids[s->n++] = id;
        }
        nftnl_chain_free(ch);
        return r;
}

static int id_compare(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
        return x < y ? -1 : x > y;
}

/* Rebuilds one router's chains (flushed and refilled, its chunks replaced, in one transaction): what
 * nft_rule_delete() and nft_default_action() fall back to, as they are not given the whole configuration. The
 * chunks the kernel holds are found by a dump, since our record of them is what cannot be trusted. */
int nft_router_pass(Nft *n, const Router *r, DlrError *e)
{
        ChunkScan scan = { .router = r->name };
        NftCarry carry = {};
        NftRouterState *st = NULL, **slot;
        uint32_t next = 0;
        int k;

        k = nft_dump(n, NFT_MSG_GETCHAIN, NFPROTO_BRIDGE, chunk_scan_cb, &scan);
        if (k == -EINTR) {
                scan.n = 0;
                k = nft_dump(n, NFT_MSG_GETCHAIN, NFPROTO_BRIDGE, chunk_scan_cb, &scan);
        }
        if (k < 0) {
                free(scan.ids);
                return dlr_error_set(e, DLR_ERROR_KERNEL, k, "dlr=%s: listing its firewall chains: %s", r->name,
                                strerror(-k));
        }
        /* Both chains have each chunk: one id per chunk. */
        if (scan.n > 1)
                qsort(scan.ids, scan.n, sizeof *scan.ids, id_compare);
        size_t unique = 0;
        for (size_t i = 0; i < scan.n; i++)
                if (unique == 0 || scan.ids[unique - 1] != scan.ids[i])
                        scan.ids[unique++] = scan.ids[i];
        scan.n = unique;
        for (size_t i = 0; i < scan.n; i++)
                next = MAX(next, scan.ids[i] + 1);
        st = nft_router_state_new(r);
        nft_carry_begin(n, r->name, NULL, 0, &carry); /* before the batch: a dump takes a sequence number */
        k = st ? nft_batch_begin(n) : -ENOMEM;
        if (st)
                st->next_chunk = next;
        for (NftChain ch = 0; k >= 0 && ch < _NFT_CHAIN_MAX; ch++) {
                k = nft_compile_delrule(n, r, NULL, ch, UINT32_MAX, 0);
                for (size_t i = 0; k >= 0 && i < scan.n; i++)
                        k = nft_compile_delchunk(n, r, ch, scan.ids[i]);
        }
        free(scan.ids);
        if (k >= 0)
                k = nft_compile_router(n, r, st);
        nft_carry_end(n, &carry);
        if (k < 0) {
                nft_router_state_free(st);
                return nft_oom(e);
        }
        k = nft_batch_commit(n, e);
        if (k < 0) {
                nft_router_state_free(st);
                return k;
        }
        slot = nft_router_state_slot(n, r->name);
        if (slot) {
                nft_router_state_free(*slot);
                *slot = st;
        } else {
                NftRouterState **v = realloc(n->routers, (n->n_routers + 1) * sizeof(NftRouterState *));
                if (!v) {
                        nft_router_state_free(st);
                        n->synced = false; /* the kernel is right, our record of it is not: resync later */
                        return nft_oom(e);
                }
                n->routers = v;
                n->routers[n->n_routers++] = st;
        }
        return 0;
}
