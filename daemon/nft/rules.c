/* Incremental changes to a router's firewall: each one transaction touching only the changed rule's kernel
 * rules (and at worst one chunk of NFT_CHUNK_MAX rules, when a full chunk splits), placed by the handle of the
 * next rule, so that its cost does not grow with the number of rules (DESIGN §6). When our record of the
 * handles cannot be trusted — never synced, someone else changed the tables, the kernel no longer knows a
 * handle — they fall back to a full pass. Also the counters. */
#include <errno.h>
#include <stdio.h> /* libnftnl's headers use FILE */
#include <stdlib.h>
#include <string.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nf_tables.h>

#include "nft-internal.h"
#include "shared/array.h"
#include "shared/cleanup.h"

/* r->rules is sorted by (priority, name). */
static size_t rule_index(const Router *r, const Rule *rule)
{
        size_t lo = 0, hi = r->n_rules;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                const Rule *x = r->rules[mid];
                int c = x->priority != rule->priority ? (x->priority < rule->priority ? -1 : 1)
                                                      : strcmp(x->name, rule->name);
                if (c == 0)
                        return mid;
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return SIZE_MAX;
}

/* The kernel rules of a dlrd rule, or those of a whole chunk when it is the chunk's last rule. Returns whether
 * the chunk goes. */
static int remove_rule(Nft *n, const Router *r, const NftRouterState *st, const NftRuleHandles *h, bool *ret_drop)
{
        size_t ci = nft_chunk_index(st, h->chunk);
        int k = 0;

        *ret_drop = ci != SIZE_MAX && st->chunks[ci].n <= 1;
        for (NftChain ch = 0; k >= 0 && ch < _NFT_CHAIN_MAX; ch++) {
                if (*ret_drop) {
                        k = nft_compile_delrule(n, r, h->name, ch, UINT32_MAX, st->chunks[ci].jump[ch]);
                        if (k >= 0)
                                k = nft_compile_delchunk(n, r, ch, h->chunk);
                        continue;
                }
                for (uint8_t i = 0; k >= 0 && i < h->n; i++)
                        k = nft_compile_delrule(n, r, h->name, ch, h->chunk, h->handle[ch][i]);
        }
        return k;
}

/* After a committed remove_rule(). */
static void removed(NftRouterState *st, uint32_t chunk, bool dropped)
{
        size_t ci = nft_chunk_index(st, chunk);

        if (ci == SIZE_MAX)
                return;
        if (dropped)
                nft_chunk_remove(st, ci);
        else
                st->chunks[ci].n--;
}

typedef struct Moved {
        const Rule *rule;
        uint32_t chunk;
        uint8_t n;
        uint64_t handle[_NFT_CHAIN_MAX][2];
} Moved;

static bool in_chunk(const NftRouterState *st, const Rule *x, const Rule *rule, uint32_t id, bool *ret_member)
{
        const NftRuleHandles *h;

        *ret_member = false;
        if (x == rule || streq(x->name, rule->name)) {
                *ret_member = true;
                return true;
        }
        h = nft_router_state_find(st, x->name);
        if (!h || h->n == 0)
                return true; /* no kernel rules (yet): does not end the run */
        *ret_member = h->chunk == id;
        return *ret_member;
}

/* The chunk at ci is full: replace it by two new chunks holding its rules and the new one, in order. Costs
 * NFT_CHUNK_MAX rules once every NFT_CHUNK_MAX / 2 insertions into one place. */
static int split_put(Nft *n, const Router *r, NftRouterState *st, const Rule *rule, size_t idx, size_t ci,
                DlrError *e)
{
        NftRuleHandles *old = nft_router_state_find(st, rule->name);
        uint32_t id = st->chunks[ci].id, a = st->next_chunk, b = st->next_chunk + 1;
        uint64_t jump_a[_NFT_CHAIN_MAX] = {}, jump_b[_NFT_CHAIN_MAX] = {};
        uint32_t old_chunk = old ? old->chunk : 0;
        size_t lo = idx, hi = idx, m = 0, half;
        bool member, drop_old = false, remove_old = old && old->n > 0 && old->chunk != id;
        _cleanup_free_ Moved *moved = NULL;
        NftCarry carry = {};
        int k;

        /* The chunk's rules are a contiguous run of r->rules around the new rule's place. */
        while (lo > 0 && in_chunk(st, r->rules[lo - 1], rule, id, &member))
                lo--;
        while (hi + 1 < r->n_rules && in_chunk(st, r->rules[hi + 1], rule, id, &member))
                hi++;
        moved = calloc(hi - lo + 1, sizeof *moved);
        if (!moved)
                return nft_oom(e);
        for (size_t i = lo; i <= hi; i++)
                if (in_chunk(st, r->rules[i], rule, id, &member) && member)
                        moved[m++].rule = i == idx ? rule : r->rules[i];
        half = m / 2;

        /* The moved rules keep their counters; the rule being put is new (or changed) and starts from zero. */
        char names[_NFT_CHAIN_MAX][NFT_CHAIN_MAXNAMELEN];
        const char *chains[_NFT_CHAIN_MAX];
        for (NftChain ch = 0; ch < _NFT_CHAIN_MAX; ch++) {
                nft_chunk_name(r, ch, id, names[ch], sizeof names[ch]);
                chains[ch] = names[ch];
        }
        nft_carry_begin(n, r->name, chains, _NFT_CHAIN_MAX, &carry);
        (void) nft_carry_take(n, r->name, rule->name);
        k = nft_batch_begin(n);
        if (k >= 0 && remove_old)
                k = remove_rule(n, r, st, old, &drop_old);
        for (NftChain ch = 0; k >= 0 && ch < _NFT_CHAIN_MAX; ch++) {
                uint64_t before = ci + 1 < st->n_chunks ? st->chunks[ci + 1].jump[ch] : st->default_handle[ch];
                k = nft_compile_chunk_chain(n, r, ch, a);
                if (k >= 0)
                        k = nft_compile_chunk_chain(n, r, ch, b);
                for (size_t i = 0; k >= 0 && i < m; i++) {
                        moved[i].chunk = i < half ? a : b;
                        k = nft_compile_rule(n, r, moved[i].rule, ch, moved[i].chunk, 0, moved[i].handle[ch],
                                        &moved[i].n);
                }
                if (k >= 0)
                        k = nft_compile_jump(n, r, ch, a, before, &jump_a[ch]);
                if (k >= 0)
                        k = nft_compile_jump(n, r, ch, b, before, &jump_b[ch]);
                if (k >= 0)
                        k = nft_compile_delrule(n, r, rule->name, ch, UINT32_MAX, st->chunks[ci].jump[ch]);
                if (k >= 0)
                        k = nft_compile_delchunk(n, r, ch, id);
        }
        nft_carry_end(n, &carry);
        if (k < 0)
                return nft_oom(e);
        k = nft_batch_commit(n, e);
        if (k < 0)
                return k;

        /* Committed: record it. */
        st->next_chunk += 2;
        if (remove_old) {
                removed(st, old_chunk, drop_old);
                ci = nft_chunk_index(st, id);
        }
        st->chunks[ci] = (NftChunk) { .id = a, .n = (uint32_t) half };
        memcpy(st->chunks[ci].jump, jump_a, sizeof jump_a);
        NftChunk *c = nft_chunk_insert(st, ci + 1, b);
        if (!c || (!old && !nft_router_state_insert(st, rule->name))) {
                n->synced = false;
                return nft_oom(e);
        }
        c->n = (uint32_t) (m - half);
        memcpy(c->jump, jump_b, sizeof jump_b);
        for (size_t i = 0; i < m; i++) {
                NftRuleHandles *h = nft_router_state_find(st, moved[i].rule->name);
                h->chunk = moved[i].chunk;
                h->n = moved[i].n;
                memcpy(h->handle, moved[i].handle, sizeof h->handle);
        }
        return 0;
}

int nft_rule_put(Nft *n, const Config *c, const Router *r, const Rule *rule, DlrError *e)
{
        NftRouterState **slot = nft_router_state_slot(n, r->name);
        NftRouterState *st = slot ? *slot : NULL;
        size_t idx = rule_index(r, rule), ci = SIZE_MAX;
        uint64_t position[_NFT_CHAIN_MAX] = {}, handles[_NFT_CHAIN_MAX][2] = {}, jump[_NFT_CHAIN_MAX] = {};
        NftRuleHandles *old;
        bool remove_old, drop_old = false;
        uint32_t id, old_chunk;
        uint8_t count = 0;
        int k;

        if (idx == SIZE_MAX)
                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOENT, "dlr=%s rule=%s: not in the router", r->name,
                                rule->name);
        if (!n->synced || n->dirty || !st)
                return nft_full_pass(n, c, e);
        old = nft_router_state_find(st, rule->name);
        remove_old = old && old->n > 0;
        old_chunk = old ? old->chunk : 0;

        /* Before the next rule that has kernel rules, in its chunk; else at the end of the last chunk. */
        for (size_t j = idx + 1; j < r->n_rules && ci == SIZE_MAX; j++) {
                const NftRuleHandles *next = nft_router_state_find(st, r->rules[j]->name);
                if (next && next != old && next->n > 0) {
                        ci = nft_chunk_index(st, next->chunk);
                        for (NftChain ch = 0; ch < _NFT_CHAIN_MAX; ch++)
                                position[ch] = next->handle[ch][0];
                }
        }
        if (ci == SIZE_MAX && st->n_chunks > 0)
                ci = st->n_chunks - 1;
        if (ci != SIZE_MAX && st->chunks[ci].n + 1 - (remove_old && old->chunk == st->chunks[ci].id) > NFT_CHUNK_MAX) {
                k = split_put(n, r, st, rule, idx, ci, e);
                return k == -ENOENT ? nft_full_pass(n, c, e) : k;
        }

        k = nft_batch_begin(n);
        if (k >= 0 && remove_old) {
                /* Its chunk stays when the rule stays in it. */
                if (ci != SIZE_MAX && old->chunk == st->chunks[ci].id) {
                        for (NftChain ch = 0; k >= 0 && ch < _NFT_CHAIN_MAX; ch++)
                                for (uint8_t i = 0; k >= 0 && i < old->n; i++)
                                        k = nft_compile_delrule(n, r, rule->name, ch, old->chunk, old->handle[ch][i]);
                } else
                        k = remove_rule(n, r, st, old, &drop_old);
        }
        id = ci != SIZE_MAX ? st->chunks[ci].id : st->next_chunk;
        for (NftChain ch = 0; k >= 0 && ch < _NFT_CHAIN_MAX; ch++) {
                if (ci == SIZE_MAX) {
                        /* The router's first chunk. */
                        k = nft_compile_chunk_chain(n, r, ch, id);
                        if (k >= 0)
                                k = nft_compile_jump(n, r, ch, id, st->default_handle[ch], &jump[ch]);
                }
                if (k >= 0)
                        k = nft_compile_rule(n, r, rule, ch, id, position[ch], handles[ch], &count);
        }
        if (k < 0)
                return k == -ENOMEM ? nft_oom(e) : dlr_error_set(e, DLR_ERROR_INTERNAL, k, "nftables: %s", strerror(-k));
        k = nft_batch_commit(n, e);
        if (k == -ENOENT)
                return nft_full_pass(n, c, e); /* a handle we hold is gone */
        if (k < 0)
                return k;

        /* Committed: record it. */
        if (remove_old)
                removed(st, old_chunk, drop_old);
        if (ci == SIZE_MAX) {
                NftChunk *x = nft_chunk_insert(st, st->n_chunks, st->next_chunk++);
                if (!x) {
                        n->synced = false;
                        return nft_oom(e);
                }
                memcpy(x->jump, jump, sizeof jump);
        }
        ci = nft_chunk_index(st, id);
        st->chunks[ci].n++;
        old = nft_router_state_find(st, rule->name);
        if (!old && !(old = nft_router_state_insert(st, rule->name))) {
                n->synced = false;
                return nft_oom(e);
        }
        old->chunk = id;
        old->n = count;
        memcpy(old->handle, handles, sizeof handles);
        return 0;
}

int nft_rule_delete(Nft *n, const Router *r, const char *name, DlrError *e)
{
        NftRouterState **slot = nft_router_state_slot(n, r->name);
        NftRuleHandles *h;
        bool drop = false;
        uint32_t chunk;

        if (!n->synced || n->dirty || !slot)
                return nft_router_pass(n, r, e);
        h = nft_router_state_find(*slot, name);
        if (!h)
                return 0; /* never had kernel rules, or already gone */
        chunk = h->chunk;
        if (h->n > 0) {
                int k = nft_batch_begin(n);
                if (k >= 0)
                        k = remove_rule(n, r, *slot, h, &drop);
                if (k < 0)
                        return nft_oom(e);
                k = nft_batch_commit(n, e);
                if (k == -ENOENT)
                        return nft_router_pass(n, r, e);
                if (k < 0)
                        return k;
                removed(*slot, chunk, drop);
        }
        nft_router_state_remove(*slot, h);
        return 0;
}

int nft_default_action(Nft *n, const Router *r, DlrError *e)
{
        NftRouterState **slot = nft_router_state_slot(n, r->name);
        uint64_t handles[_NFT_CHAIN_MAX] = {};
        int k;

        if (!n->synced || n->dirty || !slot)
                return nft_router_pass(n, r, e);
        k = nft_batch_begin(n);
        for (NftChain ch = 0; k >= 0 && ch < _NFT_CHAIN_MAX; ch++)
                k = nft_compile_default(n, r, ch, (*slot)->default_handle[ch], &handles[ch]);
        if (k < 0)
                return nft_oom(e);
        k = nft_batch_commit(n, e);
        if (k == -ENOENT)
                return nft_router_pass(n, r, e);
        if (k < 0)
                return k;
        memcpy((*slot)->default_handle, handles, sizeof handles);
        return 0;
}

typedef struct CounterWalk {
        const Router *r;
        size_t *index; /* indices into r->rules, sorted by rule name */
        uint64_t *packets, *bytes;
} CounterWalk;

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
        if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT && nftnl_udata_len(attr) > 0 &&
                        ((const char *) nftnl_udata_get(attr))[nftnl_udata_len(attr) - 1] == 0)
                *(const char **) data = nftnl_udata_get(attr);
        return 0;
}

static int counter_cb(struct nftnl_expr *x, void *data)
{
        uint64_t *pb = data;

        if (streq(nftnl_expr_get_str(x, NFTNL_EXPR_NAME), "counter")) {
                pb[0] += nftnl_expr_get_u64(x, NFTNL_EXPR_CTR_PACKETS);
                pb[1] += nftnl_expr_get_u64(x, NFTNL_EXPR_CTR_BYTES);
        }
        return 0;
}

static int index_compare(const void *a, const void *b, void *userdata)
{
        const Router *r = userdata;
        return strcmp(r->rules[*(const size_t *) a]->name, r->rules[*(const size_t *) b]->name);
}

static size_t slot_of(const CounterWalk *w, const char *comment)
{
        size_t lo = 0, hi = w->r->n_rules;

        if (streq(comment, NFT_DEFAULT_COMMENT))
                return w->r->n_rules;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int c = strcmp(w->r->rules[w->index[mid]]->name, comment);
                if (c == 0)
                        return w->index[mid];
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return SIZE_MAX; /* a rule r no longer holds */
}

/* A dumped rule of dlrd's table: its chain, its comment (NULL for the fixed head and the jumps to chunks, which
 * have none) and what its counters say. The strings live in the returned rule, for the caller to free. */
static struct nftnl_rule *parse_counted(const struct nlmsghdr *h, const char **ret_chain, const char **ret_comment,
                uint64_t pb[2], int *ret_error)
{
        struct nftnl_rule *kr = nftnl_rule_alloc();
        uint32_t len = 0;
        const void *ud;

        *ret_comment = NULL;
        pb[0] = pb[1] = 0;
        if (!kr) {
                *ret_error = -ENOMEM;
                return NULL;
        }
        if (nftnl_rule_nlmsg_parse(h, kr) < 0) {
                nftnl_rule_free(kr);
                *ret_error = -EBADMSG;
                return NULL;
        }
        *ret_chain = nftnl_rule_get_str(kr, NFTNL_RULE_CHAIN);
        ud = nftnl_rule_get_data(kr, NFTNL_RULE_USERDATA, &len);
        if (*ret_chain && ud && nftnl_udata_parse(ud, len, comment_cb, (void *) ret_comment) >= 0 && *ret_comment)
                (void) nftnl_expr_foreach(kr, counter_cb, pb);
        return kr;
}

static int counters_cb(const struct nlmsghdr *h, void *userdata)
{
        CounterWalk *w = userdata;
        const char *comment, *chain;
        uint64_t pb[2];
        uint32_t chunk;
        size_t slot;
        int k = 0;
        struct nftnl_rule *kr = parse_counted(h, &chain, &comment, pb, &k);

        if (!kr)
                return k;
        if (comment && nft_chain_of_router(chain, w->r->name, &chunk) && (slot = slot_of(w, comment)) != SIZE_MAX) {
                w->packets[slot] += pb[0];
                w->bytes[slot] += pb[1];
        }
        nftnl_rule_free(kr);
        return 0;
}

typedef struct CarryWalk {
        const char *router;
        NftCarry *carry;
} CarryWalk;

static int carry_cb(const struct nlmsghdr *h, void *userdata)
{
        CarryWalk *w = userdata;
        const char *comment, *chain, *router;
        uint64_t pb[2];
        size_t len;
        int k = 0;
        struct nftnl_rule *kr = parse_counted(h, &chain, &comment, pb, &k);

        if (!kr)
                return k;
        if (comment && (pb[0] > 0 || pb[1] > 0) && nft_chain_router(chain, &router, &len) &&
                        (!w->router || (strlen(w->router) == len && strncmp(w->router, router, len) == 0))) {
                NftCarry *c = w->carry;
                if (ARRAY_GROW(c->v, c->cap, c->n, 64) < 0)
                        k = -ENOMEM;
                else {
                        c->v[c->n] = (NftCarried) { .router = strndup(router, len), .rule = strdup(comment),
                                .packets = pb[0], .bytes = pb[1] };
                        if (!c->v[c->n].router || !c->v[c->n].rule) {
                                free(c->v[c->n].router);
                                free(c->v[c->n].rule);
                                k = -ENOMEM;
                        } else
                                c->n++;
                }
        }
        nftnl_rule_free(kr);
        return k;
}

static int carried_compare(const void *a, const void *b)
{
        const NftCarried *x = a, *y = b;
        int k = strcmp(x->router, y->router);
        return k ? k : strcmp(x->rule, y->rule);
}

void nft_carry_done(NftCarry *carry)
{
        for (size_t i = 0; i < carry->n; i++) {
                free(carry->v[i].router);
                free(carry->v[i].rule);
        }
        free(carry->v);
        *carry = (NftCarry) {};
}

int nft_carry_read(Nft *n, const char *router, const char *const *chains, size_t n_chains, NftCarry *carry)
{
        CarryWalk w = { .router = router, .carry = carry };
        int k = -EINTR;
        size_t out = 0;

        for (int attempt = 0; attempt < 3 && k == -EINTR; attempt++) {
                nft_carry_done(carry);
                if (n_chains == 0)
                        k = nft_dump(n, NFT_MSG_GETRULE, NFPROTO_BRIDGE, carry_cb, &w);
                else {
                        k = 0;
                        for (size_t i = 0; k == 0 && i < n_chains; i++)
                                k = nft_dump_chain(n, NFPROTO_BRIDGE, chains[i], carry_cb, &w);
                }
        }
        if (k == -ENOENT)
                k = 0; /* no table (or chain) yet: nothing to carry */
        if (k < 0) {
                nft_carry_done(carry);
                return k;
        }
        /* A rule's kernel rules (both chains, both families) add up to one entry. */
        if (carry->n > 1)
                qsort(carry->v, carry->n, sizeof *carry->v, carried_compare);
        for (size_t i = 0; i < carry->n; i++) {
                if (out > 0 && carried_compare(&carry->v[out - 1], &carry->v[i]) == 0) {
                        carry->v[out - 1].packets += carry->v[i].packets;
                        carry->v[out - 1].bytes += carry->v[i].bytes;
                        free(carry->v[i].router);
                        free(carry->v[i].rule);
                } else
                        carry->v[out++] = carry->v[i];
        }
        carry->n = out;
        return 0;
}

int nft_counters(Nft *n, const Router *r, uint64_t *ret_packets, uint64_t *ret_bytes, DlrError *e)
{
        _cleanup_free_ size_t *index = calloc(r->n_rules + 1, sizeof *index);
        _cleanup_free_ uint64_t *packets = calloc(r->n_rules + 1, sizeof *packets);
        _cleanup_free_ uint64_t *bytes = calloc(r->n_rules + 1, sizeof *bytes);
        CounterWalk w = { .r = r, .index = index, .packets = packets, .bytes = bytes };
        int k = -EINTR;

        if (!index || !packets || !bytes)
                return nft_oom(e);
        for (size_t i = 0; i < r->n_rules; i++)
                index[i] = i;
        qsort_r(index, r->n_rules, sizeof *index, index_compare, (void *) r);
        /* One dump of the table's rules; one interrupted by a concurrent change is started over. */
        for (int attempt = 0; attempt < 3 && k == -EINTR; attempt++) {
                memset(packets, 0, (r->n_rules + 1) * sizeof *packets);
                memset(bytes, 0, (r->n_rules + 1) * sizeof *bytes);
                k = nft_dump(n, NFT_MSG_GETRULE, NFPROTO_BRIDGE, counters_cb, &w);
        }
        if (k < 0)
                return dlr_error_set(e, DLR_ERROR_KERNEL, k, "dlr=%s: reading the firewall counters: %s", r->name,
                                strerror(-k));
        memcpy(ret_packets, packets, (r->n_rules + 1) * sizeof *packets);
        memcpy(ret_bytes, bytes, (r->n_rules + 1) * sizeof *bytes);
        return 0;
}
