/* Chunker v1's cut rule and SHA-256 per chunk, in plain C (no N-API): see strata_native.c. */
#ifndef STRATA_CDC_H
#define STRATA_CDC_H
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint32_t gear[256];
  size_t min, normal, max;
  uint32_t mask_s, mask_l;
} params_t;

typedef struct {
  params_t p;
  size_t len;       /* bytes of the unfinished chunk before the next block */
  uint32_t h;       /* its gear hash */
  SHA256_CTX sha;   /* the hash of those bytes (valid when len > 0) */
  int busy;         /* a push is running on the thread pool */
} stream_t;

typedef struct {
  size_t count, cap;
  uint32_t *ends;
  uint8_t *hashes;
} cuts_t;

int sn_cuts_init(cuts_t *c, size_t n, size_t min);
void sn_cuts_free(cuts_t *c);
/* Chunker.push, in C: finds the chunks `buf` completes, hashing each. */
void sn_cut(stream_t *s, const uint8_t *buf, size_t n, cuts_t *out);
/* Ends the stream: the last chunk's digest into d (returns 1) or nothing pending (0). */
int sn_finish(stream_t *s, uint8_t *d);
/* SHA-256 of each piece of `data` cut at `ends` (count of them) into out, 32 bytes each. */
void sn_sha_many(const uint8_t *data, const uint32_t *ends, size_t count, uint8_t *out);

#endif
