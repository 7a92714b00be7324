/* One image decoder under libFuzzer: the bytes go to the decoder through kr_image_decode (the
 * path kr.image.load takes after reading the file), in each channel mode.  FUZZ_MAGIC, when
 * defined, is put in front of inputs that lack it, so mutations stay inside one decoder.
 * max_pixels is 2^22 here so that no input may ask for more than libFuzzer's 2 GB. */
#include "fuzz_common.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static const char magic[] = FUZZ_MAGIC;
    size_t m = sizeof magic - 1;
    uint8_t *buf = malloc(n + m + 1);
    size_t len = n;
    if (n >= m && memcmp(data, magic, m) == 0) {
        memcpy(buf, data, n);
    } else {
        memcpy(buf, magic, m);
        memcpy(buf + m, data, n);
        len = n + m;
    }
    int channels = len > 0 ? (int)(buf[len - 1] % 6) - 1 : 0; /* -1..4 */
    kr_tensor t = {0};
    if (kr_image_decode(&t, buf, len, "fuzz", KR_F32, channels, (int64_t)1 << 22) == KR_OK)
        kr_tensor_release(&t);
    free(buf);
    return 0;
}
