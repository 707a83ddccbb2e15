/* Unit tests for daemon/state/config.[ch] and route.c (everything but the RouteTable, see
 * test-routetable.c): names, tables, MACs, MTUs, LIF validation, route validation and deep copies. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/config.h"
#include "shared/cleanup.h"
#include "state/json.h"
#include "unit.h"

/* ---- names and tables ---- */

START_TEST(test_name_check)
{
        static const char *const good[] = {
                "a", "blue", "Blue_1", "a.b", "a-b", "a-", "a.", "_x", "0", "9lives", "x_y.z-W"};
        static const char *const bad[] = {"", ".a", "-a", "a b", "a/b", "a:b", "a@b", "a\tb", "a\nb",
                "blue\xc3\xa9", "a*", "a%b", "a\"b", "a\\b"};
        char max[DLR_NAME_MAX + 2];

        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
                ck_assert_msg(dlr_name_check(good[i]) == 0, "\"%s\" refused", good[i]);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                ck_assert_msg(dlr_name_check(bad[i]) == -EINVAL, "\"%s\" accepted", bad[i]);
        ck_assert_int_eq(dlr_name_check(NULL), -EINVAL);

        memset(max, 'n', DLR_NAME_MAX);
        max[DLR_NAME_MAX] = 0;
        ck_assert_int_eq(dlr_name_check(max), 0); /* exactly 64 */
        max[DLR_NAME_MAX] = 'n';
        max[DLR_NAME_MAX + 1] = 0;
        ck_assert_int_eq(dlr_name_check(max), -EINVAL); /* 65 */
}
END_TEST

START_TEST(test_table_check)
{
        static const uint32_t reserved[] = {0, 252, 253, 254, 255};
        static const uint32_t fine[] = {1, 2, 100, 251, 256, 1000, 9999, 10000, UINT32_MAX};

        for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
                ck_assert_msg(dlr_table_check(reserved[i]) == -EINVAL, "table %u accepted", reserved[i]);
        for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++)
                ck_assert_msg(dlr_table_check(fine[i]) == 0, "table %u refused", fine[i]);
}
END_TEST

START_TEST(test_allocate_table)
{
        _cleanup_(config_freep) Config *c = config_new();
        uint32_t t = 0;
        char name[32];

        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(config_allocate_table(c, &t), 0);
        ck_assert_uint_eq(t, 1000);

        /* Tables outside dlrd's range do not matter; the lowest gap is taken. */
        unit_router(c, "low", 999);
        unit_router(c, "high", 10000);
        unit_router(c, "a", 1000);
        unit_router(c, "b", 1001);
        unit_router(c, "d", 1003);
        ck_assert_int_eq(config_allocate_table(c, &t), 0);
        ck_assert_uint_eq(t, 1002);
        ck_assert_str_eq(config_find_router_by_table(c, 1003)->name, "d");
        ck_assert_ptr_null(config_find_router_by_table(c, 1002));

        /* Fill the whole range: then there is no table left. */
        for (uint32_t i = DLR_TABLE_AUTO_MIN; i <= DLR_TABLE_AUTO_MAX; i++)
                if (!config_find_router_by_table(c, i)) {
                        snprintf(name, sizeof name, "r%u", i);
                        unit_router(c, name, i);
                        if (i == 5000) {
                                ck_assert_int_eq(config_allocate_table(c, &t), 0);
                                ck_assert_uint_eq(t, 5001);
                        }
                }
        ck_assert_uint_eq(c->n_routers, 2 + 9000);
        t = 77;
        ck_assert_int_eq(config_allocate_table(c, &t), -ENOSPC);
        ck_assert_uint_eq(t, 77);

        /* Freeing one id makes exactly that one available again, including the last of the range. */
        router_free(config_detach_router(c, "r9999"));
        ck_assert_int_eq(config_allocate_table(c, &t), 0);
        ck_assert_uint_eq(t, DLR_TABLE_AUTO_MAX);
        router_free(config_detach_router(c, "r4321"));
        ck_assert_int_eq(config_allocate_table(c, &t), 0);
        ck_assert_uint_eq(t, 4321);
}
END_TEST

/* ---- MACs and MTUs ---- */

static void mac_str(const uint8_t m[6], char buf[18])
{
        snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

START_TEST(test_mac_bits_and_golden_values)
{
        static const char *const names[] = {
                "blue", "web", "db", "a", "b", "x", "router-with-a-long-name", "0", "Z.z_z-z"};
        uint8_t m[6], p[6];
        char s[18];

        /* Every host derives the same value, so these must never change between releases. */
        lif_derive_mac("blue", "web", m);
        mac_str(m, s);
        ck_assert_str_eq(s, "3a:e6:4e:4e:f2:55");
        lif_derive_port_mac("blue", "web", m);
        mac_str(m, s);
        ck_assert_str_eq(s, "ce:f3:e0:8b:93:58");
        lif_derive_mac("blue", "db", m);
        mac_str(m, s);
        ck_assert_str_eq(s, "82:19:68:2e:89:26");
        lif_derive_port_mac("blue", "db", m);
        mac_str(m, s);
        ck_assert_str_eq(s, "42:03:56:57:d8:6b");

        /* Locally administered unicast, never zero, for many inputs. */
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                for (size_t j = 0; j < sizeof names / sizeof names[0]; j++) {
                        static const uint8_t zero[6];
                        lif_derive_mac(names[i], names[j], m);
                        lif_derive_port_mac(names[i], names[j], p);
                        ck_assert_uint_eq(m[0] & 0x01, 0);    /* unicast */
                        ck_assert_uint_eq(m[0] & 0x02, 0x02); /* locally administered */
                        ck_assert_uint_eq(p[0] & 0x01, 0);
                        ck_assert_uint_eq(p[0] & 0x02, 0x02);
                        ck_assert(memcmp(m, zero, 6) != 0);
                        ck_assert(memcmp(m, p, 6) != 0); /* gateway and port MACs differ */
                }
}
END_TEST

START_TEST(test_mac_distinct_and_deterministic)
{
        uint8_t a[6], b[6];

        lif_derive_mac("blue", "web", a);
        lif_derive_mac("blue", "web", b);
        ck_assert_mem_eq(a, b, 6);
        lif_derive_port_mac("blue", "web", a);
        lif_derive_port_mac("blue", "web", b);
        ck_assert_mem_eq(a, b, 6);

        /* Different router, different LIF, swapped names, shifted boundary: all different. */
        lif_derive_mac("blue", "web", a);
        lif_derive_mac("red", "web", b);
        ck_assert(memcmp(a, b, 6) != 0);
        lif_derive_mac("blue", "db", b);
        ck_assert(memcmp(a, b, 6) != 0);
        lif_derive_mac("web", "blue", b);
        ck_assert(memcmp(a, b, 6) != 0);
        lif_derive_mac("ab", "c", a);
        lif_derive_mac("a", "bc", b);
        ck_assert(memcmp(a, b, 6) != 0);
        lif_derive_port_mac("ab", "c", a);
        lif_derive_port_mac("a", "bc", b);
        ck_assert(memcmp(a, b, 6) != 0);

        /* The gateway MAC of one LIF is not the port MAC of any nearby name either. */
        lif_derive_mac("blue", "web", a);
        lif_derive_port_mac("blue", "web", b);
        ck_assert(memcmp(a, b, 6) != 0);
}
END_TEST

START_TEST(test_effective_mtu)
{
        ck_assert_uint_eq(lif_effective_mtu(LIF_KIND_VXLAN, 0), 1450);
        ck_assert_uint_eq(lif_effective_mtu(LIF_KIND_VLAN, 0), 1500);
        ck_assert_uint_eq(lif_effective_mtu(LIF_KIND_VXLAN, 9000), 9000);
        ck_assert_uint_eq(lif_effective_mtu(LIF_KIND_VLAN, 1280), 1280);
        ck_assert_uint_eq(lif_effective_mtu(LIF_KIND_VXLAN, 1500), 1500);

        ck_assert_str_eq(lif_kind_to_string(LIF_KIND_VXLAN), "vxlan");
        ck_assert_str_eq(lif_kind_to_string(LIF_KIND_VLAN), "vlan");
        ck_assert_int_eq(lif_kind_from_string("vxlan"), LIF_KIND_VXLAN);
        ck_assert_int_eq(lif_kind_from_string("vlan"), LIF_KIND_VLAN);
        ck_assert_int_eq(lif_kind_from_string("VXLAN"), -EINVAL);
        ck_assert_int_eq(lif_kind_from_string(""), -EINVAL);
        ck_assert_int_eq(lif_kind_from_string(NULL), -EINVAL);
}
END_TEST

/* ---- lif_new_checked ---- */

/* Calls lif_new_checked with up to 17 addresses; frees the LIF if one was made. Returns the code. */
static int try_lif_v(const Config *c, const Router *r, const char *name, const char *kind, uint32_t seg,
        uint32_t mtu, char *const *addrs, const char **ret_why)
{
        const char *why = "unset";
        Lif *l = NULL;
        size_t n = 0;
        int k;

        while (addrs && addrs[n])
                n++;
        k = lif_new_checked(c, r, name, kind, seg, addrs, n, mtu, &l, &why);
        if (k == 0) {
                ck_assert_ptr_nonnull(l);
                ck_assert_ptr_null(why);
                lif_free(l);
        } else
                ck_assert_msg(why != NULL && why[0] != 0, "error %d without explanation", k);
        if (ret_why)
                *ret_why = why;
        return k;
}

#define try_lif(c, r, name, kind, seg, mtu, ...)                                                            \
        try_lif_v((c), (r), (name), (kind), (seg), (mtu), (char *const[]){__VA_ARGS__, NULL}, NULL)

START_TEST(test_lif_valid)
{
        _cleanup_(config_freep) Config *c = config_new();
        Router *r = unit_router(c, "blue", 1001);
        char *addrs[] = {(char *)"10.0.0.1/24", (char *)"2001:DB8:0:1::1/64", (char *)"192.0.2.1/32",
                (char *)"198.51.100.0/31"};
        const char *why = "unset";
        uint8_t mac[6];
        Lif *l = NULL;

        ck_assert_int_eq(lif_new_checked(c, r, "web", "vxlan", 5000, addrs, 4, 0, &l, &why), 0);
        ck_assert_ptr_nonnull(l);
        ck_assert_ptr_null(why);
        ck_assert_str_eq(l->name, "web");
        ck_assert_int_eq(l->kind, LIF_KIND_VXLAN);
        ck_assert_uint_eq(l->segment, 5000);
        ck_assert_uint_eq(l->mtu_config, 0);
        ck_assert_uint_eq(l->mtu, 1450);
        ck_assert_uint_eq(l->n_addresses, 4);
        ck_assert_str_eq(unit_str(&l->addresses[0], true), "10.0.0.1/24");
        ck_assert_str_eq(unit_str(&l->addresses[1], true), "2001:db8:0:1::1/64");
        ck_assert_str_eq(unit_str(&l->addresses[2], true), "192.0.2.1/32");
        ck_assert_str_eq(unit_str(&l->addresses[3], true), "198.51.100.0/31");
        lif_derive_mac("blue", "web", mac);
        ck_assert_mem_eq(l->mac, mac, 6);
        /* Not part of the router until added. */
        ck_assert_uint_eq(r->n_lifs, 0);
        ck_assert_int_eq(router_add_lif(r, l), 0);
        ck_assert_uint_eq(l->id, 1);
        ck_assert_ptr_eq(router_find_lif(r, "web"), l);

        /* A VLAN LIF without addresses and with an explicit MTU. */
        l = NULL;
        ck_assert_int_eq(lif_new_checked(c, r, "db", "vlan", 100, NULL, 0, 9000, &l, &why), 0);
        ck_assert_int_eq(l->kind, LIF_KIND_VLAN);
        ck_assert_uint_eq(l->mtu_config, 9000);
        ck_assert_uint_eq(l->mtu, 9000);
        ck_assert_uint_eq(l->n_addresses, 0);
        lif_free(l);
}
END_TEST

START_TEST(test_lif_name_and_kind)
{
        _cleanup_(config_freep) Config *c = config_new();
        Router *r = unit_router(c, "blue", 1001);
        const char *why;

        ck_assert_int_eq(try_lif_v(c, r, "bad/lif", "vxlan", 5010, 0, NULL, &why), -EINVAL);
        ck_assert_str_eq(why, "invalid LIF name: use 1-64 characters of A-Z a-z 0-9 _ . -");
        ck_assert_int_eq(try_lif_v(c, r, "", "vxlan", 5010, 0, NULL, NULL), -EINVAL);
        ck_assert_int_eq(try_lif_v(c, r, ".x", "vxlan", 5010, 0, NULL, NULL), -EINVAL);
        ck_assert_int_eq(try_lif_v(c, r, NULL, "vxlan", 5010, 0, NULL, NULL), -EINVAL);

        ck_assert_int_eq(try_lif_v(c, r, "a", "gre", 5010, 0, NULL, &why), -EINVAL);
        ck_assert_str_eq(why, "invalid LIF kind: expected \"vxlan\" or \"vlan\"");
        ck_assert_int_eq(try_lif_v(c, r, "a", "", 5010, 0, NULL, NULL), -EINVAL);
        ck_assert_int_eq(try_lif_v(c, r, "a", "VLAN", 10, 0, NULL, NULL), -EINVAL);
        ck_assert_int_eq(try_lif_v(c, r, "a", "vxlan ", 10, 0, NULL, NULL), -EINVAL);
        ck_assert_int_eq(try_lif_v(c, r, "a", NULL, 10, 0, NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(test_lif_segment_ranges)
{
        _cleanup_(config_freep) Config *c = config_new();
        Router *r = unit_router(c, "blue", 1001);
        const char *why;

        ck_assert_int_eq(try_lif_v(c, r, "a", "vxlan", 0, 0, NULL, &why), -EINVAL);
        ck_assert_str_eq(why, "invalid VNI: expected 1-16777215");
        ck_assert_int_eq(try_lif_v(c, r, "a", "vxlan", 16777216, 0, NULL, NULL), -EINVAL);
        ck_assert_int_eq(try_lif_v(c, r, "a", "vxlan", UINT32_MAX, 0, NULL, NULL), -EINVAL);
        ck_assert_int_eq(try_lif_v(c, r, "a", "vxlan", 1, 0, NULL, NULL), 0);
        ck_assert_int_eq(try_lif_v(c, r, "a", "vxlan", 16777215, 0, NULL, NULL), 0);

        ck_assert_int_eq(try_lif_v(c, r, "a", "vlan", 0, 0, NULL, &why), -EINVAL);
        ck_assert_str_eq(why, "invalid VLAN id: expected 1-4094");
        ck_assert_int_eq(try_lif_v(c, r, "a", "vlan", 4095, 0, NULL, NULL), -EINVAL);
        ck_assert_int_eq(try_lif_v(c, r, "a", "vlan", 5000, 0, NULL, NULL), -EINVAL);
        ck_assert_int_eq(try_lif_v(c, r, "a", "vlan", 1, 0, NULL, NULL), 0);
        ck_assert_int_eq(try_lif_v(c, r, "a", "vlan", 4094, 0, NULL, NULL), 0);
}
END_TEST

START_TEST(test_lif_mtu_range)
{
        _cleanup_(config_freep) Config *c = config_new();
        Router *r = unit_router(c, "blue", 1001);
        const char *why;

        ck_assert_int_eq(try_lif_v(c, r, "a", "vxlan", 10, 1, NULL, &why), -EINVAL);
        ck_assert_str_eq(why, "invalid MTU: expected 0 (derive) or 1280-9000");
        ck_assert_int_eq(try_lif_v(c, r, "a", "vxlan", 10, 1279, NULL, NULL), -EINVAL);
        ck_assert_int_eq(try_lif_v(c, r, "a", "vxlan", 10, 9001, NULL, NULL), -EINVAL);
        ck_assert_int_eq(try_lif_v(c, r, "a", "vlan", 10, 65535, NULL, NULL), -EINVAL);
        ck_assert_int_eq(try_lif_v(c, r, "a", "vxlan", 10, 0, NULL, NULL), 0);
        ck_assert_int_eq(try_lif_v(c, r, "a", "vxlan", 10, 1280, NULL, NULL), 0);
        ck_assert_int_eq(try_lif_v(c, r, "a", "vlan", 10, 9000, NULL, NULL), 0);
}
END_TEST

START_TEST(test_lif_address_validation)
{
        static const char *const bad[] = {
                "10.0.0.300/24",
                "10.0.0.1/33",
                "10.0.0.1/",
                "10.0.0.1/+8",
                "10.0.0.1/08",
                " 10.0.0.1/8",
                "10.0.0.1",
                "2001:db8:a::1/129",
                "not-an-address/24",
                "10.1.1.1/-1",
                "::/0",
                "0.0.0.0/0",
                "10.0.0.1/0",
                "2001:db8::1/0",
                "127.0.0.1/8",
                "224.0.0.1/24",
                "255.255.255.255/32",
                "::1/128",
                "ff02::1/64",
                "fe80::1/64",
                "0.0.0.0/24",
                /* The subnet's network address is not a gateway address. */
                "10.0.0.0/24",
                "10.0.0.0/8",
                "192.168.4.0/22",
                "10.0.0.0/30",
        };
        _cleanup_(config_freep) Config *c = config_new();
        Router *r = unit_router(c, "blue", 1001);
        const char *why;

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                char *a[] = {(char *)bad[i], NULL};
                ck_assert_msg(try_lif_v(c, r, "a", "vxlan", 10, 0, a, NULL) == -EINVAL,
                        "address %s accepted", bad[i]);
        }
        ck_assert_int_eq(
                try_lif_v(c, r, "a", "vxlan", 10, 0, (char *const[]){(char *)"10.0.0.0/24", NULL}, &why),
                -EINVAL);
        ck_assert_str_eq(why, "invalid gateway address: it is the subnet's network address");
        ck_assert_int_eq(
                try_lif_v(c, r, "a", "vxlan", 10, 0, (char *const[]){(char *)"10.0.0.1/", NULL}, &why),
                -EINVAL);
        ck_assert_str_eq(why, "invalid gateway address: expected ADDRESS/LENGTH");

        /* A bad address after good ones is still found. */
        ck_assert_int_eq(try_lif(c, r, "a", "vxlan", 10, 0, "10.1.0.1/24", "10.1.1.1/-1"), -EINVAL);

        /* Point-to-point and host lengths have no network address to refuse; the broadcast is not refused.
         */
        ck_assert_int_eq(try_lif(c, r, "a", "vxlan", 10, 0, "10.0.0.0/31"), 0);
        ck_assert_int_eq(try_lif(c, r, "a", "vxlan", 10, 0, "10.0.0.0/32"), 0);
        ck_assert_int_eq(try_lif(c, r, "a", "vxlan", 10, 0, "10.0.0.1/1"), 0);
        ck_assert_int_eq(try_lif(c, r, "a", "vxlan", 10, 0, "2001:db8::1/128"), 0);
}
END_TEST

START_TEST(test_lif_address_count)
{
        _cleanup_(config_freep) Config *c = config_new();
        Router *r = unit_router(c, "blue", 1001);
        char bufs[DLR_ADDRESSES_MAX + 1][32];
        char *a[DLR_ADDRESSES_MAX + 2];
        const char *why;

        for (unsigned i = 0; i <= DLR_ADDRESSES_MAX; i++) {
                snprintf(bufs[i], sizeof bufs[i], "10.%u.0.1/24", i);
                a[i] = bufs[i];
        }
        a[DLR_ADDRESSES_MAX] = NULL;
        ck_assert_int_eq(try_lif_v(c, r, "a", "vxlan", 10, 0, a, NULL), 0);
        a[DLR_ADDRESSES_MAX] = bufs[DLR_ADDRESSES_MAX];
        a[DLR_ADDRESSES_MAX + 1] = NULL;
        ck_assert_int_eq(try_lif_v(c, r, "a", "vxlan", 10, 0, a, &why), -EINVAL);
        ck_assert_str_eq(why, "too many gateway addresses (at most 16)");
}
END_TEST

START_TEST(test_lif_overlap_with_other_lif)
{
        _cleanup_(config_freep) Config *c = config_new();
        Router *blue = unit_router(c, "blue", 1001), *red = unit_router(c, "red", 1002);
        const char *why;

        unit_lif(c, blue, "web", "vxlan", 5000, 0, "10.0.0.1/24", "2001:db8:0:1::1/64");

        ck_assert_int_eq(try_lif_v(c, blue, "w2", "vxlan", 5005, 0,
                                 (char *const[]){(char *)"10.0.0.5/25", NULL}, &why),
                -EADDRINUSE);
        ck_assert_str_eq(why, "a gateway subnet overlaps another LIF of this router");
        ck_assert_int_eq(try_lif(c, blue, "w2", "vxlan", 5005, 0, "10.0.0.1/24"), -EADDRINUSE);
        ck_assert_int_eq(try_lif(c, blue, "w2", "vxlan", 5005, 0, "10.0.0.129/16"), -EADDRINUSE);
        ck_assert_int_eq(try_lif(c, blue, "w2", "vxlan", 5005, 0, "10.0.0.77/32"), -EADDRINUSE);
        ck_assert_int_eq(try_lif(c, blue, "w2", "vxlan", 5005, 0, "2001:db8:0:1:8000::1/65"), -EADDRINUSE);
        ck_assert_int_eq(
                try_lif(c, blue, "w2", "vlan", 7, 0, "172.16.0.1/24", "10.0.0.201/30"), -EADDRINUSE);

        /* Adjacent subnets, other families and other routers (other VRFs) are fine. */
        ck_assert_int_eq(try_lif(c, blue, "w2", "vxlan", 5005, 0, "10.0.1.1/24"), 0);
        ck_assert_int_eq(try_lif(c, blue, "w2", "vxlan", 5005, 0, "2001:db8:0:2::1/64"), 0);
        ck_assert_int_eq(try_lif(c, blue, "w2", "vxlan", 5005, 0, "::ffff:10.0.0.2/120"), 0);
        ck_assert_int_eq(try_lif(c, red, "x", "vxlan", 6000, 0, "10.0.0.1/24"), 0);
}
END_TEST

START_TEST(test_lif_overlap_within_lif)
{
        /* Contract (config.h): gateway subnets of one LIF overlapping each other make the request malformed
         * (-EINVAL), unlike a subnet overlapping another LIF (-EADDRINUSE). */
        _cleanup_(config_freep) Config *c = config_new();
        Router *r = unit_router(c, "blue", 1001);
        const char *why;

        ck_assert_int_eq(try_lif(c, r, "a", "vxlan", 10, 0, "10.0.0.1/24", "10.0.1.1/24"), 0);
        ck_assert_int_eq(try_lif_v(c, r, "a", "vxlan", 10, 0,
                                 (char *const[]){(char *)"10.0.0.1/24", (char *)"10.0.0.2/24", NULL}, &why),
                -EINVAL);
        ck_assert_str_eq(why, "gateway addresses of one LIF overlap each other");
        ck_assert_int_eq(try_lif(c, r, "a", "vxlan", 10, 0, "10.0.0.1/16", "10.0.9.1/24"), -EINVAL);
        ck_assert_int_eq(try_lif(c, r, "a", "vxlan", 10, 0, "10.0.0.1/24", "10.0.0.1/24"), -EINVAL);
        ck_assert_int_eq(
                try_lif(c, r, "a", "vxlan", 10, 0, "2001:db8::1/64", "10.0.0.1/24", "2001:db8::2/96"),
                -EINVAL);
}
END_TEST

START_TEST(test_lif_duplicate_name)
{
        _cleanup_(config_freep) Config *c = config_new();
        Router *blue = unit_router(c, "blue", 1001), *red = unit_router(c, "red", 1002);
        const char *why;

        unit_lif(c, blue, "web", "vxlan", 5000, 0, "10.0.0.1/24");
        ck_assert_int_eq(try_lif_v(c, blue, "web", "vxlan", 5020, 0,
                                 (char *const[]){(char *)"10.20.0.1/24", NULL}, &why),
                -EEXIST);
        ck_assert_str_eq(why, "a LIF of this name already exists in this router");
        ck_assert_int_eq(try_lif_v(c, blue, "web", "vlan", 20, 0, NULL, NULL), -EEXIST);
        /* Names are per router and case-sensitive. */
        ck_assert_int_eq(try_lif_v(c, red, "web", "vxlan", 5020, 0, NULL, NULL), 0);
        ck_assert_int_eq(try_lif_v(c, blue, "Web", "vxlan", 5020, 0, NULL, NULL), 0);
}
END_TEST

START_TEST(test_lif_segment_in_use)
{
        _cleanup_(config_freep) Config *c = config_new();
        Router *blue = unit_router(c, "blue", 1001), *red = unit_router(c, "red", 1002), *owner = NULL;
        const char *why;

        unit_lif(c, blue, "web", "vxlan", 5000, 0, "10.0.0.1/24");
        unit_lif(c, blue, "db", "vlan", 100, 0, "10.0.2.1/24");

        /* The VNI is taken cluster-wide: in another router too. */
        ck_assert_int_eq(
                try_lif_v(c, red, "y", "vxlan", 5000, 0, (char *const[]){(char *)"10.6.0.1/24", NULL}, &why),
                -EADDRINUSE);
        ck_assert_str_eq(why, "this VNI is already used by another LIF");
        ck_assert_int_eq(try_lif_v(c, blue, "y", "vxlan", 5000, 0, NULL, NULL), -EADDRINUSE);
        ck_assert_int_eq(
                try_lif_v(c, red, "y", "vlan", 100, 0, (char *const[]){(char *)"10.6.0.1/24", NULL}, &why),
                -EADDRINUSE);
        ck_assert_str_eq(why, "this VLAN is already used by another LIF");

        /* A VNI and a VLAN id of the same number are different segments. */
        ck_assert_int_eq(try_lif_v(c, red, "y", "vlan", 5, 0, NULL, NULL), 0);
        ck_assert_int_eq(try_lif_v(c, red, "y", "vxlan", 100, 0, NULL, NULL), 0);

        ck_assert_ptr_eq(config_find_segment(c, LIF_KIND_VLAN, 100, &owner), router_find_lif(blue, "db"));
        ck_assert_ptr_eq(owner, blue);
        ck_assert_ptr_null(config_find_segment(c, LIF_KIND_VXLAN, 100, NULL));
}
END_TEST

START_TEST(test_lif_ids)
{
        _cleanup_(config_freep) Config *c = config_new();
        Router *r = unit_router(c, "blue", 1001);
        Lif *a = unit_lif_v(c, r, "a", "vxlan", 1, 0, NULL);
        Lif *b = unit_lif_v(c, r, "b", "vxlan", 2, 0, NULL);
        Lif *l;

        ck_assert_uint_eq(a->id, 1);
        ck_assert_uint_eq(b->id, 2);
        ck_assert_ptr_eq(router_find_lif_by_id(r, 2), b);
        ck_assert_ptr_null(router_find_lif_by_id(r, 3));

        /* Ids are never reused while the router lives. */
        l = router_detach_lif(r, "b");
        ck_assert_ptr_eq(l, b);
        ck_assert_uint_eq(r->n_lifs, 1);
        ck_assert_ptr_null(router_find_lif(r, "b"));
        lif_free(l);
        l = unit_lif_v(c, r, "c", "vxlan", 3, 0, NULL);
        ck_assert_uint_eq(l->id, 3);
        ck_assert_ptr_null(router_detach_lif(r, "b"));

        /* Wrap-around skips 0 and ids still taken (1 = "a"). */
        r->next_lif_id = UINT16_MAX;
        l = unit_lif_v(c, r, "d", "vxlan", 4, 0, NULL);
        ck_assert_uint_eq(l->id, 2);

        /* An explicit id is kept and moves the counter. */
        ck_assert_int_eq(lif_new_checked(c, r, "e", "vxlan", 5, NULL, 0, 0, &l, &(const char *){NULL}), 0);
        l->id = 500;
        ck_assert_int_eq(router_add_lif(r, l), 0);
        ck_assert_uint_eq(l->id, 500);
        l = unit_lif_v(c, r, "f", "vxlan", 6, 0, NULL);
        ck_assert_uint_eq(l->id, 501);
}
END_TEST

START_TEST(test_lif_ids_assigned_after_explicit)
{
        /* router_append_lif keeps ids as they are (even 0); router_assign_lif_ids then gives the id-less
         * LIFs ids that no explicit one uses, whatever the order. */
        _cleanup_(config_freep) Config *c = config_new();
        Router *r = unit_router(c, "blue", 1001);
        const char *why;
        Lif *l[4];
        static const uint16_t explicit_ids[4] = {0, 1, 0, 3};

        for (unsigned i = 0; i < 4; i++) {
                char name[8];
                snprintf(name, sizeof name, "l%u", i);
                ck_assert_int_eq(lif_new_checked(c, r, name, "vlan", 10 + i, NULL, 0, 0, &l[i], &why), 0);
                l[i]->id = explicit_ids[i];
                ck_assert_int_eq(router_append_lif(r, l[i]), 0);
                ck_assert_uint_eq(l[i]->id, explicit_ids[i]);
        }
        ck_assert_uint_eq(r->n_lifs, 4);
        ck_assert_int_eq(router_assign_lif_ids(r), 0);
        ck_assert_uint_eq(l[1]->id, 1);
        ck_assert_uint_eq(l[3]->id, 3);
        ck_assert_uint_ne(l[0]->id, 0);
        ck_assert_uint_ne(l[2]->id, 0);
        for (unsigned i = 0; i < 4; i++)
                for (unsigned j = i + 1; j < 4; j++)
                        ck_assert_uint_ne(l[i]->id, l[j]->id);
        /* Nothing left to assign: a second call changes nothing. */
        uint16_t id0 = l[0]->id, id2 = l[2]->id;
        ck_assert_int_eq(router_assign_lif_ids(r), 0);
        ck_assert_uint_eq(l[0]->id, id0);
        ck_assert_uint_eq(l[2]->id, id2);
        ck_assert_ptr_eq(router_find_lif_by_id(r, id0), l[0]);
}
END_TEST

/* ---- routes ---- */

static Config *two_lif_config(Router **ret)
{
        Config *c = config_new();
        Router *r;

        ck_assert_ptr_nonnull(c);
        r = unit_router(c, "blue", 1001);
        unit_lif(c, r, "web", "vxlan", 5000, 0, "10.0.0.1/24", "2001:db8:0:1::1/64");
        unit_lif(c, r, "db", "vlan", 100, 0, "10.0.2.1/24");
        *ret = r;
        return c;
}

static int try_route_v(
        const Router *r, const char *prefix, size_t n, const char *const *pairs, const char **ret_why)
{
        NexthopSpec nh[64];
        const char *why = "unset";
        Route rt;
        int k;

        ck_assert_uint_le(n, 64);
        for (size_t i = 0; i < n; i++) {
                nh[i].gateway = pairs[2 * i];
                nh[i].lif = pairs[2 * i + 1];
        }
        k = route_build(r, prefix, nh, n, &rt, &why);
        if (k == 0) {
                ck_assert_ptr_null(why);
                route_done(&rt);
        } else
                ck_assert_msg(why != NULL && why[0] != 0, "error %d without explanation", k);
        if (ret_why)
                *ret_why = why;
        return k;
}

#define try_route(r, prefix, ...)                                                                           \
        try_route_v((r), (prefix), UNIT_NPAIRS(__VA_ARGS__), UNIT_PAIRS(__VA_ARGS__), NULL)

START_TEST(test_route_build_valid)
{
        _cleanup_(config_freep) Config *c = NULL;
        Router *r;
        Route rt;
        const char *why = "unset";

        c = two_lif_config(&r);
        rt = unit_route_v(r, "10.9.0.0/16", 1, UNIT_PAIRS("10.0.0.254", "web"));
        ck_assert_str_eq(unit_str(&rt.prefix, true), "10.9.0.0/16");
        ck_assert_uint_eq(rt.n_nexthops, 1);
        ck_assert_uint_eq(rt.nh.one.has_gw, 1);
        ck_assert_uint_eq(rt.nh.one.lif, router_find_lif(r, "web")->id);
        ck_assert_mem_eq(rt.nh.one.gw, ((uint8_t[16]){10, 0, 0, 254}), 16);
        ck_assert_ptr_eq(route_nexthops(&rt), &rt.nh.one);
        route_done(&rt);

        /* Gateway only, LIF only. */
        rt = unit_route_v(r, "10.10.0.0/16", 1, UNIT_PAIRS("10.0.0.254", ""));
        ck_assert_uint_eq(rt.nh.one.has_gw, 1);
        ck_assert_uint_eq(rt.nh.one.lif, 0);
        route_done(&rt);
        rt = unit_route_v(r, "10.11.0.0/16", 1, UNIT_PAIRS("", "db"));
        ck_assert_uint_eq(rt.nh.one.has_gw, 0);
        ck_assert_uint_eq(rt.nh.one.lif, 2);
        route_done(&rt);

        /* Blackhole: no next hop at all; default routes of both families; host routes. */
        ck_assert_int_eq(route_build(r, "0.0.0.0/0", NULL, 0, &rt, &why), 0);
        ck_assert_ptr_null(why);
        ck_assert_uint_eq(rt.n_nexthops, 0);
        ck_assert_uint_eq(rt.prefix.plen, 0);
        route_done(&rt);
        ck_assert_int_eq(try_route_v(r, "::/0", 0, NULL, NULL), 0);
        ck_assert_int_eq(try_route(r, "::/0", "2001:db8:0:1::fe", "web"), 0);
        ck_assert_int_eq(try_route(r, "192.0.2.7/32", "10.0.0.254", "web"), 0);
        ck_assert_int_eq(try_route(r, "2001:db8:9::1/128", "2001:db8:0:1::fe", ""), 0);
}
END_TEST

START_TEST(test_route_build_bad_prefix)
{
        _cleanup_(config_freep) Config *c = NULL;
        Router *r;
        const char *why;

        c = two_lif_config(&r);
        ck_assert_int_eq(try_route_v(r, "10.1.2.3/16", 1, UNIT_PAIRS("10.0.0.254", "web"), &why), -EINVAL);
        ck_assert_str_eq(why, "invalid route prefix: host bits are set");
        ck_assert_int_eq(try_route(r, "2001:db8:1::1/48", "2001:db8:0:1::fe", "web"), -EINVAL);
        ck_assert_int_eq(try_route(r, "0.0.0.1/0", "10.0.0.254", "web"), -EINVAL);
        ck_assert_int_eq(try_route_v(r, "10.50.0.0/33", 1, UNIT_PAIRS("10.0.0.254", "web"), &why), -EINVAL);
        ck_assert_str_eq(why, "invalid route prefix: expected ADDRESS/LENGTH");
        ck_assert_int_eq(try_route(r, "10.50.0.0", "10.0.0.254", "web"), -EINVAL);
        ck_assert_int_eq(try_route(r, "10.50.0.0/08", "10.0.0.254", "web"), -EINVAL);
        ck_assert_int_eq(try_route(r, " 10.50.0.0/16", "10.0.0.254", "web"), -EINVAL);
        ck_assert_int_eq(try_route(r, "", "10.0.0.254", "web"), -EINVAL);
}
END_TEST

START_TEST(test_route_build_bad_gateway)
{
        _cleanup_(config_freep) Config *c = NULL;
        Router *r;
        const char *why;

        c = two_lif_config(&r);
        ck_assert_int_eq(try_route_v(r, "10.50.0.0/16", 1, UNIT_PAIRS("10.0.0.999", "web"), &why), -EINVAL);
        ck_assert_str_eq(why, "invalid next-hop gateway address");
        ck_assert_int_eq(try_route(r, "10.50.0.0/16", "10.0.0.254/32", "web"), -EINVAL);
        ck_assert_int_eq(try_route(r, "10.50.0.0/16", " 10.0.0.254", "web"), -EINVAL);

        /* Wrong family, including the IPv4-mapped spelling of an IPv4 gateway. */
        ck_assert_int_eq(
                try_route_v(r, "10.50.0.0/16", 1, UNIT_PAIRS("2001:db8:0:1::fe", "web"), &why), -EINVAL);
        ck_assert_str_eq(why, "next-hop gateway is not of the prefix's address family");
        ck_assert_int_eq(try_route(r, "10.50.0.0/16", "::ffff:10.0.0.254", "web"), -EINVAL);
        ck_assert_int_eq(try_route(r, "2001:db8:9::/48", "10.0.0.254", "web"), -EINVAL);

        /* Not usable unicast: link-local (with or without a length), loopback, multicast, broadcast, any. */
        ck_assert_int_eq(try_route_v(r, "2001:db8:9::/48", 1, UNIT_PAIRS("fe80::1", "web"), &why), -EINVAL);
        ck_assert_str_eq(why, "next-hop gateway is not a usable unicast address");
        ck_assert_int_eq(try_route(r, "2001:db8:9::/48", "fe80::1/64", "web"), -EINVAL);
        ck_assert_int_eq(try_route(r, "2001:db8:9::/48", "::1", "web"), -EINVAL);
        ck_assert_int_eq(try_route(r, "2001:db8:9::/48", "::", "web"), -EINVAL);
        ck_assert_int_eq(try_route(r, "2001:db8:9::/48", "ff02::2", "web"), -EINVAL);
        ck_assert_int_eq(try_route(r, "10.50.0.0/16", "127.0.0.1", "web"), -EINVAL);
        ck_assert_int_eq(try_route(r, "10.50.0.0/16", "224.0.0.5", "web"), -EINVAL);
        ck_assert_int_eq(try_route(r, "10.50.0.0/16", "255.255.255.255", "web"), -EINVAL);
        ck_assert_int_eq(try_route(r, "10.50.0.0/16", "0.0.0.0", "web"), -EINVAL);
}
END_TEST

START_TEST(test_route_build_lifs)
{
        _cleanup_(config_freep) Config *c = NULL;
        Router *r;
        const char *why;

        c = two_lif_config(&r);
        ck_assert_int_eq(
                try_route_v(r, "10.50.0.0/16", 1, UNIT_PAIRS("10.0.0.254", "nosuch"), &why), -ENOENT);
        ck_assert_str_eq(why, "next-hop LIF not found in this router");
        ck_assert_int_eq(try_route(r, "10.50.0.0/16", "", "x"), -ENOENT);
        ck_assert_int_eq(try_route(r, "10.50.0.0/16", "10.0.0.254", "Web"), -ENOENT);
        /* A malformed LIF name is invalid, not missing. */
        ck_assert_int_eq(try_route(r, "10.50.0.0/16", "10.0.0.254", "bad/lif"), -EINVAL);
        /* A next hop needs something. */
        ck_assert_int_eq(try_route_v(r, "10.50.0.0/16", 1, UNIT_PAIRS("", ""), &why), -EINVAL);
        ck_assert_str_eq(why, "a next hop needs a gateway, a LIF, or both");
        ck_assert_int_eq(try_route(r, "10.50.0.0/16", NULL, "web"), -EINVAL);
        ck_assert_int_eq(try_route(r, "10.50.0.0/16", "10.0.0.254", NULL), -EINVAL);
}
END_TEST

START_TEST(test_route_build_multipath_rules)
{
        _cleanup_(config_freep) Config *c = NULL;
        Router *r;
        const char *why;
        const char *pairs[2 * 33];
        char gws[33][24];

        c = two_lif_config(&r);
        ck_assert_int_eq(try_route_v(r, "10.50.0.0/16", 2,
                                 UNIT_PAIRS("10.0.0.254", "web", "10.0.0.254", "web"), &why),
                -EINVAL);
        ck_assert_str_eq(why, "duplicate next hop");
        ck_assert_int_eq(
                try_route(r, "10.50.0.0/16", "10.0.0.254", "", "10.0.0.253", "", "10.0.0.254", ""), -EINVAL);
        /* Same gateway through different LIFs, or with and without a LIF, is not a duplicate. */
        ck_assert_int_eq(try_route(r, "10.50.0.0/16", "10.0.0.254", "web", "10.0.0.254", "db"), 0);
        ck_assert_int_eq(try_route(r, "10.50.0.0/16", "10.0.0.254", "web", "10.0.0.254", ""), 0);

        ck_assert_int_eq(
                try_route_v(r, "10.50.0.0/16", 2, UNIT_PAIRS("10.0.0.254", "web", "", "db"), &why), -EINVAL);
        ck_assert_str_eq(why, "every next hop of a multipath route needs a gateway");
        ck_assert_int_eq(try_route(r, "10.50.0.0/16", "", "web", "", "db"), -EINVAL);

        for (unsigned i = 0; i < 33; i++) {
                snprintf(gws[i], sizeof gws[i], "10.0.0.%u", 100 + i);
                pairs[2 * i] = gws[i];
                pairs[2 * i + 1] = "web";
        }
        ck_assert_int_eq(try_route_v(r, "10.50.0.0/16", 32, pairs, NULL), 0);
        ck_assert_int_eq(try_route_v(r, "10.50.0.0/16", 33, pairs, &why), -EINVAL);
        ck_assert_str_eq(why, "too many next hops (at most 32)");
}
END_TEST

START_TEST(test_route_nexthops_sorted)
{
        _cleanup_(config_freep) Config *c = NULL;
        Router *r;
        Route a, b;
        char s[IP_PREFIX_MAX_STR];

        c = two_lif_config(&r);
        a = unit_route_v(r, "10.50.0.0/16", 4,
                UNIT_PAIRS("10.0.0.9", "web", "10.0.0.200", "", "10.0.0.10", "db", "10.0.0.9", "db"));
        ck_assert_uint_eq(a.n_nexthops, 4);
        const Nexthop *nh = route_nexthops(&a);
        ck_assert_ptr_eq(nh, a.nh.many);
        static const struct {
                const char *gw;
                uint16_t lif;
        } want[] = {{"10.0.0.9", 1}, {"10.0.0.9", 2}, {"10.0.0.10", 2}, {"10.0.0.200", 0}};
        for (unsigned i = 0; i < 4; i++) {
                IpPrefix g = {.family = AF_INET};
                memcpy(g.addr, nh[i].gw, 16);
                ck_assert_str_eq(ip_prefix_to_string(&g, false, s, sizeof s), want[i].gw);
                ck_assert_uint_eq(nh[i].lif, want[i].lif);
                ck_assert_uint_eq(nh[i].has_gw, 1);
        }

        /* Any input order gives the same route. */
        b = unit_route_v(r, "10.50.0.0/16", 4,
                UNIT_PAIRS("10.0.0.10", "db", "10.0.0.9", "db", "10.0.0.200", "", "10.0.0.9", "web"));
        ck_assert(route_equal(&a, &b));
        ck_assert_mem_eq(route_nexthops(&a), route_nexthops(&b), 4 * sizeof(Nexthop));
        route_done(&b);

        /* route_equal notices a changed next hop and a changed prefix; it ignores stamps. */
        b = unit_route_v(r, "10.50.0.0/16", 4,
                UNIT_PAIRS("10.0.0.10", "db", "10.0.0.9", "db", "10.0.0.201", "", "10.0.0.9", "web"));
        ck_assert(!route_equal(&a, &b));
        route_done(&b);
        b = unit_route_v(r, "10.51.0.0/16", 4,
                UNIT_PAIRS("10.0.0.10", "db", "10.0.0.9", "db", "10.0.0.200", "", "10.0.0.9", "web"));
        ck_assert(!route_equal(&a, &b));
        route_done(&b);

        ck_assert_int_eq(route_copy(&a, &b), 0);
        ck_assert_ptr_ne(b.nh.many, a.nh.many); /* deep */
        b.stamp_lamport = 99;
        ck_assert(route_equal(&a, &b));
        route_done(&b);
        route_done(&a);
        ck_assert_uint_eq(a.n_nexthops, 0);
}
END_TEST

START_TEST(test_lif_in_use)
{
        _cleanup_(config_freep) Config *c = NULL;
        Router *r;
        Lif *spare;

        c = two_lif_config(&r);
        spare = unit_lif(c, r, "spare", "vxlan", 5001, 0, "10.7.0.1/24");
        ck_assert(!router_lif_in_use(r, 1));
        ck_assert(!router_lif_in_use(r, 2));

        unit_add_route(r, "10.9.0.0/16", 0, 0, "10.0.0.254", "web");
        ck_assert(router_lif_in_use(r, 1));
        ck_assert(!router_lif_in_use(r, 2));
        ck_assert(!router_lif_in_use(r, spare->id));

        /* A LIF used only by the second next hop of a multipath route. */
        unit_add_route(r, "10.10.0.0/16", 0, 0, "10.0.0.254", "", "10.0.2.254", "db");
        ck_assert(router_lif_in_use(r, 2));
        ck_assert(!router_lif_in_use(r, spare->id));

        ck_assert_int_eq(route_table_remove(&r->routes,
                                 &(IpPrefix){.family = AF_INET, .plen = 16, .addr = {10, 10}}, NULL),
                0);
        ck_assert(!router_lif_in_use(r, 2));
        ck_assert(router_lif_in_use(r, 1));
}
END_TEST

/* ---- deep copy ---- */

START_TEST(test_config_copy)
{
        _cleanup_(config_freep) Config *c = NULL, *n = NULL;
        _cleanup_free_ char *j1 = NULL, *j2 = NULL, *j3 = NULL;
        Router *r, *nr;
        Lif *nl;
        int hA;

        c = two_lif_config(&r);
        hA = config_host_index(c, "hostA");
        ck_assert_int_eq(hA, 0);
        ck_assert_int_eq(config_host_index(c, "hostB"), 1);
        ck_assert_int_eq(config_host_index(c, "hostA"), 0);
        r->stamp = (Stamp){7, 1};
        router_find_lif(r, "web")->stamp = (Stamp){8, 0};
        unit_add_route(r, "10.9.0.0/16", 9, 1, "10.0.0.254", "web");
        unit_add_route(r, "2001:db8:9::/48", 10, 0, "2001:db8:0:1::fe", "web", "2001:db8:0:1::fd", "web");
        unit_add_route_v(r, "0.0.0.0/0", 0, NULL, 11, 0);
        unit_router(c, "red", 0)->table = 1000;
        c->generation = 42;
        c->lamport = 11;

        ck_assert_int_eq(config_copy(c, &n), 0);
        ck_assert_ptr_nonnull(n);
        ck_assert_int_eq(config_to_json(c, true, &j1, NULL), 0);
        ck_assert_int_eq(config_to_json(n, true, &j2, NULL), 0);
        ck_assert_str_eq(j1, j2);
        ck_assert_uint_eq(n->generation, 42);
        ck_assert_uint_eq(n->lamport, 11);
        ck_assert_uint_eq(n->n_hosts, 2);
        ck_assert_str_eq(n->hosts[1], "hostB");
        ck_assert_ptr_ne(n->hosts[1], c->hosts[1]);

        /* Nothing is shared. */
        nr = config_find_router(n, "blue");
        ck_assert_ptr_nonnull(nr);
        ck_assert_ptr_ne(nr, r);
        ck_assert_ptr_ne(nr->name, r->name);
        ck_assert_uint_eq(nr->table, 1001);
        ck_assert_uint_eq(nr->next_lif_id, r->next_lif_id);
        ck_assert_uint_eq(nr->routes.n, 3);
        nl = router_find_lif(nr, "web");
        ck_assert_ptr_ne(nl, router_find_lif(r, "web"));
        ck_assert_ptr_ne(nl->addresses, router_find_lif(r, "web")->addresses);
        ck_assert_ptr_ne(nl->name, router_find_lif(r, "web")->name);
        ck_assert_uint_eq(nl->id, 1);
        ck_assert_uint_eq(router_find_lif(nr, "db")->id, 2);
        IpPrefix p6 = unit_prefix("2001:db8:9::/48");
        ck_assert_ptr_ne(
                route_table_get(&nr->routes, &p6)->nh.many, route_table_get(&r->routes, &p6)->nh.many);
        ck_assert(route_equal(route_table_get(&nr->routes, &p6), route_table_get(&r->routes, &p6)));

        /* Changing the copy leaves the original alone. */
        nl->addresses[0] = unit_prefix("10.99.0.1/24");
        unit_add_route(nr, "10.77.0.0/16", 1, 0, "10.0.0.254", "web");
        route_table_get(&nr->routes, &p6)->nh.many[0].gw[15] = 0x77;
        free(nr->name);
        nr->name = strdup("green");
        ck_assert_int_eq(config_to_json(c, true, &j3, NULL), 0);
        ck_assert_str_eq(j1, j3);
        ck_assert_ptr_nonnull(config_find_router(c, "blue"));
        ck_assert_ptr_null(config_find_router(c, "green"));
}
END_TEST

static Suite *config_suite(void)
{
        Suite *s = suite_create("config");
        TCase *tc = tcase_create("names-tables-macs");

        tcase_add_test(tc, test_name_check);
        tcase_add_test(tc, test_table_check);
        tcase_add_test(tc, test_allocate_table);
        tcase_add_test(tc, test_mac_bits_and_golden_values);
        tcase_add_test(tc, test_mac_distinct_and_deterministic);
        tcase_add_test(tc, test_effective_mtu);
        tcase_set_timeout(tc, 60); /* filling the table range takes a few seconds under valgrind */
        suite_add_tcase(s, tc);

        tc = tcase_create("lif");
        tcase_add_test(tc, test_lif_valid);
        tcase_add_test(tc, test_lif_name_and_kind);
        tcase_add_test(tc, test_lif_segment_ranges);
        tcase_add_test(tc, test_lif_mtu_range);
        tcase_add_test(tc, test_lif_address_validation);
        tcase_add_test(tc, test_lif_address_count);
        tcase_add_test(tc, test_lif_overlap_with_other_lif);
        tcase_add_test(tc, test_lif_overlap_within_lif);
        tcase_add_test(tc, test_lif_duplicate_name);
        tcase_add_test(tc, test_lif_segment_in_use);
        tcase_add_test(tc, test_lif_ids);
        tcase_add_test(tc, test_lif_ids_assigned_after_explicit);
        suite_add_tcase(s, tc);

        tc = tcase_create("route");
        tcase_add_test(tc, test_route_build_valid);
        tcase_add_test(tc, test_route_build_bad_prefix);
        tcase_add_test(tc, test_route_build_bad_gateway);
        tcase_add_test(tc, test_route_build_lifs);
        tcase_add_test(tc, test_route_build_multipath_rules);
        tcase_add_test(tc, test_route_nexthops_sorted);
        tcase_add_test(tc, test_lif_in_use);
        tcase_add_test(tc, test_config_copy);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(config_suite());
}
