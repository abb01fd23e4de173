/*
 * ICU4C behind the small API of include/mtl_icu.h. Only this file includes ICU headers.
 *
 * Every normalization stage maps an aligned UTF-16 buffer to a new one. Stages work segment by
 * segment, where a segment starts at a code point with a normalization boundary before it
 * (unorm2_hasBoundaryBefore): Unicode normalization never interacts across such a boundary, so
 * normalizing segment by segment gives the same text as normalizing the whole, and every output
 * unit can be aligned to its own input segment (Lucene's ICUNormalizer2CharFilter does the same).
 * Runs that are already normalized (unorm2_spanQuickCheckYes) and ASCII are copied unchanged,
 * which is what keeps the common case at memcpy speed.
 */
#include "mtl_icu.h"
#include "mtl_error.h"
#include "mtl_cjk.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/uloc.h>
#include <unicode/unorm2.h>
#include <unicode/uregex.h>
#include <unicode/uset.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>
#include <unicode/utrans.h>
#include <unicode/uversion.h>

/* ------------------------------------------------------------------ errors */

void mtl_set_error(MTLError *error, int32_t code, int32_t offset, const char *format, ...) {
    if (!error) return;
    error->code = code;
    error->offset = offset;
    va_list args;
    va_start(args, format);
    vsnprintf(error->message, sizeof error->message, format, args);
    va_end(args);
}

static int32_t icu_error(MTLError *error, UErrorCode status, const char *what) {
    mtl_set_error(error, MTL_ERR_ICU, -1, "%s: %s", what, u_errorName(status));
    return MTL_ERR_ICU;
}

static int32_t no_memory(MTLError *error) {
    mtl_set_error(error, MTL_ERR_NO_MEMORY, -1, "out of memory");
    return MTL_ERR_NO_MEMORY;
}

/* ------------------------------------------------------------------ aligned buffers */

/* Capacities stay far below INT32_MAX so that no size computation (units x 4 bytes, UTF-8 x 3)
 * overflows; a text needing more is an out-of-memory error, never a wrapped size. */
#define MTL_MAX_CAPACITY (INT32_MAX / 8)

static int32_t next_capacity(int32_t current, int64_t needed, int32_t *out) {
    if (needed > MTL_MAX_CAPACITY) return MTL_ERR_NO_MEMORY;
    int64_t n = current > 0 ? current : 256;
    while (n < needed) n *= 2;
    if (n > MTL_MAX_CAPACITY) n = MTL_MAX_CAPACITY;
    *out = (int32_t)n;
    return MTL_OK;
}

void mtl_aligned_init(MTLAligned *b) { memset(b, 0, sizeof *b); }

void mtl_aligned_free(MTLAligned *b) {
    free(b->text);
    free(b->start);
    free(b->end);
    memset(b, 0, sizeof *b);
}

/* Resizes *array to count elements of width bytes; on failure *array is left as it was. */
static int resize_array(void **array, int32_t count, size_t width) {
    void *resized = realloc(*array, (size_t)count * width);
    if (!resized) return MTL_ERR_NO_MEMORY;
    *array = resized;
    return MTL_OK;
}

int32_t mtl_aligned_reserve(MTLAligned *b, int32_t capacity) {
    if (capacity <= b->capacity) return MTL_OK;
    int32_t n;
    if (next_capacity(b->capacity, capacity, &n) ||
        resize_array((void **)&b->text, n, sizeof *b->text) ||
        resize_array((void **)&b->start, n, sizeof *b->start) ||
        resize_array((void **)&b->end, n, sizeof *b->end))
        return MTL_ERR_NO_MEMORY;
    b->capacity = n;
    return MTL_OK;
}

static inline int32_t ensure(MTLAligned *b, int32_t extra) {
    int64_t wanted = (int64_t)b->length + extra;
    if (wanted > MTL_MAX_CAPACITY) return MTL_ERR_NO_MEMORY;
    return mtl_aligned_reserve(b, (int32_t)wanted);
}

/* Appends units that all came from one input segment spanning original bytes [s, e). */
static inline int32_t append_segment(MTLAligned *out, const UChar *units, int32_t n, int32_t s, int32_t e) {
    if (ensure(out, n)) return MTL_ERR_NO_MEMORY;
    int32_t at = out->length;
    for (int32_t k = 0; k < n; k++) {
        out->text[at + k] = units[k];
        out->start[at + k] = s;
        out->end[at + k] = e;
    }
    out->length += n;
    return MTL_OK;
}

/* Copies input units [from, from + n) unchanged, alignment included. */
static inline int32_t copy_units(MTLAligned *out, const MTLAligned *in, int32_t from, int32_t n) {
    if (ensure(out, n)) return MTL_ERR_NO_MEMORY;
    memcpy(out->text + out->length, in->text + from, (size_t)n * sizeof(uint16_t));
    memcpy(out->start + out->length, in->start + from, (size_t)n * sizeof(int32_t));
    memcpy(out->end + out->length, in->end + from, (size_t)n * sizeof(int32_t));
    out->length += n;
    return MTL_OK;
}

/* ------------------------------------------------------------------ UTF-8 */

int32_t mtl_decode_utf8(const uint8_t *src, int32_t length, int32_t replace,
                        MTLAligned *out, int32_t *all_ascii, MTLError *error) {
    out->length = 0;
    /* A UTF-8 sequence never yields more UTF-16 units than it has bytes. */
    if (length >= MTL_MAX_CAPACITY || mtl_aligned_reserve(out, length + 1)) return no_memory(error);
    uint16_t *t = out->text;
    int32_t *s = out->start, *e = out->end;
    int32_t i = 0, n = 0;
    int ascii = 1;
    while (i < length) {
        uint8_t byte = src[i];
        if (byte < 0x80) {
            t[n] = byte; s[n] = i; e[n] = i + 1; n++; i++;
            continue;
        }
        ascii = 0;
        int32_t begin = i;
        /* Three-byte sequences with no special case (E1-EC, EE-EF leads: most of CJK) are always
         * well-formed when both trail bytes are 80-BF. */
        if (((byte >= 0xE1 && byte <= 0xEC) || byte >= 0xEE) && byte <= 0xEF && i + 2 < length &&
            (src[i + 1] & 0xC0) == 0x80 && (src[i + 2] & 0xC0) == 0x80) {
            t[n] = (uint16_t)((byte & 0x0F) << 12 | (src[i + 1] & 0x3F) << 6 | (src[i + 2] & 0x3F));
            s[n] = i; e[n] = i + 3; n++; i += 3;
            continue;
        }
        UChar32 c;
        U8_NEXT(src, i, length, c);
        if (c < 0) {
            if (!replace) {
                out->length = n;
                mtl_set_error(error, MTL_ERR_INVALID_UTF8, begin, "invalid UTF-8 at byte %d", begin);
                return MTL_ERR_INVALID_UTF8;
            }
            c = 0xFFFD;
        }
        if (c <= 0xFFFF) {
            t[n] = (uint16_t)c; s[n] = begin; e[n] = i; n++;
        } else {
            t[n] = U16_LEAD(c); t[n + 1] = U16_TRAIL(c);
            s[n] = s[n + 1] = begin;
            e[n] = e[n + 1] = i;
            n += 2;
        }
    }
    out->length = n;
    if (all_ascii) *all_ascii = ascii;
    return MTL_OK;
}

int32_t mtl_encode_utf8(const uint16_t *text, int32_t length, uint8_t *out, int32_t capacity) {
    /* Room for the worst case and no surrogate: encode here; anything else goes to ICU, from the start. */
    if ((int64_t)length * 3 <= capacity) {
        uint8_t *o = out;
        int32_t i = 0;
        for (; i < length; i++) {
            uint16_t u = text[i];
            if (u < 0x80) {
                *o++ = (uint8_t)u;
            } else if (u < 0x800) {
                *o++ = (uint8_t)(0xC0 | u >> 6);
                *o++ = (uint8_t)(0x80 | (u & 0x3F));
            } else if (!U16_IS_SURROGATE(u)) {
                *o++ = (uint8_t)(0xE0 | u >> 12);
                *o++ = (uint8_t)(0x80 | (u >> 6 & 0x3F));
                *o++ = (uint8_t)(0x80 | (u & 0x3F));
            } else {
                break;
            }
        }
        if (i == length) return (int32_t)(o - out);
    }
    UErrorCode status = U_ZERO_ERROR;
    int32_t written = 0;
    u_strToUTF8WithSub((char *)out, capacity, &written, (const UChar *)text, length, 0xFFFD, NULL, &status);
    return written;
}

/* ------------------------------------------------------------------ stages */

struct MTLStage {
    int32_t kind;
    const UNormalizer2 *normalizer;  /* NF* stages */
    const UNormalizer2 *nfc;         /* segment boundaries for per-segment stages; composition */
    const UNormalizer2 *nfd;
    const UNormalizer2 *nfkd;
    char locale[64];
    uint32_t fold_options;
    int32_t ascii_fast_path;         /* case mapping: ASCII maps without the locale's help */
    UTransliterator *transliterator;
    USet *set;                       /* transform source set, or the keep/remove set */
    uint8_t ascii_in_set[128];
    UChar *scratch;
    int32_t scratch_capacity;
    UChar *scratch2;
    int32_t scratch2_capacity;
    struct SegmentMemo *memo;        /* NF* stages: recent one-unit segments and what they became */
};

/* Normalizing a segment of one code unit is a pure function of the unit, and text repeats a few
 * such units (full-width punctuation under NFKC) all the time: a direct-mapped memo spares the
 * ICU call, which costs more than the work. Outputs of up to 3 units; key 0 = empty (NUL is
 * never normalized by itself: it is quick-check yes). */
#define MEMO_BITS 10
typedef struct SegmentMemo { uint16_t unit, length, text[3]; } SegmentMemo;

static int32_t grow(UChar **buffer, int32_t *capacity, int64_t needed) {
    if (needed <= *capacity) return MTL_OK;
    int32_t n;
    if (next_capacity(*capacity, needed, &n)) return MTL_ERR_NO_MEMORY;
    UChar *p = realloc(*buffer, (size_t)n * sizeof(UChar));
    if (!p) return MTL_ERR_NO_MEMORY;
    *buffer = p;
    *capacity = n;
    return MTL_OK;
}

static int32_t to_uchars(const char *utf8, UChar **out, int32_t *length, MTLError *error) {
    UErrorCode status = U_ZERO_ERROR;
    int32_t needed = 0;
    u_strFromUTF8(NULL, 0, &needed, utf8, -1, &status);
    status = U_ZERO_ERROR;
    *out = malloc((size_t)(needed + 1) * sizeof(UChar));
    if (!*out) return no_memory(error);
    u_strFromUTF8(*out, needed + 1, length, utf8, -1, &status);
    if (U_FAILURE(status)) {
        free(*out);
        *out = NULL;
        mtl_set_error(error, MTL_ERR_BAD_ARGUMENT, -1, "argument is not valid UTF-8");
        return MTL_ERR_BAD_ARGUMENT;
    }
    return MTL_OK;
}

static int is_turkic_or_lithuanian(const char *locale) {
    char language[16] = {0};
    UErrorCode status = U_ZERO_ERROR;
    uloc_getLanguage(locale, language, sizeof language, &status);
    return strcmp(language, "tr") == 0 || strcmp(language, "az") == 0 || strcmp(language, "lt") == 0;
}

MTLStage *mtl_stage_open(int32_t kind, const char *argument, MTLError *error) {
    MTLStage *st = calloc(1, sizeof *st);
    if (!st) { no_memory(error); return NULL; }
    st->kind = kind;
    UErrorCode status = U_ZERO_ERROR;
    st->nfc = unorm2_getNFCInstance(&status);
    st->nfd = unorm2_getNFDInstance(&status);
    st->nfkd = unorm2_getNFKDInstance(&status);
    if (U_FAILURE(status)) { icu_error(error, status, "opening NFC data"); free(st); return NULL; }
    if (argument) snprintf(st->locale, sizeof st->locale, "%s", argument);

    switch (kind) {
    case MTL_STAGE_NFC: st->normalizer = st->nfc; break;
    case MTL_STAGE_NFD: st->normalizer = st->nfd; break;
    case MTL_STAGE_NFKC: st->normalizer = unorm2_getNFKCInstance(&status); break;
    case MTL_STAGE_NFKD: st->normalizer = unorm2_getNFKDInstance(&status); break;
    case MTL_STAGE_NFKC_CASEFOLD: st->normalizer = unorm2_getNFKCCasefoldInstance(&status); break;
    case MTL_STAGE_LOWERCASE:
    case MTL_STAGE_UPPERCASE:
    case MTL_STAGE_CASEFOLD: {
        char language[16] = {0};
        uloc_getLanguage(st->locale, language, sizeof language, &status);
        status = U_ZERO_ERROR;
        if (strcmp(language, "tr") == 0 || strcmp(language, "az") == 0)
            st->fold_options = U_FOLD_CASE_EXCLUDE_SPECIAL_I;
        else
            st->fold_options = U_FOLD_CASE_DEFAULT;
        st->ascii_fast_path = !is_turkic_or_lithuanian(st->locale);
        break;
    }
    case MTL_STAGE_STRIP_ACCENTS:
    case MTL_STAGE_WIDTH:
    case MTL_STAGE_CLEAN:
    case MTL_STAGE_COLLAPSE_WHITESPACE:
        st->normalizer = unorm2_getNFKCInstance(&status); /* width folding uses NFKC's mapping */
        break;
    case MTL_STAGE_TRANSFORM: {
        UChar *id = NULL;
        int32_t id_length = 0;
        if (!argument || to_uchars(argument, &id, &id_length, error)) { free(st); return NULL; }
        UParseError parse = {0};
        st->transliterator = utrans_openU(id, id_length, UTRANS_FORWARD, NULL, 0, &parse, &status);
        free(id);
        if (U_FAILURE(status)) {
            mtl_set_error(error, MTL_ERR_BAD_ARGUMENT, parse.offset, "unknown or invalid transform ID '%s' (%s)",
                      argument, u_errorName(status));
            free(st);
            return NULL;
        }
        st->set = uset_openEmpty();
        utrans_getSourceSet(st->transliterator, false, st->set, &status);
        if (U_FAILURE(status)) {
            /* Without a source set every segment goes through the transliterator: slower, same result. */
            uset_close(st->set);
            st->set = NULL;
            status = U_ZERO_ERROR;
        } else {
            uset_freeze(st->set);
        }
        break;
    }
    case MTL_STAGE_KEEP_SET:
    case MTL_STAGE_REMOVE_SET: {
        UChar *pattern = NULL;
        int32_t pattern_length = 0;
        if (!argument || to_uchars(argument, &pattern, &pattern_length, error)) { free(st); return NULL; }
        st->set = uset_openPattern(pattern, pattern_length, &status);
        free(pattern);
        if (U_FAILURE(status)) {
            mtl_set_error(error, MTL_ERR_BAD_ARGUMENT, -1, "invalid Unicode set '%s' (%s)", argument, u_errorName(status));
            free(st);
            return NULL;
        }
        uset_freeze(st->set);
        for (int c = 0; c < 128; c++) st->ascii_in_set[c] = (uint8_t)uset_contains(st->set, c);
        break;
    }
    default:
        mtl_set_error(error, MTL_ERR_BAD_ARGUMENT, -1, "unknown stage kind %d", kind);
        free(st);
        return NULL;
    }
    if (U_FAILURE(status)) {
        icu_error(error, status, "opening normalizer");
        mtl_stage_close(st);
        return NULL;
    }
    if (kind <= MTL_STAGE_NFKC_CASEFOLD && !(st->memo = calloc((size_t)1 << MEMO_BITS, sizeof(SegmentMemo)))) {
        no_memory(error);
        mtl_stage_close(st);
        return NULL;
    }
    return st;
}

void mtl_stage_close(MTLStage *st) {
    if (!st) return;
    free(st->memo);
    if (st->transliterator) utrans_close(st->transliterator);
    if (st->set) uset_close(st->set);
    free(st->scratch);
    free(st->scratch2);
    free(st);
}

/* End of the segment starting at i: the next code point with a boundary before it under n. */
static inline int32_t segment_end(const UNormalizer2 *n, const UChar *t, int32_t i, int32_t length) {
    UChar32 c;
    U16_NEXT(t, i, length, c);
    while (i < length) {
        int32_t j = i;
        U16_NEXT(t, j, length, c);
        if (unorm2_hasBoundaryBefore(n, c)) break;
        i = j;
    }
    return i;
}

static int32_t apply_normalizer(MTLStage *st, const MTLAligned *in, MTLAligned *out, MTLError *error) {
    const UNormalizer2 *n = st->normalizer;
    const UChar *t = in->text;
    int32_t length = in->length, i = 0;
    while (i < length) {
        UErrorCode status = U_ZERO_ERROR;
        int32_t yes = unorm2_spanQuickCheckYes(n, t + i, length - i, &status);
        if (U_FAILURE(status)) return icu_error(error, status, "normalizing");
        if (yes > 0) {
            if (copy_units(out, in, i, yes)) return no_memory(error);
            i += yes;
            if (i >= length) break;
        }
        int32_t j = segment_end(n, t, i, length);
        SegmentMemo *memo = NULL;
        if (j == i + 1 && st->memo) {
            memo = &st->memo[(t[i] * 0x9E37u) >> (16 - MEMO_BITS) & ((1u << MEMO_BITS) - 1)];
            if (memo->unit == t[i] && t[i] != 0) {
                if (append_segment(out, memo->text, memo->length, in->start[i], in->end[i])) return no_memory(error);
                i = j;
                continue;
            }
        }
        int32_t produced;
        for (;;) {
            status = U_ZERO_ERROR;
            produced = unorm2_normalize(n, t + i, j - i, st->scratch, st->scratch_capacity, &status);
            if (status == U_BUFFER_OVERFLOW_ERROR) {
                if (grow(&st->scratch, &st->scratch_capacity, produced + 1)) return no_memory(error);
                continue;
            }
            break;
        }
        if (U_FAILURE(status)) return icu_error(error, status, "normalizing");
        if (memo && produced <= 3) {
            memo->unit = t[i];
            memo->length = (uint16_t)produced;
            memcpy(memo->text, st->scratch, (size_t)produced * sizeof(UChar));
        }
        if (append_segment(out, st->scratch, produced, in->start[i], in->end[j - 1])) return no_memory(error);
        i = j;
    }
    return MTL_OK;
}

static int32_t map_case(MTLStage *st, const UChar *src, int32_t n, int32_t *produced) {
    for (;;) {
        UErrorCode status = U_ZERO_ERROR;
        if (st->kind == MTL_STAGE_LOWERCASE)
            *produced = u_strToLower(st->scratch, st->scratch_capacity, src, n, st->locale, &status);
        else if (st->kind == MTL_STAGE_UPPERCASE)
            *produced = u_strToUpper(st->scratch, st->scratch_capacity, src, n, st->locale, &status);
        else
            *produced = u_strFoldCase(st->scratch, st->scratch_capacity, src, n, st->fold_options, &status);
        if (status == U_BUFFER_OVERFLOW_ERROR) {
            if (grow(&st->scratch, &st->scratch_capacity, *produced + 1)) return MTL_ERR_NO_MEMORY;
            continue;
        }
        return U_FAILURE(status) ? MTL_ERR_ICU : MTL_OK;
    }
}

static int32_t apply_case(MTLStage *st, const MTLAligned *in, MTLAligned *out, MTLError *error) {
    const UChar *t = in->text;
    int32_t length = in->length, i = 0;
    if (ensure(out, length)) return no_memory(error);
    while (i < length) {
        UChar u = t[i];
        /* ASCII followed by ASCII (or the end) is its own segment and maps the same in every
         * locale but Turkic and Lithuanian ones. */
        if (u < 0x80 && st->ascii_fast_path && (i + 1 >= length || t[i + 1] < 0x80)) {
            if (ensure(out, 1)) return no_memory(error);
            UChar mapped = u;
            if (st->kind == MTL_STAGE_UPPERCASE) {
                if (u >= 'a' && u <= 'z') mapped = u - 32;
            } else if (u >= 'A' && u <= 'Z') {
                mapped = u + 32;
            }
            out->text[out->length] = mapped;
            out->start[out->length] = in->start[i];
            out->end[out->length] = in->end[i];
            out->length++;
            i++;
            continue;
        }
        int32_t j = segment_end(st->nfc, t, i, length);
        int32_t produced = 0;
        int32_t rc = map_case(st, t + i, j - i, &produced);
        if (rc == MTL_ERR_NO_MEMORY) return no_memory(error);
        if (rc) return icu_error(error, U_INTERNAL_PROGRAM_ERROR, "case mapping");
        if (append_segment(out, st->scratch, produced, in->start[i], in->end[j - 1])) return no_memory(error);
        i = j;
    }
    return MTL_OK;
}

/* Runs a normalizer over src into buffer, growing it. */
static int32_t normalize_into(const UNormalizer2 *n, const UChar *src, int32_t length,
                              UChar **buffer, int32_t *capacity, int32_t *produced) {
    for (;;) {
        UErrorCode status = U_ZERO_ERROR;
        *produced = unorm2_normalize(n, src, length, *buffer, *capacity, &status);
        if (status == U_BUFFER_OVERFLOW_ERROR) {
            if (grow(buffer, capacity, *produced + 1)) return MTL_ERR_NO_MEMORY;
            continue;
        }
        return U_FAILURE(status) ? MTL_ERR_ICU : MTL_OK;
    }
}

static int32_t apply_strip_accents(MTLStage *st, const MTLAligned *in, MTLAligned *out, MTLError *error) {
    const UChar *t = in->text;
    int32_t length = in->length, i = 0;
    while (i < length) {
        if (t[i] < 0x80 && (i + 1 >= length || t[i + 1] < 0x80)) {
            int32_t j = i + 1;
            while (j < length && t[j] < 0x80 && (j + 1 >= length || t[j + 1] < 0x80)) j++;
            if (copy_units(out, in, i, j - i)) return no_memory(error);
            i = j;
            continue;
        }
        int32_t j = segment_end(st->nfc, t, i, length);
        int32_t decomposed = 0;
        if (normalize_into(st->nfd, t + i, j - i, &st->scratch, &st->scratch_capacity, &decomposed))
            return icu_error(error, U_INTERNAL_PROGRAM_ERROR, "decomposing");
        int32_t kept = 0;
        for (int32_t k = 0; k < decomposed;) {
            int32_t from = k;
            UChar32 c;
            U16_NEXT(st->scratch, k, decomposed, c);
            if (u_charType(c) == U_NON_SPACING_MARK) continue;
            while (from < k) st->scratch[kept++] = st->scratch[from++];
        }
        int32_t composed = 0;
        if (normalize_into(st->nfc, st->scratch, kept, &st->scratch2, &st->scratch2_capacity, &composed))
            return icu_error(error, U_INTERNAL_PROGRAM_ERROR, "composing");
        if (append_segment(out, st->scratch2, composed, in->start[i], in->end[j - 1])) return no_memory(error);
        i = j;
    }
    return MTL_OK;
}

/* Code point by code point: the stages below never look at neighbours. */
static int32_t apply_per_code_point(MTLStage *st, const MTLAligned *in, MTLAligned *out, MTLError *error) {
    const UChar *t = in->text;
    int32_t length = in->length, i = 0;
    int32_t pending_space = 0, space_start = 0, space_end = 0;
    if (ensure(out, length)) return no_memory(error);
    while (i < length) {
        int32_t from = i;
        UChar32 c;
        U16_NEXT(t, i, length, c);
        int32_t s = in->start[from], e = in->end[i - 1];
        switch (st->kind) {
        case MTL_STAGE_WIDTH: {
            if (c >= 0x80) {
                int32_t type = u_getIntPropertyValue(c, UCHAR_DECOMPOSITION_TYPE);
                if (type == U_DT_WIDE || type == U_DT_NARROW) {
                    UChar mapped[8];
                    UErrorCode status = U_ZERO_ERROR;
                    int32_t n = unorm2_getRawDecomposition(st->normalizer, c, mapped, 8, &status);
                    if (U_SUCCESS(status) && n > 0) {
                        if (append_segment(out, mapped, n, s, e)) return no_memory(error);
                        continue;
                    }
                }
            }
            break;
        }
        case MTL_STAGE_CLEAN: {
            if (c == '\t' || c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x85 ||
                c == 0x2028 || c == 0x2029) {
                UChar space = ' ';
                if (append_segment(out, &space, 1, s, e)) return no_memory(error);
                continue;
            }
            int8_t type = u_charType(c);
            if (type == U_CONTROL_CHAR) continue;
            /* Format characters are invisible, except those that carry meaning: ZWJ/ZWNJ (emoji,
             * Indic and Persian text), the visible Arabic/Syriac number signs (Prepended_Concatenation_Mark)
             * and the tag characters of subdivision flags. */
            if (type == U_FORMAT_CHAR && c != 0x200C && c != 0x200D && !(c >= 0xE0020 && c <= 0xE007F) &&
                !u_hasBinaryProperty(c, UCHAR_PREPENDED_CONCATENATION_MARK))
                continue;
            if (u_hasBinaryProperty(c, UCHAR_NONCHARACTER_CODE_POINT)) continue;
            break;
        }
        case MTL_STAGE_COLLAPSE_WHITESPACE: {
            /* White space that shares its source with other units (NFKC's U+00B4 -> space + U+0301)
             * is part of a character, not a gap between words: it stays. */
            int shared = (from > 0 && in->end[from - 1] > s) || (i < length && in->start[i] < e);
            if (u_isUWhiteSpace(c) && !shared) {
                if (!pending_space) { pending_space = 1; space_start = s; }
                space_end = e;
                continue;
            }
            if (pending_space) {
                pending_space = 0;
                if (out->length > 0) {
                    UChar space = ' ';
                    if (append_segment(out, &space, 1, space_start, space_end)) return no_memory(error);
                }
            }
            break;
        }
        case MTL_STAGE_KEEP_SET:
        case MTL_STAGE_REMOVE_SET: {
            int inside = c < 128 ? st->ascii_in_set[c] : uset_contains(st->set, c);
            if (inside != (st->kind == MTL_STAGE_KEEP_SET)) continue;
            break;
        }
        }
        if (copy_units(out, in, from, i - from)) return no_memory(error);
    }
    return MTL_OK;
}

static int32_t apply_transform(MTLStage *st, const MTLAligned *in, MTLAligned *out, MTLError *error) {
    const UChar *t = in->text;
    int32_t length = in->length, i = 0;
    while (i < length) {
        UChar32 c;
        int32_t probe = i;
        U16_NEXT(t, probe, length, c);
        /* The source set lists what the rules match, not what a transform's own normalization
         * steps touch (Latin-ASCII decomposes first), so only NFKD-inert code points skip it. */
        if (st->set && !uset_contains(st->set, c) && unorm2_isInert(st->nfkd, c)) {
            /* Untouched by the transform, and the next code point starts a new segment. */
            int boundary = 1;
            if (probe < length) {
                UChar32 next;
                int32_t q = probe;
                U16_NEXT(t, q, length, next);
                boundary = unorm2_hasBoundaryBefore(st->nfc, next);
            }
            if (boundary) {
                if (copy_units(out, in, i, probe - i)) return no_memory(error);
                i = probe;
                continue;
            }
        }
        int32_t j = segment_end(st->nfc, t, i, length);
        int32_t n = j - i;
        if (grow(&st->scratch, &st->scratch_capacity, (int64_t)n * 4 + 16)) return no_memory(error);
        for (;;) {
            memcpy(st->scratch, t + i, (size_t)n * sizeof(UChar));
            int32_t text_length = n, limit = n;
            UErrorCode status = U_ZERO_ERROR;
            utrans_transUChars(st->transliterator, st->scratch, &text_length, st->scratch_capacity, 0, &limit, &status);
            if (status == U_BUFFER_OVERFLOW_ERROR) {
                if (grow(&st->scratch, &st->scratch_capacity, (int64_t)st->scratch_capacity * 2)) return no_memory(error);
                continue;
            }
            if (U_FAILURE(status)) return icu_error(error, status, "transforming");
            if (append_segment(out, st->scratch, text_length, in->start[i], in->end[j - 1])) return no_memory(error);
            break;
        }
        i = j;
    }
    return MTL_OK;
}

int32_t mtl_stage_apply(MTLStage *st, const MTLAligned *in, MTLAligned *out, MTLError *error) {
    out->length = 0;
    int64_t wanted = (int64_t)in->length + in->length / 2 + 16;
    if (mtl_aligned_reserve(out, (int32_t)(wanted > MTL_MAX_CAPACITY ? MTL_MAX_CAPACITY : wanted))) return no_memory(error);
    switch (st->kind) {
    case MTL_STAGE_NFC:
    case MTL_STAGE_NFD:
    case MTL_STAGE_NFKC:
    case MTL_STAGE_NFKD:
    case MTL_STAGE_NFKC_CASEFOLD:
        return apply_normalizer(st, in, out, error);
    case MTL_STAGE_LOWERCASE:
    case MTL_STAGE_UPPERCASE:
    case MTL_STAGE_CASEFOLD:
        return apply_case(st, in, out, error);
    case MTL_STAGE_STRIP_ACCENTS:
        return apply_strip_accents(st, in, out, error);
    case MTL_STAGE_TRANSFORM:
        return apply_transform(st, in, out, error);
    default:
        return apply_per_code_point(st, in, out, error);
    }
}

int32_t mtl_stage_ascii_map(MTLStage *st, uint8_t map[128]) {
    /* Per-character stages only: on all-ASCII text every one of these maps each character on its
     * own (ASCII has no combining marks, compositions or special-casing contexts, and Turkic and
     * Lithuanian case mapping was excluded by ascii_fast_path), so the stage applied to a text is
     * the stage applied to each character. Transforms can have context rules; collapse_ws depends
     * on neighbours. */
    switch (st->kind) {
    case MTL_STAGE_TRANSFORM: case MTL_STAGE_COLLAPSE_WHITESPACE: return 0;
    case MTL_STAGE_LOWERCASE: case MTL_STAGE_UPPERCASE: case MTL_STAGE_CASEFOLD:
        if (!st->ascii_fast_path) return 0;
        break;
    default: break;
    }
    MTLAligned one, mapped;
    mtl_aligned_init(&one);
    mtl_aligned_init(&mapped);
    int32_t ok = mtl_aligned_reserve(&one, 1) == MTL_OK;
    for (int c = 0; ok && c < 128; c++) {
        one.text[0] = (uint16_t)c; one.start[0] = 0; one.end[0] = 1; one.length = 1;
        MTLError error;
        if (mtl_stage_apply(st, &one, &mapped, &error) != MTL_OK) { ok = 0; break; }
        map[c] = mapped.length == 1 && mapped.text[0] < 0x80 ? (uint8_t)mapped.text[0] : MTL_ASCII_UNMAPPED;
    }
    mtl_aligned_free(&one);
    mtl_aligned_free(&mapped);
    return ok;
}

/* ------------------------------------------------------------------ segmentation */

/* Word-break classes of ASCII, read from ICU's own Word_Break property at open. */
enum { WB_OTHER = 0, WB_LETTER, WB_NUMERIC, WB_MID_LETTER, WB_MID_NUM, WB_MID_NUM_LET, WB_SINGLE_QUOTE,
       WB_SPACE, WB_UNSUPPORTED };

struct MTLSegmenter {
    int32_t kind;
    UBreakIterator *iterator;
    URegularExpression *regex;
    int32_t ascii_fast_path;
    uint8_t ascii_word_break[128];
    uint8_t ascii_class[128];
    int32_t cjk_fast_path;           /* Chinese and Japanese through mtl_cjk.c (root word rules only) */
    MTLCjk cjk;
    int32_t last_path;
};

void mtl_segments_init(MTLSegments *s) { memset(s, 0, sizeof *s); }

void mtl_segments_free(MTLSegments *s) {
    free(s->start);
    free(s->end);
    free(s->status);
    free(s->segment_class);
    memset(s, 0, sizeof *s);
}

static int32_t segments_reserve(MTLSegments *s, int64_t capacity) {
    if (capacity <= s->capacity) return MTL_OK;
    int32_t n;
    if (next_capacity(s->capacity, capacity, &n) ||
        resize_array((void **)&s->start, n, sizeof *s->start) ||
        resize_array((void **)&s->end, n, sizeof *s->end) ||
        resize_array((void **)&s->status, n, sizeof *s->status) ||
        resize_array((void **)&s->segment_class, n, sizeof *s->segment_class))
        return MTL_ERR_NO_MEMORY;
    s->capacity = n;
    return MTL_OK;
}

static uint8_t class_of_code_point_icu(UChar32 c) {
    if (u_isUWhiteSpace(c)) return MTL_CLASS_WHITESPACE;
    switch (u_charType(c)) {
    case U_UPPERCASE_LETTER: case U_LOWERCASE_LETTER: case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER: case U_OTHER_LETTER:
        return MTL_CLASS_WORD;
    case U_DECIMAL_DIGIT_NUMBER: case U_LETTER_NUMBER: case U_OTHER_NUMBER:
        return MTL_CLASS_NUMBER;
    case U_CONNECTOR_PUNCTUATION: case U_DASH_PUNCTUATION: case U_START_PUNCTUATION:
    case U_END_PUNCTUATION: case U_INITIAL_PUNCTUATION: case U_FINAL_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
        return MTL_CLASS_PUNCTUATION;
    case U_MATH_SYMBOL: case U_CURRENCY_SYMBOL: case U_MODIFIER_SYMBOL: case U_OTHER_SYMBOL:
        return MTL_CLASS_SYMBOL;
    default:
        return MTL_CLASS_OTHER;
    }
}

/* The same for the BMP, tabulated once per process (it is asked for every token's edges). */
static uint8_t bmp_class[0x10000];
static pthread_once_t bmp_class_once = PTHREAD_ONCE_INIT;

static UChar last_space_unit;  /* the highest BMP white-space code point */

static void fill_bmp_class(void) {
    for (UChar32 c = 0; c < 0x10000; c++) {
        bmp_class[c] = class_of_code_point_icu(c);
        if (bmp_class[c] == MTL_CLASS_WHITESPACE) last_space_unit = (UChar)c;
    }
}

/* Callers make sure fill_bmp_class has run (every public entry point that classifies does). */
static inline uint8_t class_of_code_point(UChar32 c) {
    return c <= 0xFFFF ? bmp_class[c] : class_of_code_point_icu(c);
}

/* Class of a segment from its first non-white-space code point (all white space: white space). */
static uint8_t class_of_segment(const UChar *t, int32_t start, int32_t end) {
    if (end - start == 1 && t[start] == ' ') return MTL_CLASS_WHITESPACE;
    int32_t i = start;
    while (i < end) {
        UChar32 c;
        U16_NEXT(t, i, end, c);
        uint8_t cls = class_of_code_point(c);
        if (cls != MTL_CLASS_WHITESPACE) return cls;
    }
    return MTL_CLASS_WHITESPACE;
}

static uint8_t class_of_word_status(int32_t status, const UChar *t, int32_t start, int32_t end) {
    if (status >= UBRK_WORD_IDEO && status < UBRK_WORD_IDEO_LIMIT) return MTL_CLASS_IDEOGRAPHIC;
    if (status >= UBRK_WORD_KANA && status < UBRK_WORD_KANA_LIMIT) return MTL_CLASS_KANA;
    if (status >= UBRK_WORD_LETTER && status < UBRK_WORD_LETTER_LIMIT) return MTL_CLASS_WORD;
    if (status >= UBRK_WORD_NUMBER && status < UBRK_WORD_NUMBER_LIMIT) return MTL_CLASS_NUMBER;
    return class_of_segment(t, start, end);
}

static inline int32_t push_segment(MTLSegments *out, int32_t s, int32_t e, int32_t status, uint8_t cls) {
    if (segments_reserve(out, out->count + 1)) return MTL_ERR_NO_MEMORY;
    out->start[out->count] = s;
    out->end[out->count] = e;
    out->status[out->count] = status;
    out->segment_class[out->count] = cls;
    out->count++;
    return MTL_OK;
}

static int ascii_words(const MTLSegmenter *sg, const UChar *t, int32_t n, MTLSegments *out);

static void fill_ascii_tables(MTLSegmenter *sg) {
    for (int c = 0; c < 128; c++) {
        sg->ascii_class[c] = class_of_code_point(c);
        switch (u_getIntPropertyValue(c, UCHAR_WORD_BREAK)) {
        case U_WB_ALETTER: sg->ascii_word_break[c] = WB_LETTER; break;
        case U_WB_NUMERIC: sg->ascii_word_break[c] = WB_NUMERIC; break;
        case U_WB_MIDNUM: sg->ascii_word_break[c] = WB_MID_NUM; break;
        case U_WB_MIDNUMLET: sg->ascii_word_break[c] = WB_MID_NUM_LET; break;
        case U_WB_SINGLE_QUOTE: sg->ascii_word_break[c] = WB_SINGLE_QUOTE; break;
        case U_WB_WSEGSPACE: sg->ascii_word_break[c] = WB_SPACE; break;
        case U_WB_OTHER:
        case U_WB_DOUBLE_QUOTE: /* joins only Hebrew letters (WB7b/c): plain Other in ASCII */
            sg->ascii_word_break[c] = WB_OTHER;
            break;
        /* Line breaks, ExtendNumLet (_), MidLetter (:), quotes with rules of their own: ICU decides. */
        default: sg->ascii_word_break[c] = WB_UNSUPPORTED; break;
        }
    }
}


/* 1 when the ASCII model and ICU cut `probe` identically, with the same statuses. */
static int model_agrees(MTLSegmenter *sg, const UChar *probe, int32_t n, MTLSegments *model) {
    if (!ascii_words(sg, probe, n, model)) return 1; /* the model declines: ICU decides anyway */
    UErrorCode status = U_ZERO_ERROR;
    ubrk_setText(sg->iterator, probe, n, &status);
    if (U_FAILURE(status)) return 0;
    int32_t k = 0, start = ubrk_first(sg->iterator);
    for (int32_t end = ubrk_next(sg->iterator); end != UBRK_DONE; start = end, end = ubrk_next(sg->iterator), k++) {
        if (k >= model->count || model->start[k] != start || model->end[k] != end) return 0;
        int32_t rule = ubrk_getRuleStatus(sg->iterator);
        if (rule != model->status[k]) return 0;
    }
    return k == model->count;
}

static int agrees_with_neighbours(MTLSegmenter *sg, int c, const char *neighbours, MTLSegments *model) {
    static const char core[] = "a1 ";
    UChar probe[4];
    probe[0] = (UChar)c;
    if (!model_agrees(sg, probe, 1, model)) return 0;
    for (const char *p = core; *p; p++)
        for (const char *q = core; *q; q++) {
            probe[0] = (UChar)*p; probe[1] = (UChar)c; probe[2] = (UChar)*q;
            if (!model_agrees(sg, probe, 3, model)) return 0;
            probe[0] = (UChar)*p; probe[1] = (UChar)c; probe[2] = (UChar)c; probe[3] = (UChar)*q;
            if (!model_agrees(sg, probe, 4, model)) return 0;
        }
    for (const char *p = neighbours; *p; p++) {
        const UChar x = (UChar)*p, y = (UChar)c;
        const UChar probes[][4] = { {x, y}, {y, x}, {x, y, x}, {y, x, y}, {'a', y, x, 'a'}, {'1', y, x, '1'}, {'a', x, y, 'a'}, {'1', x, y, '1'} };
        const int32_t lengths[] = { 2, 2, 3, 3, 4, 4, 4, 4 };
        for (int k = 0; k < 8; k++)
            if (!model_agrees(sg, probes[k], lengths[k], model)) return 0;
    }
    return 1;
}

/* The ASCII model is UAX #29 over Word_Break property values, but ICU's rule data adds its own
 * touches (it treats '@' as a letter, for one). Rather than copy ICU's rule file, ask ICU: each
 * ASCII character is tried against letters, digits and space, then against the punctuation that
 * passed that first round; a character the model does not reproduce exactly is left to ICU.
 * (A probe holding a character already left to ICU passes: the model declines it.) The result
 * depends only on ICU's data, so it is computed once per process. */
static uint8_t calibrated_word_break[128];
static pthread_once_t calibration_once = PTHREAD_ONCE_INIT;

static void calibrate_ascii_model(void) {
    MTLSegmenter sg;
    memset(&sg, 0, sizeof sg);
    fill_ascii_tables(&sg);
    UErrorCode status = U_ZERO_ERROR;
    sg.iterator = ubrk_open(UBRK_WORD, "", NULL, 0, &status);
    if (U_FAILURE(status)) {
        memset(calibrated_word_break, WB_UNSUPPORTED, sizeof calibrated_word_break);
        return;
    }
    MTLSegments model;
    mtl_segments_init(&model);
    const char *rounds[] = { "aZ19 ", "aZ19 .',;-@:_\"()!?/#$%&*+<=>[]{}|~^`" };
    for (int round = 0; round < 2; round++) {
        uint8_t failed[128] = {0};
        for (int c = 0; c < 128; c++) {
            if (sg.ascii_word_break[c] != WB_UNSUPPORTED && !agrees_with_neighbours(&sg, c, rounds[round], &model))
                failed[c] = 1;
        }
        for (int c = 0; c < 128; c++)
            if (failed[c]) sg.ascii_word_break[c] = WB_UNSUPPORTED;
    }
    mtl_segments_free(&model);
    ubrk_close(sg.iterator);
    memcpy(calibrated_word_break, sg.ascii_word_break, sizeof calibrated_word_break);
}

MTLSegmenter *mtl_segmenter_open(int32_t kind, const char *argument, MTLError *error) {
    pthread_once(&bmp_class_once, fill_bmp_class);
    MTLSegmenter *sg = calloc(1, sizeof *sg);
    if (!sg) { no_memory(error); return NULL; }
    sg->kind = kind;
    UErrorCode status = U_ZERO_ERROR;
    const char *locale = argument ? argument : "";
    fill_ascii_tables(sg);
    sg->ascii_fast_path = kind == MTL_SEGMENT_WORDS;
    switch (kind) {
    case MTL_SEGMENT_WORDS: sg->iterator = ubrk_open(UBRK_WORD, locale, NULL, 0, &status); break;
    case MTL_SEGMENT_SENTENCES: sg->iterator = ubrk_open(UBRK_SENTENCE, locale, NULL, 0, &status); break;
    case MTL_SEGMENT_GRAPHEMES: sg->iterator = ubrk_open(UBRK_CHARACTER, locale, NULL, 0, &status); break;
    case MTL_SEGMENT_WHITESPACE: break;
    case MTL_SEGMENT_REGEX: {
        UChar *pattern = NULL;
        int32_t pattern_length = 0;
        if (!argument || to_uchars(argument, &pattern, &pattern_length, error)) { free(sg); return NULL; }
        UParseError parse = {0};
        sg->regex = uregex_open(pattern, pattern_length, 0, &parse, &status);
        free(pattern);
        /* A pathological pattern must fail on a line, not hang a worker (units: match steps, ~ms). */
        if (U_SUCCESS(status)) uregex_setTimeLimit(sg->regex, 2000, &status);
        if (U_FAILURE(status)) {
            mtl_set_error(error, MTL_ERR_BAD_ARGUMENT, parse.offset, "invalid regular expression '%s' at offset %d (%s)",
                      argument, parse.offset, u_errorName(status));
            free(sg);
            return NULL;
        }
        break;
    }
    default:
        mtl_set_error(error, MTL_ERR_BAD_ARGUMENT, -1, "unknown segmenter kind %d", kind);
        free(sg);
        return NULL;
    }
    if (U_FAILURE(status)) {
        icu_error(error, status, "opening break iterator");
        mtl_segmenter_close(sg);
        return NULL;
    }
    if (sg->ascii_fast_path) {
        /* Both fast paths reproduce ICU's root word rules; a locale with rules of its own
         * (en_US_POSIX, fi, sv) is left to ICU whole. */
        UErrorCode ignored = U_ZERO_ERROR;
        const char *actual = ubrk_getLocaleByType(sg->iterator, ULOC_ACTUAL_LOCALE, &ignored);
        sg->ascii_fast_path = U_SUCCESS(ignored) && actual && (strcmp(actual, "root") == 0 || actual[0] == 0);
    }
    if (sg->ascii_fast_path) {
        pthread_once(&calibration_once, calibrate_ascii_model);
        memcpy(sg->ascii_word_break, calibrated_word_break, sizeof calibrated_word_break);
        const MTLCjkData *cjk = mtl_cjk_data();
        if (cjk) {
            int32_t rc = mtl_cjk_open(&sg->cjk, cjk);
            if (rc == MTL_ERR_NO_MEMORY) { no_memory(error); mtl_segmenter_close(sg); return NULL; }
            sg->cjk_fast_path = rc == MTL_OK;
        }
    }
    if (kind == MTL_SEGMENT_WORDS) {
        /* An iterator picks a dictionary engine per character among those it has already used,
         * and a character of the CJK engine's set in the Common script (U+30FC) met before any Han
         * would go to no engine at all: give every word iterator the CJK engine first, so that
         * what it does does not depend on the texts it saw before. */
        UErrorCode ignored = U_ZERO_ERROR;
        ubrk_setText(sg->iterator, (const UChar *)u"中文", 2, &ignored);
        ubrk_first(sg->iterator);
        while (ubrk_next(sg->iterator) != UBRK_DONE) {}
        ubrk_setText(sg->iterator, (const UChar *)u"", 0, &ignored);
    }
    return sg;
}

int32_t mtl_segmenter_last_path(const MTLSegmenter *sg) { return sg->last_path; }

int32_t mtl_cjk_engine_available(int32_t *icu_major) {
    UVersionInfo version;
    u_getVersion(version);
    if (icu_major) *icu_major = version[0];
    return mtl_cjk_data() != NULL;
}

void mtl_segmenter_disable_fast_paths(MTLSegmenter *sg) {
    sg->ascii_fast_path = 0;
    sg->cjk_fast_path = 0;
}

void mtl_segmenter_close(MTLSegmenter *sg) {
    if (!sg) return;
    mtl_cjk_close(&sg->cjk);
    if (sg->iterator) ubrk_close(sg->iterator);
    if (sg->regex) uregex_close(sg->regex);
    free(sg);
}

/* UAX #29 word segmentation for ASCII text, as ICU's rules give it (WB3d, 5-12, 999), with
 * ICU's rule statuses: 200 for runs holding a letter, 100 for numbers, 0 otherwise. The test
 * suite checks it against ICU on every ASCII line of the corpora.
 *
 * NAME(sg, t, i, n, &status, &cls) is the end of the segment that starts at t[i], for text whose
 * every unit is ASCII with a supported word-break class. Defined for UTF-16 units (after the
 * normalizers, ascii_words) and UTF-8 bytes (mtl_tokenize_ascii): one model, two unit types. */
#define MTL_DEFINE_ASCII_SEGMENT_END(NAME, UNIT) \
static inline int32_t NAME(const MTLSegmenter *sg, const UNIT *t, int32_t i, int32_t n, int32_t *status, uint8_t *cls) { \
    const uint8_t *wb = sg->ascii_word_break; \
    uint8_t c = wb[t[i]]; \
    int32_t j = i + 1; \
    if (c == WB_LETTER || c == WB_NUMERIC) { \
        for (;;) { \
            while (j < n && (wb[t[j]] == WB_LETTER || wb[t[j]] == WB_NUMERIC)) j++; \
            if (j + 1 < n) { \
                uint8_t before = wb[t[j - 1]], mid = wb[t[j]], after = wb[t[j + 1]]; \
                if ((before == WB_LETTER && after == WB_LETTER && (mid == WB_MID_NUM_LET || mid == WB_SINGLE_QUOTE)) || \
                    (before == WB_NUMERIC && after == WB_NUMERIC && \
                     (mid == WB_MID_NUM || mid == WB_MID_NUM_LET || mid == WB_SINGLE_QUOTE))) { \
                    j += 2; \
                    continue; \
                } \
            } \
            break; \
        } \
        /* ICU's status is the last rule's: "DV4" is a number, "4x4s" a word. */ \
        int letter = wb[t[j - 1]] == WB_LETTER; \
        *status = letter ? UBRK_WORD_LETTER : UBRK_WORD_NUMBER; \
        *cls = letter ? MTL_CLASS_WORD : MTL_CLASS_NUMBER; \
    } else if (c == WB_SPACE) { \
        while (j < n && wb[t[j]] == WB_SPACE) j++; \
        *status = 0; \
        *cls = MTL_CLASS_WHITESPACE; \
    } else { \
        *status = 0; \
        *cls = sg->ascii_class[t[i]]; \
    } \
    return j; \
}
MTL_DEFINE_ASCII_SEGMENT_END(ascii_segment_end, UChar)
MTL_DEFINE_ASCII_SEGMENT_END(ascii_segment_end_utf8, uint8_t)

/* The model over a whole text; returns 0 (and leaves `out` to be refilled) when the text holds
 * anything it does not handle. */
static int ascii_words(const MTLSegmenter *sg, const UChar *t, int32_t n, MTLSegments *out) {
    for (int32_t i = 0; i < n; i++)
        if (t[i] >= 0x80 || sg->ascii_word_break[t[i]] == WB_UNSUPPORTED) return 0;
    if (segments_reserve(out, n + 1)) return 0;
    int32_t count = 0, i = 0;
    while (i < n) {
        int32_t status;
        uint8_t cls;
        int32_t j = ascii_segment_end(sg, t, i, n, &status, &cls);
        out->start[count] = i;
        out->end[count] = j;
        out->status[count] = status;
        out->segment_class[count] = cls;
        count++;
        i = j;
    }
    out->count = count;
    return 1;
}

typedef struct { MTLSegments *out; const UChar *text; } WordSink;

static int32_t push_word(void *context, int32_t start, int32_t end, int32_t status) {
    WordSink *sink = context;
    return push_segment(sink->out, start, end, status, class_of_word_status(status, sink->text, start, end));
}

int32_t mtl_segment(MTLSegmenter *sg, const uint16_t *text, int32_t length, MTLSegments *out, MTLError *error) {
    out->count = 0;
    sg->last_path = MTL_PATH_ICU;
    const UChar *t = (const UChar *)text;
    UErrorCode status = U_ZERO_ERROR;
    if (length == 0) return MTL_OK;
    switch (sg->kind) {
    case MTL_SEGMENT_WORDS:
        if (sg->ascii_fast_path && ascii_words(sg, t, length, out)) {
            sg->last_path = MTL_PATH_ASCII;
            return MTL_OK;
        }
        out->count = 0;
        if (sg->cjk_fast_path) {
            if (segments_reserve(out, length / 3 + 8)) return no_memory(error);
            WordSink sink = { out, t };
            int32_t rc = mtl_cjk_segment(&sg->cjk, t, length, push_word, &sink);
            if (rc == 1) {
                sg->last_path = MTL_PATH_CJK;
                return MTL_OK;
            }
            if (rc == -MTL_ERR_NO_MEMORY) return no_memory(error);
            if (rc < 0) return icu_error(error, U_INTERNAL_PROGRAM_ERROR, "segmenting");
            out->count = 0;  /* left to ICU */
        }
        /* fall through */
    case MTL_SEGMENT_SENTENCES:
    case MTL_SEGMENT_GRAPHEMES: {
        /* Words average ~5 units: reserving once avoids regrowth inside the loop. */
        if (segments_reserve(out, length / 3 + 8)) return no_memory(error);
        ubrk_setText(sg->iterator, t, length, &status);
        if (U_FAILURE(status)) return icu_error(error, status, "segmenting");
        int32_t start = ubrk_first(sg->iterator);
        for (int32_t end = ubrk_next(sg->iterator); end != UBRK_DONE; start = end, end = ubrk_next(sg->iterator)) {
            int32_t rule = sg->kind == MTL_SEGMENT_GRAPHEMES ? 0 : ubrk_getRuleStatus(sg->iterator);
            int32_t s = start, e = end;
            uint8_t cls;
            if (sg->kind == MTL_SEGMENT_WORDS) {
                cls = class_of_word_status(rule, t, s, e);
            } else {
                if (sg->kind == MTL_SEGMENT_SENTENCES) {
                    /* A sentence owns the spaces after it; the token should not. */
                    while (e > s && u_isUWhiteSpace(t[e - 1])) e--;
                    while (s < e && u_isUWhiteSpace(t[s])) s++;
                    if (s == e) { s = start; e = end; }
                }
                cls = class_of_segment(t, s, e);
            }
            if (push_segment(out, s, e, rule, cls)) return no_memory(error);
        }
        return MTL_OK;
    }
    case MTL_SEGMENT_WHITESPACE: {
        int32_t i = 0;
        while (i < length) {
            UChar32 c;
            int32_t s = i;
            U16_NEXT(t, i, length, c);
            if (u_isUWhiteSpace(c)) continue;
            int32_t e = i;
            while (e < length) {
                int32_t j = e;
                U16_NEXT(t, j, length, c);
                if (u_isUWhiteSpace(c)) break;
                e = j;
            }
            if (push_segment(out, s, e, 0, class_of_segment(t, s, e))) return no_memory(error);
            i = e;
        }
        return MTL_OK;
    }
    case MTL_SEGMENT_REGEX: {
        uregex_setText(sg->regex, t, length, &status);
        int32_t rc = MTL_OK;
        while (U_SUCCESS(status) && uregex_findNext(sg->regex, &status)) {
            int32_t s = uregex_start(sg->regex, 0, &status);
            int32_t e = uregex_end(sg->regex, 0, &status);
            if (U_FAILURE(status)) break;
            if (e <= s) continue;
            if (push_segment(out, s, e, 0, class_of_segment(t, s, e))) { rc = MTL_ERR_NO_MEMORY; break; }
        }
        /* The regex keeps a pointer to the text: drop it before the caller reuses the buffer. */
        UErrorCode reset = U_ZERO_ERROR;
        uregex_setText(sg->regex, (const UChar *)u"", 0, &reset);
        if (rc) return no_memory(error);
        if (status == U_REGEX_TIME_OUT || status == U_REGEX_STACK_OVERFLOW) {
            mtl_set_error(error, MTL_ERR_BAD_ARGUMENT, -1,
                      "the regular expression gave up on this text (%s): it backtracks too much; simplify the pattern",
                      u_errorName(status));
            return MTL_ERR_BAD_ARGUMENT;
        }
        if (U_FAILURE(status)) return icu_error(error, status, "matching");
        return MTL_OK;
    }
    }
    return MTL_OK;
}

/* ------------------------------------------------------------------ tokens */

static inline int is_space_unit(UChar u) {
    return u <= last_space_unit && !U16_IS_SURROGATE(u) && bmp_class[u] == MTL_CLASS_WHITESPACE;  /* u_isUWhiteSpace */
}

static inline int32_t utf8_length_of_unit(UChar u) {
    /* 1, 2 or 3 bytes; a surrogate is half of a 4-byte sequence. Branch-free: text mixes them. */
    return 1 + (u >= 0x80) + (u >= 0x800) - U16_IS_SURROGATE(u);
}

int32_t mtl_build_tokens(const MTLAligned *a, const MTLSegments *segs, const uint8_t *keep,
                         const uint8_t *original, int32_t all_ascii, MTLToken *out) {
    return mtl_build_tokens_utf8(a, segs, keep, original, all_ascii, out, NULL, 0, NULL);
}

int32_t mtl_build_tokens_utf8(const MTLAligned *a, const MTLSegments *segs, const uint8_t *keep,
                              const uint8_t *original, int32_t all_ascii, MTLToken *out,
                              uint8_t *utf8, int32_t utf8_capacity, int32_t *utf8_length) {
    pthread_once(&bmp_class_once, fill_bmp_class);
    const UChar *t = a->text;
    const int32_t *as = a->start, *ae = a->end;
    int32_t n = 0;
    for (int32_t k = 0; k < segs->count; k++) {
        uint8_t cls = segs->segment_class[k];
        if (!keep[cls]) continue;
        int32_t s = segs->start[k], e = segs->end[k];
        if (cls != MTL_CLASS_WHITESPACE) {
            /* ICU attaches marks to the white space before them (WB4): "  \u0304" from "* \uFFE3".
             * White space of its own source at a token's edge is a gap between words, not token text. */
            while (e - s > 1 && is_space_unit(t[s]) && ae[s] <= as[s + 1]) s++;
            while (e - s > 1 && is_space_unit(t[e - 1]) && as[e - 1] >= ae[e - 2]) e--;
        }
        int32_t os = as[s], oe = ae[e - 1];
        /* Snap to whole normalization segments. */
        while (s > 0 && ae[s - 1] > os) { s--; if (as[s] < os) os = as[s]; }
        while (e < a->length && as[e] < oe) { if (ae[e] > oe) oe = ae[e]; e++; }
        if (n > 0 && (os < out[n - 1].utf8_end || s < out[n - 1].normalized_end)) {
            if (e > out[n - 1].normalized_end) out[n - 1].normalized_end = e;
            if (oe > out[n - 1].utf8_end) out[n - 1].utf8_end = oe;
            continue;
        }
        MTLToken *tok = &out[n++];
        tok->utf8_start = os; tok->utf8_end = oe;
        tok->normalized_start = s; tok->normalized_end = e;
        tok->kind = cls;
    }
    /* Normalized UTF-16 positions -> UTF-8 bytes, and original bytes -> scalars: both monotone.
     * With an output buffer, the normalized text is encoded in the same walk over its units. */
    if (utf8_length) *utf8_length = -1;
    if (utf8 && (int64_t)a->length * 3 <= utf8_capacity) {
        uint8_t *o = utf8;
        int encodable = 1;
        int32_t unit = 0, position = 0, scalars = 0;
        /* Encodes t[unit..<target) (a surrogate only counts its 2 bytes: the caller re-encodes). */
#define MTL_ENCODE_TO(target) \
        while (unit < (target)) { \
            UChar u = t[unit++]; \
            if (u < 0x80) { \
                *o++ = (uint8_t)u; \
            } else if (u < 0x800) { \
                o[0] = (uint8_t)(0xC0 | u >> 6); o[1] = (uint8_t)(0x80 | (u & 0x3F)); o += 2; \
            } else if (!U16_IS_SURROGATE(u)) { \
                o[0] = (uint8_t)(0xE0 | u >> 12); o[1] = (uint8_t)(0x80 | (u >> 6 & 0x3F)); \
                o[2] = (uint8_t)(0x80 | (u & 0x3F)); o += 3; \
            } else { \
                encodable = 0; o += 2; \
            } \
        }
        for (int32_t i = 0; i < n; i++) {
            MTLToken *tok = &out[i];
            MTL_ENCODE_TO(tok->normalized_start)
            tok->normalized_start = (int32_t)(o - utf8);
            MTL_ENCODE_TO(tok->normalized_end)
            tok->normalized_end = (int32_t)(o - utf8);
            if (all_ascii) {
                tok->scalar_start = tok->utf8_start;
                tok->scalar_end = tok->utf8_end;
            } else {
                while (position < tok->utf8_start) scalars += (original[position++] & 0xC0) != 0x80;
                tok->scalar_start = scalars;
                while (position < tok->utf8_end) scalars += (original[position++] & 0xC0) != 0x80;
                tok->scalar_end = scalars;
            }
        }
        MTL_ENCODE_TO(a->length)
#undef MTL_ENCODE_TO
        if (encodable) *utf8_length = (int32_t)(o - utf8);
        return n;
    }
    int32_t unit = 0, byte = 0, position = 0, scalars = 0;
    for (int32_t i = 0; i < n; i++) {
        MTLToken *tok = &out[i];
        while (unit < tok->normalized_start) byte += utf8_length_of_unit(t[unit++]);
        tok->normalized_start = byte;
        while (unit < tok->normalized_end) byte += utf8_length_of_unit(t[unit++]);
        tok->normalized_end = byte;
        if (all_ascii) {
            tok->scalar_start = tok->utf8_start;
            tok->scalar_end = tok->utf8_end;
        } else {
            while (position < tok->utf8_start) scalars += (original[position++] & 0xC0) != 0x80;
            tok->scalar_start = scalars;
            while (position < tok->utf8_end) scalars += (original[position++] & 0xC0) != 0x80;
            tok->scalar_end = scalars;
        }
    }
    return n;
}

int32_t mtl_segmenter_restrict_ascii_map(const MTLSegmenter *sg, uint8_t map[128]) {
    if (!sg->ascii_fast_path) return 0;
    for (int c = 0; c < 128; c++)
        if (map[c] != MTL_ASCII_UNMAPPED && sg->ascii_word_break[map[c]] == WB_UNSUPPORTED) map[c] = MTL_ASCII_UNMAPPED;
    return 1;
}

int32_t mtl_tokenize_ascii(MTLSegmenter *sg, const uint8_t map[128], const uint8_t *keep, const uint8_t *text,
                           int32_t length, uint8_t *normalized, MTLToken *tokens, int32_t *changed) {
    if (!sg->ascii_fast_path) return -1;
    uint8_t differs = 0;
    for (int32_t i = 0; i < length; i++) {
        uint8_t b = text[i];
        if (b >= 0x80) return -1;
        uint8_t m = map[b];
        if (m == MTL_ASCII_UNMAPPED) return -1;
        normalized[i] = m;
        differs |= m ^ b;
    }
    sg->last_path = MTL_PATH_ASCII;
    /* The word model over the normalized bytes, emitting the kept segments as tokens directly: one
     * byte is one unit, one scalar and one normalized byte, and the model's segments never carry
     * white space at the edge of a non-space segment, so mtl_build_tokens would neither snap nor
     * merge anything (the tests compare both paths). */
    int32_t count = 0, i = 0;
    while (i < length) {
        int32_t status;
        uint8_t cls;
        int32_t j = ascii_segment_end_utf8(sg, normalized, i, length, &status, &cls);
        if (keep[cls]) {
            MTLToken *tok = &tokens[count++];
            tok->scalar_start = tok->utf8_start = tok->normalized_start = i;
            tok->scalar_end = tok->utf8_end = tok->normalized_end = j;
            tok->kind = cls;
        }
        i = j;
    }
    *changed = differs != 0;
    return count;
}

int32_t mtl_class_of_text(const uint16_t *text, int32_t length) {
    pthread_once(&bmp_class_once, fill_bmp_class);
    return length > 0 ? class_of_segment((const UChar *)text, 0, length) : MTL_CLASS_OTHER;
}

/* ------------------------------------------------------------------ utilities */

int32_t mtl_locale_is_known(const char *locale) {
    if (!locale || !*locale || strcmp(locale, "root") == 0) return 1;
    char language[16] = {0};
    UErrorCode status = U_ZERO_ERROR;
    uloc_getLanguage(locale, language, sizeof language, &status);
    if (U_FAILURE(status) || !*language) return 0;
    const char *iso3 = uloc_getISO3Language(locale);
    return iso3 && *iso3;
}

int64_t mtl_reference_word_count_lines(const uint16_t *text, const int32_t *starts, int32_t lines, const char *locale) {
    UErrorCode status = U_ZERO_ERROR;
    UBreakIterator *iterator = ubrk_open(UBRK_WORD, locale, NULL, 0, &status);
    if (U_FAILURE(status)) return -1;
    int64_t count = 0;
    for (int32_t i = 0; i < lines; i++) {
        ubrk_setText(iterator, (const UChar *)text + starts[i], starts[i + 1] - starts[i], &status);
        ubrk_first(iterator);
        while (ubrk_next(iterator) != UBRK_DONE) {
            if (ubrk_getRuleStatus(iterator) != UBRK_WORD_NONE) count++;
        }
    }
    ubrk_close(iterator);
    return count;
}

int64_t mtl_reference_word_count(const uint16_t *text, int32_t length, const char *locale) {
    UErrorCode status = U_ZERO_ERROR;
    UBreakIterator *iterator = ubrk_open(UBRK_WORD, locale, (const UChar *)text, length, &status);
    if (U_FAILURE(status)) return -1;
    int64_t count = 0;
    ubrk_first(iterator);
    while (ubrk_next(iterator) != UBRK_DONE) {
        if (ubrk_getRuleStatus(iterator) != UBRK_WORD_NONE) count++;
    }
    ubrk_close(iterator);
    return count;
}
