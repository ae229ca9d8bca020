/* Chunker v1's cut rule (agent/src/chunker/chunker.ts, mirrored line by line) and SHA-256 per chunk. */
#include "cdc.h"
#include <stdlib.h>

int sn_cuts_init(cuts_t *c, size_t n, size_t min) {
  /* Every chunk but the last of a block is at least min bytes, and a block can
   * also end the chunk carried in from before it: n / min + 2 is enough. */
  c->count = 0;
  c->cap = n / min + 2;
  c->ends = malloc(c->cap * sizeof(uint32_t));
  c->hashes = malloc(c->cap * 32);
  return c->ends && c->hashes;
}

void sn_cuts_free(cuts_t *c) {
  free(c->ends);
  free(c->hashes);
  c->ends = NULL;
  c->hashes = NULL;
}

/* Chunker.push, in C: finds the chunks `buf` completes, hashing each. */
void sn_cut(stream_t *s, const uint8_t *buf, size_t n, cuts_t *out) {
  const uint32_t *G = s->p.gear;
  const size_t min = s->p.min, normal = s->p.normal, max = s->p.max;
  const uint32_t mS = s->p.mask_s, mL = s->p.mask_l;
  size_t len = s->len, start = 0, i = 0;
  uint32_t h = s->h;
  for (;;) {
    size_t cur = len + i - start;
    if (cur < min) {
      size_t skip = min - cur;
      if (i + skip > n) { i = n; break; }
      i += skip;
      cur = min;
    }
    size_t c = SIZE_MAX;
    if (cur < normal) {
      size_t end = i + (normal - cur);
      if (end > n) end = n;
      for (; i < end; i++) {
        h = (h << 1) + G[buf[i]];
        if ((h & mS) == 0) { c = i + 1; break; }
      }
      if (c == SIZE_MAX && i == n) break;
      cur = len + i - start;
    }
    if (c == SIZE_MAX) {
      size_t end = i + (max - cur);
      if (end > n) end = n;
      for (; i < end; i++) {
        h = (h << 1) + G[buf[i]];
        if ((h & mL) == 0) { c = i + 1; break; }
      }
      if (c == SIZE_MAX) {
        if (len + i - start < max) break; /* block exhausted */
        c = i;
      }
    }
    uint8_t *d = out->hashes + 32 * out->count;
    if (len == 0) {
      SHA256(buf + start, c - start, d);
    } else {
      SHA256_Update(&s->sha, buf + start, c - start);
      SHA256_Final(d, &s->sha);
    }
    out->ends[out->count++] = (uint32_t)c;
    len = 0;
    start = c;
    i = c;
    h = 0;
  }
  if (start < n) {
    if (len == 0) SHA256_Init(&s->sha);
    SHA256_Update(&s->sha, buf + start, n - start);
    len += n - start;
  }
  s->len = len;
  s->h = h;
}

/* Ends the stream: the last chunk's digest into d (returns 1) or nothing pending (0). */
int sn_finish(stream_t *s, uint8_t *d) {
  int has = s->len > 0;
  if (has) SHA256_Final(d, &s->sha);
  s->len = 0;
  s->h = 0;
  return has;
}

void sn_sha_many(const uint8_t *data, const uint32_t *ends, size_t count, uint8_t *out) {
  size_t start = 0;
  for (size_t k = 0; k < count; k++) {
    SHA256(data + start, ends[k] - start, out + 32 * k);
    start = ends[k];
  }
}
