#ifndef MTL_CJK_H
#define MTL_CJK_H
/*
 * ICU 72's word segmentation of Chinese and Japanese, done here: ICU's own root word rules
 * (its compiled state table, run by a transcription of its handleNext) find the rule segments,
 * and a reimplementation of its CjkBreakEngine over ICU's own cjdict data subdivides the ones
 * holding Han, Hiragana or Katakana. Private to the CICU target; mtl_cjk.c says how exactness
 * with ubrk is kept and when a text is left to ICU.
 */
#include <stdint.h>
#include <unicode/utypes.h>

typedef struct MTLCjkData MTLCjkData;

/* The process-wide engine data (read-only once built), or NULL when this ICU cannot be served
 * exactly: a version whose algorithm has not been checked, data of an unknown format, or a
 * self-check against ubrk that disagrees. Built on first call; thread-safe. */
const MTLCjkData *mtl_cjk_data(void);

/* Per-thread state: scratch and a cache. One thread at a time. */
typedef struct MTLCjk {
    const MTLCjkData *data;
    int32_t capacity;       /* code points the arrays below hold (+ 1) */
    int32_t *code_points;
    int32_t *units;         /* units[k]: UTF-16 offset of code point k in the run; units[n] = run length */
    uint32_t *best;
    int32_t *previous;
    int32_t *breaks;
    struct StepEntry *step_cache;
} MTLCjk;

/* MTL_OK, or an error code with the struct left closed. */
int32_t mtl_cjk_open(MTLCjk *cjk, const MTLCjkData *data);
void mtl_cjk_close(MTLCjk *cjk);

/* Receives each word segment [start, end) in order with ICU's rule status; non-zero stops. */
typedef int32_t (*MTLCjkEmit)(void *context, int32_t start, int32_t end, int32_t status);

/* Segments text[0..<length] exactly as ubrk_open(UBRK_WORD, "") would.
 * Returns 1 when done (every segment emitted), 0 when the text holds what this engine leaves to
 * ICU (the segments emitted so far are to be discarded), or a negative MTL_ERR_* (MTL_ERR_NO_MEMORY,
 * or what emit returned). */
int32_t mtl_cjk_segment(MTLCjk *cjk, const UChar *text, int32_t length, MTLCjkEmit emit, void *context);

#endif
