/* An error for an operator: which contract error it is, the errno behind it and a sentence naming the object.
 * The bus layer maps kinds to org.dlrd1.Error.* names. */
#pragma once

#include <errno.h>

typedef enum DlrErrorKind {
        DLR_ERROR_INVALID_ARGUMENT,
        DLR_ERROR_NOT_FOUND,
        DLR_ERROR_EXISTS,
        DLR_ERROR_CONFLICT,
        DLR_ERROR_KERNEL,
        DLR_ERROR_INTERNAL,
        DLR_ERROR_STORAGE,
        _DLR_ERROR_KIND_MAX,
        _DLR_ERROR_KIND_INVALID = -EINVAL,
} DlrErrorKind;

typedef struct DlrError {
        DlrErrorKind kind;
        int code; /* negative errno */
        char msg[512];
} DlrError;

const char *dlr_error_kind_to_string(DlrErrorKind k);
DlrErrorKind dlr_error_kind_from_string(const char *s);

/* Fills e (if not NULL) and returns code, which must be negative. */
int dlr_error_set(DlrError *e, DlrErrorKind kind, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Maps a validation errno to its contract kind: -EINVAL invalid, -ENOENT not found, -EEXIST exists,
 * -EADDRINUSE/-EBUSY/-ENOSPC conflict, anything else internal. */
DlrErrorKind dlr_error_kind_from_errno(int code);
