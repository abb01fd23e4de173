#ifndef MTL_ICU_H
#define MTL_ICU_H
/*
 * The project's own small C API over ICU4C.
 *
 * Why C: ICU's headers cannot be seen by a Swift module that also imports Foundation
 * (Foundation carries a private ICU whose types clash), and ICU renames its C symbols per
 * version with macros Swift cannot call. So ICU headers are included only in mtl_icu.c,
 * and this header exposes plain types: UTF-16 as uint16_t, offsets as int32_t, our own
 * error codes and messages.
 *
 * Offsets: text travels between stages as an MTLAligned buffer, UTF-16 units each carrying
 * the [start, end) byte range of the ORIGINAL UTF-8 text it came from. Every stage writes a
 * new aligned buffer; a unit produced from an input segment is aligned to the union of that
 * segment's input ranges. That is what lets a token point back into the original text
 * whatever the normalizers did to lengths.
 *
 * Thread-safety: stage and segmenter handles own ICU objects and scratch memory and must
 * be used by one thread at a time. Open one set per thread.
 */
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    MTL_OK = 0,
    MTL_ERR_ICU = 1,          /* ICU reported an error; message holds u_errorName */
    MTL_ERR_INVALID_UTF8 = 2, /* offset holds the byte offset of the bad sequence */
    MTL_ERR_BAD_ARGUMENT = 3, /* unknown transform id, bad set or regex, bad locale */
    MTL_ERR_NO_MEMORY = 4,
};

typedef struct MTLError {
    int32_t code;
    int32_t offset;     /* byte offset (UTF-8 errors) or pattern offset (parse errors); -1 if none */
    char message[256];
} MTLError;

typedef struct MTLAligned {
    uint16_t *text;
    int32_t *start;     /* original UTF-8 byte offset where the unit's source begins */
    int32_t *end;       /* original UTF-8 byte offset where the unit's source ends */
    int32_t length;
    int32_t capacity;
} MTLAligned;

void mtl_aligned_init(MTLAligned *buffer);
void mtl_aligned_free(MTLAligned *buffer);
int32_t mtl_aligned_reserve(MTLAligned *buffer, int32_t capacity);

/* Decodes UTF-8 into an aligned UTF-16 buffer (identity alignment).
 * replace != 0: invalid sequences become U+FFFD aligned to their bytes; otherwise the first one
 * is an MTL_ERR_INVALID_UTF8 error with its byte offset. *all_ascii is set to 1 when every byte < 0x80. */
int32_t mtl_decode_utf8(const uint8_t *source, int32_t length, int32_t replace,
                        MTLAligned *out, int32_t *all_ascii, MTLError *error);

/* Writes a segment of UTF-16 as UTF-8. Returns bytes written, or the needed size if capacity is short. */
int32_t mtl_encode_utf8(const uint16_t *text, int32_t length, uint8_t *out, int32_t capacity);

/* ---- Normalization stages ---- */
enum MTLStageKind {
    MTL_STAGE_NFC = 0,
    MTL_STAGE_NFD,
    MTL_STAGE_NFKC,
    MTL_STAGE_NFKD,
    MTL_STAGE_NFKC_CASEFOLD,
    MTL_STAGE_LOWERCASE,      /* argument: locale ("" = root) */
    MTL_STAGE_UPPERCASE,      /* argument: locale */
    MTL_STAGE_CASEFOLD,       /* argument: locale; tr/az select Turkic dotted/dotless i */
    MTL_STAGE_STRIP_ACCENTS,  /* NFD, drop nonspacing marks, NFC */
    MTL_STAGE_WIDTH,          /* fullwidth ASCII -> ASCII, halfwidth kana -> fullwidth, ideographic space -> space */
    MTL_STAGE_CLEAN,          /* drop controls, NUL, BOM/ZWSP and other invisible format characters (keeps ZWJ/ZWNJ); tabs/newlines -> space */
    MTL_STAGE_COLLAPSE_WHITESPACE, /* runs of White_Space -> one U+0020, trimmed at both ends */
    MTL_STAGE_TRANSFORM,      /* argument: ICU transform ID, applied per segment */
    MTL_STAGE_KEEP_SET,       /* argument: UnicodeSet pattern; drops code points outside it */
    MTL_STAGE_REMOVE_SET,     /* argument: UnicodeSet pattern; drops code points inside it */
};

typedef struct MTLStage MTLStage;

/* argument is UTF-8 (locale, transform ID or set pattern) and may be NULL when the kind takes none. */
MTLStage *mtl_stage_open(int32_t kind, const char *argument, MTLError *error);
void mtl_stage_close(MTLStage *stage);
int32_t mtl_stage_apply(MTLStage *stage, const MTLAligned *in, MTLAligned *out, MTLError *error);
/* What the stage does to all-ASCII text, one character at a time: map[c] is the ASCII character
 * c becomes, or MTL_ASCII_UNMAPPED when c becomes anything else (nothing, several characters,
 * non-ASCII). Returns 0 when the stage has no such model (transforms, collapse_ws, Turkic and
 * Lithuanian case mapping): then every text takes the general path. */
#define MTL_ASCII_UNMAPPED 0xFF
int32_t mtl_stage_ascii_map(MTLStage *stage, uint8_t map[128]);

/* ---- Segmentation ---- */
enum MTLSegmenterKind {
    MTL_SEGMENT_WORDS = 0,    /* argument: locale */
    MTL_SEGMENT_SENTENCES,    /* argument: locale */
    MTL_SEGMENT_GRAPHEMES,    /* argument: locale */
    MTL_SEGMENT_WHITESPACE,   /* maximal runs of non-White_Space */
    MTL_SEGMENT_REGEX,        /* argument: ICU regex; every match is a segment */
};

/* Coarse class of a segment, from ICU's word rule status or, for "none" status, the first code point. */
enum MTLSegmentClass {
    MTL_CLASS_WORD = 0,       /* letters */
    MTL_CLASS_NUMBER,
    MTL_CLASS_KANA,
    MTL_CLASS_IDEOGRAPHIC,
    MTL_CLASS_PUNCTUATION,
    MTL_CLASS_SYMBOL,         /* math, currency, modifier and other symbols, emoji */
    MTL_CLASS_WHITESPACE,
    MTL_CLASS_OTHER,          /* marks, controls, unassigned */
};

typedef struct MTLSegments {
    int32_t *start;
    int32_t *end;
    int32_t *status;          /* ICU rule status (word and sentence segmenters), else 0 */
    uint8_t *segment_class;
    int32_t count;
    int32_t capacity;
} MTLSegments;

void mtl_segments_init(MTLSegments *segments);
void mtl_segments_free(MTLSegments *segments);

typedef struct MTLSegmenter MTLSegmenter;
MTLSegmenter *mtl_segmenter_open(int32_t kind, const char *argument, MTLError *error);
void mtl_segmenter_close(MTLSegmenter *segmenter);
/* Makes the segmenter use ICU's iterator for everything (tests compare the two). */
void mtl_segmenter_disable_fast_paths(MTLSegmenter *segmenter);
/* Which path cut the last text (tests compare them): MTL_PATH_ICU (ICU's iterator), MTL_PATH_ASCII
 * (the ASCII word model) or MTL_PATH_CJK (ICU's root word rules with the dictionary segmentation of
 * Han, Hiragana and Katakana done in mtl_cjk.c). */
enum { MTL_PATH_ICU = 0, MTL_PATH_ASCII = 1, MTL_PATH_CJK = 2 };
int32_t mtl_segmenter_last_path(const MTLSegmenter *segmenter);
/* 1 when the CJK dictionary engine serves this ICU (0: every text is left to ICU's iterator);
 * *icu_major receives ICU's major version. */
int32_t mtl_cjk_engine_available(int32_t *icu_major);
/* Segments text[0..<length]. Segments cover the text in order; the caller filters by class. */
int32_t mtl_segment(MTLSegmenter *segmenter, const uint16_t *text, int32_t length,
                    MTLSegments *out, MTLError *error);

/* ---- Tokens ---- */
typedef struct MTLToken {
    int32_t scalar_start, scalar_end;          /* in the original text, Unicode scalars */
    int32_t utf8_start, utf8_end;              /* in the original text, UTF-8 bytes */
    int32_t normalized_start, normalized_end;  /* in the normalized text, UTF-8 bytes */
    int32_t kind;                              /* MTLSegmentClass */
} MTLToken;

/* Turns segments of the normalized buffer into tokens with original offsets.
 * keep[class] != 0 keeps segments of that class. A token is widened to whole normalization
 * segments (units that share original text belong to one token) and tokens whose original
 * ranges overlap are merged, so normalizing a token's original text always gives the token.
 * original/original_length: the original UTF-8, to count scalars (skipped when all_ascii).
 * Writes at most segments->count tokens into out; returns how many. */
int32_t mtl_build_tokens(const MTLAligned *normalized, const MTLSegments *segments, const uint8_t *keep,
                         const uint8_t *original, int32_t all_ascii, MTLToken *out);
/* The same, and with utf8 != NULL and utf8_capacity >= 3 * normalized->length, the normalized text
 * encoded as UTF-8 into utf8 in the same pass: *utf8_length is its length in bytes, or -1 when
 * it was not encoded (no room, or a surrogate pair: then encode it with mtl_encode_utf8). */
int32_t mtl_build_tokens_utf8(const MTLAligned *normalized, const MTLSegments *segments, const uint8_t *keep,
                              const uint8_t *original, int32_t all_ascii, MTLToken *out,
                              uint8_t *utf8, int32_t utf8_capacity, int32_t *utf8_length);

/* Readies a composed mtl_stage_ascii_map for mtl_tokenize_ascii: characters the segmenter's ASCII
 * word model leaves to ICU become MTL_ASCII_UNMAPPED too. Returns 0 when the segmenter has no ASCII
 * word model (not the root word rules): then there is no one-pass path. */
int32_t mtl_segmenter_restrict_ascii_map(const MTLSegmenter *segmenter, uint8_t map[128]);
/* The whole pipeline over all-ASCII UTF-8 in one pass, without UTF-16: map (restricted as above)
 * normalizes into normalized[0..<length], the ASCII word model segments, and the kept segments
 * become tokens, exactly as decode + stages + mtl_segment + mtl_build_tokens would make them.
 * normalized and tokens need room for length entries. Returns the token count, or -1 when the
 * text needs the general path (a byte >= 0x80 or a character the map leaves out).
 * *changed: whether normalization changed any byte. */
int32_t mtl_tokenize_ascii(MTLSegmenter *segmenter, const uint8_t map[128], const uint8_t *keep, const uint8_t *text,
                           int32_t length, uint8_t *normalized, MTLToken *tokens, int32_t *changed);

/* The MTLSegmentClass of a text by its first non-white-space code point (pre-tokenized words). */
int32_t mtl_class_of_text(const uint16_t *text, int32_t length);

/* ---- Utilities ---- */
/* The benchmarks' reference: ICU's word break iterator over one whole buffer, counting the
 * segments with a non-zero rule status (what PyICU users count), nothing materialized. */
int64_t mtl_reference_word_count(const uint16_t *text, int32_t length, const char *locale);
/* The same, one line at a time (ubrk_setText per line; line i is text[starts[i]..<starts[i+1]]). */
int64_t mtl_reference_word_count_lines(const uint16_t *text, const int32_t *starts, int32_t lines, const char *locale);

/* 1 when ICU knows the locale's language (or the locale is "" / "root"), else 0. */
int32_t mtl_locale_is_known(const char *locale);

#ifdef __cplusplus
}
#endif
#endif
