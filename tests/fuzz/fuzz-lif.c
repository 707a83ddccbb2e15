/* libFuzzer target: lif_new_checked, the argument validation behind CreateLif (D-Bus) and every LIF of an
 * Apply document.
 *
 * Input: fields separated by '\n':
 *     ROUTER \n NAME \n KIND \n SEGMENT \n MTU \n ADDRESS \n ADDRESS ...
 * ROUTER picks a router of the fixed configuration (fuzz.h: "blue", "red", "empty"; anything else means
 * "blue"); SEGMENT and MTU are numbers (decimal, 0x hex or 0 octal, truncated to 32 bits as a D-Bus caller
 * could send them); up to DLR_ADDRESSES_MAX + 2 addresses so the limit itself is exercised.
 *
 * A refusal must carry a documented errno and an explanation and leave *ret alone. An accepted LIF must
 * satisfy the LIF invariants (name, kind, VNI/VLAN range, MTU, addresses usable, not overlapping each other
 * nor the router's other LIFs, segment unused in the whole configuration, MAC derived from the names), keep
 * the addresses as given, and, added to the configuration, still give a configuration that config_from_json
 * accepts and that round-trips: D-Bus and Apply must agree on what a valid LIF is. */
#include "fuzz.h"

#define MAX_FIELDS (5 + DLR_ADDRESSES_MAX + 2)

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
        static const int documented[] = { -EINVAL, -EEXIST, -EADDRINUSE, -ENOMEM };
        char *s = fuzz_cstr(data, size), *f[MAX_FIELDS], *addresses[MAX_FIELDS];
        size_t n_f = fuzz_split(s, '\n', f, MAX_FIELDS), n_addresses;
        const char *why = (const char *) 1;
        Lif *l = (Lif *) 1;
        int k;

        if (n_f < 3) {
                free(s);
                return 0;
        }
        const Router *r = config_find_router(base, f[0]);
        if (!r)
                r = config_find_router(base, "blue");
        const char *name = f[1], *kind = f[2];
        uint32_t segment = n_f > 3 ? fuzz_u32(f[3]) : 0, mtu = n_f > 4 ? fuzz_u32(f[4]) : 0;
        n_addresses = n_f > 5 ? n_f - 5 : 0;
        /* Exact-size copies so ASan catches reads past a string's end. */
        for (size_t i = 0; i < n_addresses; i++)
                addresses[i] = fuzz_oom(strdup(f[5 + i]));

        k = lif_new_checked(base, r, name, kind, segment, addresses, n_addresses, mtu, &l, &why);
        if (k < 0) {
                FUZZ_CHECK(fuzz_errno_documented(k, documented, ELEMENTSOF(documented)),
                        "undocumented error %d", k);
                FUZZ_CHECK(k == -ENOMEM || (why && why != (const char *) 1 && why[0]),
                        "error %d without reason", k);
                FUZZ_CHECK(l == (Lif *) 1, "error %d but *ret was written", k);
                goto out;
        }
        FUZZ_CHECK(k == 0 && l && l != (Lif *) 1, "success %d without a LIF", k);
        FUZZ_CHECK(why == NULL, "success with a reason: %s", why);

        /* What was asked for is what was built. */
        FUZZ_CHECK(strcmp(l->name, name) == 0, "name %s became %s", name, l->name);
        FUZZ_CHECK(strcmp(lif_kind_to_string(l->kind), kind) == 0, "kind %s became %d", kind, (int) l->kind);
        FUZZ_CHECK(l->segment == segment && l->mtu_config == mtu, "segment/mtu changed");
        FUZZ_CHECK(l->n_addresses == n_addresses, "%zu addresses given, %zu kept", n_addresses,
                l->n_addresses);
        for (size_t i = 0; i < n_addresses; i++) {
                IpPrefix p;
                FUZZ_CHECK(ip_prefix_parse(addresses[i], &p) == 0 &&
                                   memcmp(&p, &l->addresses[i], sizeof p) == 0,
                        "address %zu (%s) not kept as given", i, addresses[i]);
        }
        fuzz_check_lif(r, l);

        /* Not clashing with the router or the configuration. */
        FUZZ_CHECK(!router_find_lif(r, l->name), "LIF name %s already in router %s", l->name, r->name);
        FUZZ_CHECK(!config_find_segment(base, l->kind, l->segment, NULL), "segment %u already used",
                l->segment);
        for (size_t i = 0; i < r->n_lifs; i++)
                for (size_t a = 0; a < r->lifs[i]->n_addresses; a++)
                        for (size_t b = 0; b < l->n_addresses; b++)
                                FUZZ_CHECK(!ip_prefix_overlaps(&r->lifs[i]->addresses[a], &l->addresses[b]),
                                        "overlaps LIF %s", r->lifs[i]->name);

        /* Added to a copy of the configuration (as CreateLif does), the result is a valid configuration that
         * Apply would accept too. */
        Config *c = NULL;
        k = config_copy(base, &c);
        FUZZ_CHECK(k == 0, "config_copy: %d", k);
        Router *cr = config_find_router(c, r->name);
        k = router_add_lif(cr, l);
        FUZZ_CHECK(k == 0, "router_add_lif: %d", k);
        FUZZ_CHECK(l->id != 0 && router_find_lif_by_id(cr, l->id) == l, "new LIF id %u", l->id);
        fuzz_check_config(c);
        free(fuzz_check_round_trip(c, "after adding the LIF"));
        config_free(c);

out:
        for (size_t i = 0; i < n_addresses; i++)
                free(addresses[i]);
        free(s);
        return 0;
}
