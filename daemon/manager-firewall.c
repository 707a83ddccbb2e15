/* The distributed firewall's changes: AddRule, DeleteRule, SetDefaultAction, and the counters. Each change
 * is one nftables transaction touching only that rule, then a journal record, then a push to the peers;
 * a refusal anywhere leaves the ruleset, the configuration and the saved state as they were. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "manager-internal.h"
#include "manager.h"
#include "nft/nft.h"
#include "shared/cleanup.h"
#include "shared/log.h"
#include "state/json.h"

static int find_router(Manager *m, const char *router, Router **ret, DlrError *e)
{
        if (dlr_name_check(router) < 0)
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL, "invalid router name");
        Router *r = config_find_router(m->config, router);
        if (!r)
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENOENT, "router %s not found", router);
        *ret = r;
        return 0;
}

/* Brings the kernel back to the configuration after a failed change whose nftables part had gone in. */
static void restore_firewall(Manager *m)
{
        DlrError e2 = {};
        if (nft_sync(m->rc.nft, m->config, m->host_id, &e2) < 0)
                log_error("Restoring nftables after a failed change: %s", e2.msg);
}

static int add_rule_impl(Manager *m, const char *router, const char *name, const RuleInput *in, DlrError *e)
{
        _cleanup_free_ char *doc = NULL;
        const char *why = NULL;
        Rule *rule = NULL, *saved = NULL;
        Router *r = NULL;
        size_t len;
        int k;

        k = find_router(m, router, &r, e);
        if (k < 0 || !r)
                return k < 0 ? k : -ENOENT;
        k = rule_build(name, in, &rule, &why);
        if (k < 0)
                return dlr_error_set(e, dlr_error_kind_from_errno(k), k, "dlr=%s rule=%s: %s", router, name,
                        why ? why : strerror(-k));
        const Rule *cur = router_find_rule(r, name);
        if (cur && rule_equal(cur, rule)) {
                rule_free(rule);
                return 0; /* already so */
        }
        if (!cur && r->n_rules >= DLR_RULES_MAX) {
                rule_free(rule);
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -E2BIG, "dlr=%s: at most %u rules", router,
                        DLR_RULES_MAX);
        }
        rule->stamp = next_stamp(m);
        k = router_put_rule(r, rule, &saved);
        if (k < 0) {
                rule_free(rule);
                return dlr_error_set(e, DLR_ERROR_INTERNAL, k, "out of memory");
        }
        k = nft_rule_put(m->rc.nft, m->config, r, rule, e);
        bool kernel_changed = k >= 0;
        if (k >= 0 && delta_rule(m->config, r, rule, &doc, &len) < 0)
                k = dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        if (k >= 0)
                k = commit_record(m, build_merge, &(MergeRecord) { .doc = doc, .len = len }, e);
        if (k < 0) {
                rule_free(router_detach_rule(r, name));
                if (saved)
                        (void) router_put_rule(r, saved, NULL);
                if (kernel_changed)
                        restore_firewall(m);
                return k;
        }
        bool replaced = saved != NULL;
        rule_free(saved);
        log_info("dlr=%s rule=%s priority=%u action=%s: %s", router, name, rule->priority,
                rule_action_to_string(rule->action), replaced ? "replaced" : "added");
        publish(m, doc);
        return 0;
}

static int delete_rule_impl(Manager *m, const char *router, const char *name, DlrError *e)
{
        _cleanup_free_ char *doc = NULL;
        Router *r = NULL;
        size_t len;
        int k;

        k = find_router(m, router, &r, e);
        if (k < 0 || !r)
                return k < 0 ? k : -ENOENT;
        if (dlr_name_check(name) < 0)
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL, "invalid rule name");
        if (!router_find_rule(r, name))
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENOENT, "dlr=%s: no rule %s", router, name);
        k = put_tomb(m, TOMB_RULE, router, name, e);
        if (k < 0)
                return k;
        Rule *rule = router_detach_rule(r, name);
        k = nft_rule_delete(m->rc.nft, r, name, e);
        bool kernel_changed = k >= 0;
        if (k >= 0 && delta_tomb(m->config, TOMB_RULE, router, name, &doc, &len) < 0)
                k = dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        if (k >= 0)
                k = commit_record(m, build_merge, &(MergeRecord) { .doc = doc, .len = len }, e);
        if (k < 0) {
                (void) router_put_rule(r, rule, NULL);
                (void) config_drop_tomb(m->config, TOMB_RULE, router, name);
                if (kernel_changed)
                        restore_firewall(m);
                return k;
        }
        rule_free(rule);
        log_info("dlr=%s rule=%s: deleted", router, name);
        publish(m, doc);
        return 0;
}

static int set_default_action_impl(Manager *m, const char *router, const char *action, DlrError *e)
{
        _cleanup_free_ char *doc = NULL;
        Router *r = NULL;
        size_t len;
        int k;

        k = find_router(m, router, &r, e);
        if (k < 0 || !r)
                return k < 0 ? k : -ENOENT;
        RuleAction a = rule_action_from_string(action);
        if (a < 0)
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL,
                        "dlr=%s: unknown action \"%s\" (allow, drop or reject)", router, action);
        if (a == r->default_action && r->default_stamp.lamport > 0)
                return 0; /* already so */
        RuleAction old = r->default_action;
        Stamp old_stamp = r->default_stamp;
        r->default_action = a;
        r->default_stamp = next_stamp(m);
        k = nft_default_action(m->rc.nft, r, e);
        bool kernel_changed = k >= 0;
        if (k >= 0 && delta_default_action(m->config, r, &doc, &len) < 0)
                k = dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        if (k >= 0)
                k = commit_record(m, build_merge, &(MergeRecord) { .doc = doc, .len = len }, e);
        if (k < 0) {
                r->default_action = old;
                r->default_stamp = old_stamp;
                if (kernel_changed)
                        restore_firewall(m);
                return k;
        }
        log_info("dlr=%s: default action %s", router, rule_action_to_string(a));
        publish(m, doc);
        return 0;
}

int manager_add_rule(Manager *m, const char *router, const char *name, const RuleInput *in, DlrError *e)
{
        uint64_t lamport = m->config->lamport;
        return keep_clock(m, lamport, add_rule_impl(m, router, name, in, e));
}

int manager_delete_rule(Manager *m, const char *router, const char *name, DlrError *e)
{
        uint64_t lamport = m->config->lamport;
        return keep_clock(m, lamport, delete_rule_impl(m, router, name, e));
}

int manager_set_default_action(Manager *m, const char *router, const char *action, DlrError *e)
{
        uint64_t lamport = m->config->lamport;
        return keep_clock(m, lamport, set_default_action_impl(m, router, action, e));
}

int manager_rule_counters(Manager *m, const char *router, const Router **ret_router, uint64_t **ret_packets,
                uint64_t **ret_bytes, DlrError *e)
{
        _cleanup_free_ uint64_t *packets = NULL, *bytes = NULL;
        Router *r = NULL;
        int k;

        k = find_router(m, router, &r, e);
        if (k < 0 || !r)
                return k < 0 ? k : -ENOENT;
        packets = calloc(r->n_rules + 1, sizeof(uint64_t));
        bytes = calloc(r->n_rules + 1, sizeof(uint64_t));
        if (!packets || !bytes)
                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        k = nft_counters(m->rc.nft, r, packets, bytes, e);
        if (k < 0)
                return k;
        *ret_router = r;
        *ret_packets = TAKE_PTR(packets);
        *ret_bytes = TAKE_PTR(bytes);
        return 0;
}

/* Merges from peers: the rules of the routers a document touches are noted before the merge, and afterwards
 * only the rules whose stamp moved are put or deleted, each its own transaction, so a mirrored change costs
 * on every host what it cost on the one that accepted it. Anything unexpected falls back to a full pass. */
typedef struct FwNoted {
        char *name;
        Stamp stamp;
} FwNoted;

struct FirewallNotes {
        char *router;
        Stamp router_stamp;
        FwNoted *rules;
        size_t n_rules;
        RuleAction default_action;
        Stamp default_stamp;
        FirewallNotes *next;
};

void firewall_notes_free(FirewallNotes *f)
{
        while (f) {
                FirewallNotes *next = f->next;
                for (size_t i = 0; i < f->n_rules; i++)
                        free(f->rules[i].name);
                free(f->rules);
                free(f->router);
                free(f);
                f = next;
        }
}

static bool notes_have(const FirewallNotes *f, const char *router)
{
        for (; f; f = f->next)
                if (streq(f->router, router))
                        return true;
        return false;
}

static int note_router(const Config *c, const char *router, FirewallNotes **list)
{
        const Router *r = config_find_router(c, router);
        FirewallNotes *f;

        if (!r || notes_have(*list, router))
                return 0;
        f = calloc(1, sizeof *f);
        if (!f)
                return -ENOMEM;
        f->next = *list;
        *list = f;
        f->router = strdup(router);
        f->rules = calloc(r->n_rules ? r->n_rules : 1, sizeof(FwNoted));
        if (!f->router || !f->rules)
                return -ENOMEM;
        f->router_stamp = r->stamp;
        f->default_action = r->default_action;
        f->default_stamp = r->default_stamp;
        for (size_t i = 0; i < r->n_rules; i++) {
                f->rules[i] = (FwNoted) { .name = strdup(r->rules[i]->name), .stamp = r->rules[i]->stamp };
                if (!f->rules[i].name)
                        return -ENOMEM;
                f->n_rules++;
        }
        return 0;
}

int firewall_notes_take(const Config *c, const Config *in, FirewallNotes **ret)
{
        FirewallNotes *list = NULL;
        int k = 0;

        for (size_t i = 0; k >= 0 && i < in->n_routers; i++)
                if (in->routers[i]->n_rules > 0 || in->routers[i]->default_stamp.lamport > 0)
                        k = note_router(c, in->routers[i]->name, &list);
        TOMB_SET_FOREACH(t, &in->tombs)
                if (k >= 0 && t->kind == TOMB_RULE)
                        k = note_router(c, t->router, &list);
        if (k < 0) {
                firewall_notes_free(list);
                return k;
        }
        *ret = list;
        return 0;
}

static bool stamp_same(Stamp a, Stamp b)
{
        return a.lamport == b.lamport && a.host == b.host;
}

static int apply_router(Manager *m, const FirewallNotes *f, const Router *r, DlrError *e)
{
        int k = 0;

        for (size_t i = 0; k >= 0 && i < f->n_rules; i++)
                if (!router_find_rule(r, f->rules[i].name))
                        k = nft_rule_delete(m->rc.nft, r, f->rules[i].name, e);
        for (size_t i = 0; k >= 0 && i < r->n_rules; i++) {
                const Rule *rule = r->rules[i];
                const FwNoted *was = NULL;
                for (size_t j = 0; j < f->n_rules && !was; j++)
                        if (streq(f->rules[j].name, rule->name))
                                was = &f->rules[j];
                if (!was || !stamp_same(was->stamp, rule->stamp))
                        k = nft_rule_put(m->rc.nft, m->config, r, rule, e);
        }
        if (k >= 0 && r->default_action != f->default_action)
                k = nft_default_action(m->rc.nft, r, e);
        return k;
}

int firewall_apply_merge(Manager *m, const FirewallNotes *notes, const char *const *routers, size_t n_routers,
                DlrError *e)
{
        for (size_t i = 0; i < n_routers; i++) {
                const FirewallNotes *f = notes;
                while (f && !streq(f->router, routers[i]))
                        f = f->next;
                const Router *r = config_find_router(m->config, routers[i]);
                /* A router that came, went or was replaced: its chains are new, a full pass lays them out. */
                if (!f || !r || !stamp_same(f->router_stamp, r->stamp))
                        return nft_sync(m->rc.nft, m->config, m->host_id, e);
                if (apply_router(m, f, r, e) < 0) {
                        log_warning("dlr=%s: %s; rebuilding the whole ruleset", r->name, e->msg);
                        return nft_sync(m->rc.nft, m->config, m->host_id, e);
                }
        }
        return 0;
}
