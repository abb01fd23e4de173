#ifndef MTL_REGEX_H
#define MTL_REGEX_H
/*
 * ICU regular expressions over UTF-8 lines, for the line-pattern reader of CorpusImport.
 *
 * Same conventions as mtl_icu.h (ICU headers are included only in the .c files; this header
 * shows plain types and MTLError): patterns and subjects are UTF-8, and every index is a
 * BYTE offset into the UTF-8 subject. The subject is matched in place through a UTF-8 UText
 * (utext_openUTF8), so nothing is converted to UTF-16 and ICU's native indexes are the byte
 * offsets the caller needs. The subject must be valid UTF-8 (callers validate first).
 *
 * Syntax: full ICU regular expressions, named groups `(?<name>...)` included.
 *
 * Thread-safety: an MTLRegex holds one compiled pattern and its matcher state: one thread at
 * a time. Code matching on several threads compiles one MTLRegex per thread.
 */
#include <stdint.h>
#include "mtl_icu.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct MTLRegex MTLRegex;

/* Where ICU's parser stopped on a bad pattern (its UParseError): `line` is 1-based, `offset`
 * counts code points from the start of that line, as ICU reports them (-1 when unknown);
 * `near` is the pattern text just before the error (UTF-8, NUL-terminated). */
typedef struct MTLRegexParseError {
    int32_t line;
    int32_t offset;
    char near[64];
} MTLRegexParseError;

/* Compiles a UTF-8 pattern of `length` bytes with ICU's uregex flags (0 = none; inline flags
 * such as (?i) work too). On failure returns NULL with error->code MTL_ERR_BAD_ARGUMENT (bad
 * pattern: error->message holds ICU's error name, e.g. U_REGEX_MISSING_CLOSE_PAREN, and
 * *parse the position), MTL_ERR_NO_MEMORY or MTL_ERR_ICU. `parse` may be NULL. */
MTLRegex *mtl_regex_open(const uint8_t *pattern, int32_t length, uint32_t flags,
                         MTLRegexParseError *parse, MTLError *error);
void mtl_regex_close(MTLRegex *regex);

/* Number of capture groups (named or not). */
int32_t mtl_regex_group_count(const MTLRegex *regex);

/* The number of the group called `name` (ASCII, `length` bytes), or -1 when the pattern has
 * no group of that name. */
int32_t mtl_regex_group_number(const MTLRegex *regex, const char *name, int32_t length);

/* Matches the WHOLE subject (uregex_matches, not find): 1 on a match, 0 on none, -1 on an ICU
 * error (error set; e.g. U_REGEX_TIME_OUT, U_REGEX_STACK_OVERFLOW). On a match, for each of the
 * `count` group numbers in `groups`, ranges[2k] and ranges[2k+1] receive the group's [start, end)
 * byte offsets in the subject, or -1, -1 when the group did not take part in the match.
 * The subject is only read during the call. */
int32_t mtl_regex_match(MTLRegex *regex, const uint8_t *subject, int64_t length,
                        const int32_t *groups, int32_t count, int64_t *ranges, MTLError *error);

#ifdef __cplusplus
}
#endif
#endif
