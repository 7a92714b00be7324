/* Whole-file helpers behind training checkpoints (lua/kairo/serial.lua builds the bytes).
 *
 * kr_write_file_atomic writes buf to a temporary file beside path, fsyncs it, renames it over
 * path and fsyncs the folder, so a reader (or a process killed at any instant) sees either the
 * old file or the whole new one, never a torn one.  kr_crc32 is zlib's CRC-32. */
#ifndef KR_CHECKPOINT_H
#define KR_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Atomically replaces path by the n bytes of buf; errors start with `who`. */
kr_status kr_write_file_atomic(const char *who, const char *path, const void *buf, size_t n);

/* CRC-32 (the zlib/PNG polynomial) of n bytes, continuing from crc (0 to start). */
uint32_t kr_crc32(uint32_t crc, const void *buf, size_t n);

#endif
