/* kr.data.idx's reader (core/idx.c) under libFuzzer, plain and gzip-compressed files alike
 * (the seeds hold both; zlib tells them apart by the gzip magic). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    kr_tensor t = {0};
    int scale01 = n > 0 && data[n - 1] & 1;
    if (kr_idx_load(&t, fuzz_as_file(data, n), KR_F32, scale01) == KR_OK) kr_tensor_release(&t);
    return 0;
}
