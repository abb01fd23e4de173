/*
 * Chinese and Japanese word segmentation exactly as ICU 72's word break iterator does it, faster.
 *
 * How ICU does it (ICU 72: rbbi.cpp, rbbi_cache.cpp, dictbe.cpp, dictionarydata.cpp, ucharstrie.cpp):
 * the word rules' state table finds rule segments; handleNext() counts characters whose category is
 * a dictionary category (>= fDictCategoriesStart). A rule segment [a, b) holding one and longer than
 * one unit goes to DictionaryCache::populateDictionary, which walks it: at each dictionary
 * character it asks for the engine handling it — for Han, Hiragana and Katakana the CjkBreakEngine,
 * whose findBreaks() takes the run of characters in its set ([[:Han:][:Hiragana:][:Katakana:]
 * \u30fc\uff70\uff9e\uff9f]) and divideUpDictionaryRange() cuts it: NFKC-normalize the run if it
 * is not normalized, then a shortest-path DP over code points where every dictionary word starting
 * at i (a UCharsTrie walk, words of at most 20 units) costs its trie value, a character with no
 * one-character entry costs 255 alone, and a Katakana run (< 20) costs a fixed table by length.
 * The run's own start and end are not reported, so the segment's boundaries become a, the DP's
 * inner boundaries of every run, and b; every piece gets the rule status of the whole segment.
 *
 * What this file does: ICU's own compiled root word rules (ubrk_getBinaryRules) run by a
 * transcription of handleNext() give the same rule segments and statuses (without a dictionary,
 * ICU's boundaries are handleNext's, each from the one before); the runs are found with the same
 * character categories (ICU's own trie) and the same set; the DP is a transcription of ICU's, over
 * ICU's own cjdict trie read with a transcription of UCharsTrie::first/next/getValue. What makes it
 * faster is memory, not arithmetic: ICU walks its 2 MB trie through UText from every position, and
 * the binary searches through the large branches near the root miss the caches. Here the first step
 * is a table per code unit, a Bloom filter of the trie's two-unit prefixes proves most second steps
 * fail, and the other steps from branch nodes go through a per-thread cache of (node, unit) -> step:
 * all memoize pure functions of ICU's data (tables ~2 MB per process, built once in ~10 ms; cache
 * 512 KB per thread). Rule segments come from a direct loop over UTF-16 instead of UText.
 *
 * What is left to ICU, per text (mtl_cjk_segment returns 0 and the caller asks ICU): a rule segment
 * ICU would hand to another engine — one holding a dictionary-category character outside the CJK
 * set (Thai, Lao, Khmer, Myanmar, Hangul, and the few Common-script kana marks ICU hands to no
 * engine) — and a run holding a character that is not NFKC-inert (halfwidth katakana,
 * compatibility ideographs), which ICU normalizes first. (In a one-unit segment ICU does nothing
 * with them, and neither does this engine.)
 * Whole engine, per process (mtl_cjk_data returns NULL): an ICU other than the checked version 72,
 * rule or dictionary data of an unexpected format, or a self-check on probe texts that disagrees
 * with ubrk.
 *
 * One condition on ICU's side: an iterator picks its engine per character from the engines it has
 * met, then ICU's global list; a Common-script CJK-set character (U+30FC) met before any CJK engine
 * exists would go to ICU's "unhandled" engine instead. mtl_icu.c gives every word iterator the CJK
 * engine first (and the self-check here creates it), so ICU's answer does not depend on history.
 */
#include "mtl_cjk.h"
#include "mtl_icu.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ubrk.h>
#include <unicode/ucptrie.h>
#include <unicode/uchar.h>
#include <unicode/udata.h>
#include <unicode/unorm2.h>  /* UNORM_YES */
#include <unicode/ures.h>
#include <unicode/uset.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/uversion.h>

/* ------------------------------------------------------------------ UCharsTrie (ucharstrie.h/.cpp, ICU 72) */

enum {
    kMaxBranchLinearSubNodeLength = 5,
    kMinLinearMatch = 0x30,
    kMinValueLead = 0x40,
    kNodeTypeMask = 0x3f,
    kValueIsFinal = 0x8000,
    kMinTwoUnitValueLead = 0x4000,
    kThreeUnitValueLead = 0x7fff,
    kMinTwoUnitNodeValueLead = 0x4040,
    kThreeUnitNodeValueLead = 0x7fc0,
    kMinTwoUnitDeltaLead = 0xfc00,
    kThreeUnitDeltaLead = 0xffff,
};

/* UStringTrieResult values */
enum { R_NO_MATCH = 0, R_NO_VALUE = 1, R_FINAL_VALUE = 2, R_INTERMEDIATE_VALUE = 3 };
#define HAS_VALUE(r) ((r) >= R_FINAL_VALUE)

typedef struct {
    const uint16_t *pos;     /* NULL: stopped */
    int32_t remaining;       /* remainingMatchLength_ */
} TrieState;

static inline int value_result(int32_t node) { return R_INTERMEDIATE_VALUE - (node >> 15); }

static inline int32_t read_value(const uint16_t *pos, int32_t lead) {
    if (lead < kMinTwoUnitValueLead) return lead;
    if (lead < kThreeUnitValueLead) return ((lead - kMinTwoUnitValueLead) << 16) | pos[0];
    return (pos[0] << 16) | pos[1];
}

static inline const uint16_t *skip_value_lead(const uint16_t *pos, int32_t lead) {
    if (lead >= kMinTwoUnitValueLead) pos += lead < kThreeUnitValueLead ? 1 : 2;
    return pos;
}

static inline const uint16_t *skip_value(const uint16_t *pos) {
    int32_t lead = *pos++;
    return skip_value_lead(pos, lead & 0x7fff);
}

static inline int32_t read_node_value(const uint16_t *pos, int32_t lead) {
    if (lead < kMinTwoUnitNodeValueLead) return (lead >> 6) - 1;
    if (lead < kThreeUnitNodeValueLead) return (((lead & 0x7fc0) - kMinTwoUnitNodeValueLead) << 10) | pos[0];
    return (pos[0] << 16) | pos[1];
}

static inline const uint16_t *skip_node_value(const uint16_t *pos, int32_t lead) {
    if (lead >= kMinTwoUnitNodeValueLead) pos += lead < kThreeUnitNodeValueLead ? 1 : 2;
    return pos;
}

static inline const uint16_t *jump_by_delta(const uint16_t *pos) {
    int32_t delta = *pos++;
    if (delta >= kMinTwoUnitDeltaLead) {
        if (delta == kThreeUnitDeltaLead) {
            delta = (pos[0] << 16) | pos[1];
            pos += 2;
        } else {
            delta = ((delta - kMinTwoUnitDeltaLead) << 16) | *pos++;
        }
    }
    return pos + delta;
}

static inline const uint16_t *skip_delta(const uint16_t *pos) {
    int32_t delta = *pos++;
    if (delta >= kMinTwoUnitDeltaLead) pos += delta == kThreeUnitDeltaLead ? 2 : 1;
    return pos;
}

static int branch_next(TrieState *st, const uint16_t *pos, int32_t length, int32_t uchar) {
    if (length == 0) length = *pos++;
    ++length;
    while (length > kMaxBranchLinearSubNodeLength) {
        if (uchar < *pos++) {
            length >>= 1;
            pos = jump_by_delta(pos);
        } else {
            length = length - (length >> 1);
            pos = skip_delta(pos);
        }
    }
    do {
        if (uchar == *pos++) {
            int result;
            int32_t node = *pos;
            if (node & kValueIsFinal) {
                result = R_FINAL_VALUE;
            } else {
                ++pos;
                int32_t delta;
                if (node < kMinTwoUnitValueLead) {
                    delta = node;
                } else if (node < kThreeUnitValueLead) {
                    delta = ((node - kMinTwoUnitValueLead) << 16) | *pos++;
                } else {
                    delta = (pos[0] << 16) | pos[1];
                    pos += 2;
                }
                pos += delta;
                node = *pos;
                result = node >= kMinValueLead ? value_result(node) : R_NO_VALUE;
            }
            st->pos = pos;
            return result;
        }
        --length;
        pos = skip_value(pos);
    } while (length > 1);
    if (uchar == *pos++) {
        st->pos = pos;
        int32_t node = *pos;
        return node >= kMinValueLead ? value_result(node) : R_NO_VALUE;
    }
    st->pos = NULL;
    return R_NO_MATCH;
}

/* UCharsTrie::nextImpl: requires st->remaining < 0. */
static int next_impl(TrieState *st, const uint16_t *pos, int32_t uchar) {
    int32_t node = *pos++;
    for (;;) {
        if (node < kMinLinearMatch) {
            return branch_next(st, pos, node, uchar);
        } else if (node < kMinValueLead) {
            int32_t length = node - kMinLinearMatch;  /* actual match length minus 1 */
            if (uchar == *pos++) {
                st->remaining = --length;
                st->pos = pos;
                return (length < 0 && (node = *pos) >= kMinValueLead) ? value_result(node) : R_NO_VALUE;
            }
            break;
        } else if (node & kValueIsFinal) {
            break;
        } else {
            pos = skip_node_value(pos, node);
            node &= kNodeTypeMask;
        }
    }
    st->pos = NULL;
    return R_NO_MATCH;
}

/* UCharsTrie::next(int32_t uchar). Like ICU's, it takes a code point as one "unit": a supplementary
 * code point never matches (DictionaryMatcher::matches passes utext_next32's code points). */
static inline int trie_next(TrieState *st, int32_t uchar) {
    const uint16_t *pos = st->pos;
    if (!pos) return R_NO_MATCH;
    int32_t length = st->remaining;
    if (length >= 0) {
        if (uchar == *pos++) {
            st->remaining = --length;
            st->pos = pos;
            int32_t node;
            return (length < 0 && (node = *pos) >= kMinValueLead) ? value_result(node) : R_NO_VALUE;
        }
        st->pos = NULL;
        return R_NO_MATCH;
    }
    return next_impl(st, pos, uchar);
}

/* UCharsTrie::getValue() */
static inline int32_t trie_value(const TrieState *st) {
    const uint16_t *pos = st->pos;
    int32_t lead = *pos++;
    return lead & kValueIsFinal ? read_value(pos, lead & 0x7fff) : read_node_value(pos, lead);
}

/* Trie steps from a branch or value node (remaining < 0) are memoized per thread: a step is a
 * pure function of (node, unit), and the binary search through a large branch (the words after
 * a common first character) is most of the cost of a walk. Direct-mapped; key node 0 = empty. */
#define STEP_CACHE_BITS 15

typedef struct StepEntry { uint32_t node, unit, state; int32_t value; } StepEntry;

/* Second steps (after first(u1)) are screened by a Bloom filter of the trie's two-unit prefixes,
 * one block per first unit (~16 bits per prefix, a power of two), so that the bits a frequent
 * first character needs stay in cache together. */
static inline uint32_t pair_bit(uint32_t u2, uint32_t bits) { return (u2 * 0x9E3779B1u) >> (32 - bits); }

/* UCharsTrie::getNextUChars: calls f for each unit that continues from a state; any other unit
 * gives NO_MATCH. */
static void branch_units(const uint16_t *pos, int32_t length, void (*f)(void *, uint16_t), void *context) {
    while (length > kMaxBranchLinearSubNodeLength) {
        ++pos;  /* the comparison unit */
        branch_units(jump_by_delta(pos), length >> 1, f, context);
        length = length - (length >> 1);
        pos = skip_delta(pos);
    }
    do {
        f(context, *pos++);
        pos = skip_value(pos);
    } while (--length > 1);
    f(context, *pos);
}

static void next_units(const TrieState *st, void (*f)(void *, uint16_t), void *context) {
    const uint16_t *pos = st->pos;
    if (!pos) return;
    if (st->remaining >= 0) { f(context, *pos); return; }
    int32_t node = *pos++;
    if (node >= kMinValueLead) {
        if (node & kValueIsFinal) return;
        pos = skip_node_value(pos, node);
        node &= kNodeTypeMask;
    }
    if (node < kMinLinearMatch) {
        if (node == 0) node = *pos++;
        branch_units(pos, node + 1, f, context);
    } else {
        f(context, *pos);
    }
}

/* ------------------------------------------------------------------ engine data */

enum {
    F_DICTIONARY = 1,   /* a dictionary category of the word rules */
    F_CJK = 2,          /* in CjkBreakEngine's character set */
    F_INERT = 4,        /* NFKC_Quick_Check = Yes and ccc = 0: a run of these is NFKC-normalized */
    F_SURROGATE = 8,    /* a surrogate code unit: look at the code point */
};

struct MTLCjkData {
    uint8_t *rules;             /* ICU's compiled root word rules (ubrk_getBinaryRules) */
    const uint8_t *rows;        /* its forward state table */
    uint32_t row_length, row_width;
    int bof_required;
    const int32_t *statuses;    /* its rule status records */
    uint8_t category[0x10000];  /* character -> rule category, for the BMP */
    UCPTrie *categories;        /* ICU's character -> rule category trie (from its own data) */
    uint32_t dictionary_start;  /* the first dictionary category */
    USet *cjk_set;
    UDataMemory *dictionary_memory;
    const uint16_t *trie;       /* cjdict: a UCharsTrie whose values are word costs */
    uint8_t flags[0x10000];
    /* first(u) for every code unit: 0 (NO_MATCH), or a packed state (pack_state) in the low 32
     * bits, the value (when the result has one; at most 255) in bits 32-39, and u's filter block. */
    uint64_t first[0x10000];
    /* A Bloom filter (one hash) of the pairs of units the trie continues with from its root: a
     * clear bit proves that a two-unit prefix is no word's, which is what most second steps find.
     * A set bit proves nothing; the step is then taken. first[u1] bits 40-44 give log2 of u1's
     * block size in bits (0: no block), bits 45-63 its first 64-bit word. */
    uint64_t *pair_filter;
};

/* A trie state after a step: (offset into the trie << 7) | ((remaining + 1) << 2) | result; 0 is
 * NO_MATCH (a state after a step is never at offset 0, the root). */
static inline uint32_t pack_state(const uint16_t *trie, const TrieState *st, int result) {
    return result == R_NO_MATCH ? 0 : ((uint32_t)(st->pos - trie) << 7) | ((uint32_t)(st->remaining + 1) << 2) | (uint32_t)result;
}

static inline int unpack_state(const uint16_t *trie, uint32_t packed, TrieState *st) {
    if (!packed) {
        st->pos = NULL;
        return R_NO_MATCH;
    }
    st->pos = trie + (packed >> 7);
    st->remaining = (int32_t)((packed >> 2) & 31) - 1;
    return (int)(packed & 3);
}

static inline uint32_t row_get(const MTLCjkData *d, uint32_t state, uint32_t k) {
    const uint8_t *row = d->rows + (size_t)state * d->row_length;
    if (d->row_width == 1) return row[k];
    uint16_t v;
    memcpy(&v, row + 2 * k, 2);
    return v;
}

static uint8_t flags_of_code_point(const MTLCjkData *d, UChar32 c) {
    uint8_t f = 0;
    if (ucptrie_get(d->categories, c) >= d->dictionary_start) f |= F_DICTIONARY;
    if (uset_contains(d->cjk_set, c)) f |= F_CJK;
    if (u_getIntPropertyValue(c, UCHAR_NFKC_QUICK_CHECK) == UNORM_YES && u_getCombiningClass(c) == 0) f |= F_INERT;
    return f;
}

static inline uint8_t flags_at(const MTLCjkData *d, const UChar *t, int32_t i, int32_t end, int32_t *next) {
    uint8_t f = d->flags[t[i]];
    if (!(f & F_SURROGATE)) {
        *next = i + 1;
        return f;
    }
    UChar32 c;
    U16_NEXT(t, i, end, c);
    *next = i;
    return flags_of_code_point(d, c);
}

/* dictbe.cpp isKatakana() */
static inline int is_katakana(UChar32 c) {
    return (c >= 0x30A1 && c <= 0x30FE && c != 0x30FB) || (c >= 0xFF66 && c <= 0xFF9F);
}

/* dictbe.cpp getKatakanaCost() */
static inline uint32_t katakana_cost(int32_t length) {
    static const uint32_t cost[9] = {8192, 984, 408, 240, 204, 252, 300, 372, 480};
    return length > 8 ? 8192 : cost[length];
}

#define MAX_WORD_UNITS 20            /* CjkBreakEngine's maxWordSize, in code units */
#define MAX_KATAKANA_GROUP 20        /* kMaxKatakanaGroupLength */
#define MAX_SNLP 255u                /* cost of a character the dictionary does not hold alone */
#define NO_PATH 0xFFFFFFFFu          /* kuint32max */

/* RBBIDataHeader and RBBIStateTable offsets (rbbidata.h, data format 6). */
enum {
    RBBI_MAGIC = 0xb1a0,
    H_MAGIC = 0, H_FORMAT = 4, H_LENGTH = 8, H_CAT_COUNT = 12, H_FTABLE = 16, H_FTABLE_LEN = 20,
    H_RTABLE = 24, H_RTABLE_LEN = 28, H_TRIE = 32, H_TRIE_LEN = 36, H_STATUS = 48, H_STATUS_LEN = 52, H_SIZE = 80,
    T_NUM_STATES = 0, T_ROW_LEN = 4, T_DICT_CATEGORIES_START = 8, T_LOOKAHEAD_SIZE = 12, T_FLAGS = 16, T_HEADER_SIZE = 20,
    RBBI_BOF_REQUIRED = 2, RBBI_8BITS_ROWS = 4,
    STOP_STATE = 0, START_STATE = 1, ACCEPTING_UNCONDITIONAL = 1,
};

static uint32_t read32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* The root word rules as ICU compiled them, and the same with no dictionary categories. */
static int load_rules(MTLCjkData *d) {
    UErrorCode status = U_ZERO_ERROR;
    UBreakIterator *bi = ubrk_open(UBRK_WORD, "", NULL, 0, &status);
    if (U_FAILURE(status)) return 0;
    const char *actual = ubrk_getLocaleByType(bi, ULOC_ACTUAL_LOCALE, &status);
    int root = U_SUCCESS(status) && actual && (strcmp(actual, "root") == 0 || actual[0] == 0);
    int32_t length = root ? ubrk_getBinaryRules(bi, NULL, 0, &status) : 0;
    if (!root || U_FAILURE(status) || length < H_SIZE) { ubrk_close(bi); return 0; }
    uint8_t *rules = malloc((size_t)length);
    if (!rules) { ubrk_close(bi); return 0; }
    ubrk_getBinaryRules(bi, rules, length, &status);
    ubrk_close(bi);
    if (U_FAILURE(status)) { free(rules); return 0; }

    uint32_t total = read32(rules + H_LENGTH), categories = read32(rules + H_CAT_COUNT);
    uint32_t ftable = read32(rules + H_FTABLE), ftable_length = read32(rules + H_FTABLE_LEN);
    uint32_t trie = read32(rules + H_TRIE), trie_length = read32(rules + H_TRIE_LEN);
    if (read32(rules + H_MAGIC) != RBBI_MAGIC || rules[H_FORMAT] != 6 || total > (uint32_t)length ||
        ftable > total || ftable_length < T_HEADER_SIZE || ftable_length > total - ftable ||
        trie > total || trie_length > total - trie || categories == 0 || categories > 0xFFFF) {
        free(rules);
        return 0;
    }
    const uint8_t *table = rules + ftable;
    uint32_t dictionary_start = read32(table + T_DICT_CATEGORIES_START);
    uint32_t states = read32(table + T_NUM_STATES), row_length = read32(table + T_ROW_LEN);
    uint32_t table_flags = read32(table + T_FLAGS), width = table_flags & RBBI_8BITS_ROWS ? 1 : 2;
    uint32_t status_at = read32(rules + H_STATUS), status_length = read32(rules + H_STATUS_LEN);
    if (dictionary_start == 0 || dictionary_start >= categories || categories > 255 || states < 2 ||
        row_length < width * (3 + categories) || (uint64_t)states * row_length > ftable_length - T_HEADER_SIZE ||
        status_at > total || status_length > total - status_at || status_length < 8 || (status_at & 3)) {
        free(rules);
        return 0;
    }
    d->rules = rules;
    d->rows = table + T_HEADER_SIZE;
    d->row_length = row_length;
    d->row_width = width;
    d->bof_required = (table_flags & RBBI_BOF_REQUIRED) != 0;
    d->statuses = (const int32_t *)(rules + status_at);
    /* handleNext as transcribed here has no look-ahead rules (ICU 72's word rules have none): every
     * row must accept unconditionally or not at all, go to a real state and name a status record. */
    uint32_t status_count = status_length / 4;
    for (uint32_t state = 0; state < states; state++) {
        uint32_t accepting = row_get(d, state, 0), lookahead = row_get(d, state, 1), tags = row_get(d, state, 2);
        if (accepting > ACCEPTING_UNCONDITIONAL || lookahead > ACCEPTING_UNCONDITIONAL || tags >= status_count ||
            tags + (uint32_t)d->statuses[tags] >= status_count) {
            free(rules);
            d->rules = NULL;
            return 0;
        }
        for (uint32_t k = 0; k < categories; k++)
            if (row_get(d, state, 3 + k) >= states) { free(rules); d->rules = NULL; return 0; }
    }
    d->categories = ucptrie_openFromBinary(UCPTRIE_TYPE_ANY, UCPTRIE_VALUE_BITS_ANY, rules + trie, (int32_t)trie_length, NULL, &status);
    if (U_FAILURE(status) || !d->categories) { free(rules); d->rules = NULL; return 0; }
    d->dictionary_start = dictionary_start;
    return 1;
}

/* RuleBasedBreakIterator::handleNext from position (ICU 72, rbbi.cpp), for rules without look-ahead:
 * the next boundary, and ICU's rule status for the segment (getRuleStatus: the last value of the
 * status record). */
static int32_t rules_next(const MTLCjkData *d, const UChar *t, int32_t length, int32_t position, int32_t *rule) {
    int32_t index = position, result = position, tags = 0;
    UChar32 c;
    U16_NEXT(t, index, length, c);            /* UTEXT_NEXT32: index is now after c */
    uint32_t state = START_STATE, category = 0;
    enum { RUN, START, END } mode = RUN;
    if (d->bof_required) {
        category = 2;
        mode = START;
    }
    for (;;) {
        if (c < 0) {
            if (mode == END) break;
            mode = END;
            category = 1;
        }
        if (mode == RUN) category = c <= 0xFFFF ? d->category[c] : ucptrie_get(d->categories, c);
        state = row_get(d, state, 3 + category);
        if (row_get(d, state, 0) == ACCEPTING_UNCONDITIONAL) {
            if (mode != START) result = index;
            tags = (int32_t)row_get(d, state, 2);
        }
        if (state == STOP_STATE) break;
        if (mode == RUN) {
            if (index < length) U16_NEXT(t, index, length, c);
            else c = -1;                       /* U_SENTINEL; the index stays at the end */
        } else if (mode == START) {
            mode = RUN;
        }
    }
    if (result == position) {                 /* no progress: force one code point */
        result = position;
        U16_FWD_1(t, result, length);
        tags = 0;
    }
    *rule = d->statuses[tags + d->statuses[tags]];
    return result;
}

static UBool is_acceptable(void *context, const char *type, const char *name, const UDataInfo *info) {
    (void)context; (void)type; (void)name;
    return info->size >= 20 && info->isBigEndian == U_IS_BIG_ENDIAN && info->charsetFamily == U_CHARSET_FAMILY &&
           info->dataFormat[0] == 'D' && info->dataFormat[1] == 'i' && info->dataFormat[2] == 'c' &&
           info->dataFormat[3] == 't' && info->formatVersion[0] == 1;
}

/* The dictionary ICU's root break iterators use for Han, Hiragana and Katakana (brkeng.cpp,
 * loadDictionaryMatcherFor): brkitr/root's "dictionaries" entry per script, one UCharsTrie file. */
static int load_dictionary(MTLCjkData *d) {
    static const char *const scripts[] = { "Hani", "Hira", "Kana" };
    char file[64] = {0};
    UErrorCode status = U_ZERO_ERROR;
    UResourceBundle *root = ures_open(U_ICUDATA_NAME U_TREE_SEPARATOR_STRING "brkitr", "", &status);
    UResourceBundle *dictionaries = ures_getByKey(root, "dictionaries", NULL, &status);
    for (int k = 0; k < 3 && U_SUCCESS(status); k++) {
        int32_t length = 0;
        const UChar *name = ures_getStringByKey(dictionaries, scripts[k], &length, &status);
        if (U_FAILURE(status) || length <= 0 || length >= (int32_t)sizeof file) { status = U_MISSING_RESOURCE_ERROR; break; }
        char utf8[sizeof file];
        u_austrncpy(utf8, name, length);
        utf8[length] = 0;
        if (k == 0) memcpy(file, utf8, sizeof file);
        else if (strcmp(file, utf8) != 0) status = U_MISSING_RESOURCE_ERROR;  /* one engine, one dictionary */
    }
    ures_close(dictionaries);
    ures_close(root);
    char *dot = strrchr(file, '.');
    if (U_FAILURE(status) || !dot) return 0;
    *dot = 0;
    d->dictionary_memory = udata_openChoice(U_ICUDATA_NAME U_TREE_SEPARATOR_STRING "brkitr", dot + 1, file,
                                            is_acceptable, NULL, &status);
    if (U_FAILURE(status)) return 0;
    const uint8_t *data = udata_getMemory(d->dictionary_memory);
    int32_t indexes[8];
    memcpy(indexes, data, sizeof indexes);
    /* DictionaryData: IX_STRING_TRIE_OFFSET, -, -, IX_TOTAL_SIZE, IX_TRIE_TYPE (TRIE_TYPE_UCHARS = 1), ... */
    if (indexes[0] < (int32_t)sizeof indexes || (indexes[0] & 1) || indexes[3] <= indexes[0] || (indexes[3] - indexes[0]) / 2 >= (1 << 24) ||
        (indexes[4] & 7) != 1) {
        udata_close(d->dictionary_memory);
        d->dictionary_memory = NULL;
        return 0;
    }
    d->trie = (const uint16_t *)(data + indexes[0]);
    return 1;
}

typedef struct { uint64_t *filter; uint32_t count, bits; uint64_t word; } PairSink;

static void count_pair(void *context, uint16_t unit) {
    (void)unit;
    ((PairSink *)context)->count++;
}

static void add_pair(void *context, uint16_t unit) {
    PairSink *sink = context;
    uint32_t h = pair_bit(unit, sink->bits);
    sink->filter[sink->word + (h >> 6)] |= (uint64_t)1 << (h & 63);
}

static int fill_tables(MTLCjkData *d) {
    uint64_t words = 0;
    for (int32_t c = 0; c < 0x10000; c++) {
        d->flags[c] = U16_IS_SURROGATE(c) ? F_SURROGATE : flags_of_code_point(d, c);
        d->category[c] = (uint8_t)ucptrie_get(d->categories, c);
        TrieState st = { d->trie, -1 };
        int result = next_impl(&st, d->trie, c);
        int32_t value = HAS_VALUE(result) ? trie_value(&st) : 0;
        if (value < 0 || value > 255) return 0;   /* not what this packing holds */
        PairSink sink = { NULL, 0, 0, 0 };
        if (result != R_NO_MATCH) next_units(&st, count_pair, &sink);
        uint32_t bits = 0;
        if (sink.count) {
            bits = 6;
            while (bits < 31 && ((uint64_t)1 << bits) < (uint64_t)sink.count * 16) bits++;
        }
        if (words >= ((uint64_t)1 << 19)) return 0;
        d->first[c] = pack_state(d->trie, &st, result) | (uint64_t)value << 32 | (uint64_t)bits << 40 | words << 45;
        if (bits) words += (uint64_t)1 << (bits - 6);
    }
    if (words >= ((uint64_t)1 << 19) || !(d->pair_filter = calloc((size_t)words, sizeof(uint64_t)))) return 0;
    for (int32_t c = 0; c < 0x10000; c++) {
        uint32_t bits = (uint32_t)(d->first[c] >> 40) & 31;
        if (!bits) continue;
        TrieState st;
        unpack_state(d->trie, (uint32_t)d->first[c], &st);
        PairSink sink = { d->pair_filter, 0, bits, d->first[c] >> 45 };
        next_units(&st, add_pair, &sink);
    }
    return 1;
}

/* ------------------------------------------------------------------ per-thread state */

int32_t mtl_cjk_open(MTLCjk *cjk, const MTLCjkData *data) {
    memset(cjk, 0, sizeof *cjk);
    cjk->data = data;
    return MTL_OK;
}

void mtl_cjk_close(MTLCjk *cjk) {
    free(cjk->code_points);
    free(cjk->units);
    free(cjk->best);
    free(cjk->previous);
    free(cjk->breaks);
    free(cjk->step_cache);
    memset(cjk, 0, sizeof *cjk);
}

static int reserve(MTLCjk *cjk, int32_t n) {
    if (!cjk->step_cache && !(cjk->step_cache = calloc((size_t)1 << STEP_CACHE_BITS, sizeof(StepEntry))))
        return MTL_ERR_NO_MEMORY;
    if (n + 1 <= cjk->capacity) return MTL_OK;
    int64_t wanted = cjk->capacity > 0 ? cjk->capacity : 256;
    while (wanted < (int64_t)n + 1) wanted *= 2;
    if (wanted > INT32_MAX / 8) return MTL_ERR_NO_MEMORY;
    size_t count = (size_t)wanted;
    void *p;
    if (!(p = realloc(cjk->code_points, count * sizeof(int32_t)))) return MTL_ERR_NO_MEMORY;
    cjk->code_points = p;
    if (!(p = realloc(cjk->units, count * sizeof(int32_t)))) return MTL_ERR_NO_MEMORY;
    cjk->units = p;
    if (!(p = realloc(cjk->best, count * sizeof(uint32_t)))) return MTL_ERR_NO_MEMORY;
    cjk->best = p;
    if (!(p = realloc(cjk->previous, count * sizeof(int32_t)))) return MTL_ERR_NO_MEMORY;
    cjk->previous = p;
    if (!(p = realloc(cjk->breaks, count * sizeof(int32_t)))) return MTL_ERR_NO_MEMORY;
    cjk->breaks = p;
    cjk->capacity = (int32_t)wanted;
    return MTL_OK;
}

/* ------------------------------------------------------------------ the engine */


/* trie_next, through the cache; *value is set when the result has one. */
static inline int trie_step(const uint16_t *trie, StepEntry *cache, TrieState *st, int32_t c, int32_t *value) {
    if (st->remaining >= 0) {
        int result = trie_next(st, c);
        if (HAS_VALUE(result)) *value = trie_value(st);
        return result;
    }
    if (c > 0xFFFF) {   /* a code point never equals a unit (see trie_next) */
        st->pos = NULL;
        return R_NO_MATCH;
    }
    uint32_t node = (uint32_t)(st->pos - trie);
    StepEntry *e = &cache[((node * 0x9E3779B1u) ^ ((uint32_t)c * 0x85EBCA6Bu)) >> (32 - STEP_CACHE_BITS)];
    if (e->node == node && e->unit == (uint32_t)c) {
        *value = e->value;
        return unpack_state(trie, e->state, st);
    }
    int result = next_impl(st, st->pos, c);
    int32_t v = HAS_VALUE(result) ? trie_value(st) : 0;
    e->node = node;
    e->unit = (uint32_t)c;
    e->state = pack_state(trie, st, result);
    e->value = v;
    *value = v;
    return result;
}

/* CjkBreakEngine::divideUpDictionaryRange for the run t[start..<end] (NFKC-normalized, which
 * mtl_cjk_segment has made sure of): writes the boundaries strictly inside the run, ascending,
 * to out; returns how many. ICU drops the run's own start and end (it reports neither). */
static int32_t divide_run(MTLCjk *cjk, const UChar *t, int32_t start, int32_t end, int32_t *out) {
    const MTLCjkData *d = cjk->data;
    int32_t *cp = cjk->code_points, *units = cjk->units, *previous = cjk->previous;
    uint32_t *best = cjk->best;
    StepEntry *cache = cjk->step_cache;
    int32_t n = 0;
    for (int32_t i = start; i < end;) {
        units[n] = i - start;
        UChar32 c;
        U16_NEXT(t, i, end, c);
        cp[n++] = c;
    }
    units[n] = end - start;

    best[0] = 0;
    for (int32_t i = 1; i <= n; i++) best[i] = NO_PATH;
    for (int32_t i = 0; i <= n; i++) previous[i] = -1;

    int is_previous_katakana = 0;
    for (int32_t i = 0; i < n; i++) {
        if (best[i] == NO_PATH) continue;
        const uint32_t here = best[i];
        /* UCharsDictionaryMatcher::matches(text at i, maxLength 20, limit n): every word starting
         * here, shortest first. (The limit never binds: at most n - i words start at i.) */
        TrieState st;
        uint64_t first = 0;
        int single = 0;   /* a one-code-point word was found */
        for (int32_t k = i; k < n; k++) {
            int result;
            int32_t value = 0;
            if (k == i) {
                first = cp[k] <= 0xFFFF ? d->first[cp[k]] : 0;
                result = unpack_state(d->trie, (uint32_t)first, &st);
                value = (int32_t)(first >> 32) & 0xFF;
            } else if (k == i + 1 && cp[k] <= 0xFFFF && (first >> 40 & 31) &&
                       !(d->pair_filter[(first >> 45) + (pair_bit((uint32_t)cp[k], first >> 40 & 31) >> 6)] >>
                         (pair_bit((uint32_t)cp[k], first >> 40 & 31) & 63) & 1)) {
                result = R_NO_MATCH;   /* the filter proves it: cp[i] cp[k] begins no word */
            } else {
                result = trie_step(d->trie, cache, &st, cp[k], &value);
            }
            int32_t matched = units[k + 1] - units[i];
            if (HAS_VALUE(result)) {
                int32_t length = k + 1 - i;
                if (length == 1) single = 1;
                uint32_t cost = here + (uint32_t)value;
                if (cost < best[k + 1]) {
                    best[k + 1] = cost;
                    previous[k + 1] = i;
                }
                if (result == R_FINAL_VALUE) break;
            } else if (result == R_NO_MATCH) {
                break;
            }
            if (matched >= MAX_WORD_UNITS) break;
        }
        /* No one-character word: the character alone at the highest cost (after the words, which
         * all end further on, so the order of the updates does not matter). */
        if (!single) {
            uint32_t cost = here + MAX_SNLP;
            if (cost < best[i + 1]) {
                best[i + 1] = cost;
                previous[i + 1] = i;
            }
        }
        /* A run of Katakana is a candidate word of its own, priced by length. */
        int katakana = is_katakana(cp[i]);
        if (!is_previous_katakana && katakana) {
            int32_t run = 1;
            while (i + run < n && run < MAX_KATAKANA_GROUP && is_katakana(cp[i + run])) run++;
            if (run < MAX_KATAKANA_GROUP) {
                uint32_t cost = here + katakana_cost(run);
                if (cost < best[i + run]) {
                    best[i + run] = cost;
                    previous[i + run] = i;
                }
            }
        }
        is_previous_katakana = katakana;
    }

    /* Walk the best path back; ICU keeps neither 0 (the run's start) nor n (its end, popped). */
    if (best[n] == NO_PATH) return 0;
    int32_t count = 0;
    for (int32_t i = previous[n]; i > 0; i = previous[i]) count++;
    int32_t k = count;
    for (int32_t i = previous[n]; i > 0; i = previous[i]) out[--k] = start + units[i];
    return count;
}

/* DictionaryCache::populateDictionary for the rule segment t[start..<end]: its inner boundaries,
 * ascending, into cjk->breaks. Returns how many; -1 when ICU would do something else here (a
 * dictionary character of another engine: Thai, Hangul...; a run it would NFKC-normalize first);
 * -2 when out of memory. */
static int32_t divide_segment(MTLCjk *cjk, const UChar *t, int32_t start, int32_t end) {
    const MTLCjkData *d = cjk->data;
    int32_t count = 0;
    int32_t i = start;
    while (i < end) {
        int32_t next;
        uint8_t f = flags_at(d, t, i, end, &next);
        if (!(f & F_DICTIONARY)) { i = next; continue; }
        /* A dictionary character: DictionaryBreakEngine::findBreaks of the engine that handles it
         * takes the run of characters in its set; CjkBreakEngine normalizes the run unless it is NFKC. */
        if ((f & (F_CJK | F_INERT)) != (F_CJK | F_INERT)) return -1;
        int32_t run_end = next;
        while (run_end < end) {
            int32_t after;
            uint8_t g = flags_at(d, t, run_end, end, &after);
            if (!(g & F_CJK)) break;
            if (!(g & F_INERT)) return -1;
            run_end = after;
        }
        if (reserve(cjk, end - start)) return -2;
        count += divide_run(cjk, t, i, run_end, cjk->breaks + count);
        i = run_end;
    }
    return count;
}

int32_t mtl_cjk_segment(MTLCjk *cjk, const UChar *t, int32_t length, MTLCjkEmit emit, void *context) {
    /* Without dictionary work, ICU's boundaries are handleNext's, each from the one before. */
    for (int32_t start = 0, end; start < length; start = end) {
        int32_t rule;
        end = rules_next(cjk->data, t, length, start, &rule);
        int32_t s = start;
        /* populateDictionary leaves segments of one unit alone; a longer one without dictionary
         * characters comes back without breaks. */
        if (end - start > 1) {
            int32_t found = divide_segment(cjk, t, start, end);
            if (found == -1) return 0;
            if (found < 0) return -MTL_ERR_NO_MEMORY;
            for (int32_t k = 0; k < found; k++) {
                int32_t rc = emit(context, s, cjk->breaks[k], rule);
                if (rc) return -rc;
                s = cjk->breaks[k];
            }
        }
        int32_t rc = emit(context, s, end, rule);
        if (rc) return -rc;
    }
    return 1;
}

/* ------------------------------------------------------------------ building and checking */

static MTLCjkData *shared_data;
static pthread_once_t shared_once = PTHREAD_ONCE_INIT;

static void free_data(MTLCjkData *d) {
    if (!d) return;
    free(d->rules);
    if (d->categories) ucptrie_close(d->categories);
    if (d->cjk_set) uset_close(d->cjk_set);
    if (d->dictionary_memory) udata_close(d->dictionary_memory);
    free(d->pair_filter);
    free(d);
}

typedef struct { int32_t *ends; int32_t *statuses; int32_t count, capacity; } Collected;

static int32_t collect(void *context, int32_t start, int32_t end, int32_t status) {
    (void)start;
    Collected *c = context;
    if (c->count >= c->capacity) return MTL_ERR_NO_MEMORY;
    c->ends[c->count] = end;
    c->statuses[c->count] = status;
    c->count++;
    return MTL_OK;
}

/* Segments probe texts with this engine and with ubrk; 1 when they agree everywhere. */
static int self_check(MTLCjkData *d) {
    static const char *const probes[] = {
        "我正在写这本书", "做父母一定要有刘墉这样的心态，不断地学习，不断地进步。", "中华人民共和国成立了",
        "カタカナとひらがなと漢字を混ぜた日本語の文章です。", "コンピューターサイエンスとプログラミング",
        "東京都庁へ行きましたか？はい、行きました。", "価格は１２３元です", "ＡＢＣ中文abc123日本語",
        "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホ", "一二三四五六七八九十百千万亿兆京垓秭穰沟涧正载极恒河沙",
        "𠮷野家で牛丼を食べた", "中\u0301文 漢\u200d字", "ー中ーカー",
    };
    MTLCjk cjk;
    if (mtl_cjk_open(&cjk, d)) return 0;
    UErrorCode status = U_ZERO_ERROR;
    UBreakIterator *icu = ubrk_open(UBRK_WORD, "", NULL, 0, &status);
    int32_t ends[128], statuses[128];
    int ok = U_SUCCESS(status);
    for (size_t p = 0; ok && p < sizeof probes / sizeof *probes; p++) {
        UChar text[128];
        int32_t length = 0;
        u_strFromUTF8(text, 128, &length, probes[p], -1, &status);
        if (U_FAILURE(status) || length >= 128) { ok = 0; break; }
        Collected mine = { ends, statuses, 0, 128 };
        if (mtl_cjk_segment(&cjk, text, length, collect, &mine) != 1) { ok = 0; break; }
        ubrk_setText(icu, text, length, &status);
        int32_t k = 0;
        ubrk_first(icu);
        for (int32_t end = ubrk_next(icu); end != UBRK_DONE; end = ubrk_next(icu), k++) {
            if (k >= mine.count || ends[k] != end || statuses[k] != ubrk_getRuleStatus(icu)) { ok = 0; break; }
        }
        if (k != mine.count) ok = 0;
    }
    if (icu) ubrk_close(icu);
    mtl_cjk_close(&cjk);
    return ok;
}

static void build(void) {
    /* The algorithm above is ICU 72's, read from its source; other versions are left to ICU
     * until checked (diff dictbe.cpp, rbbi_cache.cpp, dictionarydata.cpp, ucharstrie.cpp and the
     * RBBI data format, then run the test suite, which compares with ubrk on every corpus line). */
    UVersionInfo version;
    u_getVersion(version);
    if (version[0] != 72) return;
    MTLCjkData *d = calloc(1, sizeof *d);
    if (!d) return;
    UErrorCode status = U_ZERO_ERROR;
    static const UChar pattern[] = u"[[:Han:][:Hiragana:][:Katakana:]\\u30fc\\uff70\\uff9e\\uff9f]";
    d->cjk_set = uset_openPattern(pattern, -1, &status);
    if (U_FAILURE(status) || !load_rules(d) || !load_dictionary(d)) { free_data(d); return; }
    uset_freeze(d->cjk_set);
    if (!fill_tables(d) || !self_check(d)) { free_data(d); return; }
    shared_data = d;
}

const MTLCjkData *mtl_cjk_data(void) {
    pthread_once(&shared_once, build);
    return shared_data;
}
