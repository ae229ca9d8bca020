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

/*
 * The gear loop from buf[*ip] up to end: h = (h << 1) + G[byte], a cut after
 * the first byte where (h & m) == 0. Returns the cut (index after that byte)
 * or SIZE_MAX with *ip == end. Same cuts as the byte-at-a-time loop of
 * chunker.ts; it steps two bytes at a time so that h's dependency chain is one
 * shift and one add per two bytes (h2 = (h << 2) + (G[b0] << 1) + G[b1], in
 * 32-bit arithmetic like h1 and h2 of the plain loop), the FastCDC paper's
 * "rolling two bytes each time"; both intermediate values are still tested.
 */
static inline size_t gear_scan(const uint32_t *G, const uint8_t *buf, size_t *ip, size_t end, uint32_t *hp, uint32_t m) {
  size_t i = *ip;
  uint32_t h = *hp;
  for (; i + 1 < end; i += 2) {
    const uint32_t g0 = G[buf[i]], g1 = G[buf[i + 1]];
    const uint32_t h1 = (h << 1) + g0;
    const uint32_t h2 = (h << 2) + (g0 << 1) + g1;
    if ((h1 & m) == 0) { *hp = h1; *ip = i; return i + 1; }
    h = h2;
    if ((h2 & m) == 0) { *hp = h2; *ip = i + 1; return i + 2; }
  }
  if (i < end) {
    h = (h << 1) + G[buf[i]];
    i++;
    if ((h & m) == 0) { *hp = h; *ip = i - 1; return i; }
  }
  *hp = h;
  *ip = i;
  return SIZE_MAX;
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
      c = gear_scan(G, buf, &i, end, &h, mS);
      if (c == SIZE_MAX && i == n) break;
      cur = len + i - start;
    }
    if (c == SIZE_MAX) {
      size_t end = i + (max - cur);
      if (end > n) end = n;
      c = gear_scan(G, buf, &i, end, &h, mL);
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
