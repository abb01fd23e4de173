/*
 * ICU regular expressions over UTF-8 lines, behind include/mtl_regex.h.
 *
 * The pattern is compiled once (uregex_openUText over a UTF-8 UText). Each subject line is
 * wrapped in a UTF-8 UText that lives in the MTLRegex (utext_openUTF8 on a UText that is
 * reused: no allocation per line) and handed to the matcher with uregex_setUText, which keeps
 * a shallow clone: the bytes are not copied or converted, and uregex_start64/end64 return
 * native indexes of that UText, i.e. byte offsets into the UTF-8 line.
 */
#include "mtl_regex.h"
#include "mtl_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/parseerr.h>
#include <unicode/uregex.h>
#include <unicode/ustring.h>
#include <unicode/utext.h>

struct MTLRegex {
    URegularExpression *regex;
    UText subject;      /* reused for every line */
    int32_t groups;
};


MTLRegex *mtl_regex_open(const uint8_t *pattern, int32_t length, uint32_t flags,
                         MTLRegexParseError *parse, MTLError *error) {
    if (parse) { parse->line = -1; parse->offset = -1; parse->near[0] = 0; }
    if (error) { error->code = MTL_OK; error->offset = -1; error->message[0] = 0; }
    MTLRegex *r = calloc(1, sizeof *r);
    if (!r) { mtl_set_error(error, MTL_ERR_NO_MEMORY, -1, "out of memory"); return NULL; }
    UErrorCode status = U_ZERO_ERROR;
    UText patternText = UTEXT_INITIALIZER;
    utext_openUTF8(&patternText, (const char *)pattern, length, &status);
    UParseError pe;
    memset(&pe, 0, sizeof pe);
    if (U_SUCCESS(status)) r->regex = uregex_openUText(&patternText, flags, &pe, &status);
    utext_close(&patternText);   /* the compiled pattern keeps its own copy */
    if (U_FAILURE(status)) {
        if (status == U_MEMORY_ALLOCATION_ERROR) {
            mtl_set_error(error, MTL_ERR_NO_MEMORY, -1, "out of memory");
        } else {
            mtl_set_error(error, MTL_ERR_BAD_ARGUMENT, pe.offset, "%s", u_errorName(status));
            if (parse) {
                parse->line = pe.line;
                parse->offset = pe.offset;
                UErrorCode s2 = U_ZERO_ERROR;
                int32_t n = 0;
                u_strToUTF8(parse->near, (int32_t)sizeof parse->near - 1, &n, pe.preContext, -1, &s2);
                parse->near[U_SUCCESS(s2) && n < (int32_t)sizeof parse->near ? n : 0] = 0;
            }
        }
        if (r->regex) uregex_close(r->regex);
        free(r);
        return NULL;
    }
    r->groups = uregex_groupCount(r->regex, &status);
    if (U_FAILURE(status)) {
        mtl_set_error(error, MTL_ERR_ICU, -1, "uregex_groupCount: %s", u_errorName(status));
        uregex_close(r->regex);
        free(r);
        return NULL;
    }
    UText init = UTEXT_INITIALIZER;
    r->subject = init;
    return r;
}

void mtl_regex_close(MTLRegex *r) {
    if (!r) return;
    uregex_close(r->regex);      /* drops the matcher's clone before the UText it cloned */
    utext_close(&r->subject);
    free(r);
}

int32_t mtl_regex_group_count(const MTLRegex *r) { return r->groups; }

int32_t mtl_regex_group_number(const MTLRegex *r, const char *name, int32_t length) {
    UErrorCode status = U_ZERO_ERROR;
    /* Only reads the pattern's name table; the API takes a non-const handle. */
    int32_t n = uregex_groupNumberFromCName(r->regex, name, length, &status);
    return U_SUCCESS(status) ? n : -1;
}

int32_t mtl_regex_match(MTLRegex *r, const uint8_t *subject, int64_t length,
                        const int32_t *groups, int32_t count, int64_t *ranges, MTLError *error) {
    UErrorCode status = U_ZERO_ERROR;
    static const char empty[1] = {0};
    utext_openUTF8(&r->subject, subject ? (const char *)subject : empty, subject ? length : 0, &status);
    if (U_SUCCESS(status)) uregex_setUText(r->regex, &r->subject, &status);
    if (U_FAILURE(status)) {
        mtl_set_error(error, MTL_ERR_ICU, -1, "uregex_setUText: %s", u_errorName(status));
        return -1;
    }
    UBool matched = uregex_matches64(r->regex, -1, &status);
    if (U_FAILURE(status)) {
        mtl_set_error(error, MTL_ERR_ICU, -1, "uregex_matches: %s", u_errorName(status));
        return -1;
    }
    if (!matched) return 0;
    for (int32_t k = 0; k < count; k++) {
        int64_t s = uregex_start64(r->regex, groups[k], &status);
        int64_t e = uregex_end64(r->regex, groups[k], &status);
        if (U_FAILURE(status)) {
            mtl_set_error(error, MTL_ERR_ICU, -1, "uregex_start64(group %d): %s", (int)groups[k], u_errorName(status));
            return -1;
        }
        ranges[2 * k] = s < 0 ? -1 : s;
        ranges[2 * k + 1] = s < 0 ? -1 : e;
    }
    return 1;
}
