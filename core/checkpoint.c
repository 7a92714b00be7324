/* Atomic whole-file writes and CRC-32 for checkpoints (checkpoint.h). */
#include "checkpoint.h"
#include "fileutil.h"

#include <zlib.h>

/* Through kairo's one saver (fileutil.h): links followed, mode and owner kept, non-regular
 * files refused, no temporary left after a kill -9, the folder synced after the rename. */
kr_status kr_write_file_atomic(const char *who, const char *path, const void *buf, size_t n)
{
    return kr_save_bytes(who, path, buf, n);
}

uint32_t kr_crc32(uint32_t crc, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n > 0) { /* crc32_z takes z_size_t; chunks keep it portable to older zlibs */
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc;
}
