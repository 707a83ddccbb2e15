/* Operator-facing errors. */
#include <stdarg.h>
#include <stdio.h>

#include "error.h"
#include "strtable.h"

static const char *const dlr_error_kind_table[_DLR_ERROR_KIND_MAX] = {
        [DLR_ERROR_INVALID_ARGUMENT] = "org.dlrd1.Error.InvalidArgument",
        [DLR_ERROR_NOT_FOUND] = "org.dlrd1.Error.NotFound",
        [DLR_ERROR_EXISTS] = "org.dlrd1.Error.Exists",
        [DLR_ERROR_CONFLICT] = "org.dlrd1.Error.Conflict",
        [DLR_ERROR_KERNEL] = "org.dlrd1.Error.Kernel",
        [DLR_ERROR_INTERNAL] = "org.dlrd1.Error.Internal",
        [DLR_ERROR_STORAGE] = "org.dlrd1.Error.Storage",
};
DEFINE_STRING_TABLE_LOOKUP(dlr_error_kind, DlrErrorKind, _DLR_ERROR_KIND_MAX)

int dlr_error_set(DlrError *e, DlrErrorKind kind, int code, const char *fmt, ...)
{
        if (e) {
                va_list ap;
                e->kind = kind;
                e->code = code;
                va_start(ap, fmt);
                vsnprintf(e->msg, sizeof e->msg, fmt, ap);
                va_end(ap);
        }
        return code;
}

DlrErrorKind dlr_error_kind_from_errno(int code)
{
        switch (code) {
        case -EINVAL:
                return DLR_ERROR_INVALID_ARGUMENT;
        case -ENOENT:
                return DLR_ERROR_NOT_FOUND;
        case -EEXIST:
                return DLR_ERROR_EXISTS;
        case -EADDRINUSE:
        case -EBUSY:
        case -ENOSPC:
                return DLR_ERROR_CONFLICT;
        default:
                return DLR_ERROR_INTERNAL;
        }
}
