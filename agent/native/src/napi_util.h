/* N-API helpers of the addon: errors, argument checks, tagged handles, results. */
#ifndef STRATA_NAPI_UTIL_H
#define STRATA_NAPI_UTIL_H
#define NAPI_VERSION 8
#include <node_api.h>
#include "cdc.h"

#define CHECK(env, call)                                        \
  do {                                                          \
    if ((call) != napi_ok) {                                    \
      sn_throw_last(env);                                          \
      return NULL;                                              \
    }                                                           \
  } while (0)

/* Throws the last N-API error unless an exception is already pending. */
void sn_throw_last(napi_env env);
/*
 * The call's arguments into argv[0..max) (N-API makes those not passed `undefined`); with fewer
 * than `need`, throws ERR_MISSING_ARGS with `missing` as the message and returns 0.
 */
int sn_args(napi_env env, napi_callback_info info, size_t need, size_t max, napi_value *argv, const char *missing);
/* Throws ERR_STRATA_NATIVE "out of memory"; returns NULL, for `return sn_oom(env);`. */
napi_value sn_oom(napi_env env);
/* Argument helpers: each throws a TypeError and returns 0 on bad input. */
int sn_get_bytes(napi_env env, napi_value v, const char *what, const uint8_t **data, size_t *n);
int sn_get_u32(napi_env env, napi_value v, const char *what, uint32_t *out);
/* Externals are tagged so that a stream is never taken for a config or a stray external. */
extern const napi_type_tag SN_PARAMS_TAG, SN_STREAM_TAG;
void *sn_get_tagged(napi_env env, napi_value v, const napi_type_tag *tag, const char *what);
void sn_free_ptr(napi_env env, void *data, void *hint);
/* { ends: Uint32Array, hashes: Buffer } of `c`, or NULL with an exception. */
napi_value sn_make_cuts(napi_env env, const cuts_t *c);

#endif
