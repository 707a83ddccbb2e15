/* Unit tests for daemon/shared/error.[ch]: contract error kinds, their D-Bus names and the errno mapping. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "shared/error.h"
#include "unit.h"

static const struct {
        DlrErrorKind kind;
        const char *name;
} kinds[] = {
        {DLR_ERROR_INVALID_ARGUMENT, "org.dlrd1.Error.InvalidArgument"},
        {DLR_ERROR_NOT_FOUND, "org.dlrd1.Error.NotFound"},
        {DLR_ERROR_EXISTS, "org.dlrd1.Error.Exists"},
        {DLR_ERROR_CONFLICT, "org.dlrd1.Error.Conflict"},
        {DLR_ERROR_KERNEL, "org.dlrd1.Error.Kernel"},
        {DLR_ERROR_INTERNAL, "org.dlrd1.Error.Internal"},
        {DLR_ERROR_STORAGE, "org.dlrd1.Error.Storage"},
};

START_TEST(test_kind_to_string)
{
        ck_assert_int_eq(sizeof kinds / sizeof kinds[0], _DLR_ERROR_KIND_MAX);
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
                const char *s = dlr_error_kind_to_string(kinds[i].kind);
                ck_assert_ptr_nonnull(s);
                ck_assert_str_eq(s, kinds[i].name);
        }
        ck_assert_ptr_null(dlr_error_kind_to_string(_DLR_ERROR_KIND_MAX));
        ck_assert_ptr_null(dlr_error_kind_to_string((DlrErrorKind)-1));
        ck_assert_ptr_null(dlr_error_kind_to_string(_DLR_ERROR_KIND_INVALID));
}
END_TEST

START_TEST(test_kind_from_string)
{
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
                ck_assert_int_eq(dlr_error_kind_from_string(kinds[i].name), kinds[i].kind);
        /* Round trip over every kind. */
        for (int k = 0; k < _DLR_ERROR_KIND_MAX; k++)
                ck_assert_int_eq(dlr_error_kind_from_string(dlr_error_kind_to_string((DlrErrorKind)k)), k);

        ck_assert_int_eq(dlr_error_kind_from_string(NULL), -EINVAL);
        ck_assert_int_eq(dlr_error_kind_from_string(""), -EINVAL);
        ck_assert_int_eq(dlr_error_kind_from_string("InvalidArgument"), -EINVAL);
        ck_assert_int_eq(dlr_error_kind_from_string("org.dlrd1.Error.invalidargument"), -EINVAL);
        ck_assert_int_eq(dlr_error_kind_from_string("org.dlrd1.Error.NotFound "), -EINVAL);
        ck_assert_int_eq(dlr_error_kind_from_string("org.freedesktop.DBus.Error.Failed"), -EINVAL);
        ck_assert_int_eq(_DLR_ERROR_KIND_INVALID, -EINVAL);
}
END_TEST

START_TEST(test_kind_from_errno)
{
        ck_assert_int_eq(dlr_error_kind_from_errno(-EINVAL), DLR_ERROR_INVALID_ARGUMENT);
        ck_assert_int_eq(dlr_error_kind_from_errno(-ENOENT), DLR_ERROR_NOT_FOUND);
        ck_assert_int_eq(dlr_error_kind_from_errno(-EEXIST), DLR_ERROR_EXISTS);
        ck_assert_int_eq(dlr_error_kind_from_errno(-EADDRINUSE), DLR_ERROR_CONFLICT);
        ck_assert_int_eq(dlr_error_kind_from_errno(-EBUSY), DLR_ERROR_CONFLICT);
        ck_assert_int_eq(dlr_error_kind_from_errno(-ENOSPC), DLR_ERROR_CONFLICT);
        /* Anything else is internal, including positive values and success. */
        ck_assert_int_eq(dlr_error_kind_from_errno(-ENOMEM), DLR_ERROR_INTERNAL);
        ck_assert_int_eq(dlr_error_kind_from_errno(-EPERM), DLR_ERROR_INTERNAL);
        ck_assert_int_eq(dlr_error_kind_from_errno(-EIO), DLR_ERROR_INTERNAL);
        ck_assert_int_eq(dlr_error_kind_from_errno(EINVAL), DLR_ERROR_INTERNAL);
        ck_assert_int_eq(dlr_error_kind_from_errno(ENOENT), DLR_ERROR_INTERNAL);
        ck_assert_int_eq(dlr_error_kind_from_errno(0), DLR_ERROR_INTERNAL);
}
END_TEST

START_TEST(test_error_set)
{
        DlrError e;
        char longname[700];

        memset(&e, 0x55, sizeof e);
        ck_assert_int_eq(
                dlr_error_set(&e, DLR_ERROR_NOT_FOUND, -ENOENT, "router %s: LIF %d not found", "blue", 7),
                -ENOENT);
        ck_assert_int_eq(e.kind, DLR_ERROR_NOT_FOUND);
        ck_assert_int_eq(e.code, -ENOENT);
        ck_assert_str_eq(e.msg, "router blue: LIF 7 not found");

        /* A NULL error is allowed and the code still comes back. */
        ck_assert_int_eq(
                dlr_error_set(NULL, DLR_ERROR_CONFLICT, -EADDRINUSE, "ignored %s", "x"), -EADDRINUSE);

        /* Long messages are cut at the buffer and stay terminated. */
        memset(longname, 'a', sizeof longname - 1);
        longname[sizeof longname - 1] = 0;
        ck_assert_int_eq(dlr_error_set(&e, DLR_ERROR_INTERNAL, -ENOMEM, "%s", longname), -ENOMEM);
        ck_assert_uint_eq(strlen(e.msg), sizeof e.msg - 1);
        ck_assert_int_eq(e.msg[0], 'a');
        ck_assert_int_eq(e.kind, DLR_ERROR_INTERNAL);
}
END_TEST

static Suite *error_suite(void)
{
        Suite *s = suite_create("error");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_kind_to_string);
        tcase_add_test(tc, test_kind_from_string);
        tcase_add_test(tc, test_kind_from_errno);
        tcase_add_test(tc, test_error_set);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(error_suite());
}
