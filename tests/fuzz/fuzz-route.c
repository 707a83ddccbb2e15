/* libFuzzer target: route_build, the argument validation behind AddRoutes (D-Bus), every route of an Apply
 * document and every route of a journal record.
 *
 * Input: fields separated by '\n':
 *     ROUTER \n PREFIX \n GATEWAY \n LIF \n GATEWAY \n LIF ...
 * ROUTER picks a router of the fixed configuration (fuzz.h: "blue" with LIFs web and db, "red" with app,
 * "empty"; anything else means "blue"); then the prefix and pairs of gateway and LIF name ("" = none; a
 * missing last LIF is ""), up to DLR_NEXTHOPS_MAX + 2 next hops so the limit itself is exercised.
 *
 * A refusal must carry a documented errno and an explanation and leave *ret alone. An accepted route must
 * satisfy the route invariants (prefix as given and without host bits, next hops sorted and unique,
 * gateways of the prefix's family and unicast, LIFs of this router, multipath only with gateways), be
 * printable to a journal record that replays to the same route, and, put into the configuration, still give
 * a configuration that config_from_json accepts and that round-trips. */
#include "fuzz.h"

#define MAX_HOPS (DLR_NEXTHOPS_MAX + 2)
#define MAX_FIELDS (2 + 2 * MAX_HOPS)

static Config *base;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        base = fuzz_base_config();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const int documented[] = { -EINVAL, -ENOENT, -ENOMEM };
        char *s = fuzz_cstr(data, size), *f[MAX_FIELDS], *copies[MAX_FIELDS] = {};
        size_t n_f = fuzz_split(s, '\n', f, MAX_FIELDS), n_hops, n_copies = 0;
        NexthopSpec hops[MAX_HOPS];
        const char *why = (const char *) 1;
        Route rt, untouched;
        char err[512];
        int k;

        if (n_f < 2) {
                free(s);
                return 0;
        }
        const Router *r = config_find_router(base, f[0]);
        if (!r)
                r = config_find_router(base, "blue");
        /* Exact-size copies so ASan catches reads past a string's end. */
        for (size_t i = 1; i < n_f; i++)
                copies[n_copies++] = fuzz_oom(strdup(f[i]));
        const char *prefix = copies[0];
        n_hops = (n_f - 2) / 2;
        for (size_t i = 0; i < n_hops; i++)
                hops[i] = (NexthopSpec) { .gateway = copies[1 + 2 * i], .lif = copies[2 + 2 * i] };
        if ((n_f - 2) % 2 == 1) /* a last gateway without its LIF: LIF "" */
                hops[n_hops++] = (NexthopSpec) { .gateway = copies[n_f - 2], .lif = "" };

        memset(&rt, 0xa5, sizeof rt);
        untouched = rt;
        k = route_build(r, prefix, hops, n_hops, &rt, &why);
        if (k < 0) {
                FUZZ_CHECK(fuzz_errno_documented(k, documented, ELEMENTSOF(documented)),
                        "undocumented error %d", k);
                FUZZ_CHECK(k == -ENOMEM || (why && why != (const char *) 1 && why[0]),
                        "error %d without reason", k);
                FUZZ_CHECK(memcmp(&rt, &untouched, sizeof rt) == 0, "error %d but *ret was written", k);
                goto out;
        }
        FUZZ_CHECK(k == 0, "route_build returned %d", k);
        FUZZ_CHECK(why == NULL, "success with a reason: %s", why);

        /* What was asked for is what was built. */
        IpPrefix p;
        FUZZ_CHECK(ip_prefix_parse(prefix, &p) == 0 && memcmp(&p, &rt.prefix, sizeof p) == 0,
                "prefix %s not kept", prefix);
        FUZZ_CHECK(rt.n_nexthops == n_hops, "%zu next hops given, %u kept", n_hops, rt.n_nexthops);
        FUZZ_CHECK(rt.used == 0, "route_build set the table's slot flag");
        fuzz_check_route(r, &rt);
        /* Every next hop given is in the route (sorting only reorders). */
        const Nexthop *nh = route_nexthops(&rt);
        for (size_t i = 0; i < n_hops; i++) {
                Nexthop want = {};
                IpPrefix gw;
                if (hops[i].gateway[0]) {
                        FUZZ_CHECK(ip_addr_parse(hops[i].gateway, &gw) == 0, "gateway %s accepted",
                                hops[i].gateway);
                        memcpy(want.gw, gw.addr, 16);
                        want.has_gw = 1;
                }
                if (hops[i].lif[0]) {
                        const Lif *l = router_find_lif(r, hops[i].lif);
                        FUZZ_CHECK(l, "unknown LIF %s accepted", hops[i].lif);
                        want.lif = l->id;
                }
                bool found = false;
                for (unsigned j = 0; j < rt.n_nexthops; j++)
                        if (nexthop_compare(&nh[j], &want) == 0)
                                found = true;
                FUZZ_CHECK(found, "next hop %zu (%s, %s) missing from the route", i, hops[i].gateway,
                        hops[i].lif);
        }

        /* Put into a copy of the configuration (as AddRoutes does): a journal record for it replays to the
         * same configuration, and the configuration round-trips. */
        Config *c = NULL, *d = NULL;
        char *rec = NULL, *a = NULL, *b = NULL;
        size_t len = 0;
        k = config_copy(base, &c);
        FUZZ_CHECK(k == 0, "config_copy: %d", k);
        k = config_copy(base, &d);
        FUZZ_CHECK(k == 0, "config_copy: %d", k);
        Router *cr = config_find_router(c, r->name);
        k = journal_put_routes(c, cr, &rt, 1, &rec, &len);
        FUZZ_CHECK(k == 0, "journal_put_routes: %d", k);
        k = route_table_put(&cr->routes, &rt, NULL); /* takes the next-hop array */
        FUZZ_CHECK(k >= 0, "route_table_put: %d", k);
        fuzz_check_config(c);
        k = config_replay_journal(d, rec, len - 1, err, sizeof err);
        FUZZ_CHECK(k == 0, "own record refused (%d: %s): %s", k, err, rec);
        fuzz_check_config(d);
        a = fuzz_check_round_trip(c, "after adding the route");
        b = fuzz_check_round_trip(d, "after replaying the route's record");
        FUZZ_CHECK(strcmp(a, b) == 0, "journal replay differs:\n  put    %s\n  replay %s", a, b);
        free(a);
        free(b);
        free(rec);
        config_free(c);
        config_free(d);

out:
        for (size_t i = 0; i < n_copies; i++)
                free(copies[i]);
        free(s);
        return 0;
}
