#ifndef MTL_HASH_H
#define MTL_HASH_H
#include <stddef.h>
#include <stdint.h>

/// Compresses `blocks` 64-byte blocks of `data` into the SHA-256 `state` (8 words, FIPS 180-4
/// order) with the x86 SHA extensions. Returns 0 (and does nothing) when the CPU lacks them;
/// the caller then uses its portable code.
int mtl_sha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks);

#endif
