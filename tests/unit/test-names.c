/* Unit tests for daemon/reconcile/names.[ch]: the kernel names of dlrd's links and their recognition. */
#include <check.h>
#include <net/if.h>
#include <string.h>

#include "reconcile/names.h"
#include "unit.h"

START_TEST(test_vrf_name)
{
        Router r = {.name = (char *)"blue", .table = 1001};
        char n[IFNAMSIZ];

        router_vrf_name(&r, n);
        ck_assert_str_eq(n, "dlvrf1001");
        r.table = 1;
        router_vrf_name(&r, n);
        ck_assert_str_eq(n, "dlvrf1");
        /* The largest table id still fits IFNAMSIZ. */
        r.table = UINT32_MAX;
        router_vrf_name(&r, n);
        ck_assert_str_eq(n, "dlvrf4294967295");
        ck_assert_uint_lt(strlen(n), IFNAMSIZ);
}
END_TEST

START_TEST(test_lif_names)
{
        Lif l = {.name = (char *)"web", .kind = LIF_KIND_VXLAN, .segment = 5000};
        char b[IFNAMSIZ], p[IFNAMSIZ];

        lif_bridge_name(&l, b);
        lif_port_name(&l, p);
        ck_assert_str_eq(b, "dlbr5000");
        ck_assert_str_eq(p, "dlvx5000");

        l.segment = DLR_VNI_MAX;
        lif_bridge_name(&l, b);
        lif_port_name(&l, p);
        ck_assert_str_eq(b, "dlbr16777215");
        ck_assert_str_eq(p, "dlvx16777215");

        l.kind = LIF_KIND_VLAN;
        l.segment = 100;
        lif_bridge_name(&l, b);
        lif_port_name(&l, p);
        ck_assert_str_eq(b, "dlbv100");
        ck_assert_str_eq(p, "dlvl100");

        l.segment = DLR_VLAN_MAX;
        lif_bridge_name(&l, b);
        lif_port_name(&l, p);
        ck_assert_str_eq(b, "dlbv4094");
        ck_assert_str_eq(p, "dlvl4094");

        /* Names do not depend on the LIF's (operator-chosen) name. */
        l.name = (char *)"a-very-long-lif-name-that-would-never-fit-into-ifnamsiz";
        lif_bridge_name(&l, b);
        ck_assert_str_eq(b, "dlbv4094");
}
END_TEST

START_TEST(test_generated_names_are_ours)
{
        Router r = {.name = (char *)"x", .table = 0};
        Lif l = {.name = (char *)"y"};
        const uint32_t tables[] = {1, 251, 256, 1000, 9999, 123456, UINT32_MAX};
        const uint32_t vnis[] = {1, 9, 10, 5000, DLR_VNI_MAX};
        const uint32_t vlans[] = {1, 100, DLR_VLAN_MAX};
        char n[IFNAMSIZ];

        for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
                r.table = tables[i];
                router_vrf_name(&r, n);
                ck_assert_msg(link_name_is_ours(n), "%s not recognised", n);
        }
        l.kind = LIF_KIND_VXLAN;
        for (size_t i = 0; i < sizeof vnis / sizeof vnis[0]; i++) {
                l.segment = vnis[i];
                lif_bridge_name(&l, n);
                ck_assert_msg(link_name_is_ours(n), "%s not recognised", n);
                lif_port_name(&l, n);
                ck_assert_msg(link_name_is_ours(n), "%s not recognised", n);
        }
        l.kind = LIF_KIND_VLAN;
        for (size_t i = 0; i < sizeof vlans / sizeof vlans[0]; i++) {
                l.segment = vlans[i];
                lif_bridge_name(&l, n);
                ck_assert_msg(link_name_is_ours(n), "%s not recognised", n);
                lif_port_name(&l, n);
                ck_assert_msg(link_name_is_ours(n), "%s not recognised", n);
        }
}
END_TEST

START_TEST(test_link_name_is_ours)
{
        static const char *const ours[] = {
                "dlvrf1001",
                "dlvrf1",
                "dlbr5000",
                "dlbr1",
                "dlvx5000",
                "dlbv100",
                "dlvl100",
                "dlvl4094",
                "dlbr16777215",
                "dlvrf4294967295",
                "dlbr10",
                "dlvx90",
        };
        static const char *const foreign[] = {
                "dlbr",
                "dlbr05",
                "dlbrx",
                "eth0",
                "dlvrf12a",
                "dlvrf",
                "dlvx",
                "dlbv",
                "dlvl",
                "dlvrf01",
                "dlvx007",
                "dlbv0100",
                "dlbr-1",
                "dlbr+1",
                "dlbr 1",
                "dlbr1 ",
                " dlbr1",
                "DLBR1",
                "dlBR1",
                "dlvr1",
                "dlv1",
                "dl1",
                "dlbrv1",
                "dlbr1x",
                "xdlbr1",
                "",
                "lo",
                "vxlan100",
                "br0",
                "dlbr0x1",
                "dlvrf1.5",
                "dlbr\xd9\xa1",
        };

        for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
                ck_assert_msg(link_name_is_ours(ours[i]), "\"%s\" not recognised as ours", ours[i]);
        for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++)
                ck_assert_msg(!link_name_is_ours(foreign[i]), "\"%s\" claimed as ours", foreign[i]);
}
END_TEST

static Suite *names_suite(void)
{
        Suite *s = suite_create("names");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_vrf_name);
        tcase_add_test(tc, test_lif_names);
        tcase_add_test(tc, test_generated_names_are_ours);
        tcase_add_test(tc, test_link_name_is_ours);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(names_suite());
}
