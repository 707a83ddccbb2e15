/* libFuzzer target: ip_prefix_parse and ip_addr_parse, through which every address entering dlrd passes.
 *
 * The input is split at the first '\n' into two strings (the second may be empty), and each is parsed both
 * as a prefix and as a bare address. Anything accepted must be sane (family, length in range, IPv4 tail
 * zero) and round-trip: parse → to_string → parse gives the same value and the same text. The journal's
 * hand-rolled address printer must agree with ip_prefix_to_string. The two strings, when both parse, also
 * exercise the relations: compare is antisymmetric and agrees with equality and the hash, overlaps is
 * symmetric and follows from contains, masking is idempotent and yields a network containing the prefix. */
#include "fuzz.h"

static Config *cfg; /* for journal_delete_route, whose record prints the prefix with json.c's printer */
static Router *rtr;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        cfg = fuzz_oom(config_new());
        rtr = fuzz_oom(router_new("r", 1000, 1000));
        FUZZ_CHECK(config_add_router(cfg, rtr) == 0, "config_add_router");
        return 0;
}

static void check_journal_printer(const IpPrefix *p, const char *text)
{
        char *rec = NULL, want[IP_PREFIX_MAX_STR + 16];
        size_t len = 0;

        FUZZ_CHECK(journal_delete_route(cfg, rtr, p, &rec, &len) == 0, "journal_delete_route");
        snprintf(want, sizeof want, "\"prefix\":\"%s\"}", text);
        FUZZ_CHECK(strstr(rec, want), "journal prints %s as: %s", text, rec);
        free(rec);
}

/* Parses s both ways; returns whether it is a prefix (*ret set). */
static bool check_one(const char *s, IpPrefix *ret)
{
        char buf[IP_PREFIX_MAX_STR], buf2[IP_PREFIX_MAX_STR];
        IpPrefix p, q, a;
        bool is_prefix = false;

        memset(&p, 0xaa, sizeof p);
        if (ip_prefix_parse(s, &p) == 0) {
                is_prefix = true;
                fuzz_check_prefix_sane(&p, "parsed prefix");
                FUZZ_CHECK(strchr(s, '/'), "prefix without '/' accepted: %s", s);
                ip_prefix_to_string(&p, true, buf, sizeof buf);
                FUZZ_CHECK(strlen(buf) < IP_PREFIX_MAX_STR - 1, "printed prefix may be cut: %s", buf);
                memset(&q, 0x55, sizeof q);
                FUZZ_CHECK(ip_prefix_parse(buf, &q) == 0, "printed prefix %s (from %s) does not parse", buf,
                        s);
                FUZZ_CHECK(memcmp(&p, &q, sizeof p) == 0, "round trip changed %s → %s", s, buf);
                ip_prefix_to_string(&q, true, buf2, sizeof buf2);
                FUZZ_CHECK(strcmp(buf, buf2) == 0, "printing not stable: %s vs %s", buf, buf2);
                FUZZ_CHECK(ip_prefix_compare(&p, &q) == 0 && ip_prefix_hash(&p) == ip_prefix_hash(&q),
                        "compare/hash disagree with equality for %s", buf);
                check_journal_printer(&p, buf);

                /* Masking. */
                IpPrefix m = p;
                ip_prefix_mask(&m);
                FUZZ_CHECK(ip_prefix_is_network(&m), "masked %s has host bits", buf);
                FUZZ_CHECK(ip_prefix_is_network(&p) == (memcmp(&m, &p, sizeof m) == 0),
                        "is_network disagrees with mask for %s", buf);
                IpPrefix mm = m;
                ip_prefix_mask(&mm);
                FUZZ_CHECK(memcmp(&m, &mm, sizeof m) == 0, "mask not idempotent for %s", buf);
                FUZZ_CHECK(ip_prefix_contains(&m, &p) && ip_prefix_contains(&p, &m), "%s and its network",
                        buf);
                FUZZ_CHECK(ip_prefix_overlaps(&p, &m), "%s does not overlap its network", buf);
                *ret = p;
        }

        memset(&a, 0xaa, sizeof a);
        if (ip_addr_parse(s, &a) == 0) {
                fuzz_check_prefix_sane(&a, "parsed address");
                FUZZ_CHECK(!is_prefix, "%s parses both as prefix and as address", s);
                FUZZ_CHECK(a.plen == (a.family == AF_INET ? 32 : 128), "address %s with plen %u", s, a.plen);
                ip_prefix_to_string(&a, false, buf, sizeof buf);
                memset(&q, 0x55, sizeof q);
                FUZZ_CHECK(ip_addr_parse(buf, &q) == 0, "printed address %s (from %s) does not parse", buf,
                        s);
                FUZZ_CHECK(memcmp(&a, &q, sizeof a) == 0, "address round trip changed %s → %s", s, buf);
                /* "addr" + "/full length" is the same value as a prefix. */
                snprintf(buf2, sizeof buf2, "%s/%u", buf, a.plen);
                FUZZ_CHECK(ip_prefix_parse(buf2, &q) == 0 && memcmp(&a, &q, sizeof a) == 0,
                        "%s parses as address but %s not as the same prefix", s, buf2);
                /* Unicast check must not depend on the length. */
                q = a;
                q.plen = 0;
                FUZZ_CHECK(ip_addr_check_unicast(&a) == ip_addr_check_unicast(&q),
                        "unicast check uses plen");
                check_journal_printer(&a, buf2);
        }
        return is_prefix;
}

static int sign(int x)
{
        return (x > 0) - (x < 0);
}

static void check_pair(const IpPrefix *a, const IpPrefix *b)
{
        int ab = ip_prefix_compare(a, b), ba = ip_prefix_compare(b, a);
        bool same = memcmp(a, b, sizeof *a) == 0;

        FUZZ_CHECK(sign(ab) == -sign(ba), "compare not antisymmetric");
        FUZZ_CHECK((ab == 0) == same, "compare 0 iff equal");
        if (same)
                FUZZ_CHECK(ip_prefix_hash(a) == ip_prefix_hash(b), "equal prefixes hash differently");
        FUZZ_CHECK(ip_prefix_overlaps(a, b) == ip_prefix_overlaps(b, a), "overlaps not symmetric");
        FUZZ_CHECK(ip_prefix_overlaps(a, b) == (ip_prefix_contains(a, b) || ip_prefix_contains(b, a)),
                "overlaps disagrees with contains");
        if (ip_prefix_contains(a, b) && ip_prefix_contains(b, a)) {
                IpPrefix x = *a, y = *b;
                ip_prefix_mask(&x);
                ip_prefix_mask(&y);
                FUZZ_CHECK(a->plen == b->plen && memcmp(&x, &y, sizeof x) == 0,
                        "mutual containment of different networks");
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = fuzz_cstr(data, size), *f[2] = { s, (char *) "" };
        IpPrefix p[2];
        bool ok[2];

        fuzz_split(s, '\n', f, 2);
        /* Exact-size copies so ASan catches reads past the NUL. */
        for (int i = 0; i < 2; i++) {
                char *x = fuzz_oom(strdup(f[i]));
                ok[i] = check_one(x, &p[i]);
                free(x);
        }
        if (ok[0] && ok[1])
                check_pair(&p[0], &p[1]);
        if (ok[0])
                check_pair(&p[0], &p[0]);
        free(s);
        return 0;
}
