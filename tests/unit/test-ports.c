/* Unit tests for daemon/reconcile/ports.[ch]: which links may become VM ports. */
#include <check.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/ports.h"
#include "shared/cleanup.h"
#include "unit.h"

/* A host's links, out of ifindex order on purpose:
 *   1 lo; 2 ul0 (veth, peer in another namespace) carrying the VTEP address in the first scenarios;
 *   3 up0, the uplink, with dlvl100 on it and a macvlan mv0 on top; dlrd's bridge dlbr5000 with tap-vm1;
 *   br0 (a bridge) with ports eth1 and bond0, bond0 with port eth2; eth3.7 (a VLAN) on eth3;
 *   a veth pair vethA/vethB in this namespace; eth4, unrelated. */
static KLink L[] = {
        { .ifindex = 10, .name = "dlvl100", .kind = "vlan", .link = 3 },
        { .ifindex = 1, .name = "lo", .flags = IFF_LOOPBACK | IFF_UP },
        { .ifindex = 2, .name = "ul0", .kind = "veth", .link = 4, .link_other_netns = true },
        { .ifindex = 3, .name = "up0", .kind = "veth", .link = 9, .link_other_netns = true },
        { .ifindex = 4, .name = "dlbr5000", .kind = "bridge" },
        { .ifindex = 5, .name = "tap-vm1", .kind = "veth", .master = 4, .link = 2, .link_other_netns = true },
        { .ifindex = 6, .name = "br0", .kind = "bridge" },
        { .ifindex = 7, .name = "eth1", .master = 6 },
        { .ifindex = 8, .name = "bond0", .kind = "bond", .master = 6 },
        { .ifindex = 9, .name = "eth2", .master = 8 },
        { .ifindex = 11, .name = "eth3.7", .kind = "vlan", .link = 12 },
        { .ifindex = 12, .name = "eth3" },
        { .ifindex = 13, .name = "vethA", .kind = "veth", .link = 14 },
        { .ifindex = 14, .name = "vethB", .kind = "veth", .link = 13 },
        { .ifindex = 15, .name = "mv0", .kind = "macvlan", .link = 3 },
        { .ifindex = 16, .name = "eth4" },
        { .ifindex = 17, .name = "dlbr05" }, /* not a name dlrd gives: a leading zero */
};
static const KLinks LINKS = { .v = L, .n = ELEMENTSOF(L) };

static PortRefusal *refusals;

/* The refusal of the link called name, with the VTEP address on the link with index vtep_ifindex. */
static PortRefusal check(int vtep_ifindex, const char *uplink, const char *name)
{
        IpPrefix vtep = unit_prefix("192.0.2.1/32");
        KAddr a[] = {
                { .ifindex = 1, .addr = unit_prefix("127.0.0.1/8") },
                { .ifindex = vtep_ifindex, .addr = unit_prefix("192.0.2.1/24") },
                { .ifindex = 16, .addr = unit_prefix("192.0.2.10/24") }, /* same subnet, another address */
                { .ifindex = 16, .addr = unit_prefix("2001:db8::1/64") },
        };
        KAddrs addrs = { .v = a, .n = ELEMENTSOF(a) };

        free(refusals);
        refusals = NULL;
        ck_assert_int_eq(port_refusals(&LINKS, &addrs, &vtep, uplink, &refusals), 0);
        for (size_t i = 0; i < LINKS.n; i++)
                if (strcmp(L[i].name, name) == 0)
                        return refusals[i];
        ck_abort_msg("no link %s", name);
        return _PORT_REFUSAL_INVALID;
}

START_TEST(test_plain_ports_allowed)
{
        ck_assert_int_eq(check(2, "up0", "tap-vm1"), PORT_ALLOWED);
        ck_assert_int_eq(check(2, "up0", "eth4"), PORT_ALLOWED);
        ck_assert_int_eq(check(2, "up0", "eth1"), PORT_ALLOWED);
        ck_assert_int_eq(check(2, "up0", "dlbr05"), PORT_ALLOWED);
        ck_assert_ptr_null(port_refusal_to_string(PORT_ALLOWED));
}
END_TEST

START_TEST(test_loopback_and_ours)
{
        ck_assert_int_eq(check(2, "up0", "lo"), PORT_LOOPBACK);
        ck_assert_int_eq(check(2, "up0", "dlbr5000"), PORT_OURS);
        ck_assert_int_eq(check(2, "up0", "dlvl100"), PORT_OURS);
        ck_assert_str_eq(port_refusal_to_string(PORT_LOOPBACK), "the loopback device");
}
END_TEST

START_TEST(test_uplink_and_vtep)
{
        ck_assert_int_eq(check(2, "up0", "up0"), PORT_UPLINK);
        ck_assert_int_eq(check(2, "up0", "ul0"), PORT_VTEP);
        /* Without an uplink, up0 is a link like any other. */
        ck_assert_int_eq(check(2, NULL, "up0"), PORT_ALLOWED);
        ck_assert_int_eq(check(2, "", "up0"), PORT_ALLOWED);
        /* Another address in the VTEP's subnet does not make eth4 the VTEP device. */
        ck_assert_int_eq(check(2, "up0", "eth4"), PORT_ALLOWED);
}
END_TEST

START_TEST(test_what_the_underlay_runs_on)
{
        /* The VTEP address on a bridge: its ports, and a bond's port under it, carry the underlay. */
        ck_assert_int_eq(check(6, NULL, "br0"), PORT_VTEP);
        ck_assert_int_eq(check(6, NULL, "eth1"), PORT_UNDERLAY);
        ck_assert_int_eq(check(6, NULL, "bond0"), PORT_UNDERLAY);
        ck_assert_int_eq(check(6, NULL, "eth2"), PORT_UNDERLAY);
        /* ul0 is a link like any other then. */
        ck_assert_int_eq(check(6, NULL, "ul0"), PORT_ALLOWED);
        /* On a VLAN device: its parent. */
        ck_assert_int_eq(check(11, NULL, "eth3.7"), PORT_VTEP);
        ck_assert_int_eq(check(11, NULL, "eth3"), PORT_UNDERLAY);
        /* The uplink as a VLAN device: its parent too. */
        ck_assert_int_eq(check(2, "eth3.7", "eth3"), PORT_UNDERLAY);
}
END_TEST

START_TEST(test_not_what_runs_on_the_underlay)
{
        /* Devices on top of the uplink are not what it depends on; a veth's peer is not under it, in another
         * namespace or in this one. */
        ck_assert_int_eq(check(2, "up0", "mv0"), PORT_ALLOWED);
        ck_assert_int_eq(check(2, "vethA", "vethA"), PORT_UPLINK);
        ck_assert_int_eq(check(2, "vethA", "vethB"), PORT_ALLOWED);
        /* ul0's peer index (4, in the underlay's namespace) is dlbr5000's here: no relation. */
        ck_assert_int_eq(check(2, "up0", "dlbr5000"), PORT_OURS);
        ck_assert_int_eq(check(2, "up0", "tap-vm1"), PORT_ALLOWED);
        /* up0's peer index 9 is eth2's here. */
        ck_assert_int_eq(check(2, "up0", "eth2"), PORT_ALLOWED);
}
END_TEST

START_TEST(test_empty)
{
        KLinks none = {};
        KAddrs no_addrs = {};
        PortRefusal *v = NULL;

        ck_assert_int_eq(port_refusals(&none, &no_addrs, NULL, NULL, &v), 0);
        ck_assert_ptr_nonnull(v);
        free(v);
}
END_TEST

static Suite *ports_suite(void)
{
        Suite *s = suite_create("ports");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_plain_ports_allowed);
        tcase_add_test(tc, test_loopback_and_ours);
        tcase_add_test(tc, test_uplink_and_vtep);
        tcase_add_test(tc, test_what_the_underlay_runs_on);
        tcase_add_test(tc, test_not_what_runs_on_the_underlay);
        tcase_add_test(tc, test_empty);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        int r = unit_run(ports_suite());
        free(refusals);
        return r;
}
