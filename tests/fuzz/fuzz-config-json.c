/* libFuzzer target: config_from_json, the parser behind Apply and the saved state.
 *
 * Every input is parsed. A refusal must carry a documented errno and a message. An accepted configuration
 * must satisfy the model's invariants, must not have come from a document with a NUL inside a string
 * ("\u0000": C code sees a shorter value than the document says, so validation was not complete), and must
 * round-trip: to_json → from_json succeeds and to_json again is byte-identical. Also checked on acceptance:
 * the state form (table order) parses back to the same canonical document, config_copy is faithful, the
 * digest is stable, and journal records written for every route (put, then del) replay to the same
 * configuration. */
#include "fuzz.h"

static void check_journal_round_trip(const Config *c, const char *canonical)
{
        char err[512] = "";
        Config *d = NULL;
        int k;

        /* Rebuild every router's routes from one "put" record per router on a copy without routes. */
        k = config_copy(c, &d);
        FUZZ_CHECK(k == 0, "config_copy: %d", k);
        for (size_t i = 0; i < c->n_routers; i++) {
                const Router *r = c->routers[i];
                Route *v = fuzz_oom(calloc(r->routes.n ? r->routes.n : 1, sizeof(Route)));
                size_t n = 0, len = 0;
                char *rec = NULL;

                ROUTE_TABLE_FOREACH(rt, &r->routes)
                        v[n++] = *rt; /* shallow: journal_put_routes only reads */
                k = journal_put_routes(c, r, v, n, &rec, &len);
                FUZZ_CHECK(k == 0, "journal_put_routes: %d", k);
                FUZZ_CHECK(len > 0 && rec[len - 1] == '\n' && memchr(rec, '\n', len - 1) == NULL,
                        "journal record is not one line: %s", rec);

                Router *dr = config_find_router(d, r->name);
                FUZZ_CHECK(dr, "router %s lost by config_copy", r->name);
                route_table_done(&dr->routes);
                k = config_replay_journal(d, rec, len - 1, err, sizeof err);
                FUZZ_CHECK(k == 0, "own put record refused (%d: %s): %s", k, err, rec);
                free(rec);
                free(v);
        }
        fuzz_check_config(d);
        char *s = NULL;
        size_t slen = 0;
        k = config_to_json(d, true, &s, &slen);
        FUZZ_CHECK(k == 0, "config_to_json: %d", k);
        FUZZ_CHECK(strcmp(s, canonical) == 0, "journal put replay differs:\n  want %s\n  got  %s", canonical,
                s);
        free(s);

        /* Then delete every route again through "del" records. */
        for (size_t i = 0; i < c->n_routers; i++) {
                const Router *r = c->routers[i];
                Router *dr = config_find_router(d, r->name);
                ROUTE_TABLE_FOREACH(rt, &r->routes) {
                        char *rec = NULL;
                        size_t len = 0;
                        k = journal_delete_route(c, r, &rt->prefix, &rec, &len);
                        FUZZ_CHECK(k == 0, "journal_delete_route: %d", k);
                        k = config_replay_journal(d, rec, len - 1, err, sizeof err);
                        FUZZ_CHECK(k == 0, "own del record refused (%d: %s): %s", k, err, rec);
                        FUZZ_CHECK(!route_table_get(&dr->routes, &rt->prefix),
                                "del record left the route: %s", rec);
                        free(rec);
                }
                FUZZ_CHECK(dr->routes.n == 0, "router %s keeps %zu routes after deleting all", r->name,
                        dr->routes.n);
        }
        fuzz_check_config(d);
        config_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const int documented[] = { -EINVAL, -EEXIST, -EADDRINUSE, -ENOENT, -ENOMEM };
        char err[512], *canonical, *s = NULL;
        Config *c = NULL, *c2 = NULL;
        size_t len = 0;
        int k;

        /* The daemon hands over a buffer of len bytes (the state file) or a C string (Apply); the parser
         * must never read past len, so give it an exact-size copy for ASan to guard. */
        char *buf = fuzz_oom(malloc(size ? size : 1));
        if (size)
                memcpy(buf, data, size);

        memset(err, 'X', sizeof err);
        k = config_from_json(buf, size, &c, err, sizeof err);
        if (k == 0)
                FUZZ_CHECK(!fuzz_json_has_nul_string(buf, size),
                        "accepted a document with a NUL inside a string (the value is silently cut there)");
        free(buf);
        if (k < 0) {
                FUZZ_CHECK(fuzz_errno_documented(k, documented, ELEMENTSOF(documented)),
                        "undocumented error %d (%s)", k, memchr(err, 0, sizeof err) ? err : "?");
                FUZZ_CHECK(memchr(err, 0, sizeof err) && err[0] != 0, "error %d without message", k);
                FUZZ_CHECK(c == NULL, "error %d but a configuration was returned", k);
                return 0;
        }
        FUZZ_CHECK(k == 0 && c, "success %d without a configuration", k);
        fuzz_check_config(c);

        canonical = fuzz_check_round_trip(c, "from_json");

        /* The state file's form parses to the same configuration. */
        k = config_to_state(c, &s, &len);
        FUZZ_CHECK(k == 0, "config_to_state: %d", k);
        k = config_from_json_ex(s, len, CONFIG_PARSE_STATE, &c2, err, sizeof err);
        FUZZ_CHECK(k == 0, "own state refused (%d: %s): %s", k, err, s);
        free(s);
        s = NULL;
        k = config_to_json(c2, true, &s, &len);
        FUZZ_CHECK(k == 0, "config_to_json: %d", k);
        FUZZ_CHECK(strcmp(s, canonical) == 0, "state round trip differs:\n  want %s\n  got  %s", canonical,
                s);
        free(s);
        s = NULL;

        /* Digests agree between the original and the reparsed state. */
        char d1[65], d2[65];
        FUZZ_CHECK(config_digest(c, d1) == 0 && config_digest(c2, d2) == 0, "config_digest failed");
        FUZZ_CHECK(strcmp(d1, d2) == 0, "digest differs after state round trip");
        config_free(c2);
        c2 = NULL;

        /* config_copy is deep and faithful. */
        k = config_copy(c, &c2);
        FUZZ_CHECK(k == 0, "config_copy: %d", k);
        fuzz_check_config(c2);
        k = config_to_json(c2, true, &s, &len);
        FUZZ_CHECK(k == 0, "config_to_json: %d", k);
        FUZZ_CHECK(strcmp(s, canonical) == 0, "config_copy differs:\n  want %s\n  got  %s", canonical, s);
        free(s);
        config_free(c2);

        check_journal_round_trip(c, canonical);

        free(canonical);
        config_free(c);
        return 0;
}
