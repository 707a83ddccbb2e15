/* The configuration as JSON: Export/Apply, the saved state and the canonical form behind Digest. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Serialises c canonically: routers, LIFs and routes sorted, next hops sorted, rules in (priority, name) order
 * without their stamps, the default action as a plain string and only when it is not allow, no whitespace. With
 * with_generation the host-local generation counter is included (Export, state file); the digest leaves it out.
 * Returns 0 or -ENOMEM; *ret is NUL-terminated. */
int config_to_json(const Config *c, bool with_generation, char **ret, size_t *ret_len);

/* Export for a caller that is not root: config_to_json with generation, each member's address as
 * peer_address_redact() shows it (no ssh user). */
int config_to_json_redacted(const Config *c, char **ret, size_t *ret_len);

/* The same document in table order rather than sorted, with generation: for the state file, where only
 * speed matters. Rules and the default action carry their stamps here and in config_to_mirror. */
int config_to_state(const Config *c, char **ret, size_t *ret_len);

/* Parses and completely validates a configuration. Unknown keys are refused. Errors: -EINVAL (malformed),
 * -EEXIST (duplicate names), -EADDRINUSE (segment, table or subnet conflicts), -ENOENT (a route names an
 * unknown LIF), -ENOMEM. On error errbuf says what and where. */
int config_from_json(const char *s, size_t len, Config **ret, char *errbuf, size_t errsize);

typedef enum ConfigParseFlags {
        CONFIG_PARSE_APPLY = 0,       /* Apply: no tombstones */
        CONFIG_PARSE_STATE = 1 << 0,  /* the saved state: tombstones with their local age */
        CONFIG_PARSE_MIRROR = 1 << 1, /* from a peer: tombstones, every object stamped, tables concrete */
} ConfigParseFlags;

int config_from_json_ex(const char *s, size_t len, ConfigParseFlags flags, Config **ret, char *errbuf,
                size_t errsize);

/* The whole mirrored state for a peer: stamps and tombstones, without host-local counters. */
int config_to_mirror(const Config *c, char **ret, size_t *ret_len);

/* Deltas: mirrored documents holding just what one change touched, for peers and for the journal. */
int delta_routes(const Config *c, const Router *r, const Route *routes, size_t n, char **ret, size_t *ret_len);
int delta_router(const Config *c, const Router *r, char **ret, size_t *ret_len); /* with its LIFs */
int delta_endpoint(const Config *c, const Router *r, const Endpoint *e, char **ret, size_t *ret_len);
/* One rule of r, stamped (deletions: delta_tomb with TOMB_RULE and the rule's name). */
int delta_rule(const Config *c, const Router *r, const Rule *rule, char **ret, size_t *ret_len);
/* r's default action with its stamp, which must be set. */
int delta_default_action(const Config *c, const Router *r, char **ret, size_t *ret_len);
int delta_tomb(const Config *c, TombKind kind, const char *router, const char *key, char **ret, size_t *ret_len);
int delta_member(const Config *c, const Member *mb, char **ret, size_t *ret_len);
/* A journal record that merges doc (a delta or whole mirrored state) when replayed; now dates tombstones. */
int journal_merge(const Config *c, const char *doc, size_t doc_len, uint64_t now, char **ret, size_t *ret_len);

/* Hex SHA-256 of the canonical form without generation: equal on hosts holding the same configuration. */
int config_digest(const Config *c, char ret[65]);

/* Journal records: one line each, appended to the state between snapshots so that a change costs what it
 * changes, not the size of the whole configuration. They carry the generation and Lamport counter after
 * the change. */
int journal_put_routes(const Config *c, const Router *r, const Route *routes, size_t n, char **ret, size_t *ret_len);
int journal_delete_route(const Config *c, const Router *r, const IpPrefix *p, char **ret, size_t *ret_len);
/* Applies one record (without its newline) to c, validating it like a configuration. Replaying a record
 * twice is harmless. */
int config_replay_journal(Config *c, const char *line, size_t len, char *errbuf, size_t errsize);
/* The same for a journal beside a snapshot of generation snapshot_generation: a record of that generation or
 * older was written before the snapshot, which holds it already (a journal the snapshot could not remove),
 * and is skipped: returns 1. Replaying it could undo a later change that the snapshot holds. */
int config_replay_journal_after(Config *c, const char *line, size_t len, uint64_t snapshot_generation, char *errbuf,
                size_t errsize);
