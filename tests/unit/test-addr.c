/* Unit tests for daemon/shared/addr.[ch]: parsing, printing, masking, containment, ordering and hashing. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shared/addr.h"
#include "unit.h"

START_TEST(test_parse_ipv4)
{
        static const uint8_t want[16] = {10, 0, 0, 1};
        IpPrefix p;

        memset(&p, 0xaa, sizeof p);
        ck_assert_int_eq(ip_prefix_parse("10.0.0.1/24", &p), 0);
        ck_assert_uint_eq(p.family, AF_INET);
        ck_assert_uint_eq(p.plen, 24);
        /* Host bits are kept as given, and the unused 12 bytes are zero. */
        ck_assert_mem_eq(p.addr, want, 16);
        ck_assert_str_eq(unit_str(&p, true), "10.0.0.1/24");
        ck_assert_str_eq(unit_str(&p, false), "10.0.0.1");
}
END_TEST

START_TEST(test_parse_rejects)
{
        static const char *const bad[] = {
                "10.0.0.1/33",
                "10.0.0.300/24",
                "10.0.0.1/",
                "10.0.0.1/+8",
                "10.0.0.1/08",
                "10.0.0.1/008",
                "10.0.0.1/00",
                " 10.0.0.1/8",
                "10.0.0.1/8 ",
                "10.0.0.1/ 8",
                "10.0.0.1 /8",
                "10.0.0.1/8\n",
                "10.0.0.1/-1",
                "10.0.0.1/0x8",
                "10.0.0.1/8/8",
                "10.0.0.1/1000",
                "10.0.0.1",
                "/8",
                "/",
                "",
                "10.1/8",
                "010.0.0.1/8",
                "0x0a.0.0.1/8",
                "10.0.0.1.1/8",
                "not-an-address/24",
                "2001:db8::1/129",
                "2001:db8::1/064",
                "2001:db8::1/",
                "2001:db8::1",
                "1::2::3/64",
                "fe80::1%eth0/64",
                "2001:db8::g/64",
                "::ffff:10.0.0.300/128",
                "::ffff:10.0.0.1/129",
                "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255:1/64",
        };
        IpPrefix p;

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                ck_assert_msg(ip_prefix_parse(bad[i], &p) == -EINVAL, "\"%s\" was not refused with -EINVAL",
                        bad[i]);
        ck_assert_int_eq(ip_prefix_parse(NULL, &p), -EINVAL);
}
END_TEST

START_TEST(test_parse_prefix_length_bounds)
{
        IpPrefix p;

        ck_assert_int_eq(ip_prefix_parse("0.0.0.0/0", &p), 0);
        ck_assert_uint_eq(p.family, AF_INET);
        ck_assert_uint_eq(p.plen, 0);
        ck_assert_str_eq(unit_str(&p, true), "0.0.0.0/0");

        ck_assert_int_eq(ip_prefix_parse("10.0.0.1/0", &p), 0);
        ck_assert_uint_eq(p.plen, 0);
        ck_assert_str_eq(unit_str(&p, true), "10.0.0.1/0");

        ck_assert_int_eq(ip_prefix_parse("255.255.255.255/32", &p), 0);
        ck_assert_uint_eq(p.plen, 32);
        ck_assert_str_eq(unit_str(&p, true), "255.255.255.255/32");

        ck_assert_int_eq(ip_prefix_parse("::/0", &p), 0);
        ck_assert_uint_eq(p.family, AF_INET6);
        ck_assert_uint_eq(p.plen, 0);
        ck_assert_str_eq(unit_str(&p, true), "::/0");

        ck_assert_int_eq(ip_prefix_parse("2001:db8::1/128", &p), 0);
        ck_assert_uint_eq(p.plen, 128);
        ck_assert_str_eq(unit_str(&p, true), "2001:db8::1/128");

        /* An IPv6 length that is only valid for IPv6. */
        ck_assert_int_eq(ip_prefix_parse("2001:db8::/33", &p), 0);
        ck_assert_uint_eq(p.plen, 33);
        ck_assert_int_eq(ip_prefix_parse("10.0.0.0/100", &p), -EINVAL);
}
END_TEST

START_TEST(test_ipv6_canonical_printing)
{
        static const uint8_t want[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
        IpPrefix p;

        ck_assert_int_eq(ip_prefix_parse("2001:DB8:0:0:0:0:0:1/64", &p), 0);
        ck_assert_uint_eq(p.family, AF_INET6);
        ck_assert_uint_eq(p.plen, 64);
        ck_assert_mem_eq(p.addr, want, 16);
        ck_assert_str_eq(unit_str(&p, true), "2001:db8::1/64");
        ck_assert_str_eq(unit_str(&p, false), "2001:db8::1");

        ck_assert_int_eq(ip_prefix_parse("2001:0db8:0000::0001/128", &p), 0);
        ck_assert_str_eq(unit_str(&p, true), "2001:db8::1/128");

        ck_assert_int_eq(ip_prefix_parse("2001:db8:0:1:0:0:1:0/112", &p), 0);
        ck_assert_str_eq(unit_str(&p, true), "2001:db8:0:1::1:0/112");
}
END_TEST

START_TEST(test_ipv4_mapped)
{
        static const uint8_t want[16] = {[10] = 0xff, [11] = 0xff, [12] = 10, [13] = 0, [14] = 0, [15] = 1};
        IpPrefix m, v4;

        /* A mapped address is an IPv6 address: it keeps its family and prints in the mixed notation. */
        ck_assert_int_eq(ip_prefix_parse("::ffff:10.0.0.1/128", &m), 0);
        ck_assert_uint_eq(m.family, AF_INET6);
        ck_assert_uint_eq(m.plen, 128);
        ck_assert_mem_eq(m.addr, want, 16);
        ck_assert_str_eq(unit_str(&m, true), "::ffff:10.0.0.1/128");

        ck_assert_int_eq(ip_prefix_parse("::FFFF:0a00:0001/128", &m), 0);
        ck_assert_mem_eq(m.addr, want, 16);
        ck_assert_str_eq(unit_str(&m, true), "::ffff:10.0.0.1/128");

        ck_assert_int_eq(ip_prefix_parse("::ffff:10.0.0.0/104", &m), 0);
        ck_assert_uint_eq(m.plen, 104);
        ck_assert(ip_prefix_is_network(&m));

        ck_assert_int_eq(ip_addr_parse("::ffff:10.0.0.1", &m), 0);
        ck_assert_uint_eq(m.plen, 128);

        /* Never confused with the IPv4 address it maps. */
        ck_assert_int_eq(ip_prefix_parse("10.0.0.1/32", &v4), 0);
        ck_assert_int_ne(ip_prefix_compare(&m, &v4), 0);
        ck_assert(!ip_prefix_overlaps(&m, &v4));
        ck_assert(!ip_prefix_contains(&m, &v4));
        ck_assert(!ip_prefix_contains(&v4, &m));
}
END_TEST

START_TEST(test_addr_parse)
{
        IpPrefix p;

        ck_assert_int_eq(ip_addr_parse("192.0.2.7", &p), 0);
        ck_assert_uint_eq(p.family, AF_INET);
        ck_assert_uint_eq(p.plen, 32);
        ck_assert_str_eq(unit_str(&p, true), "192.0.2.7/32");

        ck_assert_int_eq(ip_addr_parse("2001:db8::fe", &p), 0);
        ck_assert_uint_eq(p.family, AF_INET6);
        ck_assert_uint_eq(p.plen, 128);
        ck_assert_str_eq(unit_str(&p, false), "2001:db8::fe");

        ck_assert_int_eq(ip_addr_parse("::", &p), 0);
        ck_assert_uint_eq(p.plen, 128);

        ck_assert_int_eq(ip_addr_parse("10.0.0.1/32", &p), -EINVAL);
        ck_assert_int_eq(ip_addr_parse("fe80::1/64", &p), -EINVAL);
        ck_assert_int_eq(ip_addr_parse(" 10.0.0.1", &p), -EINVAL);
        ck_assert_int_eq(ip_addr_parse("10.0.0.256", &p), -EINVAL);
        ck_assert_int_eq(ip_addr_parse("", &p), -EINVAL);
        ck_assert_int_eq(ip_addr_parse(NULL, &p), -EINVAL);
}
END_TEST

START_TEST(test_to_string_truncates)
{
        IpPrefix p = unit_prefix("10.0.0.1/24");
        char buf[5];
        char one[1] = {'x'};

        ck_assert_ptr_eq(ip_prefix_to_string(&p, true, buf, sizeof buf), buf);
        ck_assert_str_eq(buf, "10.0");
        ip_prefix_to_string(&p, false, one, sizeof one);
        ck_assert_int_eq(one[0], 0);

        char big[IP_PREFIX_MAX_STR];
        IpPrefix longest = unit_prefix("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
        ck_assert_str_eq(ip_prefix_to_string(&longest, true, big, sizeof big),
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
}
END_TEST

static void check_mask(const char *in, const char *want)
{
        IpPrefix p = unit_prefix(in);

        ip_prefix_mask(&p);
        ck_assert_msg(strcmp(unit_str(&p, true), want) == 0, "mask(%s) = %s, want %s", in,
                unit_str(&p, true), want);
        ck_assert_msg(ip_prefix_is_network(&p), "mask(%s) still has host bits", in);
}

START_TEST(test_mask)
{
        check_mask("10.1.2.3/20", "10.1.0.0/20");
        check_mask("10.1.2.3/0", "0.0.0.0/0");
        check_mask("10.1.2.3/32", "10.1.2.3/32");
        check_mask("10.1.2.3/31", "10.1.2.2/31");
        check_mask("10.1.2.255/25", "10.1.2.128/25");
        check_mask("255.255.255.255/1", "128.0.0.0/1");
        check_mask("2001:db8:abcd:1234::1/35", "2001:db8:a000::/35");
        check_mask("2001:db8::1/128", "2001:db8::1/128");
        check_mask("2001:db8::1/127", "2001:db8::/127");
        check_mask("ffff::1/0", "::/0");
        check_mask("::ffff:10.1.2.3/112", "::ffff:10.1.0.0/112");
}
END_TEST

START_TEST(test_is_network)
{
        static const struct {
                const char *s;
                bool network;
        } cases[] = {
                {"10.1.0.0/16", true},
                {"10.1.0.0/15", false},
                {"10.0.0.0/7", true},
                {"11.0.0.0/7", false},
                {"0.0.0.0/0", true},
                {"0.0.0.1/0", false},
                {"10.0.0.1/32", true},
                {"10.0.0.0/24", true},
                {"10.0.0.1/24", false},
                {"10.0.0.128/25", true},
                {"10.0.0.64/25", false},
                {"::/0", true},
                {"::1/127", false},
                {"::2/127", true},
                {"2001:db8::/32", true},
                {"2001:db8::/31", true},
                {"2001:db9::/31", false},
                {"2001:db8:0:1::/64", true},
                {"2001:db8:0:1::1/64", false},
                {"2001:db8::1/128", true},
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                IpPrefix p = unit_prefix(cases[i].s);
                ck_assert_msg(ip_prefix_is_network(&p) == cases[i].network, "is_network(%s) != %d",
                        cases[i].s, cases[i].network);
        }
}
END_TEST

static bool overlaps_s(const char *a, const char *b)
{
        IpPrefix x = unit_prefix(a), y = unit_prefix(b);
        bool r = ip_prefix_overlaps(&x, &y);

        ck_assert_msg(r == ip_prefix_overlaps(&y, &x), "overlaps(%s, %s) is not symmetric", a, b);
        return r;
}

static bool contains_s(const char *outer, const char *inner)
{
        IpPrefix o = unit_prefix(outer), i = unit_prefix(inner);

        return ip_prefix_contains(&o, &i);
}

START_TEST(test_contains_overlaps)
{
        ck_assert(contains_s("10.0.0.0/8", "10.1.0.0/16"));
        ck_assert(!contains_s("10.1.0.0/16", "10.0.0.0/8"));
        ck_assert(contains_s("10.0.0.0/8", "10.0.0.0/8"));
        ck_assert(contains_s("10.0.0.0/8", "10.255.255.255/32"));
        ck_assert(!contains_s("10.0.0.0/8", "11.0.0.0/32"));
        ck_assert(contains_s("0.0.0.0/0", "192.0.2.1/32"));
        ck_assert(!contains_s("::/0", "192.0.2.1/32"));
        ck_assert(!contains_s("0.0.0.0/0", "2001:db8::/32"));
        ck_assert(contains_s("2001:db8::/32", "2001:db8:1::/48"));
        ck_assert(!contains_s("2001:db8:1::/48", "2001:db8::/32"));
        /* Host bits of either side are ignored. */
        ck_assert(contains_s("10.0.0.1/24", "10.0.0.200/32"));

        ck_assert(overlaps_s("10.0.0.1/24", "10.0.0.200/24"));
        ck_assert(overlaps_s("10.0.0.0/8", "10.20.30.0/24"));
        ck_assert(!overlaps_s("10.0.0.0/8", "11.0.0.0/8"));
        ck_assert(!overlaps_s("10.0.0.1/25", "10.0.0.129/25"));
        ck_assert(overlaps_s("10.0.0.5/25", "10.0.0.1/24"));
        ck_assert(overlaps_s("0.0.0.0/0", "203.0.113.9/32"));
        ck_assert(!overlaps_s("0.0.0.0/0", "::/0"));
        ck_assert(overlaps_s("2001:db8:0:1:8000::1/65", "2001:db8:0:1::1/64"));
        ck_assert(!overlaps_s("2001:db8:0:1::1/64", "2001:db8:0:2::1/64"));
        ck_assert(!overlaps_s("10.0.0.0/8", "a00::/8")); /* same leading bytes, other family */
}
END_TEST

START_TEST(test_check_unicast)
{
        static const char *const refused[] = {
                "0.0.0.0",
                "0.1.2.3",
                "127.0.0.1",
                "127.255.255.254",
                "224.0.0.1",
                "239.255.255.255",
                "255.255.255.255",
                "::",
                "::1",
                "ff02::1",
                "ff0e::1",
                "fe80::1",
                "febf:ffff::1",
        };
        static const char *const accepted[] = {
                "10.0.0.1",
                "192.0.2.1",
                "1.1.1.1",
                "223.255.255.254",
                "126.255.255.255",
                "2001:db8::1",
                "fec0::1",
                "fe7f::1",
                "::2",
                "fd00::1",
        };
        IpPrefix p;

        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
                ck_assert_int_eq(ip_addr_parse(refused[i], &p), 0);
                ck_assert_msg(
                        ip_addr_check_unicast(&p) == -EINVAL, "%s was accepted as unicast", refused[i]);
        }
        for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
                ck_assert_int_eq(ip_addr_parse(accepted[i], &p), 0);
                ck_assert_msg(ip_addr_check_unicast(&p) == 0, "%s was refused as unicast", accepted[i]);
        }
}
END_TEST

static int cmp_prefix_qsort(const void *a, const void *b)
{
        return ip_prefix_compare(a, b);
}

START_TEST(test_compare_total_order)
{
        static const char *const sorted[] = {
                "0.0.0.0/0",
                "10.0.0.0/8",
                "10.0.0.0/16",
                "10.0.0.1/32",
                "10.1.0.0/16",
                "192.0.2.0/24",
                "255.255.255.255/32",
                "::/0",
                "::/128",
                "::ffff:10.0.0.1/128",
                "2001:db8::/32",
                "2001:db8::/64",
                "2001:db8::1/128",
                "ff02::1/128",
        };
        enum { N = sizeof sorted / sizeof sorted[0] };
        IpPrefix v[N];

        for (size_t i = 0; i < N; i++)
                for (size_t j = 0; j < N; j++) {
                        IpPrefix a = unit_prefix(sorted[i]), b = unit_prefix(sorted[j]);
                        int c = ip_prefix_compare(&a, &b);
                        ck_assert_msg((i < j && c < 0) || (i == j && c == 0) || (i > j && c > 0),
                                "compare(%s, %s) = %d", sorted[i], sorted[j], c);
                }
        /* Sorting a shuffled list restores the order. */
        for (size_t i = 0; i < N; i++)
                v[i] = unit_prefix(sorted[(i * 5 + 3) % N]);
        qsort(v, N, sizeof v[0], cmp_prefix_qsort);
        for (size_t i = 0; i < N; i++)
                ck_assert_str_eq(unit_str(&v[i], true), sorted[i]);
}
END_TEST

START_TEST(test_hash)
{
        IpPrefix a = unit_prefix("2001:DB8::1/64"), b = unit_prefix("2001:db8:0::0:1/64");
        IpPrefix c = unit_prefix("10.0.0.0/8"), d = unit_prefix("10.0.0.0/16"), e = unit_prefix("a00::/8");
        static unsigned char seen[4096];
        unsigned distinct = 0;

        ck_assert_uint_eq(ip_prefix_hash(&a), ip_prefix_hash(&b));
        ck_assert_uint_ne(ip_prefix_hash(&c), ip_prefix_hash(&d)); /* length is hashed */
        ck_assert_uint_ne(ip_prefix_hash(&c), ip_prefix_hash(&e)); /* family is hashed */
        ck_assert_uint_eq(ip_prefix_hash(&c), ip_prefix_hash(&c)); /* deterministic */

        /* The low bits (what the route table uses) spread sequential prefixes reasonably. */
        memset(seen, 0, sizeof seen);
        for (unsigned i = 0; i < 4096; i++) {
                IpPrefix p = {.family = AF_INET, .plen = 24, .addr = {10, (uint8_t)(i >> 8), (uint8_t)i, 0}};
                unsigned h = (unsigned)(ip_prefix_hash(&p) & 4095);
                if (!seen[h]++)
                        distinct++;
        }
        /* A random function would hit about 2589 of 4096 buckets. */
        ck_assert_uint_gt(distinct, 2300);
}
END_TEST

static Suite *addr_suite(void)
{
        Suite *s = suite_create("addr");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_parse_ipv4);
        tcase_add_test(tc, test_parse_rejects);
        tcase_add_test(tc, test_parse_prefix_length_bounds);
        tcase_add_test(tc, test_ipv6_canonical_printing);
        tcase_add_test(tc, test_ipv4_mapped);
        tcase_add_test(tc, test_addr_parse);
        tcase_add_test(tc, test_to_string_truncates);
        tcase_add_test(tc, test_mask);
        tcase_add_test(tc, test_is_network);
        tcase_add_test(tc, test_contains_overlaps);
        tcase_add_test(tc, test_check_unicast);
        tcase_add_test(tc, test_compare_total_order);
        tcase_add_test(tc, test_hash);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(addr_suite());
}
